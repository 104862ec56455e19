import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import fastifyStatic from '@fastify/static'
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib'
import fastifyMedia from '../lib/index.js'
import { FIXTURES, tempDir } from './helpers.js'

type Mode = 'production' | 'development'
interface Teardown { teardown: (fn: () => unknown) => void }

const IMMUTABLE = 'public, max-age=31536000, immutable'
const SHORT = 'public, max-age=60'

/** A copy of the fixture project in a temp dir, with the plugin registered on a fresh app. */
async function project (t: Teardown, mode: Mode, { collect = mode === 'production' }: { collect?: boolean } = {}): Promise<{ app: FastifyInstance, dir: string, root: string }> {
  const dir = tempDir(t)
  cpSync(join(FIXTURES, 'static-project'), dir, { recursive: true })
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyMedia, { baseDir: dir, static: { dirs: ['static-a', 'static-b'] }, media: false, mode })
  if (collect) await app.media.collectstatic()
  return { app, dir, root: join(dir, 'staticfiles') }
}

const hasVaryAcceptEncoding = (vary: unknown): boolean =>
  String(vary ?? '').split(',').some((v) => v.trim().toLowerCase() === 'accept-encoding')

t.test('production: hashed names are immutable, original names get a short max-age', async (t) => {
  const { app, root } = await project(t, 'production')
  const url = app.media.static('css/app.css')
  t.match(url, /^\/static\/css\/app\.[0-9a-f]{12}\.css$/, 'static() gives the hashed URL')
  const hashedPath = url.slice('/static/'.length)

  const hashed = await app.inject(url)
  t.equal(hashed.statusCode, 200)
  t.equal(hashed.headers['cache-control'], IMMUTABLE, 'hashed name')
  t.same(hashed.rawPayload, readFileSync(join(root, hashedPath)))

  const original = await app.inject('/static/css/app.css')
  t.equal(original.statusCode, 200)
  t.equal(original.headers['cache-control'], SHORT, 'original name')
  t.same(original.rawPayload, readFileSync(join(root, 'css/app.css')))

  // the headers follow the logical file, not the compressed variant that is sent
  const hashedBr = await app.inject({ url, headers: { 'accept-encoding': 'br' } })
  t.equal(hashedBr.headers['content-encoding'], 'br')
  t.equal(hashedBr.headers['cache-control'], IMMUTABLE, 'hashed name, br variant')
  const originalGz = await app.inject({ url: '/static/css/app.css', headers: { 'accept-encoding': 'gzip' } })
  t.equal(originalGz.headers['content-encoding'], 'gzip')
  t.equal(originalGz.headers['cache-control'], SHORT, 'original name, gzip variant')

  // a non-compressible file too
  const logo = app.media.static('img/logo.png')
  t.equal((await app.inject(logo)).headers['cache-control'], IMMUTABLE, 'hashed png')
  t.equal((await app.inject('/static/img/logo.png')).headers['cache-control'], SHORT, 'original png')
})

t.test('production: br, gzip or identity by Accept-Encoding, always with Vary', async (t) => {
  const { app, root } = await project(t, 'production')
  const url = app.media.static('css/app.css')
  const identity = readFileSync(join(root, url.slice('/static/'.length)))
  const originalIdentity = readFileSync(join(root, 'css/app.css'))

  for (const [path, bytes] of [[url, identity], ['/static/css/app.css', originalIdentity]] as const) {
    const br = await app.inject({ url: path, headers: { 'accept-encoding': 'br, gzip' } })
    t.equal(br.statusCode, 200, `${path} br`)
    t.equal(br.headers['content-encoding'], 'br', `${path}: br wins for "br, gzip"`)
    t.match(br.headers['content-type'], /^text\/css/, `${path}: the original's type, not the .br's`)
    t.ok(hasVaryAcceptEncoding(br.headers.vary), `${path} br: Vary: Accept-Encoding (got ${String(br.headers.vary)})`)
    t.same(brotliDecompressSync(br.rawPayload), bytes, `${path}: br decompresses to the file`)
    t.ok(br.rawPayload.length < bytes.length, 'the compressed body is smaller')

    const gz = await app.inject({ url: path, headers: { 'accept-encoding': 'gzip' } })
    t.equal(gz.headers['content-encoding'], 'gzip', `${path}: gzip for "gzip"`)
    t.match(gz.headers['content-type'], /^text\/css/, `${path}: the original's type, not the .gz's`)
    t.ok(hasVaryAcceptEncoding(gz.headers.vary), `${path} gzip: Vary`)
    t.same(gunzipSync(gz.rawPayload), bytes, `${path}: gzip decompresses to the file`)

    for (const acceptEncoding of [undefined, 'identity']) {
      const res = await app.inject({ url: path, headers: acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding } })
      const label = `${path} with Accept-Encoding ${acceptEncoding ?? '(none)'}`
      t.equal(res.statusCode, 200, label)
      t.equal(res.headers['content-encoding'], undefined, `${label}: identity`)
      t.match(res.headers['content-type'], /^text\/css/, label)
      t.ok(hasVaryAcceptEncoding(res.headers.vary), `${label}: Vary: Accept-Encoding on identity too (got ${String(res.headers.vary)})`)
      t.same(res.rawPayload, bytes, `${label}: the file's bytes`)
    }
  }

  // a file with no compressed variant: identity whatever the client accepts
  const png = await app.inject({ url: '/static/img/logo.png', headers: { 'accept-encoding': 'br, gzip' } })
  t.equal(png.headers['content-encoding'], undefined, 'no variant of a png')
  t.equal(png.headers['content-type'], 'image/png')
  t.same(png.rawPayload, readFileSync(join(root, 'img/logo.png')))
})

