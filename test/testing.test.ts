// multipartBody, the helper users import from fastify-media/testing to test their upload routes with inject().
import Fastify from 'fastify'
import { readFileSync } from 'node:fs'
import { buffer } from 'node:stream/consumers'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import fastifyMedia, { FileField, ImageField, MemoryStorage } from '../lib/index.js'
import { multipartBody } from '../lib/testing.js'
import { filesUnder, fixture, makeApp, tempDir, type Tap } from './helpers.js'

const png = fixture('fixture.png')
const pdf = fixture('fixture.pdf')

async function profileApp (t: Tap) {
  const { app, dir } = await makeApp(t)
  const Profile = app.media.model('profile', {
    avatar: ImageField({ uploadTo: 'avatars/' }),
    notes: FileField({ uploadTo: 'notes/', accept: ['text/plain'], required: false }),
    photos: ImageField({ uploadTo: 'photos/', multiple: true, required: false })
  })
  app.post('/profiles', { upload: Profile }, async (req, reply) => reply.code(201).send({ body: req.body, uploads: req.uploads }))
  return { app, stored: () => filesUnder(`${dir}/media`), read: (name: string) => readFileSync(`${dir}/media/${name}`) }
}

t.test('text fields land in req.body, files of every shape are stored, several per field', async (t) => {
  const { app, stored, read } = await profileApp(t)
  const res = await app.inject({
    method: 'POST',
    url: '/profiles',
    ...multipartBody({
      name: 'Ada',
      tags: ['math', 'engines'],
      avatar: png,
      notes: { filename: 'notes.txt', data: 'first note', contentType: 'text/plain' },
      photos: [{ filename: 'one.jpg', data: fixture('fixture.jpg') }, { filename: 'two.webp', data: new Uint8Array(fixture('fixture.webp')) }]
    })
  })
  t.equal(res.statusCode, 201, res.body)
  const { body, uploads } = res.json()
  t.same(body, { name: 'Ada', tags: ['math', 'engines'] })
  t.match(uploads, { avatar: { name: 'avatars/avatar.png', contentType: 'image/png' }, notes: { name: 'notes/notes.txt', contentType: 'text/plain' } })
  t.same(uploads.photos.map((photo: { name: string }) => photo.name), ['photos/one.jpg', 'photos/two.webp'])
  t.same(stored(), ['avatars/avatar.png', 'notes/notes.txt', 'photos/one.jpg', 'photos/two.webp'])
  t.same(read('avatars/avatar.png'), png, 'a Buffer is a file named after its field, stored byte for byte')
  t.equal(read('notes/notes.txt').toString(), 'first note', 'string data is UTF-8')
  t.same(read('photos/two.webp'), fixture('fixture.webp'), 'a Uint8Array is sent whole')
})

t.test('names with quotes and line breaks are percent-encoded as browsers do; unicode goes as UTF-8', async (t) => {
  const dir = tempDir(t)
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyMedia, { baseDir: dir, static: false })
  // what the multipart parser reads, before any of our name cleaning
  app.post('/raw', async (req) => {
    const seen: Array<{ field: string, filename?: string, value?: unknown }> = []
    for await (const part of req.parts()) {
      if (part.type === 'file') {
        seen.push({ field: part.fieldname, filename: part.filename })
        await part.toBuffer()
      } else seen.push({ field: part.fieldname, value: part.value })
    }
    return seen
  })
  const Doc = app.media.model('doc', { file: FileField({ uploadTo: 'docs/', accept: ['application/pdf'] }) })
  app.post('/docs', { upload: Doc }, async (req) => req.uploads)
  const res = await app.inject({
    method: 'POST',
    url: '/raw',
    ...multipartBody({
      'we"ird\r\nname': 'x',
      file: { filename: 'my "cv"\r\n.pdf', data: pdf },
      unicode: { filename: 'Café 日本.pdf', data: pdf },
      after: 'still here'
    })
  })
  t.same(res.json(), [
    { field: 'we%22ird%0D%0Aname', value: 'x' },
    { field: 'file', filename: 'my %22cv%22%0D%0A.pdf' },
    { field: 'unicode', filename: 'Café 日本.pdf' },
    { field: 'after', value: 'still here' }
  ], 'no name ends its header early, and every part arrives')

  const stored = await app.inject({ method: 'POST', url: '/docs', ...multipartBody({ file: { filename: 'Café 日本.pdf', data: pdf } }) })
  t.equal(stored.json().file.name, 'docs/Café_日本.pdf')
  t.same(filesUnder(`${dir}/media`), ['docs/Café_日本.pdf'])
})

t.test('a value that is not a string, a Buffer or { filename, data } is a TypeError naming the field', async (t) => {
  for (const value of [1, null, { filename: 'a.pdf' }, { data: pdf }, { filename: 'a.pdf', data: 1 }]) {
    t.throws(() => multipartBody({ avatar: [png, value as never] }), { name: 'TypeError', message: 'multipartBody: avatar must be a string, a Buffer or { filename, data }' })
  }
})

t.test('an upload route tested against a MemoryStorage: stored in memory, nothing on disk', async (t) => {
  const dir = tempDir(t)
  const memory = new MemoryStorage()
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyMedia, { baseDir: dir, media: false, static: false, storages: { default: memory } })
  const Profile = app.media.model('profile', { avatar: ImageField({ uploadTo: 'avatars/' }) })
  app.post('/profiles', { upload: Profile }, async (req, reply) => reply.code(201).send(req.uploads))
  const res = await app.inject({ method: 'POST', url: '/profiles', ...multipartBody({ avatar: { filename: 'me.png', data: png } }) })
  t.equal(res.statusCode, 201, res.body)
  t.same(await memory.list(), ['avatars/me.png'])
  t.same(await buffer(memory.open('avatars/me.png')), png)
  t.same(filesUnder(dir), [], 'nothing written to disk')

  const refused = await app.inject({ method: 'POST', url: '/profiles', ...multipartBody({ avatar: { filename: 'me.png', data: 'not an image' } }) })
  t.match(refused.json(), { statusCode: 400, code: 'FST_MEDIA_INVALID_TYPE' })
  t.same(await memory.list(), ['avatars/me.png'], 'the refused upload left nothing')
})

t.test('the helper is what fastify-media/testing exports', async (t) => {
  // self-reference through package.json "exports" (dist/, built by npm test before the tests)
  t.equal(fileURLToPath(import.meta.resolve('fastify-media/testing')), fileURLToPath(new URL('../dist/testing.js', import.meta.url)))
  const published = await import('fastify-media/testing')
  const { payload, headers } = published.multipartBody({ name: 'Ada' })
  t.match(headers['content-type'], /^multipart\/form-data; boundary=----fastify-media-[0-9a-f]{24}$/)
  t.match(payload.toString(), /^------fastify-media-[0-9a-f]{24}\r\nContent-Disposition: form-data; name="name"\r\n\r\nAda\r\n------fastify-media-[0-9a-f]{24}--\r\n$/)
})
