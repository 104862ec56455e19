// A client that goes away in the middle of an upload, over a real socket: nothing may be left behind,
// neither a stored file nor a temp file, and the server keeps answering.
import { once } from 'node:events'
import { statSync } from 'node:fs'
import type { Socket } from 'node:net'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { request } from 'undici'
import { FileField, ImageField } from '../lib/index.js'
import { filesUnder, fixture, makeApp } from './helpers.js'
import { WatchedStorage } from './watched-storage.js'
import { body, filler, listen, mediaRootOf, MULTIPART, partHead, RawConnection, requestHead, waitFor, within } from './http-helpers.js'

const MiB = 1024 * 1024

/** Writes on the raw connection; the server may not close it while the client is still sending. */
async function send (conn: RawConnection, data: Buffer | string): Promise<void> {
  if (!await conn.write(data)) throw new Error(`the server closed the connection early (${conn.error?.message ?? 'no error'})`)
}

/** Temp files of the default storage and their sizes. */
function tempFiles (root: string): Array<{ path: string, size: number }> {
  return filesUnder(root)
    .filter((path) => path.startsWith('.tmp/'))
    .map((path) => {
      try {
        return { path, size: statSync(join(root, path)).size }
      } catch {
        return { path, size: 0 }
      }
    })
}

async function setup (t: Test) {
  const storage = new WatchedStorage()
  const { app, dir } = await makeApp(t, { storages: { default: storage } })
  const Doc = app.media.model('doc', {
    avatar: ImageField({ uploadTo: 'avatars/', required: false }),
    doc: FileField({ uploadTo: 'docs/', accept: ['application/pdf'] })
  })
  const calls = { handler: 0 }
  // the error an aborted upload ends with reaches onError once its rollback has ended (files and temp files)
  const failed = new Promise<Error>((resolve) => app.addHook('onError', async (_request, _reply, err) => resolve(err)))
  app.post('/upload', { upload: Doc }, async (req, reply) => {
    calls.handler++
    return reply.code(201).send(req.uploads)
  })
  const { origin, port } = await listen(app)
  return { app, storage, root: mediaRootOf(dir), origin, port, calls, rolledBack: async () => await within(failed, 'the aborted upload\'s error') }
}

/** The server still works: a complete upload goes through and is stored. */
async function nextRequestWorks (t: Test, origin: string, root: string): Promise<void> {
  const res = await request(`${origin}/upload`, {
    method: 'POST',
    headers: { 'content-type': MULTIPART },
    body: body([{ name: 'doc', filename: 'after.pdf', content: fixture('fixture.pdf') }]),
    headersTimeout: 10_000,
    bodyTimeout: 10_000
  })
  const json = await res.body.json() as { doc: { name: string } }
  t.equal(res.statusCode, 201, 'the next request is answered')
  t.equal(json.doc.name, 'docs/after.pdf')
  t.same(filesUnder(root), ['docs/after.pdf'], 'only the next request\'s file is there')
}

t.test('a client that disconnects in the middle of a file part leaves no file and no temp file', async (t) => {
  const { root, origin, port, calls, rolledBack } = await setup(t)
  const conn = await RawConnection.open(port)
  t.teardown(() => conn.destroy())

  // announces an 8 MiB file, sends 1.5 MiB of it, then goes away
  const head = partHead('doc', 'big.pdf')
  await send(conn, requestHead('/upload', port, head.length + 8 * MiB))
  await send(conn, head)
  await send(conn, '%PDF-1.4\n')
  for (const chunk of filler(1.5 * MiB)) await send(conn, chunk)

  // a temp file growing on disk has no event: polled (bounded)
  const writing = await waitFor(() => tempFiles(root).some((file) => file.size >= MiB))
  t.ok(writing, `the server was streaming the file to a temp file (${JSON.stringify(tempFiles(root))})`)

  conn.destroy()
  t.match(await rolledBack(), { code: 'FST_MEDIA_BAD_MULTIPART' })
  t.same(filesUnder(root), [], 'no file and no temp file is left under the media root')
  t.equal(calls.handler, 0, 'the handler never ran')
  await nextRequestWorks(t, origin, root)
})

t.test('a client that disconnects in the second file, after the first was stored, leaves nothing', async (t) => {
  const { storage, root, origin, port, calls, rolledBack } = await setup(t)
  const firstStored = storage.next('saved', 'avatars/me.png')
  const conn = await RawConnection.open(port)
  t.teardown(() => conn.destroy())

  const png = fixture('fixture.png')
  const first = Buffer.concat([partHead('avatar', 'me.png'), png, Buffer.from('\r\n')])
  const second = partHead('doc', 'big.pdf')
  await send(conn, requestHead('/upload', port, first.length + second.length + 8 * MiB))
  await send(conn, first)
  await send(conn, second)
  await send(conn, '%PDF-1.4\n')
  for (const chunk of filler(1.5 * MiB)) await send(conn, chunk)

  await firstStored
  t.ok(filesUnder(root).includes('avatars/me.png'), 'the first file was stored')
  t.ok(await waitFor(() => tempFiles(root).some((file) => file.size >= MiB)), 'the second file was being written')

  conn.destroy()
  t.match(await rolledBack(), { code: 'FST_MEDIA_BAD_MULTIPART' })
  t.same(filesUnder(root), [], 'the stored first file and the temp file are both gone')
  t.equal(calls.handler, 0, 'the handler never ran')
  await nextRequestWorks(t, origin, root)
})

t.test('a client that disconnects inside the sniffing window leaves nothing', async (t) => {
  const { app, root, origin, port, calls, rolledBack } = await setup(t)
  const received = once(app.server, 'connection') as Promise<[Socket]>
  const conn = await RawConnection.open(port)
  t.teardown(() => conn.destroy())
  const [socket] = await received

  const head = partHead('doc', 'small.pdf')
  const requestStart = requestHead('/upload', port, head.length + MiB)
  await send(conn, requestStart)
  await send(conn, head)
  await send(conn, '%PDF-1.4\n')
  for (const chunk of filler(10 * 1024)) await send(conn, chunk)
  // nothing can be written before the type is known: there is no file to wait for, so wait until the
  // server has read every byte sent (polled: the HTTP parser consumes the socket, which then emits no 'data')
  const sent = Buffer.byteLength(requestStart) + head.length + 9 + 10 * 1024
  t.ok(await waitFor(() => socket.bytesRead >= sent), 'the server read all that was sent')
  t.same(filesUnder(root), [], 'nothing was written before the sniffing window was full')

  conn.destroy()
  t.match(await rolledBack(), { code: 'FST_MEDIA_BAD_MULTIPART' })
  t.same(filesUnder(root), [], 'nothing is left')
  t.equal(calls.handler, 0, 'the handler never ran')
  await nextRequestWorks(t, origin, root)
})