t.test('production: conditional GET, Range and HEAD', async (t) => {
  const { app, root } = await project(t, 'production')
  const url = app.media.static('css/app.css')
  const bytes = readFileSync(join(root, url.slice('/static/'.length)))

  const first = await app.inject(url)
  const etag = first.headers.etag
  t.type(etag, 'string', 'an ETag')
  const cached = await app.inject({ url, headers: { 'if-none-match': etag as string } })
  t.equal(cached.statusCode, 304, 'If-None-Match -> 304')
  t.equal(cached.rawPayload.length, 0, 'no body on 304')
  const changed = await app.inject({ url, headers: { 'if-none-match': '"something-else"' } })
  t.equal(changed.statusCode, 200, 'another ETag -> 200')

  const lastModified = first.headers['last-modified']
  t.type(lastModified, 'string', 'Last-Modified')
  const since = await app.inject({ url, headers: { 'if-modified-since': lastModified as string } })
  t.equal(since.statusCode, 304, 'If-Modified-Since -> 304')

  const brFirst = await app.inject({ url, headers: { 'accept-encoding': 'br' } })
  const brCached = await app.inject({ url, headers: { 'accept-encoding': 'br', 'if-none-match': brFirst.headers.etag as string } })
  t.equal(brCached.statusCode, 304, 'the br variant revalidates too')

  const range = await app.inject({ url, headers: { range: 'bytes=0-9' } })
  t.equal(range.statusCode, 206, 'Range -> 206')
  t.same(range.rawPayload, bytes.subarray(0, 10), 'the first 10 bytes')
  t.equal(range.headers['content-range'], `bytes 0-9/${bytes.length}`)
  t.equal(range.headers['content-encoding'], undefined, 'identity')

  const head = await app.inject({ method: 'HEAD', url })
  t.equal(head.statusCode, 200, 'HEAD')
  t.equal(head.rawPayload.length, 0, 'no body on HEAD')
  t.equal(Number(head.headers['content-length']), bytes.length, 'content-length of the file')
  t.equal(head.headers['cache-control'], IMMUTABLE)
})

