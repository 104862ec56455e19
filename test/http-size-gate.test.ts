// The limits at their exact edges, over a real socket (undici) in 1 KiB writes, so the parser hands the
// plugin many small chunks instead of inject()'s single one: maxSize bytes pass and maxSize + 1 do not,
// both inside the 64 KiB sniffing window and past it; and a file whose type is only known from bytes
// past the first few KiB (an xlsx is a zip until its entries are read) is sniffed on the whole window.
import { Readable } from 'node:stream'
import t, { type Test } from 'tap'
import { request } from 'undici'
import { FileField, MemoryStorage, type Content, type FileFieldOptions, type SaveOptions } from '../lib/index.js'
import { filesUnder, fixture, makeApp } from './helpers.js'
import { CLOSING, filler, listen, mediaRootOf, MULTIPART, PART_END, partHead } from './http-helpers.js'

const KiB = 1024
/** The sniffing window of lib/upload/head.ts, which the cases below straddle. */
const WINDOW = 64 * KiB

async function setup (t: Test, options: FileFieldOptions) {
  const { app, dir } = await makeApp(t)
  const Upload = app.media.model('upload', { file: FileField({ uploadTo: 'up/', ...options }) })
  app.post('/u', { upload: Upload }, async (req, reply) => await reply.code(201).send(req.uploads))
  const { origin } = await listen(app)
  return { root: mediaRootOf(dir), origin }
}

/** One file part, its content written 1 KiB at a time. */
async function * writes (filename: string, content: Iterable<Buffer>, contentType?: string): AsyncGenerator<Buffer> {
  yield partHead('file', filename, contentType)
  for (const chunk of content) {
    for (let at = 0; at < chunk.length; at += KiB) yield chunk.subarray(at, at + KiB)
  }
  yield PART_END
  yield CLOSING
}

async function post (origin: string, payload: AsyncIterable<Buffer>) {
  const res = await request(`${origin}/u`, {
    method: 'POST',
    headers: { 'content-type': MULTIPART },
    body: Readable.from(payload),
    headersTimeout: 10_000,
    bodyTimeout: 10_000
  })
  return { status: res.statusCode, json: await res.body.json() as Record<string, any> }
}

for (const [where, maxSize] of [['inside the sniffing window', 10 * KiB], ['past the sniffing window', WINDOW + 10 * KiB]] as const) {
  t.test(`${where}: exactly maxSize bytes are stored, with their size`, async (t) => {
    const { root, origin } = await setup(t, { maxSize, accept: ['text/plain'] })
    const { status, json } = await post(origin, writes('edge.txt', filler(maxSize, 7 * KiB), 'text/plain'))
    t.equal(status, 201, JSON.stringify(json))
    t.equal(json.file.size, maxSize)
    t.same(filesUnder(root), [json.file.name], 'the file, and no temp file')
  })

  t.test(`${where}: maxSize + 1 bytes are refused with 413 FST_MEDIA_FILE_TOO_LARGE, nothing stored`, async (t) => {
    const { root, origin } = await setup(t, { maxSize, accept: ['text/plain'] })
    const { status, json } = await post(origin, writes('edge.txt', filler(maxSize + 1, 7 * KiB), 'text/plain'))
    t.equal(status, 413, JSON.stringify(json))
    t.equal(json.code, 'FST_MEDIA_FILE_TOO_LARGE')
    t.same(filesUnder(root), [], 'no file, not even under .tmp')
  })
}

/** A storage of the app's own that counts the writes it is asked for. */
class CountingStorage extends MemoryStorage {
  saves = 0
  override async save (name: string | (() => string), content: Content, opts?: SaveOptions): Promise<string> {
    this.saves++
    return await super.save(name, content, opts)
  }
}

// The gate would refuse maxSize + 1 too, but only once the storage is writing: a part that ends inside the
// sniffing window is measured whole before any write, so no storage is ever asked to write it.
t.test('inside the sniffing window, maxSize + 1 bytes are refused before the storage is asked to write', async (t) => {
  const storage = new CountingStorage()
  const { app } = await makeApp(t, { media: false, storages: { default: storage } })
  const Upload = app.media.model('upload', { file: FileField({ uploadTo: 'up/', maxSize: 10 * KiB, accept: ['text/plain'] }) })
  app.post('/u', { upload: Upload }, async (req, reply) => await reply.code(201).send(req.uploads))
  const { origin } = await listen(app)
  const refused = await post(origin, writes('edge.txt', filler(10 * KiB + 1, 7 * KiB), 'text/plain'))
  t.equal(refused.json.code, 'FST_MEDIA_FILE_TOO_LARGE', JSON.stringify(refused.json))
  t.equal(storage.saves, 0, 'no write was started')
  const stored = await post(origin, writes('edge.txt', filler(10 * KiB, 7 * KiB), 'text/plain'))
  t.equal(stored.status, 201, JSON.stringify(stored.json))
  t.equal(storage.saves, 1, 'maxSize bytes are written')
  t.same(await storage.list(), ['up/edge.txt'])
})

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'

t.test('an xlsx sent in 1 KiB writes is sniffed as xlsx, past the first KiB: stored as xlsx', async (t) => {
  const { root, origin } = await setup(t, { accept: [XLSX] })
  const content = fixture('fixture.xlsx')
  t.ok(content.length > 4 * KiB, 'the fixture is longer than a few KiB, so a short window would miss its entries')
  const { status, json } = await post(origin, writes('sheet.xlsx', [content], XLSX))
  t.equal(status, 201, JSON.stringify(json))
  t.match(json.file, { name: 'up/sheet.xlsx', contentType: XLSX, size: content.length })
  t.same(filesUnder(root), ['up/sheet.xlsx'])
})

t.test('an xlsx sent in 1 KiB writes to a field that accepts only zip is refused as not a zip, nothing stored', async (t) => {
  const { root, origin } = await setup(t, { accept: ['application/zip'] })
  const { status, json } = await post(origin, writes('sheet.zip', [fixture('fixture.xlsx')], 'application/zip'))
  t.equal(status, 400, JSON.stringify(json))
  t.equal(json.code, 'FST_MEDIA_INVALID_TYPE')
  t.same(filesUnder(root), [])
})
