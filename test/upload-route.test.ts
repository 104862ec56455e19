import t from 'tap'
import Fastify from 'fastify'
import { createHash } from 'node:crypto'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { once } from 'node:events'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import fastifyMedia, { FileField, ImageField, type StoredMessage } from '../lib/index.js'
import { filesUnder, fixture, makeApp, multipart, postForm, tempDir, type Tap } from './helpers.js'
import { listen, RawConnection, requestHead, within } from './http-helpers.js'
import { WatchedStorage } from './watched-storage.js'

async function profileApp (t: Tap, options: Parameters<typeof makeApp>[1] = {}) {
  const storage = new WatchedStorage()
  const { app, dir } = await makeApp(t, { storages: { default: storage }, ...options })
  const Profile = app.media.model('profile', {
    avatar: ImageField({ uploadTo: 'avatars/', maxSize: '100 kB', required: false }),
    document: FileField({ uploadTo: 'docs/', accept: ['application/pdf'], minSize: 100 }),
    photos: ImageField({ uploadTo: 'photos/', multiple: true, maxCount: 2, required: false })
  })
  const media = join(dir, 'media')
  return { app, Profile, media, storage, stored: () => filesUnder(media) }
}

/**
 * Resolves with the error a request failed with; `inject()` cannot tell when a request whose body broke
 * off is done, and onResponse fires as soon as the socket closes.
 */
function requestFailed (app: Awaited<ReturnType<typeof makeApp>>['app']): Promise<unknown> {
  return new Promise((resolve) => app.addHook('onError', async (_req, _reply, err) => resolve(err)))
}

/** Resolves with the name of the next file the plugin reports kept (README "Events"). */
async function nextStored (t: Tap): Promise<string> {
  const message = new Promise<string>((resolve) => {
    const onMessage = (message: unknown): void => { resolve((message as StoredMessage).name) }
    subscribe('fastify-media:stored', onMessage)
    t.teardown(() => { unsubscribe('fastify-media:stored', onMessage) })
  })
  return await within(message, 'a fastify-media:stored message')
}

const pdf = { name: 'document', filename: 'report.pdf', content: fixture('fixture.pdf') }
const png = { name: 'avatar', filename: 'me.png', content: fixture('fixture.png') }

t.test('files land in req.uploads, text parts in req.body', async (t) => {
  const { app, Profile, stored } = await profileApp(t)
  app.post('/p', { upload: Profile }, async (req) => ({ body: req.body, uploads: req.uploads }))
  const res = await postForm(app, '/p', [
    { name: 'title', content: 'Hello' },
    { name: 'tag', content: 'a' },
    { name: 'tag', content: 'b' },
    png,
    pdf,
    { name: 'photos', filename: 'one.jpg', content: fixture('fixture.jpg') },
    { name: 'photos', filename: 'two.webp', content: fixture('fixture.webp') }
  ])
  t.equal(res.statusCode, 200, res.body)
  const { body, uploads } = res.json()
  t.same(body, { title: 'Hello', tag: ['a', 'b'] })
  t.match(uploads.avatar, { name: 'avatars/me.png', url: '/media/avatars/me.png', width: 200, height: 133, contentType: 'image/png' })
  t.match(uploads.document, { name: 'docs/report.pdf', url: '/media/docs/report.pdf', size: fixture('fixture.pdf').length })
  t.notOk('width' in uploads.document, 'FileField files have no dimensions')
  t.same(uploads.photos.map((p: { name: string }) => p.name), ['photos/one.jpg', 'photos/two.webp'])
  t.same(stored(), ['avatars/me.png', 'docs/report.pdf', 'photos/one.jpg', 'photos/two.webp'])
})