t.test('production: no listing, no dotfiles, no denied file through its .gz/.br sibling', async (t) => {
  const { app, root } = await project(t, 'production')
  const secret = 'TOP-SECRET-DOTFILE'
  const backup = 'EDITOR-BACKUP-CONTENT'
  writeFileSync(join(root, '.secret'), secret)
  writeFileSync(join(root, '.secret.gz'), gzipSync(Buffer.from(secret)))
  writeFileSync(join(root, 'app.css~'), backup)
  writeFileSync(join(root, 'app.css~.br'), brotliCompressSync(Buffer.from(backup)))
  mkdirSync(join(root, 'CVS'))
  writeFileSync(join(root, 'CVS', 'Entries'), 'CVS-ENTRIES')
  writeFileSync(join(root, 'CVS', 'Entries.gz'), gzipSync(Buffer.from('CVS-ENTRIES')))

  const leaks = (body: Buffer): boolean => {
    const candidates = [body]
    try { candidates.push(gunzipSync(body)) } catch {}
    try { candidates.push(brotliDecompressSync(body)) } catch {}
    return candidates.some((b) => /TOP-SECRET|EDITOR-BACKUP|CVS-ENTRIES/.test(b.toString('latin1')))
  }

  for (const url of ['/static/', '/static/css/', '/static/css', '/static/img/']) {
    const res = await app.inject(url)
    t.notMatch(res.body, /app\.css|logo\.png|staticfiles\.json|<a /, `${url}: no listing in the body`)
    t.equal(res.statusCode, 404, `${url}: a directory is not found, as in development (got ${res.statusCode})`)
  }
  const cases = [
    '/static/.secret',
    '/static/.secret.gz',
    '/static/app.css~',
    '/static/app.css~.br',
    '/static/CVS/Entries',
    '/static/CVS/Entries.gz'
  ]
  for (const url of cases) {
    for (const acceptEncoding of ['gzip, br', 'br', 'gzip', 'identity']) {
      const res = await app.inject({ url, headers: { 'accept-encoding': acceptEncoding } })
      t.equal(res.statusCode, 404, `${url} (Accept-Encoding: ${acceptEncoding}) -> ${res.statusCode}`)
      t.notOk(leaks(res.rawPayload), `${url} (Accept-Encoding: ${acceptEncoding}): nothing of the denied file`)
    }
  }
})

t.test('production: a file in static.root that the manifest does not list gets the short max-age', async (t) => {
  const { app, root } = await project(t, 'production')
  mkdirSync(join(root, 'extra'))
  writeFileSync(join(root, 'extra', 'robots.txt'), 'User-agent: *\n')
  // looks like a hashed name, but the manifest does not give it
  writeFileSync(join(root, 'extra', 'fake.0123456789ab.css'), 'a{}')
  const res = await app.inject('/static/extra/robots.txt')
  t.equal(res.statusCode, 200)
  t.equal(res.body, 'User-agent: *\n')
  t.equal(res.headers['cache-control'], SHORT)
  const fake = await app.inject('/static/extra/fake.0123456789ab.css')
  t.equal(fake.statusCode, 200)
  t.equal(fake.headers['cache-control'], SHORT, 'only names from the manifest are immutable')
})

t.test('production before collectstatic: register works, nothing is served, static() throws', async (t) => {
  const { app, root } = await project(t, 'production', { collect: false })
  await app.ready()
  const res = await app.inject('/static/css/app.css')
  t.equal(res.statusCode, 404, 'no static.root yet')
  t.throws(() => app.media.static('css/app.css'), { code: 'FST_MEDIA_STATIC_NOT_FOUND', message: /css\/app\.css.*collectstatic/ })

  // collectstatic through the API afterwards: the same app serves and gives hashed URLs
  await app.media.collectstatic()
  const url = app.media.static('css/app.css')
  t.match(url, /^\/static\/css\/app\.[0-9a-f]{12}\.css$/)
  const after = await app.inject(url)
  t.equal(after.statusCode, 200)
  t.equal(after.headers['cache-control'], IMMUTABLE)
  t.same(after.rawPayload, readFileSync(join(root, url.slice('/static/'.length))))
  t.throws(() => app.media.static('css/missing.css'), { code: 'FST_MEDIA_STATIC_NOT_FOUND', message: /css\/missing\.css/ })
})

t.test('production: a manifest written by the CLI (another process) after start is used for URLs and headers alike', async (t) => {
  const { app, dir, root } = await project(t, 'production', { collect: false })
  // a file served before any manifest exists
  mkdirSync(root, { recursive: true })
  writeFileSync(join(root, 'robots.txt'), 'User-agent: *\n')
  const early = await app.inject('/static/robots.txt')
  t.equal(early.statusCode, 200)
  t.equal(early.headers['cache-control'], SHORT)

  // `fastify-media collectstatic` loads its own copy of the app
  const cli = Fastify()
  t.teardown(() => cli.close())
  await cli.register(fastifyMedia, { baseDir: dir, static: { dirs: ['static-a', 'static-b'] }, media: false, mode: 'production' })
  await cli.media.collectstatic()

  const url = app.media.static('css/app.css')
  t.match(url, /^\/static\/css\/app\.[0-9a-f]{12}\.css$/, 'static() reads the new manifest')
  const res = await app.inject(url)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], IMMUTABLE, 'the hashed URL that static() gives is served as immutable')
})

