// A client that sends its body one byte per second holds a connection, a temp file and a handler for as
// long as it likes unless something cuts it off. Fastify's requestTimeout does, but only with
// http.headersTimeout <= requestTimeout (Node swaps the two otherwise, and Fastify sets requestTimeout
// after creating the server, so a shorter one silently becomes 60 s) and only every
// connectionsCheckingInterval (30 s by default). `limits.uploadTimeout` cuts an upload itself, with 408
// FST_MEDIA_UPLOAD_TIMEOUT, and closes the connection; both are tested here.
import Fastify from 'fastify'
import t, { type Test } from 'tap'
import fastifyMedia from '../../lib/index.js'
import { tempDir } from '../helpers.js'
import { RawConnection, waitFor } from '../http-helpers.js'
import { assertFiles, storedFiles, assertRefused, BOUNDARY, head, multipartType, part, rawPart, safeJson, startServer, type Server } from './harness.js'

const PDF_START = Buffer.from('%PDF-1.4\n')

/** Sends `first`, then one byte of `drip` per `interval` ms until the server answers or closes. */
async function slowClient (t: Test, server: Server, first: Buffer, { drip = 'A', interval = 1000, whileSending = async () => {} } = {}) {
  const conn = await RawConnection.open(server.port)
  t.teardown(() => conn.destroy())
  await conn.write(head('/upload', { 'content-type': multipartType(), 'content-length': 10_000_000 }))
  await conn.write(first)
  await whileSending()
  const timer = setInterval(() => { conn.write(drip).catch(() => {}) }, interval)
  t.teardown(() => clearInterval(timer))
  const response = await conn.response(20_000)
  const closed = await conn.waitClosed(5000)
  clearInterval(timer)
  return { response, closed }
}

const filePart = Buffer.concat([Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="doc"; filename="slow.pdf"\r\nContent-Type: application/pdf\r\n\r\n`), PDF_START])

t.test('limits.uploadTimeout: a file sent one byte per second is cut off with 408, the connection closed, nothing left', async (t) => {
  const server = await startServer(t, { limits: { uploadTimeout: 1500 } })
  // past the 64 KiB sniffing window, so the file is being written to a temp file when the timer fires
  const { response, closed } = await slowClient(t, server, Buffer.concat([filePart, Buffer.alloc(70_000, 0x41)]), {
    // a temp file appearing has no event the client side can hear: polled (bounded)
    whileSending: async () => { t.ok(await waitFor(() => storedFiles(server).some((path) => path.startsWith('media/.tmp/'))), 'a temp file is open') }
  })
  t.ok(closed, 'the server closed the connection')
  t.equal(response?.headers.connection, 'close')
  t.match(safeJson(response?.body).message, /limits\.uploadTimeout/)
  await assertRefused(t, server, response, 408, 'FST_MEDIA_UPLOAD_TIMEOUT')
})

t.test('limits.uploadTimeout: a body that stalls between parts (in a text part) is cut off too', async (t) => {
  const server = await startServer(t, { limits: { uploadTimeout: 1500 } })
  const first = Buffer.concat([part({ name: 'doc', filename: 'ok.pdf', content: Buffer.concat([PDF_START, Buffer.from('%%EOF\n')]) }), Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="title"\r\n\r\n`)])
  const { response, closed } = await slowClient(t, server, first)
  t.ok(closed, 'the server closed the connection')
  await assertRefused(t, server, response, 408, 'FST_MEDIA_UPLOAD_TIMEOUT')
})

// The hang depends on Node's streams: it happens on Node 20 and not on 22 or 24 (same @fastify/busboy), where the
// skipped part simply ends and the request succeeds with nothing stored. Either way the request ends in time.
const busboyHangs = Number(process.versions.node.split('.')[0]) < 22

t.test(`a part that @fastify/busboy 3.2 skips (16-64 KiB, no Content-Disposition) never holds the request: ${busboyHangs ? '408 from limits.uploadTimeout (busboy hangs on this Node)' : '201 with nothing stored (no hang on this Node)'}`, async (t) => {
  // upstream bug: a skipped part whose body fills the part stream's buffer in the chunk that also ends it
  // leaves busboy waiting forever on Node 20, so the request would hang with the socket open
  const server = await startServer(t, { limits: { uploadTimeout: 1500 } })
  const body = Buffer.concat([rawPart('Content-Type: image/png', Buffer.alloc(40_000, 0x41)), Buffer.from(`--${BOUNDARY}--\r\n`)])
  const conn = await RawConnection.open(server.port)
  t.teardown(() => conn.destroy())
  await conn.write(Buffer.concat([head('/upload', { 'content-type': multipartType(), 'content-length': body.length }), body]))
  const response = await conn.response(10_000)
  if (busboyHangs) {
    await assertRefused(t, server, response, 408, 'FST_MEDIA_UPLOAD_TIMEOUT')
  } else {
    t.equal(response?.status, 201, 'the skipped part ends the body normally')
    await assertFiles(t, server, [], 'nothing stored: the part had no name')
  }
})

t.test('limits.uploadTimeout: 0 turns it off; Fastify\'s requestTimeout then cuts the slow client when headersTimeout is not longer', async (t) => {
  const server = await startServer(t, {
    limits: { uploadTimeout: 0 },
    fastify: { requestTimeout: 1500, http: { headersTimeout: 1500, connectionsCheckingInterval: 250 } }
  })
  const { response, closed } = await slowClient(t, server, filePart)
  t.ok(closed, 'Node closed the connection')
  t.equal(response?.status, 408, 'Fastify answers 408 (no media code: the request never reached the plugin\'s error path)')
  t.same(safeJson(response?.body), { error: 'Request Timeout', message: 'Client Timeout', statusCode: 408 })
  await assertFiles(t, server, [], 'the abort rolled everything back')
})

/** Timers armed and not yet fired or cleared in this process (the server's included). */
const armedTimers = (): number => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length

t.test('an upload that finishes in time disarms its timer: nothing fires later, the connection stays usable', async (t) => {
  const server = await startServer(t, { limits: { uploadTimeout: 1500 } })
  const body = Buffer.concat([part({ name: 'doc', filename: 'quick.pdf', content: Buffer.concat([PDF_START, Buffer.from('%%EOF\n')]) }), Buffer.from(`--${BOUNDARY}--\r\n`)])
  const conn = await RawConnection.open(server.port)
  t.teardown(() => conn.destroy())
  const armed = armedTimers()
  await conn.write(Buffer.concat([head('/upload', { 'content-type': multipartType(), 'content-length': body.length }), body]))
  const response = await conn.response(10_000)
  t.equal(response?.status, 201)
  // the request's uploadTimeout timer is cleared, not left to fire (instead of waiting past its moment)
  t.equal(armedTimers(), armed, 'no timer of the request is still armed')
  await conn.write(head('/health', {}, 'GET'))
  t.same(safeJson((await conn.response(10_000))?.body), { ok: true }, 'the keep-alive connection answers the next request')
  t.notOk(conn.closed, 'keep-alive connection still open')
  await assertFiles(t, server, ['media/docs/quick.pdf'])
})

t.test('limits.uploadTimeout must be an integer >= 0', async (t) => {
  for (const uploadTimeout of [-1, 1.5, '10s']) {
    const app = Fastify()
    t.teardown(() => app.close())
    await t.rejects(async () => { await app.register(fastifyMedia, { baseDir: tempDir(t), static: false, limits: { uploadTimeout: uploadTimeout as number } }) }, { code: 'FST_MEDIA_INVALID_OPTION', message: /limits\.uploadTimeout/ })
  }
})
