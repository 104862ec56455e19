// 20 uploads of one client file name at the same time, over real HTTP: 20 distinct stored names, each file
// complete and byte-identical to what its own request sent.
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import t from 'tap'
import { Pool } from 'undici'
import { FileField } from '../lib/index.js'
import { filesUnder, fixture, makeApp } from './helpers.js'
import { CLOSING, listen, mediaRootOf, MULTIPART, PART_END, partHead, waitFor } from './http-helpers.js'

const N = 20

t.test('20 concurrent uploads of report.pdf get 20 distinct names, each file complete and its own', async (t) => {
  const { app, dir } = await makeApp(t)
  const root = mediaRootOf(dir)
  const Report = app.media.model('report', {
    doc: FileField({ uploadTo: 'docs/', accept: ['application/pdf'] })
  })
  app.post('/reports', { upload: Report }, async (req, reply) => reply.code(201).send(req.uploads))
  const { origin } = await listen(app)
  const pool = new Pool(origin, { connections: N, headersTimeout: 30_000, bodyTimeout: 30_000 })
  t.teardown(() => pool.destroy())

  // A real PDF with a distinct trailing comment per request, 200 KiB or so: larger than the sniffing window,
  // so every file streams into a temp file before it is named
  const pdf = fixture('fixture.pdf')
  const contents = Array.from({ length: N }, (_, i) => Buffer.concat([
    pdf,
    Buffer.from(`\n% request ${i} ${randomBytes(8).toString('hex')} ${randomBytes(96 * 1024).toString('base64')}\n`)
  ]))

  // Each body sends its first 100 KiB, then waits until all 20 files are being written at once; then all
  // finish together and race for the name docs/report.pdf
  let release!: () => void
  const released = new Promise<void>((resolve) => { release = resolve })
  async function * payload (content: Buffer): AsyncGenerator<Buffer> {
    yield partHead('doc', 'report.pdf', 'application/pdf')
    yield content.subarray(0, 100 * 1024)
    await released
    yield content.subarray(100 * 1024)
    yield PART_END
    yield CLOSING
  }

  const responses = contents.map(async (content) => {
    const res = await pool.request({ method: 'POST', path: '/reports', headers: { 'content-type': MULTIPART }, body: Readable.from(payload(content)) })
    return { status: res.statusCode, json: await res.body.json() as { doc: { name: string, size: number, contentType: string } } }
  })
  const temps = () => filesUnder(root).filter((path) => path.startsWith('.tmp/')).length
  // N temp files open at once is a state of the disk with no event: polled (bounded)
  t.ok(await waitFor(() => temps() === N, 10_000), `all ${N} uploads were being written at the same time (${temps()} temp files)`)
  release()
  const results = await Promise.all(responses)

  t.same(results.map((r) => r.status), Array(N).fill(201), 'every upload is accepted')
  const names = results.map((r) => r.json.doc.name)
  t.equal(new Set(names).size, N, 'every upload got its own name')
  for (const name of names) t.match(name, /^docs\/report(_[A-Za-z0-9]{7})?\.pdf$/, `${name} is report.pdf, or it with a random suffix`)
  t.equal(names.filter((name) => name === 'docs/report.pdf').length, 1, 'exactly one got the plain name')

  results.forEach(({ json }, i) => {
    const onDisk = readFileSync(join(root, json.doc.name))
    t.equal(json.doc.size, contents[i]!.length, `request ${i}: the reported size is what was sent`)
    t.equal(json.doc.contentType, 'application/pdf')
    t.ok(onDisk.equals(contents[i]!), `request ${i}: ${json.doc.name} is byte-identical to what it sent`)
  })
  t.same(filesUnder(root), [...names].sort(), 'exactly the 20 files are stored, and no temp file is left')
})
