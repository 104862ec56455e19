import t from 'tap'
import Fastify from 'fastify'
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import fastifyMedia, { FileSystemStorage } from '../lib/index.js'
import { filesUnder, tempDir } from './helpers.js'

t.test('a static dir that contains static.root never collects its own output', async (t) => {
  const dir = tempDir(t)
  writeFileSync(join(dir, 'site.css'), 'body { color: red }')
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyMedia, { baseDir: dir, static: { dirs: ['.'], root: 'out' }, media: false })
  const first = await app.media.collectstatic({ compress: false })
  t.same(first.copied, ['site.css'])
  const second = await app.media.collectstatic({ compress: false })
  t.same(second.copied, [], 'nothing of out/ was found as a source')
  t.same(filesUnder(join(dir, 'out')).sort(), ['site.css', first.manifest['site.css'], 'staticfiles.json'].sort())
  t.same(await app.media.findstatic('out/site.css'), [], 'not found through the containing dir either')
})

t.test('a static dir that does not exist (yet) is simply empty', async (t) => {
  const dir = tempDir(t)
  writeFileSync(join(dir, 'a.css'), 'a { color: red }')
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyMedia, { baseDir: dir, static: { dirs: ['missing', '.'], root: 'out' }, media: false })
  const result = await app.media.collectstatic({ compress: false })
  t.same(result.copied, ['a.css'])
})

t.test('static.root may not hold a static dir, from the options or from a plugin', async (t) => {
  const dir = tempDir(t)
  mkdirSync(join(dir, 'out', 'vendor'), { recursive: true })
  const bad = Fastify()
  t.teardown(() => bad.close())
  await t.rejects(async () => await bad.register(fastifyMedia, { baseDir: dir, static: { dirs: ['out/vendor'], root: 'out' }, media: false }), { code: 'FST_MEDIA_INVALID_OPTION', message: /static\.dirs: .* is static\.root or inside it/ })
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyMedia, { baseDir: dir, static: { root: 'out' }, media: false })
  t.throws(() => app.media.addStaticDir('out/vendor'), { code: 'FST_MEDIA_INVALID_OPTION', message: /addStaticDir: .* is static\.root or inside it/ })
  t.throws(() => app.media.addStaticDir(''), { code: 'FST_MEDIA_INVALID_OPTION', message: /needs a directory/ })
  t.throws(() => app.media.addStaticDir('vendor', { prefix: 'a/../../b' }), { code: 'FST_MEDIA_INVALID_OPTION', message: /addStaticDir prefix/ })
})

t.test('a plugin cannot publish a storage\'s files as static files', async (t) => {
  const dir = tempDir(t)
  mkdirSync(join(dir, 'private'), { recursive: true })
  writeFileSync(join(dir, 'private', 'contract.pdf'), 'secret')
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyMedia, {
    baseDir: dir,
    signingKey: 'k'.repeat(32),
    storages: { private: new FileSystemStorage({ location: 'private', baseUrl: '/private/', public: false }) }
  })
  const cases: Array<[string, string]> = [['.', 'private'], ['private', 'private'], ['media/avatars', 'default'], ['media', 'default']]
  for (const [added, storage] of cases) {
    t.throws(() => app.media.addStaticDir(added, { prefix: 'all' }), { code: 'FST_MEDIA_INVALID_OPTION', message: new RegExp(`shares files with storages\\.${storage}`) }, added)
  }
  t.equal((await app.inject('/static/all/private/contract.pdf')).statusCode, 404)
})

t.test('a symlink to static.root inside a static dir is not walked', async (t) => {
  const dir = tempDir(t)
  mkdirSync(join(dir, 'assets'))
  writeFileSync(join(dir, 'assets', 'a.css'), 'a { color: red }')
  symlinkSync(join(dir, 'assets', 'out'), join(dir, 'assets', 'link-to-root'))
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyMedia, { baseDir: dir, static: { dirs: ['assets'], root: 'assets/../out' }, media: false })
  mkdirSync(join(dir, 'out'))
  await app.media.collectstatic({ compress: false })
  const second = await app.media.collectstatic({ compress: false })
  t.same(second.copied, [], 'the root is not collected back into itself')
})