t.test('schema.body validates the text parts; a failure stores nothing', async (t) => {
  const { app, Profile, stored } = await profileApp(t)
  const schema = { body: { type: 'object', required: ['title'], properties: { title: { type: 'string', minLength: 3 }, age: { type: 'integer' } } } }
  app.post('/p', { upload: Profile, schema }, async (req) => req.body)
  const good = await postForm(app, '/p', [{ name: 'title', content: 'Hello' }, { name: 'age', content: '42' }, pdf])
  t.equal(good.statusCode, 200, good.body)
  t.same(good.json(), { title: 'Hello', age: 42 }, 'coerced by the schema')
  const bad = await postForm(app, '/p', [{ name: 'title', content: 'x' }, pdf, png])
  t.equal(bad.statusCode, 400)
  t.equal(bad.json().code, 'FST_ERR_VALIDATION')
  t.same(stored(), ['docs/report.pdf'], 'only the first request\'s file remains')
})

t.test('after an upload error, req.body holds the text parts read so far', async (t) => {
  const { app, Profile } = await profileApp(t)
  let seen: unknown
  app.post('/p', {
    upload: Profile,
    errorHandler: async (err, req, reply) => {
      seen = req.body
      return reply.code(err.statusCode ?? 500).send({ code: err.code })
    }
  }, async () => 'never')
  const res = await postForm(app, '/p', [{ name: 'title', content: 'Keep me' }, { ...png, content: fixture('fixture.exe') }, { name: 'late', content: 'unread' }])
  t.equal(res.json().code, 'FST_MEDIA_INVALID_TYPE')
  t.same(seen, { title: 'Keep me' })
})

t.test('an untouched optional file input counts as absent; a required one is FIELD_REQUIRED', async (t) => {
  const { app, Profile, stored } = await profileApp(t)
  app.post('/p', { upload: Profile }, async (req) => req.uploads)
  const res = await postForm(app, '/p', [{ name: 'avatar', filename: '', content: '' }, { name: 'photos', filename: '', content: '' }, pdf])
  t.equal(res.statusCode, 200, res.body)
  t.equal(res.json().avatar, null)
  t.same(res.json().photos, [])
  const missing = await postForm(app, '/p', [png, { name: 'document', filename: '', content: '' }])
  t.equal(missing.statusCode, 400)
  t.match(missing.json(), { code: 'FST_MEDIA_FIELD_REQUIRED', message: 'document: this field is required' })
  t.same(stored(), ['docs/report.pdf'], 'the avatar of the failed request is gone')
})

t.test('a required multiple field needs at least one file', async (t) => {
  const { app, dir } = await makeApp(t)
  const Album = app.media.model('album', { photos: ImageField({ multiple: true }) })
  app.post('/a', { upload: Album }, async (req) => req.uploads)
  const res = await postForm(app, '/a', [{ name: 'photos', filename: '', content: '' }])
  t.match(res.json(), { statusCode: 400, code: 'FST_MEDIA_FIELD_REQUIRED', message: 'photos: this field is required' })
  t.same(filesUnder(dir), [])
})

t.test('a body that breaks off mid-file leaves nothing', async (t) => {
  const { app, Profile, storage, stored } = await profileApp(t)
  const failed = requestFailed(app)
  app.post('/p', { upload: Profile }, async (req) => req.uploads)
  const { payload, headers } = multipart([pdf, { name: 'avatar', filename: 'big.png', content: Buffer.concat([fixture('fixture.png'), Buffer.alloc(40_000)]) }])
  const body = new Readable({ read () {} })
  // the pdf and the avatar's first 10 kB; the body breaks off once the pdf is stored
  body.push(payload.subarray(0, payload.indexOf('name="avatar"') + 10_000))
  storage.next('saved', 'docs/report.pdf').then(() => body.destroy(new Error('client went away')), (err: Error) => body.destroy(err))
  const res = await app.inject({ method: 'POST', url: '/p', headers, payload: body }).catch((err: Error) => err)
  t.match(res, { message: 'client went away' }, 'the client sees its own failure')
  // the error reaches onError after the rollback it caused has ended
  t.match(await failed, { code: 'FST_MEDIA_BAD_MULTIPART', statusCode: 400 }, 'the server saw a broken body')
  t.same(storage.log, ['saved docs/report.pdf', 'deleted docs/report.pdf'], 'the pdf stored before the break was deleted')
  t.same(stored(), [], 'and no temp file is left')
})

