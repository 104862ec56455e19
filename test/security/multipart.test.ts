// Hostile multipart bodies over raw sockets: limits, lies about length, prototype names, giant headers.
import t from 'tap'
import { RawConnection, waitFor } from '../http-helpers.js'
import { assertAlive, assertFiles, assertRefused, assertStored, exchange, form, head, multipartType, part, post, rawPart, safeJson, startServer, storedFiles } from './harness.js'
import { png } from './payloads.js'

const PNG = png(16, 16)

t.test('1001 empty text fields pass limits.fields: 413 FST_MEDIA_LIMIT', async (t) => {
  const server = await startServer(t)
  const res = await post(server, form(Array.from({ length: 1001 }, (_, i) => ({ name: `f${i}` }))))
  await assertRefused(t, server, res, 413, 'FST_MEDIA_LIMIT')
})

t.test('more files than limits.files: 400 FST_MEDIA_TOO_MANY_FILES, the ones stored before are removed', async (t) => {
  const server = await startServer(t)
  const res = await post(server, form(Array.from({ length: 21 }, (_, i) => ({ name: 'many', filename: `f${i}.png`, content: PNG }))))
  await assertRefused(t, server, res, 400, 'FST_MEDIA_TOO_MANY_FILES')
})

t.test('files each under maxSize whose sum passes limits.totalSize: 413 FST_MEDIA_LIMIT', async (t) => {
  const server = await startServer(t)
  const content = png(16, 16, Buffer.alloc(60 * 1024))
  const res = await post(server, form(Array.from({ length: 10 }, (_, i) => ({ name: 'many', filename: `f${i}.png`, content }))))
  await assertRefused(t, server, res, 413, 'FST_MEDIA_LIMIT')
  t.match(safeJson(res.body).message, /totalSize/)
})

t.test('a body longer than its Content-Length: the excess is parsed as the next request, which is garbage: 400 and the connection is closed', async (t) => {
  const server = await startServer(t)
  const body = form([{ name: 'doc', filename: 'x.png', content: png(16, 16, Buffer.alloc(10_000)) }])
  // Node reads exactly Content-Length bytes of body; the rest fails its parser at once (a client error),
  // Fastify answers 400 and destroys the socket, which aborts the upload before it is stored
  const { response, closed } = await exchange(server.port, [head('/upload', { 'content-type': multipartType(), 'content-length': body.length - 500 }), body], { waitClose: true })
  t.ok(closed, 'the connection is closed')
  t.same(safeJson(response?.body), { error: 'Bad Request', message: 'Client Error', statusCode: 400 })
  await assertRefused(t, server, response, 400, undefined)
})

