// Every refusal in README's Errors table, with the structured properties it carries: in the default JSON
// reply, on the error a custom error handler sees, and in the one `info` line it is logged as.
import Fastify, { type FastifyError, type FastifyInstance, type LightMyRequestResponse } from 'fastify'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable, Writable } from 'node:stream'
import t from 'tap'
import fastifyMedia, { FileField, FileSystemStorage, ImageField, type FastifyMediaOptions } from '../lib/index.js'
import { fixture, multipart, tempDir, type Part, type Tap } from './helpers.js'

const png = { name: 'avatar', filename: 'me.png', content: fixture('fixture.png') }
const pdf = { name: 'document', filename: 'report.pdf', content: fixture('fixture.pdf') }
const photo = { name: 'photos', filename: 'p.jpg', content: fixture('fixture.jpg') }
const text = (name: string, content = 'x'): Part => ({ name, content })

const LIMITS = { files: 4, fields: 5, parts: 10, fieldSize: 100, totalSize: '300 kB', uploadTimeout: 0 }

interface LogLine { level: number, msg: string, reqId?: string, code?: string, err?: { code?: string }, [key: string]: unknown }

/** An app logging into an array; `custom` sets an error handler that echoes what it sees of the error. */
async function app (t: Tap, { custom = false, limits = {}, baseDir = tempDir(t) }: { custom?: boolean, limits?: FastifyMediaOptions['limits'], baseDir?: string } = {}) {
  const lines: LogLine[] = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as LogLine)
      done()
    }
  })
  const server: FastifyInstance = Fastify({ logger: { level: 'info', stream } })
  t.teardown(() => server.close())
  await server.register(fastifyMedia, { baseDir, static: false, limits: { ...LIMITS, ...limits } })
  if (custom) {
    server.setErrorHandler((err: FastifyError & Record<string, unknown>, _req, reply) => {
      const { code, field, limit, option, detected, accepted, bytes } = err
      return reply.code(err.statusCode ?? 500).send({ seen: { code, field, limit, option, detected, accepted, bytes } })
    })
  }
  const Profile = server.media.model('profile', {
    avatar: ImageField({ uploadTo: 'a/', maxSize: '100 kB', required: false }),
    badge: ImageField({ uploadTo: 'b/', maxPixels: 1000, required: false }),
    document: FileField({ uploadTo: 'd/', accept: ['application/pdf'], minSize: 100 }),
    photos: ImageField({ uploadTo: 'p/', multiple: true, maxCount: 2, required: false })
  })
  server.post('/p', { upload: Profile }, async (req, reply) => await reply.code(201).send(req.uploads))
  return { server, lines }
}

interface Case {
  what: string
  code: string
  status: number
  parts?: Part[]
  /** A request other than a multipart POST of `parts`. */
  send?: (server: FastifyInstance) => Promise<LightMyRequestResponse>
  limits?: FastifyMediaOptions['limits']
  details: Record<string, unknown>
}

const form = (parts: Part[]) => multipart(parts)
const post = (parts: Part[]) => async (server: FastifyInstance) => await server.inject({ method: 'POST', url: '/p', ...(({ payload, headers }) => ({ payload, headers }))(form(parts)) })