t.test('{hash} names a file by its content', async (t) => {
  const { app, dir } = await makeApp(t)
  const Cas = app.media.model('cas', { blob: FileField({ uploadTo: 'cas/{hash}.{ext}', maxSize: '10 kB' }) })
  app.post('/c', { upload: Cas }, async (req) => req.uploads)
  const res = await postForm(app, '/c', [{ name: 'blob', filename: 'whatever.pdf', content: fixture('fixture.pdf') }])
  const sha256 = createHash('sha256').update(fixture('fixture.pdf')).digest('hex')
  t.equal(res.json().blob.name, `cas/${sha256}.pdf`)
  const small = await postForm(app, '/c', [{ name: 'blob', filename: 'a.png', content: fixture('fixture.png') }])
  t.match(small.json(), { statusCode: 413, code: 'FST_MEDIA_FILE_TOO_LARGE' }, 'a file inside the sniffing window is refused before any write')
  t.same(filesUnder(join(dir, 'media')), [`cas/${sha256}.pdf`])
})

t.test('a body that breaks off between parts leaves nothing', async (t) => {
  const { app, Profile, storage, stored } = await profileApp(t)
  const failed = requestFailed(app)
  app.post('/p', { upload: Profile }, async (req) => req.uploads)
  const { payload, headers } = multipart([pdf, png])
  const body = new Readable({ read () {} })
  // the pdf part complete, the avatar part's boundary begun; the body breaks off once the pdf is stored
  body.push(payload.subarray(0, payload.indexOf('name="avatar"') - 30))
  storage.next('saved', 'docs/report.pdf').then(() => body.destroy(new Error('client went away')), (err: Error) => body.destroy(err))
  const res = await app.inject({ method: 'POST', url: '/p', headers, payload: body }).catch((err: Error) => err)
  t.match(res, { message: 'client went away' })
  t.match(await failed, { code: 'FST_MEDIA_BAD_MULTIPART', statusCode: 400 }, 'the server saw a broken body')
  t.same(storage.log, ['saved docs/report.pdf', 'deleted docs/report.pdf'], 'the pdf stored before the break was deleted')
  t.same(stored(), [])
})

t.test('a request that is not multipart/form-data gets 415', async (t) => {
  const { app, Profile } = await profileApp(t)
  app.post('/p', { upload: Profile }, async () => 'never')
  const bodies: Array<[string, string]> = [['application/json', '{}'], ['application/x-www-form-urlencoded', 'a=b'], ['text/plain', 'x'], ['multipart/mixed; boundary=x', '--x--']]
  for (const [type, payload] of bodies) {
    const res = await app.inject({ method: 'POST', url: '/p', headers: { 'content-type': type }, payload })
    t.equal(res.statusCode, 415, type)
    t.equal(res.json().code, 'FST_MEDIA_NOT_MULTIPART', type)
    t.match(res.json().message, /POST \/p/)
  }
  const none = await app.inject({ method: 'POST', url: '/p' })
  t.equal(none.json().code, 'FST_MEDIA_NOT_MULTIPART')
})

t.test('size limits: maxSize while streaming, minSize and empty at the end', async (t) => {
  const { app, Profile, stored } = await profileApp(t)
  app.post('/p', { upload: Profile }, async (req) => req.uploads)
  const big = Buffer.concat([fixture('fixture.png'), Buffer.alloc(200_000)])
  const tooLarge = await postForm(app, '/p', [pdf, { name: 'avatar', filename: 'big.png', content: big }])
  t.equal(tooLarge.statusCode, 413)
  t.match(tooLarge.json(), { code: 'FST_MEDIA_FILE_TOO_LARGE', message: 'avatar: file is larger than 100 kB' })
  const headOnly = Buffer.concat([fixture('fixture.png'), Buffer.alloc(50_000)]) // > 100 kB within the window
  const alsoLarge = await postForm(app, '/p', [pdf, { name: 'avatar', filename: 'big.png', content: headOnly.subarray(0, 101_000) }])
  t.equal(alsoLarge.json().code, 'FST_MEDIA_FILE_TOO_LARGE')
  const small = await postForm(app, '/p', [{ ...pdf, content: fixture('fixture.pdf').subarray(0, 50) }])
  t.match(small.json(), { statusCode: 400, code: 'FST_MEDIA_FILE_TOO_SMALL', message: 'document: file is smaller than 100 B' })
  const empty = await postForm(app, '/p', [{ ...pdf, content: '' }])
  t.equal(empty.json().code, 'FST_MEDIA_FILE_TOO_SMALL', 'an empty file with a name is too small')
  t.same(stored(), [])
})