t.test('a chunked body with no Content-Length is read to its end and stored', async (t) => {
  const server = await startServer(t)
  const body = form([{ name: 'doc', filename: 'chunked.png', content: PNG }])
  const chunks = [body.subarray(0, 100), body.subarray(100)].map((c) => Buffer.concat([Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n')]))
  const { response } = await exchange(server.port, [head('/upload', { 'content-type': multipartType(), 'transfer-encoding': 'chunked' }), ...chunks, '0\r\n\r\n'])
  await assertStored(t, server, response!, 'doc', 'docs/chunked.png')
})

t.test('a chunked body that never sends its last chunk, then closes: nothing is left', async (t) => {
  const server = await startServer(t)
  const body = part({ name: 'doc', filename: 'x.png', content: png(16, 16, Buffer.alloc(100_000)) })
  const conn = await RawConnection.open(server.port)
  await conn.write(head('/upload', { 'content-type': multipartType(), 'transfer-encoding': 'chunked' }))
  await conn.write(Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n')]))
  // the server is writing the file (past the 64 KiB it sniffs) when the client goes, not before it began
  // a temp file appearing has no event the client side can hear: polled (bounded)
  t.ok(await waitFor(() => storedFiles(server).length > 0), 'the upload reached the disk')
  conn.destroy()
  await assertFiles(t, server, [])
  await assertAlive(t, server)
})

t.test('a socket destroyed in the middle of a file: no file, no temp file, the server answers', async (t) => {
  const server = await startServer(t)
  const conn = await RawConnection.open(server.port)
  await conn.write(head('/upload', { 'content-type': multipartType(), 'content-length': 1_000_000 }))
  await conn.write(part({ name: 'doc', filename: 'x.png', content: png(16, 16, Buffer.alloc(300_000)) }).subarray(0, 200_000))
  // a temp file appearing has no event the client side can hear: polled (bounded)
  t.ok(await waitFor(() => storedFiles(server).length > 0), 'the upload reached the disk')
  conn.destroy()
  await assertFiles(t, server, [])
  await assertAlive(t, server)
})

t.test('field names __proto__, constructor, toString, hasOwnProperty: 400 FST_MEDIA_BAD_MULTIPART, as text and as files', async (t) => {
  const server = await startServer(t)
  for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
    await assertRefused(t, server, await post(server, form([{ name, content: '{"polluted":true}' }])), 400, 'FST_MEDIA_BAD_MULTIPART')
    await assertRefused(t, server, await post(server, form([{ name, filename: 'x.png', content: PNG }])), 400, 'FST_MEDIA_BAD_MULTIPART')
  }
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype is untouched')
})

t.test('a 1 MB field name: the part header passes busboy\'s 80 KiB bound and is cut; nothing is stored', async (t) => {
  const server = await startServer(t)
  const name = 'n'.repeat(1024 * 1024)
  await assertRefused(t, server, await post(server, form([{ name, content: 'v' }])), 201, undefined)
  await assertRefused(t, server, await post(server, form([{ name, filename: 'x.png', content: PNG }])), 201, undefined)
})

t.test('2001 header lines in one part: the first 2000 count (limits.headerPairs), the part is still one part', async (t) => {
  const server = await startServer(t)
  const headerLines = Array.from({ length: 2001 }, (_, i) => `X-H${i}: v`).join('\r\n')
  const res = await post(server, form([rawPart(`Content-Disposition: form-data; name="doc"; filename="h.png"\r\n${headerLines}`, PNG)]))
  await assertStored(t, server, res, 'doc', 'docs/h.png')
  const after = await post(server, form([rawPart(`${headerLines}\r\nContent-Disposition: form-data; name="doc"; filename="late.png"`, PNG)]))
  t.equal(after.status, 201, 'a Content-Disposition after the 2000th line is not seen: the part is skipped')
  t.equal(safeJson(after.body).doc, null)
  await assertFiles(t, server, ['media/docs/h.png'])
})

t.test('a 252-byte boundary (RFC 2046 allows 70)', async (t) => {
  const server = await startServer(t)
  const boundary = 'b'.repeat(252)
  const res = await post(server, form([{ name: 'doc', filename: 'long-boundary.png', content: PNG }], boundary), { boundary })
  await assertStored(t, server, res, 'doc', 'docs/long-boundary.png')
})

t.test('an empty field name: a text part is kept under "", a file part is an unknown field', async (t) => {
  const server = await startServer(t)
  const text = await post(server, form([{ name: '', content: 'v' }]))
  t.equal(text.status, 201)
  t.same(server.lastBody.value, { '': 'v' })
  await assertRefused(t, server, await post(server, form([{ name: '', filename: 'x.png', content: PNG }])), 400, 'FST_MEDIA_UNKNOWN_FIELD')
})

t.test('a[b][c]... nested 10 000 deep is one flat key, never parsed into objects', async (t) => {
  const server = await startServer(t)
  const name = 'a' + '[b]'.repeat(10_000)
  const text = await post(server, form([{ name, content: 'deep' }]))
  t.equal(text.status, 201)
  t.same(Object.keys(server.lastBody.value!), [name])
  await assertRefused(t, server, await post(server, form([{ name, filename: 'x.png', content: PNG }])), 400, 'FST_MEDIA_UNKNOWN_FIELD')
})

t.test('two files in one single-file field: 400 FST_MEDIA_TOO_MANY_FILES, the first is removed', async (t) => {
  const server = await startServer(t)
  const res = await post(server, form([{ name: 'doc', filename: 'one.png', content: PNG }, { name: 'doc', filename: 'two.png', content: PNG }]))
  await assertRefused(t, server, res, 400, 'FST_MEDIA_TOO_MANY_FILES')
})

t.test('not multipart, or multipart without a boundary: refused before anything is read', async (t) => {
  const server = await startServer(t)
  const body = form([{ name: 'doc', filename: 'x.png', content: PNG }])
  await assertRefused(t, server, await post(server, body, { extra: { 'content-type': 'application/octet-stream' } }), 415, 'FST_MEDIA_NOT_MULTIPART')
  await assertRefused(t, server, await post(server, body, { extra: { 'content-type': 'multipart/form-data' } }), 400, 'FST_MEDIA_BAD_MULTIPART')
})

t.test('a body with no closing boundary: 400 FST_MEDIA_BAD_MULTIPART', async (t) => {
  const server = await startServer(t)
  const body = part({ name: 'doc', filename: 'x.png', content: PNG })
  await assertRefused(t, server, await post(server, body), 400, 'FST_MEDIA_BAD_MULTIPART')
})
