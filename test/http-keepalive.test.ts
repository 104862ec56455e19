// A file refused in the middle of a body, over real HTTP: the right error, nothing left on disk, and the
// next request on the same keep-alive client is answered instead of waiting behind the rest of the body.
import { Readable } from 'node:stream'
import t, { type Test } from 'tap'
import { Client } from 'undici'
import { FileField, ImageField } from '../lib/index.js'
import { filesUnder, fixture, makeApp } from './helpers.js'
import { body, CLOSING, filler, listen, mediaRootOf, MULTIPART, PART_END, partHead, RawConnection, requestHead } from './http-helpers.js'

const MB = 1_000_000

async function setup (t: Test) {
  const { app, dir } = await makeApp(t)
  const Model = app.media.model('doc', {
    avatar: ImageField({ uploadTo: 'avatars/', required: false }),
    doc: FileField({ uploadTo: 'docs/', accept: ['application/pdf'], maxSize: '1 MB', required: false })
  })
  const calls = { handler: 0 }
  app.post('/upload', { upload: Model }, async (req, reply) => {
    calls.handler++
    return reply.code(201).send(req.uploads)
  })
  const { origin, port } = await listen(app)
  // one connection, so "the next request" goes where the failed one went (or a fresh one if it was closed)
  const client = new Client(origin, { pipelining: 1, headersTimeout: 10_000, bodyTimeout: 10_000 })
  const connections = { count: 0 }
  client.on('connect', () => { connections.count++ })
  t.teardown(() => client.destroy())
  return { root: mediaRootOf(dir), port, client, connections, calls }
}

/** A 5 MB PDF, streamed from a generator, then a small second part, then the end of the body. */
function * oversizeBody (): Generator<Buffer> {
  yield partHead('doc', 'huge.pdf')
  yield Buffer.from('%PDF-1.4\n')
  yield * filler(5 * MB)
  yield PART_END
  yield partHead('title')
  yield Buffer.from('after the big file')
  yield PART_END
  yield CLOSING
}

/** An .exe named .png for the image field, padded with 3 MB, followed by a valid PDF part. */
function * wrongTypeBody (): Generator<Buffer> {
  yield partHead('avatar', 'cat.png', 'image/png')
  yield fixture('fixture.exe')
  yield * filler(3 * MB)
  yield PART_END
  yield partHead('doc', 'ok.pdf', 'application/pdf')
  yield fixture('fixture.pdf')
  yield PART_END
  yield CLOSING
}

const lengthOf = (chunks: Iterable<Buffer>): number => {
  let n = 0
  for (const chunk of chunks) n += chunk.length
  return n
}

async function nextRequestIsAnswered (t: Test, client: Client, root: string): Promise<void> {
  const res = await client.request({
    method: 'POST',
    path: '/upload',
    headers: { 'content-type': MULTIPART },
    body: body([{ name: 'doc', filename: 'next.pdf', content: fixture('fixture.pdf') }])
  })
  const json = await res.body.json() as { doc: { name: string } }
  t.equal(res.statusCode, 201, 'the next request on the same client is answered')
  t.equal(json.doc.name, 'docs/next.pdf')
  t.same(filesUnder(root), ['docs/next.pdf'], 'only the next request\'s file is stored')
}

const refusals: Array<[string, () => Iterable<Buffer>, number, string, RegExp]> = [
  ['a file past its maxSize gets 413', oversizeBody, 413, 'FST_MEDIA_FILE_TOO_LARGE', /doc/],
  ['a refused type with more body after it gets 400', wrongTypeBody, 400, 'FST_MEDIA_INVALID_TYPE', /avatar/]
]
for (const [name, make, status, code, field] of refusals) {
  t.test(`${name}, leaves nothing, and the next request on the connection is answered`, async (t) => {
    const { root, client, connections, calls } = await setup(t)

    const res = await client.request({
      method: 'POST',
      path: '/upload',
      headers: { 'content-type': MULTIPART, 'content-length': String(lengthOf(make())) },
      body: Readable.from(make())
    })
    const json = await res.body.json() as { code: string, message: string }
    t.equal(res.statusCode, status)
    t.equal(json.code, code)
    t.match(json.message, field, 'the message names the field')
    t.equal(calls.handler, 0, 'the handler never ran')
    t.same(filesUnder(root), [], 'no file and no temp file is left when the response arrives')

    await nextRequestIsAnswered(t, client, root)
    t.ok(connections.count === 1 || res.headers.connection === 'close', 'the connection was drained and reused, or closed as announced')
    t.comment(`connections opened: ${connections.count} (first response: connection ${res.headers.connection})`)
  })
}

// A client that writes its whole body whatever the server says (like curl without Expect), then sends the
// next request on the same socket: it must get an answer, or the connection must be closed as announced.
for (const [name, make, status, code] of [
  ['an oversize file', oversizeBody, 413, 'FST_MEDIA_FILE_TOO_LARGE'],
  ['a refused type', wrongTypeBody, 400, 'FST_MEDIA_INVALID_TYPE']
] as const) {
  t.test(`raw socket: after ${name}, the next request is answered or the connection closed as announced`, async (t) => {
    const { root, port } = await setup(t)
    const conn = await RawConnection.open(port)
    t.teardown(() => conn.destroy())

    let sentWhole = await conn.write(requestHead('/upload', port, lengthOf(make())))
    for (const chunk of make()) {
      if (!sentWhole) break
      sentWhole = await conn.write(chunk)
    }
    const first = await conn.response()
    t.ok(first, 'the failed request is answered')
    t.equal(first?.status, status)
    t.equal(first?.body === undefined ? undefined : JSON.parse(first.body).code, code)
    t.same(filesUnder(root), [], 'no file and no temp file is left when the response arrives')

    const next = body([{ name: 'doc', filename: 'next.pdf', content: fixture('fixture.pdf') }])
    const written = sentWhole && await conn.write(Buffer.concat([Buffer.from(requestHead('/upload', port, next.length)), next]))
    const second = written ? await conn.response() : undefined
    if (second !== undefined) {
      t.equal(second.status, 201, 'the next request on the same socket is answered')
      t.same(filesUnder(root), ['docs/next.pdf'])
    } else {
      t.equal(first?.headers.connection, 'close', 'the server announced it would close the connection')
      t.ok(await conn.waitClosed(), 'and it did close it, so the client is not left waiting')
    }
    t.comment(`body sent whole: ${sentWhole}; first response connection: ${first?.headers.connection}; second response: ${second?.status}`)
  })
}