t.test('file parts the model does not declare, and too many files', async (t) => {
  const { app, Profile, stored } = await profileApp(t, { limits: { files: 4 } })
  app.post('/p', { upload: Profile }, async (req) => req.uploads)
  const unknown = await postForm(app, '/p', [pdf, { name: 'resume', filename: 'cv.pdf', content: fixture('fixture.pdf') }])
  t.match(unknown.json(), { statusCode: 400, code: 'FST_MEDIA_UNKNOWN_FIELD', message: /^resume: / })
  const twice = await postForm(app, '/p', [pdf, pdf])
  t.match(twice.json(), { statusCode: 400, code: 'FST_MEDIA_TOO_MANY_FILES', message: 'document: too many files (at most 1)' })
  const photo = { name: 'photos', filename: 'p.jpg', content: fixture('fixture.jpg') }
  const overCount = await postForm(app, '/p', [pdf, photo, photo, photo])
  t.match(overCount.json(), { code: 'FST_MEDIA_TOO_MANY_FILES', message: 'photos: too many files (at most 2)' })
  const overLimit = await postForm(app, '/p', [pdf, png, photo, photo, { name: 'avatar', filename: 'x.png', content: fixture('fixture.png') }])
  t.match(overLimit.json(), { statusCode: 400, code: 'FST_MEDIA_TOO_MANY_FILES', message: /^request: too many files \(at most 4\)/ })
  const textForFile = await postForm(app, '/p', [{ name: 'document', content: 'not a file' }])
  t.match(textForFile.json(), { statusCode: 400, code: 'FST_MEDIA_BAD_MULTIPART', message: /^document: / })
  t.same(stored(), [])
})

t.test('request limits: parts, fields, fieldSize, totalSize', async (t) => {
  const { app, Profile, stored } = await profileApp(t, { limits: { parts: 5, fields: 2, fieldSize: 10 } })
  app.post('/p', { upload: Profile }, async (req) => req.uploads)
  const small = await profileApp(t, { limits: { totalSize: '60 kB' } })
  small.app.post('/p', { upload: small.Profile }, async (req) => req.uploads)
  const field = (name: string) => ({ name, content: 'v' })
  const photo = { name: 'photos', filename: 'p.jpg', content: fixture('fixture.jpg') }
  const parts = await postForm(app, '/p', [pdf, field('a'), field('b'), png, photo, photo])
  t.match(parts.json(), { statusCode: 413, code: 'FST_MEDIA_LIMIT', message: /limits\.parts/ })
  const fields = await postForm(app, '/p', [field('a'), field('b'), field('c'), pdf])
  t.match(fields.json(), { statusCode: 413, code: 'FST_MEDIA_LIMIT', message: /limits\.fields/ })
  const fieldSize = await postForm(app, '/p', [{ name: 'a', content: 'x'.repeat(11) }, pdf])
  t.match(fieldSize.json(), { statusCode: 413, code: 'FST_MEDIA_LIMIT', message: /^a: .*limits\.fieldSize/ })
  const text = await postForm(small.app, '/p', [{ name: 'essay', content: 'x'.repeat(55_000) }, pdf])
  t.match(text.json(), { statusCode: 413, code: 'FST_MEDIA_LIMIT', message: /limits\.totalSize/ }, 'text parts count too')
  const json = await postForm(small.app, '/p', [{ name: 'meta', content: JSON.stringify({ essay: 'x'.repeat(55_000) }), contentType: 'application/json' }, pdf])
  t.match(json.json(), { statusCode: 413, code: 'FST_MEDIA_LIMIT' }, 'JSON parts count as their text')
  const total = await postForm(small.app, '/p', [pdf, png])
  t.match(total.json(), { statusCode: 413, code: 'FST_MEDIA_LIMIT', message: /limits\.totalSize: 60 kB/ })
  t.same(stored(), [])
  t.same(small.stored(), [])
})

