// An upload refused early (a 413 at 1 MiB of an 8 MiB body) over a raw socket, by a client that keeps
// writing as fast as the socket accepts. If the server closed its socket while the rest of the body was
// still arriving, the kernel would answer those bytes with a reset, and the client would get EPIPE or
// ECONNRESET, often before it had read the reply. The server reads the rest of the body (up to
// DRAIN_LIMIT bytes, within limits.uploadTimeout) and closes only then.
import type { Server } from 'node:http'
import type { Socket } from 'node:net'
import { once } from 'node:events'
import t, { type Test } from 'tap'
import { FileField } from '../../lib/index.js'
import type { FastifyMediaOptions } from '../../lib/options.js'
import { DRAIN_LIMIT } from '../../lib/upload/drain.js'
import { filesUnder, makeApp } from '../helpers.js'
import { CLOSING, filler, listen, mediaRootOf, PART_END, partHead, RawConnection, requestHead, within, type RawResponse } from '../http-helpers.js'

const MiB = 1024 * 1024
const RUNS = 50

async function setup (t: Test, limits: FastifyMediaOptions['limits'] = {}) {
  const { app, dir } = await makeApp(t, { limits })
  const Model = app.media.model('doc', { doc: FileField({ uploadTo: 'docs/', maxSize: '1 MiB' }) })
  app.post('/upload', { upload: Model }, async (req, reply) => reply.code(201).send(req.uploads))
  app.get('/health', async () => ({ ok: true }))
  const { port } = await listen(app)
  return { port, root: mediaRootOf(dir), server: app.server }
}

/** A multipart body whose one file has `size` bytes, generated chunk by chunk. */
function * fileBody (size: number): Generator<Buffer> {
  yield partHead('doc', 'big.pdf', 'application/pdf')
  yield Buffer.from('%PDF-1.4\n')
  yield * filler(size - 9)
  yield PART_END
  yield CLOSING
}

const lengthOf = (size: number): number => {
  let n = 0
  for (const chunk of fileBody(size)) n += chunk.length
  return n
}

interface Outcome {
  /** Every byte of the body was accepted by the socket before it closed. */
  sentWhole: boolean
  written: number
  response: RawResponse | undefined
  /** The server closed its socket (a FIN alone says only that it will send nothing more). */
  closed: boolean
  /** What the client's socket failed with (EPIPE, ECONNRESET), if it did. */
  error: string | undefined
}

/** Opens a raw connection and the server's side of it. */
async function connectTo (t: Test, server: Server, port: number, allowHalfOpen: boolean) {
  const accepted = once(server, 'connection') as Promise<[Socket]>
  const conn = await RawConnection.open(port, { allowHalfOpen })
  t.teardown(() => conn.destroy())
  const [socket] = await accepted
  // once(socket, 'close') would reject on the 'error' (a parse error) that comes before it
  const closing = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  const serverClosed = async (): Promise<boolean> =>
    await within(closing, 'the server\'s close of the connection').then(() => true, () => false)
  return { conn, serverClosed }
}

/** Sends the request head and a body with a file of `size` bytes, as fast as the socket takes it, whatever the server says. */
async function sendAll (t: Test, { server, port }: { server: Server, port: number }, size: number, { allowHalfOpen = true } = {}): Promise<Outcome> {
  const { conn, serverClosed } = await connectTo(t, server, port, allowHalfOpen)
  let sentWhole = await conn.write(requestHead('/upload', port, lengthOf(size)))
  let written = 0
  for (const chunk of fileBody(size)) {
    if (!sentWhole) break
    sentWhole = await conn.write(chunk)
    if (sentWhole) written += chunk.length
  }
  const response = await conn.response()
  const closed = await serverClosed()
  conn.socket.end()
  await conn.waitClosed()
  const error = conn.error === undefined ? undefined : (conn.error as NodeJS.ErrnoException).code ?? conn.error.message
  return { sentWhole, written, response, closed, error }
}

const refusedAsDocumented = (outcome: Outcome): boolean =>
  outcome.response?.status === 413 && JSON.parse(outcome.response.body).code === 'FST_MEDIA_FILE_TOO_LARGE'