const CASES: Case[] = [
  { what: 'a JSON body', code: 'FST_MEDIA_NOT_MULTIPART', status: 415, send: async (server) => await server.inject({ method: 'POST', url: '/p', payload: { a: 1 } }), details: { field: null } },
  { what: 'an avatar over maxSize', code: 'FST_MEDIA_FILE_TOO_LARGE', status: 413, parts: [{ ...png, content: Buffer.concat([png.content, Buffer.alloc(100_000)]) }, pdf], details: { field: 'avatar', limit: 100_000, option: 'maxSize', detected: 'image/png', bytes: Number } },
  { what: 'a document below minSize', code: 'FST_MEDIA_FILE_TOO_SMALL', status: 400, parts: [{ ...pdf, content: pdf.content.subarray(0, 50) }], details: { field: 'document', limit: 100, option: 'minSize', detected: 'application/pdf', bytes: 50 } },
  { what: 'an empty document', code: 'FST_MEDIA_FILE_TOO_SMALL', status: 400, parts: [{ ...pdf, content: '' }], details: { field: 'document', limit: 100, option: 'minSize', bytes: 0 } },
  { what: 'a PNG as the document', code: 'FST_MEDIA_INVALID_TYPE', status: 400, parts: [{ ...pdf, filename: 'scan.png', content: png.content }], details: { field: 'document', detected: 'image/png', accepted: ['application/pdf'], bytes: png.content.length } },
  { what: 'an unrecognisable avatar', code: 'FST_MEDIA_INVALID_TYPE', status: 400, parts: [{ ...png, filename: 'me', content: 'plain words' }, pdf], details: { field: 'avatar', detected: null, accepted: ['image/jpeg', 'image/png', 'image/webp', 'image/gif', 'image/avif'], bytes: 11 } },
  { what: 'a JPEG named .png', code: 'FST_MEDIA_EXTENSION_MISMATCH', status: 400, parts: [{ ...png, content: fixture('fixture.jpg') }, pdf], details: { field: 'avatar', detected: 'image/jpeg', bytes: fixture('fixture.jpg').length } },
  { what: 'a badge over maxPixels', code: 'FST_MEDIA_INVALID_IMAGE', status: 400, parts: [{ ...png, name: 'badge' }, pdf], details: { field: 'badge', limit: 1000, option: 'maxPixels', detected: 'image/png', bytes: png.content.length } },
  { what: 'no document', code: 'FST_MEDIA_FIELD_REQUIRED', status: 400, parts: [png], details: { field: 'document' } },
  { what: 'a file the model does not declare', code: 'FST_MEDIA_UNKNOWN_FIELD', status: 400, parts: [{ ...pdf, name: 'resume' }], details: { field: 'resume' } },
  { what: 'a third photo', code: 'FST_MEDIA_TOO_MANY_FILES', status: 400, parts: [pdf, photo, photo, photo], details: { field: 'photos', limit: 2, option: 'maxCount' } },
  { what: 'two avatars', code: 'FST_MEDIA_TOO_MANY_FILES', status: 400, parts: [pdf, png, png], details: { field: 'avatar', limit: 1, option: 'multiple' } },
  { what: 'more files than limits.files', code: 'FST_MEDIA_TOO_MANY_FILES', status: 400, parts: [pdf, png, photo, photo, { ...png, name: 'badge' }], details: { field: null, limit: 4, option: 'limits.files' } },
  { what: 'more parts than limits.parts', code: 'FST_MEDIA_LIMIT', status: 413, limits: { fields: 100 }, parts: [...Array.from({ length: 11 }, (_, i) => text(`t${i}`)), pdf], details: { field: null, limit: 10, option: 'limits.parts' } },
  { what: 'more text fields than limits.fields', code: 'FST_MEDIA_LIMIT', status: 413, parts: [...Array.from({ length: 6 }, (_, i) => text(`t${i}`)), pdf], details: { field: null, limit: 5, option: 'limits.fields' } },
  { what: 'a text over limits.fieldSize', code: 'FST_MEDIA_LIMIT', status: 413, parts: [text('bio', 'x'.repeat(101)), pdf], details: { field: 'bio', limit: 100, option: 'limits.fieldSize' } },
  { what: 'a body over limits.totalSize', code: 'FST_MEDIA_LIMIT', status: 413, parts: [{ ...pdf, content: Buffer.concat([pdf.content, Buffer.alloc(300_000)]) }], details: { field: null, limit: 300_000, option: 'limits.totalSize', detected: 'application/pdf', bytes: Number } },
  { what: 'a name of dots', code: 'FST_MEDIA_INVALID_NAME', status: 400, parts: [{ ...png, filename: '...' }, pdf], details: { field: 'avatar', bytes: png.content.length } },
  { what: 'a body cut short', code: 'FST_MEDIA_BAD_MULTIPART', status: 400, send: async (server) => { const { payload, headers } = form([pdf, png]); return await server.inject({ method: 'POST', url: '/p', headers, payload: payload.subarray(0, payload.length - 30_000) }) }, details: { field: null } },
  { what: 'text where a file is expected', code: 'FST_MEDIA_BAD_MULTIPART', status: 400, parts: [text('document', 'not a file')], details: { field: 'document' } },
  {
    what: 'a body that stops arriving',
    code: 'FST_MEDIA_UPLOAD_TIMEOUT',
    status: 408,
    limits: { uploadTimeout: 200 },
    // the first part's head, then nothing: the stream never ends
    send: async (server) => await server.inject({ method: 'POST', url: '/p', headers: form([]).headers, payload: stalled(form([pdf]).payload.subarray(0, 200)) }),
    details: { field: null, limit: 200, option: 'limits.uploadTimeout' }
  }
]

