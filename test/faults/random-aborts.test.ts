// 200 uploads over real sockets, 20 at a time, a third of them cut off mid-body by their client: exactly the
// completed ones are stored, each byte for byte; the cut ones leave nothing (no file, no temp file); the
// server still answers.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { request } from 'undici'
import { FileField } from '../../lib/index.js'
import { filesUnder, fixture, makeApp } from '../helpers.js'
import { body, listen, mediaRootOf, MULTIPART, partHead, RawConnection, requestHead, within } from '../http-helpers.js'

const UPLOADS = 200
const AT_ONCE = 20
const KiB = 1024

/** Upload i's bytes: a PDF, then filler of its own byte, past the 64 KiB sniffing window. */
const content = (i: number): Buffer => Buffer.concat([fixture('fixture.pdf'), Buffer.alloc(128 * KiB, i % 251)])
const cut = (i: number): boolean => i % 3 === 0

t.test(`${UPLOADS} uploads, a third cut off mid-body: exactly the completed files stay, whole; nothing of the others; the server answers`, async (t) => {
  const { app, dir } = await makeApp(t)
  const root = mediaRootOf(dir)
  const Doc = app.media.model('doc', { doc: FileField({ uploadTo: 'docs/', accept: ['application/pdf'] }) })
  app.post('/upload', { upload: Doc }, async (req, reply) => await reply.code(201).send(req.uploads))
  const cuts = Array.from({ length: UPLOADS }, (_, i) => i).filter(cut).length
  // a cut upload's error reaches onError once its rollback has ended (its file and temp file gone)
  let failures = 0
  let allFailed!: () => void
  const rolledBack = new Promise<void>((resolve) => { allFailed = resolve })
  app.addHook('onError', async () => { if (++failures === cuts) allFailed() })
  const { origin, port } = await listen(app)

  async function upload (i: number): Promise<void> {
    const bytes = content(i)
    if (!cut(i)) {
      const res = await request(`${origin}/upload`, { method: 'POST', headers: { 'content-type': MULTIPART }, body: body([{ name: 'doc', filename: `f${i}.pdf`, content: bytes }]) })
      t.equal(res.statusCode, 201, `upload ${i} stored`)
      await res.body.dump()
      return
    }
    // announced whole, three quarters sent, then the client goes away
    const head = partHead('doc', `f${i}.pdf`, 'application/pdf')
    const conn = await RawConnection.open(port)
    await conn.write(requestHead('/upload', port, head.length + bytes.length + 64))
    await conn.write(Buffer.concat([head, bytes.subarray(0, 96 * KiB)]))
    conn.destroy()
  }
  for (let start = 0; start < UPLOADS; start += AT_ONCE) {
    await Promise.all(Array.from({ length: AT_ONCE }, async (_, j) => await upload(start + j)))
  }
  await within(rolledBack, `the ${cuts} cut uploads rolled back`, 60_000)

  const completed = Array.from({ length: UPLOADS }, (_, i) => i).filter((i) => !cut(i))
  t.equal(completed.length, 133)
  t.same(filesUnder(root).sort(), completed.map((i) => `docs/f${i}.pdf`).sort(), 'exactly the completed files, no temp file')
  for (const i of completed) {
    if (!readFileSync(join(root, `docs/f${i}.pdf`)).equals(content(i))) t.fail(`docs/f${i}.pdf is not byte for byte upload ${i}`)
  }
  const after = await request(`${origin}/upload`, { method: 'POST', headers: { 'content-type': MULTIPART }, body: body([{ name: 'doc', filename: 'after.pdf', content: content(0) }]) })
  t.equal(after.statusCode, 201, 'the server still answers')
  await after.body.dump()
})