t.test(`an 8 MiB body for a 1 MiB field, sent as fast as the socket takes it: the client reads the whole 413 every time (${RUNS} runs)`, async (t) => {
  const { root, ...app } = await setup(t)
  const failures: string[] = []
  for (let run = 0; run < RUNS; run++) {
    const outcome = await sendAll(t, app, 8 * MiB)
    const ok = refusedAsDocumented(outcome) && outcome.response?.headers.connection === 'close' &&
      outcome.error === undefined && outcome.sentWhole && outcome.closed
    if (!ok) failures.push(`run ${run}: status ${outcome.response?.status}, error ${outcome.error}, body sent whole ${outcome.sentWhole} (${outcome.written} bytes), closed ${outcome.closed}`)
    const left = filesUnder(root)
    if (left.length > 0) failures.push(`run ${run}: left ${left.join(', ')}`)
  }
  t.same(failures, [], `${RUNS}/${RUNS} runs read the reply, with no EPIPE or ECONNRESET, and the server closed after reading the whole body`)
  t.same(filesUnder(root), [], 'no file and no temp file is left')
})

t.test(`a client that stops writing at the server's FIN reads the whole 413 too, without an error (${RUNS} runs)`, async (t) => {
  const { root, ...app } = await setup(t)
  const failures: string[] = []
  for (let run = 0; run < RUNS; run++) {
    const outcome = await sendAll(t, app, 8 * MiB, { allowHalfOpen: false })
    if (!refusedAsDocumented(outcome) || outcome.error !== undefined || !outcome.closed) {
      failures.push(`run ${run}: status ${outcome.response?.status}, error ${outcome.error}, ${outcome.written} bytes written, closed ${outcome.closed}`)
    }
  }
  t.same(failures, [], `${RUNS}/${RUNS} runs read the reply with no EPIPE or ECONNRESET`)
  t.same(filesUnder(root), [], 'no file and no temp file is left')
})

t.test('with limits.uploadTimeout: 0 the rest of the body is drained all the same', async (t) => {
  const { root, ...app } = await setup(t, { uploadTimeout: 0 })
  const outcome = await sendAll(t, app, 8 * MiB)
  t.ok(refusedAsDocumented(outcome), 'the 413 is read')
  t.equal(outcome.error, undefined, 'no EPIPE or ECONNRESET')
  t.ok(outcome.sentWhole, 'the whole body was read')
  t.ok(outcome.closed, 'the server closed the connection')
  t.same(filesUnder(root), [], 'no file and no temp file is left')
})

t.test(`a body that goes on past DRAIN_LIMIT (${DRAIN_LIMIT / MiB} MiB after the refusal) is cut off: the server does not read it to its end`, async (t) => {
  t.equal(DRAIN_LIMIT, 16 * MiB, 'the bound README.md states')
  const { root, ...app } = await setup(t)
  // well past what the two sockets' buffers can hold, so a server that read on would take it all
  const size = MiB + DRAIN_LIMIT + 64 * MiB
  const outcome = await sendAll(t, app, size)
  t.notOk(outcome.sentWhole, 'the client could not send the whole body')
  t.ok(outcome.written < size, `${outcome.written} of ${size} bytes were accepted`)
  t.ok(outcome.closed, 'the server closed the connection')
  t.ok(outcome.response === undefined || refusedAsDocumented(outcome), 'the client got the 413 or only the close')
  t.same(filesUnder(root), [], 'no file and no temp file is left')
  const health = await fetch(`http://127.0.0.1:${app.port}/health`)
  t.equal(health.status, 200, 'the server still answers')
  t.comment(`written ${outcome.written} bytes; response ${outcome.response?.status}; client error ${outcome.error}`)
})

t.test('a client that stalls after the refusal is closed when limits.uploadTimeout runs out', async (t) => {
  const { port, root, server } = await setup(t, { uploadTimeout: 1500 })
  const { conn, serverClosed } = await connectTo(t, server, port, true)
  // 2 MiB of an announced 8 MiB, then nothing more
  await conn.write(requestHead('/upload', port, lengthOf(8 * MiB)))
  let sent = 0
  for (const chunk of fileBody(8 * MiB)) {
    if (sent > 2 * MiB) break
    await conn.write(chunk)
    sent += chunk.length
  }
  const response = await conn.response()
  t.equal(response?.status, 413, 'the 413 is read')
  t.equal(response === undefined ? undefined : JSON.parse(response.body).code, 'FST_MEDIA_FILE_TOO_LARGE')
  t.ok(await serverClosed(), 'the server closed the connection, although the body never ended')
  t.equal(conn.error, undefined, 'without a reset')
  t.same(filesUnder(root), [], 'no file and no temp file is left')
})