t.test('names: nothing usable left is INVALID_NAME; paths never leave the upload dir', async (t) => {
  const { app, Profile, stored } = await profileApp(t)
  app.post('/p', { upload: Profile }, async (req) => req.uploads)
  const nameless = await postForm(app, '/p', [{ ...pdf, filename: '???.' }])
  t.match(nameless.json(), { statusCode: 400, code: 'FST_MEDIA_INVALID_NAME', message: /^document: / })
  const dotted = await postForm(app, '/p', [{ ...pdf, filename: '..' }])
  t.equal(dotted.json().code, 'FST_MEDIA_INVALID_NAME')
  for (const filename of ['../../x.pdf', '..\\..\\x.pdf', '/etc/x.pdf']) {
    const res = await postForm(app, '/p', [{ ...pdf, filename }])
    t.equal(res.statusCode, 200, filename)
    t.match(res.json().document.name, /^docs\/x(_[a-zA-Z0-9]{7})?\.pdf$/, filename)
  }
  t.equal(stored().length, 3)
  t.ok(stored().every((name) => name.startsWith('docs/')))
})

t.test('checks run in contract order: name, type, extension, header, size', async (t) => {
  const { app, dir } = await makeApp(t)
  const M = app.media.model('m', { f: ImageField({ maxSize: 10, maxWidth: 10 }) })
  app.post('/m', { upload: M }, async () => 'stored')
  const post = async (filename: string, content: Buffer) => (await postForm(app, '/m', [{ name: 'f', filename, content }])).json().code
  t.equal(await post('???', fixture('fixture.exe')), 'FST_MEDIA_INVALID_NAME', 'name before type')
  t.equal(await post('a.jpg', fixture('fixture.exe')), 'FST_MEDIA_INVALID_TYPE', 'type before extension')
  t.equal(await post('a.jpg', fixture('fixture.png')), 'FST_MEDIA_EXTENSION_MISMATCH', 'extension before header')
  t.equal(await post('a.png', Buffer.concat([fixture('fixture.png'), Buffer.alloc(100_000)])), 'FST_MEDIA_INVALID_IMAGE', 'header before size')
  t.same(filesUnder(dir), [])
})

t.test('all or nothing: a failing later part, a thrown handler, a reply >= 400', async (t) => {
  const { app, Profile, stored } = await profileApp(t)
  app.post('/ok', { upload: Profile }, async (req, reply) => reply.code(201).send(req.uploads))
  app.post('/throws', { upload: Profile }, async () => { throw new Error('database down') })
  app.post('/conflict', { upload: Profile }, async (req, reply) => reply.code(409).send({ taken: true }))
  const laterFails = await postForm(app, '/ok', [pdf, png, { name: 'photos', filename: 'x.png', content: fixture('fixture.exe') }])
  t.equal(laterFails.json().code, 'FST_MEDIA_INVALID_TYPE')
  t.same(stored(), [])
  const thrown = await postForm(app, '/throws', [pdf, png])
  t.equal(thrown.statusCode, 500)
  t.same(stored(), [])
  const conflict = await postForm(app, '/conflict', [pdf, png])
  t.equal(conflict.statusCode, 409)
  t.same(stored(), [])
  const created = await postForm(app, '/ok', [pdf, png])
  t.equal(created.statusCode, 201)
  t.same(stored(), ['avatars/me.png', 'docs/report.pdf'])
})