t.test('production: static() percent-encodes names with spaces and unicode, and the URL serves', async (t) => {
  const dir = tempDir(t)
  cpSync(join(FIXTURES, 'static-project'), dir, { recursive: true })
  writeFileSync(join(dir, 'static-a', 'my file é.txt'), 'spaced out')
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyMedia, { baseDir: dir, static: { dirs: ['static-a', 'static-b'] }, media: false, mode: 'production' })
  await app.media.collectstatic()
  const url = app.media.static('my file é.txt')
  t.match(url, /^\/static\/my%20file%20%C3%A9\.[0-9a-f]{12}\.txt$/)
  const res = await app.inject(url)
  t.equal(res.statusCode, 200)
  t.equal(res.body, 'spaced out')
  t.equal(res.headers['cache-control'], IMMUTABLE)
})

t.test('development: served from the dirs with no-cache and an ETag', async (t) => {
  const { app, dir } = await project(t, 'development')
  const res = await app.inject('/static/css/app.css')
  t.equal(res.statusCode, 200)
  t.same(res.rawPayload, readFileSync(join(dir, 'static-a', 'css', 'app.css')), 'the source file as is')
  t.match(res.headers['content-type'], /^text\/css/)
  t.equal(res.headers['cache-control'], 'no-cache')
  t.type(res.headers.etag, 'string', 'an ETag')
  const cached = await app.inject({ url: '/static/css/app.css', headers: { 'if-none-match': res.headers.etag as string } })
  t.equal(cached.statusCode, 304, 'If-None-Match -> 304')
  t.equal(cached.rawPayload.length, 0)
  t.notOk(await app.inject('/static/staticfiles.json').then((r) => r.statusCode === 200), 'static.root is not served in development')
})

t.test('development: first match wins, plugin dirs under their prefix', async (t) => {
  const { app, dir } = await project(t, 'development')
  app.media.addStaticDir('plugin-static', { prefix: 'plugin' })

  const logo = await app.inject('/static/img/logo.png')
  t.equal(logo.statusCode, 200)
  t.same(logo.rawPayload, readFileSync(join(dir, 'static-a', 'img', 'logo.png')), "static-a's logo")
  t.notSame(logo.rawPayload, readFileSync(join(dir, 'static-b', 'img', 'logo.png')), "not static-b's")

  const vendor = await app.inject('/static/js/vendor.js')
  t.equal(vendor.statusCode, 200)
  t.same(vendor.rawPayload, readFileSync(join(dir, 'static-b', 'js', 'vendor.js')), 'from static-b')

  const widget = await app.inject('/static/plugin/widget/widget.css')
  t.equal(widget.statusCode, 200)
  t.same(widget.rawPayload, readFileSync(join(dir, 'plugin-static', 'widget', 'widget.css')), 'from the plugin dir')
  t.equal((await app.inject('/static/widget/widget.css')).statusCode, 404, 'not without its prefix')
})

t.test('development: a file added after start is served without restart', async (t) => {
  const { app, dir } = await project(t, 'development')
  const before = await app.inject('/static/css/late.css')
  t.equal(before.statusCode, 404, 'not there yet')
  mkdirSync(join(dir, 'static-a', 'new'), { recursive: true })
  writeFileSync(join(dir, 'static-a', 'css', 'late.css'), '.late { color: red }')
  writeFileSync(join(dir, 'static-a', 'new', 'dir.js'), 'export default 1')
  const after = await app.inject('/static/css/late.css')
  t.equal(after.statusCode, 200, 'served now')
  t.equal(after.body, '.late { color: red }')
  t.equal(after.headers['cache-control'], 'no-cache')
  const inNewDir = await app.inject('/static/new/dir.js')
  t.equal(inNewDir.statusCode, 200, 'in a directory created after start')

  // a file added to a later dir that shadows nothing, then to an earlier one: the earlier wins at once
  mkdirSync(join(dir, 'static-b', 'css'), { recursive: true })
  writeFileSync(join(dir, 'static-b', 'css', 'late.css'), 'from b')
  t.equal((await app.inject('/static/css/late.css')).body, '.late { color: red }', 'static-a still wins')
})

t.test('development: dotfiles, *~ and CVS are not served; no listing', async (t) => {
  const { app } = await project(t, 'development')
  for (const url of ['/static/.env', '/static/%2eenv', '/static/css/app.css~', '/static/CVS/Entries', '/static/', '/static/css/', '/static/css']) {
    const res = await app.inject(url)
    t.equal(res.statusCode, 404, `${url} -> ${res.statusCode}`)
    t.notMatch(res.body, /SECRET=1/)
  }
})