function stalled (bytes: Buffer): Readable {
  const stream = new Readable({ read () {} })
  stream.push(bytes)
  return stream
}

const DETAIL_KEYS = ['field', 'limit', 'option', 'detected', 'accepted', 'bytes']

for (const c of CASES) {
  t.test(`${c.code}, ${c.what}: the default reply, a custom error handler and the log line carry its details`, async (t) => {
    const send = c.send ?? post(c.parts!)

    const plain = await app(t, { limits: c.limits })
    const res = await send(plain.server)
    t.equal(res.statusCode, c.status, res.body)
    const json = res.json()
    t.match(json, { statusCode: c.status, code: c.code, error: String, message: String, ...c.details })
    t.same(Object.keys(json), ['statusCode', 'code', 'error', 'message', ...DETAIL_KEYS.filter((key) => key in json)], 'Fastify\'s four keys first, then the details')
    t.same(Object.keys(json).filter((key) => DETAIL_KEYS.includes(key)).sort(), Object.keys(c.details).sort(), 'no other details')

    const refusals = plain.lines.filter((line) => line.code === c.code)
    t.equal(refusals.length, 1, 'logged once')
    t.match(refusals[0], { level: 30, msg: /^upload refused: /, model: 'profile', ...c.details })
    t.notOk(plain.lines.some((line) => line.err !== undefined), 'no generic error line from Fastify beside it')

    const custom = await app(t, { custom: true, limits: c.limits })
    const seen = await send(custom.server)
    t.equal(seen.statusCode, c.status)
    t.match(seen.json().seen, { code: c.code, ...c.details }, 'setErrorHandler sees the details on the error')
    t.equal(custom.lines.filter((line) => line.code === c.code).length, 1, 'logged once with a custom handler too')
  })
}

t.test('FST_MEDIA_BAD_SIGNATURE is no upload refusal: Fastify\'s own four keys, no field', async (t) => {
  const withPrivate = Fastify()
  t.teardown(() => withPrivate.close())
  await withPrivate.register(fastifyMedia, { baseDir: tempDir(t), static: false, signingKey: 'k'.repeat(32), storages: { private: new FileSystemStorage({ location: 'private', baseUrl: '/private/', public: false }) } })
  const res = await withPrivate.inject('/private/x.pdf?expires=1&signature=forged')
  t.equal(res.statusCode, 403)
  t.same(Object.keys(res.json()), ['statusCode', 'code', 'error', 'message'])
  t.equal(res.json().code, 'FST_MEDIA_BAD_SIGNATURE')
})

