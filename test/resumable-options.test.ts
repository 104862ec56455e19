import t from 'tap'
import Fastify from 'fastify'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { access } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fastifyMedia, { FileField, MemoryStorage } from '../lib/index.js'
import { fileBacking } from '../lib/resumable/file-backing.js'
import { loadTus } from '../lib/resumable/load-tus.js'
import { makeApp, tempDir } from './helpers.js'

t.test('resumable() refuses what cannot work when it is called, naming the option', async (t) => {
  const { app } = await makeApp(t, { storages: { memory: new MemoryStorage() } })
  const Clip = app.media.model('clip', {
    video: FileField({ accept: ['video/mp4'] }),
    audio: FileField({ accept: ['audio/mpeg'] }),
    kept: FileField({ storage: 'memory' })
  })
  const { video, audio, kept } = Clip.fields
  const refusals: Array<[string, () => unknown, RegExp]> = [
    ['a prefix that is no path', () => app.media.resumable('files', { fields: [video] }), /resumable prefix: must be a path starting with "\/"/],
    ['no options', () => app.media.resumable('/files', undefined as never), /resumable: needs \{ fields \}/],
    ['an unknown option', () => app.media.resumable('/files', { fields: [video], expires: 1 } as never), /expires/],
    ['no fields', () => app.media.resumable('/files', { fields: [] }), /resumable\.fields: needs at least one field/],
    ['something else than a field', () => app.media.resumable('/files', { fields: [{ name: 'video' }] as never }), /must be fields of declared models/],
    ['fields in two storages', () => app.media.resumable('/files', { fields: [video, kept] }), /clip\.kept is in another storage than clip\.video: mount one endpoint per storage/],
    ['a storage that cannot keep uploads', () => app.media.resumable('/files', { fields: [kept] }), /storage "memory" cannot keep resumable uploads \(FileSystemStorage and S3Storage can\)/],
    ['a bad expiresIn', () => app.media.resumable('/files', { fields: [video], expiresIn: 0 }), /resumable\.expiresIn: must be whole seconds, at least 1/],
    ['a bad expireEvery', () => app.media.resumable('/files', { fields: [video], expireEvery: -1 }), /resumable\.expireEvery/],
    ['a locker that is none', () => app.media.resumable('/files', { fields: [video], locker: {} }), /resumable\.locker: must be a @tus\/utils Locker/]
  ]
  for (const [what, call, message] of refusals) t.throws(call, { code: 'FST_MEDIA_INVALID_OPTION', message }, what)

  app.media.resumable('/files', { fields: [video] })
  t.throws(() => app.media.resumable('/more', { fields: [audio, video] }), { code: 'FST_MEDIA_INVALID_OPTION', message: /clip\.video is on another resumable endpoint already/ }, 'one endpoint per field')
  t.doesNotThrow(() => app.media.resumable('/more', { fields: [audio] }), 'the refused call claimed nothing')
  await t.rejects(app.media.expireUploads({ olderThan: -1 }), { code: 'FST_MEDIA_INVALID_OPTION', message: /olderThan/ })
})

t.test('a missing tus package is named with its install command', async (t) => {
  await t.rejects(loadTus('@tus/s3-store', async () => { throw new Error('Cannot find package') }), { code: 'FST_MEDIA_INVALID_OPTION', message: /resumable uploads need @tus\/s3-store: npm install @tus\/s3-store/ })
})

t.test('the OpenAPI document says which fields take a resumable upload\'s URL, and where uploads are created', async (t) => {
  const { default: fastifySwagger } = await import('@fastify/swagger')
  const dir = tempDir(t)
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifySwagger, { openapi: {} })
  await app.register(fastifyMedia, { baseDir: dir, static: false })
  const Clip = app.media.model('clip', { video: FileField({ accept: ['video/mp4'] }), poster: FileField({ accept: ['image/png'], required: false }) })
  await app.register(async (api) => { await api.register(app.media.resumable('/files/', { fields: [Clip.fields.video] })) }, { prefix: '/api' })
  app.post('/clips', { upload: Clip }, async () => ({}))
  await app.ready()
  const properties = (app.swagger() as any).paths['/clips'].post.requestBody.content['multipart/form-data'].schema.properties
  t.match(properties.video.description, /Or the URL of a finished resumable upload \(tus, created at \/api\/files\)\.$/)
  t.notMatch(properties.poster.description, /resumable/)
})

t.test('the disk backing leaves nothing running: its root removed at once, nothing fails later, nothing is made again', async (t) => {
  // @tus/file-store's constructor starts a mkdir nobody awaits and throws its error in the callback: with the
  // root removed meanwhile (a test removing its temp dir right after close()), an uncaught ENOENT, or the
  // directory made again
  const roots: string[] = []
  for (let i = 0; i < 10; i++) {
    const root = mkdtempSync(join(tmpdir(), 'fastify-media-'))
    roots.push(root)
    await fileBacking(root, { expiresIn: 1000 })
    rmSync(root, { recursive: true, force: true })
  }
  // rounds through the thread pool, where such a mkdir runs
  await Promise.all(roots.map(async (root) => await access(root).catch(() => {})))
  t.same(roots.filter((root) => existsSync(root)), [])
})