t.test('development: static() gives the plain URL, percent-encoded, and it serves', async (t) => {
  const { app, dir } = await project(t, 'development')
  t.equal(app.media.static('css/app.css'), '/static/css/app.css')
  mkdirSync(join(dir, 'static-a', 'my dir'))
  writeFileSync(join(dir, 'static-a', 'my dir', 'naïve file #1?.txt'), 'unicode')
  const url = app.media.static('my dir/naïve file #1?.txt')
  t.equal(url, '/static/my%20dir/na%C3%AFve%20file%20%231%3F.txt')
  const res = await app.inject(url)
  t.equal(res.statusCode, 200)
  t.equal(res.body, 'unicode')
  t.equal(app.media.static('does/not/exist.css'), '/static/does/not/exist.css', 'no check in development')
  t.throws(() => app.media.static('../x.css'), { code: 'FST_MEDIA_STATIC_NOT_FOUND' }, 'not a path under static.url')
})

for (const mode of ['production', 'development'] as const) {
  for (const userFirst of [true, false]) {
    t.test(`${mode}: the user's own @fastify/static (decorateReply) coexists, registered ${userFirst ? 'before' : 'after'} the plugin`, async (t) => {
      const dir = tempDir(t)
      cpSync(join(FIXTURES, 'static-project'), dir, { recursive: true })
      mkdirSync(join(dir, 'public'))
      writeFileSync(join(dir, 'public', 'hello.txt'), 'hello from the user')
      const app = Fastify()
      t.teardown(() => app.close())
      const registerUser = async () => {
        await app.register(fastifyStatic, { root: join(dir, 'public'), prefix: '/public/' })
        app.get('/send-file', async (request, reply) => await reply.sendFile('hello.txt'))
      }
      if (userFirst) await registerUser()
      await app.register(fastifyMedia, { baseDir: dir, static: { dirs: ['static-a', 'static-b'] }, media: false, mode })
      if (!userFirst) await registerUser()
      if (mode === 'production') await app.media.collectstatic()

      const user = await app.inject('/public/hello.txt')
      t.equal(user.statusCode, 200, "the user's prefix")
      t.equal(user.body, 'hello from the user')
      const sent = await app.inject('/send-file')
      t.equal(sent.statusCode, 200, "the user's reply.sendFile uses the user's root")
      t.equal(sent.body, 'hello from the user')
      const ours = await app.inject(mode === 'production' ? app.media.static('css/app.css') : '/static/css/app.css')
      t.equal(ours.statusCode, 200, "the plugin's static route")
      t.match(ours.body, /@import/)
      t.equal((await app.inject('/static/hello.txt')).statusCode, 404, "the user's files are not under static.url")
    })
  }
}

t.test('static: false turns serving off; addStaticDir refuses static.root', async (t) => {
  const dir = tempDir(t)
  cpSync(join(FIXTURES, 'static-project'), dir, { recursive: true })
  const off = Fastify()
  t.teardown(() => off.close())
  await off.register(fastifyMedia, { baseDir: dir, static: false, media: false, mode: 'development' })
  t.equal((await off.inject('/static/css/app.css')).statusCode, 404, 'no static route')
  t.throws(() => off.media.static('css/app.css'), { code: 'FST_MEDIA_INVALID_OPTION' })
  t.throws(() => off.media.addStaticDir('plugin-static'), { code: 'FST_MEDIA_INVALID_OPTION' })

  const offProduction = Fastify()
  t.teardown(() => offProduction.close())
  await offProduction.register(fastifyMedia, { baseDir: dir, static: false, media: false, mode: 'production' })
  t.equal((await offProduction.inject('/static/css/app.css')).statusCode, 404)
  t.throws(() => offProduction.media.static('css/app.css'), { code: 'FST_MEDIA_INVALID_OPTION' })

  for (const mode of ['production', 'development'] as const) {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(fastifyMedia, { baseDir: dir, static: { dirs: ['static-a', 'static-b'] }, media: false, mode })
    t.throws(() => app.media.addStaticDir('staticfiles'), { code: 'FST_MEDIA_INVALID_OPTION' }, `${mode}: static.root itself`)
    t.throws(() => app.media.addStaticDir(join(dir, 'staticfiles')), { code: 'FST_MEDIA_INVALID_OPTION' }, `${mode}: static.root, absolute`)
    t.throws(() => app.media.addStaticDir('staticfiles/sub'), { code: 'FST_MEDIA_INVALID_OPTION' }, `${mode}: inside static.root`)
  }
})