t.test('a file is not served until its request has succeeded', async (t) => {
  const { app, Profile, storage, stored } = await profileApp(t)
  app.post('/p', {
    upload: Profile,
    preHandler: async (req, reply) => {
      if (req.headers.authorization !== 'yes') return reply.code(401).send({ denied: true })
    }
  }, async (req, reply) => reply.code(201).send(req.uploads))
  const { payload, headers } = multipart([pdf, png])
  const split = payload.indexOf('name="avatar"') + 100
  for (const authorization of ['no', 'yes']) {
    const body = new Readable({ read () {} })
    body.push(payload.subarray(0, split))
    const saved = storage.next('saved', 'docs/report.pdf')
    const response = app.inject({ method: 'POST', url: '/p', headers: { ...headers, authorization }, payload: body })
    await saved
    t.ok(stored().includes('docs/report.pdf'), 'the pdf is on disk while the request is open')
    t.equal((await app.inject('/media/docs/report.pdf')).statusCode, 404, `${authorization}: not served while the request is open`)
    body.push(payload.subarray(split))
    body.push(null)
    const res = await response
    t.equal(res.statusCode, authorization === 'yes' ? 201 : 401)
    const served = await app.inject('/media/docs/report.pdf')
    t.equal(served.statusCode, authorization === 'yes' ? 200 : 404, `${authorization}: served only after success`)
  }
})

t.test('a client that leaves while the handler runs does not take the handler\'s files away', async (t) => {
  const { app, Profile, stored } = await profileApp(t)
  let handling: () => void
  const inHandler = new Promise<void>((resolve) => { handling = resolve })
  let saved: (record: unknown) => void
  const record = new Promise((resolve) => { saved = resolve })
  const kept = nextStored(t)
  app.post('/p', { upload: Profile }, async (req, reply) => {
    // the plugin hears the same close (it listens on reply.raw too); the handler decides after it
    const closed = once(reply.raw, 'close')
    handling()
    await closed
    saved(Profile.toRecord(req.uploads))
    return { saved: true }
  })
  const { port } = await listen(app)
  const { payload, headers } = multipart([pdf])
  const conn = await RawConnection.open(port)
  t.teardown(() => conn.destroy())
  await conn.write(requestHead('/p', port, payload.length, headers))
  await conn.write(payload)
  await within(inHandler, 'the handler')
  conn.destroy()
  t.match(await within(record, 'the handler\'s record'), { document: 'docs/report.pdf' })
  t.equal(await kept, 'docs/report.pdf', 'the request ended by keeping its file')
  t.same(stored(), ['docs/report.pdf'], 'the record the handler saved points at a file that exists')
})

t.test('a hijacked reply rolls back like an abort', async (t) => {
  const { app, Profile, storage, stored } = await profileApp(t)
  app.post('/h', { upload: Profile }, async (req, reply) => {
    reply.hijack()
    reply.raw.end('raw')
  })
  const deleted = storage.next('deleted', 'docs/report.pdf')
  const res = await postForm(app, '/h', [pdf])
  t.equal(res.body, 'raw')
  await deleted
  t.same(storage.log, ['saved docs/report.pdf', 'deleted docs/report.pdf'], 'stored, then deleted once the hijacked reply ended')
  t.same(stored(), [])
})

t.test('malformed and truncated bodies are BAD_MULTIPART and store nothing', async (t) => {
  const { app, Profile, stored } = await profileApp(t)
  app.post('/p', { upload: Profile }, async (req) => req.uploads)
  const { payload, headers } = multipart([pdf, png])
  const truncated = await app.inject({ method: 'POST', url: '/p', headers, payload: payload.subarray(0, payload.length - 30_000) })
  t.match(truncated.json(), { statusCode: 400, code: 'FST_MEDIA_BAD_MULTIPART' })
  const noBoundary = await app.inject({ method: 'POST', url: '/p', headers: { 'content-type': 'multipart/form-data' }, payload: 'x' })
  t.match(noBoundary.json(), { statusCode: 400, code: 'FST_MEDIA_BAD_MULTIPART', message: /Boundary/ })
  const proto = await postForm(app, '/p', [{ name: '__proto__', content: 'x' }, pdf])
  t.match(proto.json(), { statusCode: 400, code: 'FST_MEDIA_BAD_MULTIPART' })
  const json = await postForm(app, '/p', [{ name: 'meta', content: '{bad', contentType: 'application/json' }, pdf])
  t.match(json.json(), { statusCode: 400, code: 'FST_MEDIA_BAD_MULTIPART', message: /JSON/ })
  t.same(stored(), [])
})