t.test('a route\'s own errorHandler sees the refusal as it is, and its reply stands', async (t) => {
  const { server } = await app(t)
  const Model = server.media.model('m', { doc: FileField({ accept: ['application/pdf'] }) })
  server.post('/own', { upload: Model, errorHandler: (err: FastifyError & { field?: unknown }, _req, reply) => reply.code(422).send({ mine: err.field }) }, async () => 'ok')
  const { payload, headers } = multipart([{ name: 'doc', filename: 'a.png', content: png.content }])
  const res = await server.inject({ method: 'POST', url: '/own', payload, headers })
  t.equal(res.statusCode, 422)
  t.same(res.json(), { mine: 'doc' })
})

t.test('other errors on an upload route reach the app\'s handler and Fastify\'s default unchanged', async (t) => {
  const { server, lines } = await app(t)
  const Model = server.media.model('m', { doc: FileField({ required: false }) })
  server.post('/throws', { upload: Model }, async () => { throw Object.assign(new Error('boom'), { statusCode: 409, code: 'E_MINE' }) })
  server.post('/schema', { upload: Model, schema: { body: { type: 'object', required: ['name'] } } }, async () => 'ok')
  const { payload, headers } = multipart([])
  const thrown = await server.inject({ method: 'POST', url: '/throws', payload, headers })
  t.same(thrown.json(), { statusCode: 409, code: 'E_MINE', error: 'Conflict', message: 'boom' })
  const invalid = await server.inject({ method: 'POST', url: '/schema', payload, headers })
  t.match(invalid.json(), { statusCode: 400, code: 'FST_ERR_VALIDATION' })
  t.notOk('field' in invalid.json())
  t.equal(lines.filter((line) => line.err !== undefined).length, 2, 'Fastify logs them as usual')

  const custom = await app(t, { custom: true })
  const Other = custom.server.media.model('m', { doc: FileField({ required: false }) })
  custom.server.post('/throws', { upload: Other }, async () => { throw Object.assign(new Error('boom'), { statusCode: 409, code: 'E_MINE' }) })
  const seen = await custom.server.inject({ method: 'POST', url: '/throws', payload, headers })
  t.same(seen.json(), { seen: { code: 'E_MINE' } })
})

t.test('a handler that hands a refusal back to Fastify gets Fastify\'s default reply and log line, without the details', async (t) => {
  const { server, lines } = await app(t)
  const Model = server.media.model('m', { doc: FileField({ accept: ['application/pdf'] }) })
  server.register(async (child) => {
    child.setErrorHandler((err, _req, reply) => { reply.send(err) })
    child.post('/back', { upload: Model }, async () => 'ok')
  })
  const { payload, headers } = multipart([{ name: 'doc', filename: 'a.png', content: png.content }])
  const res = await server.inject({ method: 'POST', url: '/back', payload, headers })
  t.same(res.json(), { statusCode: 400, code: 'FST_MEDIA_INVALID_TYPE', error: 'Bad Request', message: 'doc: image/png is not accepted' })
  t.equal(lines.filter((line) => line.code === 'FST_MEDIA_INVALID_TYPE').length, 1, 'the refusal\'s own line')
  t.equal(lines.filter((line) => line.err?.code === 'FST_MEDIA_INVALID_TYPE').length, 1, 'and Fastify\'s generic one')
})

t.test('a storage failure is no refusal: a 500 with Fastify\'s four keys, logged by Fastify as an error, no refusal line', async (t) => {
  const baseDir = tempDir(t)
  // a file where the document's directory should be: the disk refuses the write (ENOTDIR)
  mkdirSync(join(baseDir, 'media'))
  writeFileSync(join(baseDir, 'media', 'd'), 'in the way')
  const { server, lines } = await app(t, { baseDir })
  const res = await post([pdf])(server)
  t.equal(res.statusCode, 500)
  t.same(Object.keys(res.json()), ['statusCode', 'code', 'error', 'message'])
  t.equal(res.json().code, 'FST_MEDIA_STORAGE')
  t.notOk(lines.some((line) => typeof line.msg === 'string' && line.msg.startsWith('upload refused')))
  t.ok(lines.some((line) => line.level === 50 && line.err?.code === 'FST_MEDIA_STORAGE'))
})
