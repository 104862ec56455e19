import Fastify from 'fastify'
import t from 'tap'
import { join } from 'node:path'
import fastifyMedia, { errors, FileSystemStorage, type FastifyMediaOptions, type Storage } from '../lib/index.js'
import { resolveOptions } from '../lib/options.js'
import { tempDir } from './helpers.js'

const KEY = 'k'.repeat(32)

async function register (t: { teardown: (fn: () => unknown) => void }, options: FastifyMediaOptions): Promise<unknown> {
  const app = Fastify()
  t.teardown(() => app.close())
  try {
    await app.register(fastifyMedia, { baseDir: tempDir(t), ...options })
    await app.ready()
    return undefined
  } catch (err) {
    return err
  }
}

t.test('misconfiguration fails register with a clear error naming the option', async (t) => {
  const cases: Array<[string, FastifyMediaOptions, RegExp]> = [
    ['static.url === media.url', { static: { url: '/files/' }, media: { url: '/files/' } }, /static\.url: must differ from media\.url/],
    ['static root inside media root', { static: { root: 'media/static' } }, /static\.root/],
    ['media root inside static root', { media: { root: 'staticfiles/media' } }, /static\.root/],
    ['equal roots', { static: { root: 'files' }, media: { root: 'files' } }, /static\.root/],
    ['static dir equal to static.root', { static: { dirs: ['staticfiles'] } }, /static\.dirs/],
    ['url without leading /', { media: { url: 'media/' } }, /media\.url/],
    ['url without trailing /', { static: { url: '/static' } }, /static\.url/],
    ['bad static dir entry', { static: { dirs: [{ prefix: 'x' } as never] } }, /static\.dirs\[0\]/],
    ['private storage without signingKey', { storages: { private: new FileSystemStorage({ location: 'private', baseUrl: '/private/', public: false }) } }, /storages\.private: a private storage needs signingKey/],
    ['private storage without baseUrl', { signingKey: KEY, storages: { private: new FileSystemStorage({ location: 'private', public: false }) } }, /storages\.private\.baseUrl/],
    ['private baseUrl overlapping media.url', { signingKey: KEY, storages: { private: new FileSystemStorage({ location: 'private', baseUrl: '/media/private/', public: false }) } }, /storages\.private\.baseUrl: "\/media\/private\/" overlaps media's URL/],
    ['private baseUrl overlapping static.url', { signingKey: KEY, storages: { private: new FileSystemStorage({ location: 'private', baseUrl: '/static/', public: false }) } }, /storages\.private\.baseUrl: "\/static\/" overlaps static\.url's URL/],
    ['private location inside media.root', { signingKey: KEY, storages: { private: new FileSystemStorage({ location: 'media/private', baseUrl: '/private/', public: false }) } }, /storages\.private\.location: a private storage must not share files with media/],
    ['private location inside another public storage', { signingKey: KEY, storages: { pub: new FileSystemStorage({ location: 'files', baseUrl: '/files/' }), priv: new FileSystemStorage({ location: 'files/secret', baseUrl: '/secret/', public: false }) } }, /storages\.priv\.location: a private storage must not share files with storages\.pub/],
    ['private location containing a public one', { signingKey: KEY, storages: { priv: new FileSystemStorage({ location: 'all', baseUrl: '/secret/', public: false }), pub: new FileSystemStorage({ location: 'all/pub', baseUrl: '/files/' }) } }, /storages\.priv\.location/],
    ['private location inside a static dir', { signingKey: KEY, static: { dirs: ['assets'] }, storages: { priv: new FileSystemStorage({ location: 'assets/secret', baseUrl: '/secret/', public: false }) } }, /storages\.priv\.location: .* static\.dirs\[0\]/],
    ['two storages on one URL', { storages: { a: new FileSystemStorage({ location: 'a', baseUrl: '/files/' }), b: new FileSystemStorage({ location: 'b', baseUrl: '/files/b/' }) } }, /storages\.b\.baseUrl: "\/files\/b\/" overlaps storages\.a/],
    ['media root inside a static dir', { static: { dirs: ['public'] }, media: { root: 'public/uploads' } }, /static\.dirs\[0\]: must not share files with media: uploads would be served as static files/],
    ['a static dir inside a public storage', { static: { dirs: ['files/css'] }, storages: { files: new FileSystemStorage({ location: 'files', baseUrl: '/files/' }) } }, /static\.dirs\[0\]: must not share files with storages\.files/],
    ['a storage inside static.root', { storages: { files: new FileSystemStorage({ location: 'staticfiles/up', baseUrl: '/files/' }) } }, /static\.url: must not share files with storages\.files/],
    ['a prefix with ..', { static: { dirs: [{ prefix: '../../x', dir: 'assets' }] } }, /static\.dirs\[0\]\.prefix: "\.\.\/\.\.\/x" must be plain path segments/],
    ['a hidden prefix', { static: { dirs: [{ prefix: '.well-known', dir: 'assets' }] } }, /static\.dirs\[0\]\.prefix/],
    ['public disk storage without baseUrl', { storages: { archive: new FileSystemStorage({ location: 'archive' }) } }, /storages\.archive\.baseUrl: a public storage on disk is served at its baseUrl/],
    ['short signingKey', { signingKey: 'short' }, /signingKey: must be at least 16 bytes/],
    ['not a storage', { storages: { s3: { save () {} } as unknown as Storage } }, /storages\.s3: is not a Storage \(missing open/],
    ['bad mode', { mode: 'staging' as never }, /mode/],
    ['bad limits.files', { limits: { files: -1 } }, /limits\.files/],
    ['bad limits.totalSize', { limits: { totalSize: 'huge' } }, /limits\.totalSize/]
  ]
  for (const [label, options, message] of cases) {
    const err = await register(t, options)
    t.match(err, { code: 'FST_MEDIA_INVALID_OPTION', message }, label)
    t.ok(err instanceof errors.FST_MEDIA_INVALID_OPTION, `${label}: instanceof works`)
  }
})

t.test('defaults resolve against baseDir and are frozen; the caller\'s object is not touched', async (t) => {
  const options: FastifyMediaOptions = { baseDir: '/srv/app', limits: { totalSize: '1 GB' } }
  const before = JSON.stringify(options)
  const config = resolveOptions(options)
  t.equal(JSON.stringify(options), before)
  t.ok(Object.isFrozen(config))
  t.same(config.media, { url: '/media/', root: '/srv/app/media' })
  t.same(config.static, { url: '/static/', root: '/srv/app/staticfiles', dirs: [], cors: '*' })
  t.same(config.limits, { files: 20, fields: 100, fieldSize: 1_048_576, parts: 1000, totalSize: 1e9, headerPairs: 2000, uploadTimeout: 300_000 })
  t.equal(config.mode, 'development')
  t.ok(config.storages.get('default') instanceof FileSystemStorage)
})

t.test('static dirs accept strings and { prefix, dir }', async (t) => {
  const config = resolveOptions({ baseDir: '/app', static: { dirs: ['static', { prefix: '/vendor/', dir: 'node_modules/x' }] } })
  t.same(config.static !== false && config.static.dirs, [{ prefix: '', dir: '/app/static' }, { prefix: 'vendor', dir: '/app/node_modules/x' }])
})

t.test('mode follows NODE_ENV unless given', async (t) => {
  const saved = process.env.NODE_ENV
  t.teardown(() => { process.env.NODE_ENV = saved })
  process.env.NODE_ENV = 'production'
  t.equal(resolveOptions({}).mode, 'production')
  t.equal(resolveOptions({ mode: 'development' }).mode, 'development')
})

t.test('halves can be turned off; without media there is no default storage', async (t) => {
  const config = resolveOptions({ media: false, static: false })
  t.equal(config.media, false)
  t.equal(config.static, false)
  t.equal(config.storages.size, 0)
})

t.test('a private storage with a key and a proper baseUrl registers', async (t) => {
  const dir = tempDir(t)
  const app = Fastify()
  t.teardown(() => app.close())
  const storage = new FileSystemStorage({ location: 'private', baseUrl: '/private/', public: false })
  await app.register(fastifyMedia, { baseDir: dir, signingKey: KEY, storages: { private: storage } })
  t.equal(storage.location, join(dir, 'private'))
  t.equal(app.media.storage('private'), storage)
  t.throws(() => app.media.storage('nope'), { code: 'FST_MEDIA_INVALID_OPTION' })
})

t.test('storages that are not on disk are not served by the plugin', async (t) => {
  const dir = tempDir(t)
  const app = Fastify()
  t.teardown(() => app.close())
  const custom = Object.fromEntries(['save', 'open', 'delete', 'exists', 'size', 'stat', 'url', 'list', 'getAvailableName'].map((m) => [m, () => {}]))
  await app.register(fastifyMedia, { baseDir: dir, storages: { custom: { ...custom, public: true } as unknown as Storage } })
  t.equal(app.media.storage('custom').public, true)
  t.equal((await app.inject('/media/x')).statusCode, 404)
})

t.test('FileSystemStorage checks its own options', async (t) => {
  t.throws(() => new FileSystemStorage({ location: '' }), { code: 'FST_MEDIA_INVALID_OPTION', message: /location/ })
  t.throws(() => new FileSystemStorage({} as never), { code: 'FST_MEDIA_INVALID_OPTION' })
  t.throws(() => new FileSystemStorage({ location: 'x', baseUrl: 'files' }), { code: 'FST_MEDIA_INVALID_OPTION', message: /baseUrl/ })
})