t.test('req.uploads outside an upload route fails loudly', async (t) => {
  const { app } = await makeApp(t)
  app.get('/plain', async (req) => req.uploads)
  const res = await app.inject('/plain')
  t.equal(res.statusCode, 500)
  t.match(res.json(), { code: 'FST_MEDIA_NOT_UPLOAD_ROUTE', message: /GET \/plain is not an upload route/ })
})

t.test('upload routes are declared correctly or not at all', async (t) => {
  const { app } = await makeApp(t)
  const M = app.media.model('m', { f: FileField() })
  t.throws(() => app.get('/g', { upload: M } as never, async () => 'x'), { code: 'FST_MEDIA_INVALID_OPTION', message: /must be POST, PUT or PATCH/ })
  t.throws(() => app.post('/x', { upload: { fields: {} } } as never, async () => 'x'), { code: 'FST_MEDIA_INVALID_OPTION', message: /app\.media\.model/ })
  app.route({ method: ['PUT', 'PATCH'], url: '/both', upload: M, preValidation: async () => {}, onSend: [async (_req, _reply, payload) => payload], handler: async (req) => req.uploads })
  const res = await app.inject({ method: 'PATCH', url: '/both', ...multipart([{ name: 'f', filename: 'a.png', content: fixture('fixture.png') }]) })
  t.equal(res.statusCode, 200, 'existing route hooks are kept')
})

t.test('a part without filename is a text part whatever its Content-Type', async (t) => {
  const { app, Profile, stored } = await profileApp(t)
  app.post('/p', { upload: Profile }, async (req) => ({ body: req.body, uploads: req.uploads }))
  const res = await postForm(app, '/p', [pdf, { name: 'note', content: 'raw bytes', contentType: 'application/octet-stream' }])
  t.equal(res.statusCode, 200, res.body)
  t.same(res.json().body, { note: 'raw bytes' })
  const asFile = await postForm(app, '/p', [{ name: 'document', content: fixture('fixture.pdf'), contentType: 'application/octet-stream' }])
  t.match(asFile.json(), { statusCode: 400, code: 'FST_MEDIA_BAD_MULTIPART', message: /^document: malformed multipart body \(a text value where a file was expected/ })
  t.same(stored(), ['docs/report.pdf'])
})

t.test('a multipart body consumed by another plugin first fails loudly', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register((await import('@fastify/multipart')).default, { attachFieldsToBody: true })
  await app.register(fastifyMedia, { baseDir: tempDir(t), static: false })
  const M = app.media.model('m', { f: FileField() })
  app.post('/m', { upload: M }, async (req) => req.uploads)
  const res = await postForm(app, '/m', [{ name: 'f', filename: 'a.pdf', content: fixture('fixture.pdf') }])
  t.match(res.json(), { statusCode: 500, code: 'FST_MEDIA_INVALID_OPTION', message: /POST \/m: another plugin consumed the multipart body/ })
})

t.test('the user\'s own @fastify/multipart is reused', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register((await import('@fastify/multipart')).default)
  await app.register(fastifyMedia, { baseDir: tempDir(t), static: false })
  const M = app.media.model('m', { f: FileField() })
  app.post('/m', { upload: M }, async (req) => req.uploads)
  const res = await postForm(app, '/m', [{ name: 'f', filename: 'a.pdf', content: fixture('fixture.pdf') }])
  t.equal(res.statusCode, 200)
})

t.test('Fastify\'s bodyLimit does not bound upload routes', async (t) => {
  const dir = tempDir(t)
  const app = Fastify({ bodyLimit: 1000 })
  t.teardown(() => app.close())
  await app.register(fastifyMedia, { baseDir: dir, static: false })
  const M = app.media.model('m', { f: FileField() })
  app.post('/m', { upload: M }, async (req) => req.uploads)
  const res = await postForm(app, '/m', [{ name: 'f', filename: 'a.png', content: fixture('fixture.png') }])
  t.equal(res.statusCode, 200, res.body)
})
