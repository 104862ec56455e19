import t from 'tap'
import Fastify from 'fastify'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import fastifyMedia from '../lib/index.js'
import { eachInBatches } from '../lib/static/write-files.js'
import { filesUnder, tempDir } from './helpers.js'

t.test('eachInBatches: every item in order, and the event loop runs between batches', async (t) => {
  const items = Array.from({ length: 450 }, (_, i) => i)
  const seen: number[] = []
  const immediate = new Promise<number>((resolve) => setImmediate(() => resolve(seen.length)))
  await eachInBatches(items, (item) => { seen.push(item) })
  t.same(seen, items)
  const seenWhenImmediateRan = await immediate
  t.ok(seenWhenImmediateRan > 0 && seenWhenImmediateRan < items.length, `a callback queued before ran between batches (after ${seenWhenImmediateRan} items)`)
})

t.test('collectstatic over more files than one batch: every variant true to its file, shared ones included', async (t) => {
  const dir = tempDir(t)
  const src = join(dir, 'src')
  mkdirSync(join(src, 'js'), { recursive: true })
  for (let i = 0; i < 150; i++) {
    // a script without references: its original name and its hashed name hold the same bytes
    writeFileSync(join(src, 'js', `plain${i}.js`), `export const value${i} = ${JSON.stringify('x'.repeat(200 + i))}\n`.repeat(3))
    // a stylesheet whose hashed copy is rewritten: different bytes under the two names
    writeFileSync(join(src, 'js', `style${i}.css`), `.a${i} { background: url(plain${i}.js) }\n`.repeat(5))
  }
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyMedia, { baseDir: dir, static: { dirs: ['src'], root: 'out' }, media: false, mode: 'production' })
  const first = await app.media.collectstatic()
  t.equal(first.copied.length, 300)
  t.equal(first.postProcessed.length, 300)
  const root = join(dir, 'out')
  const files = filesUnder(root)
  const compressed = files.filter((path) => /\.(css|js)$/.test(path))
  t.equal(compressed.length, 600, 'both names of every file')
  let checked = 0
  for (const path of compressed) {
    const bytes = readFileSync(join(root, path))
    if (!brotliDecompressSync(readFileSync(join(root, `${path}.br`))).equals(bytes)) t.fail(`${path}.br`)
    if (!gunzipSync(readFileSync(join(root, `${path}.gz`))).equals(bytes)) t.fail(`${path}.gz`)
    checked++
  }
  t.equal(checked, 600, 'every .br and .gz decompresses to its file')

  const again = await app.media.collectstatic()
  t.same([again.copied.length, again.unmodified.length, again.postProcessed.length], [0, 300, 0], 'nothing to do the second time')
  t.same(filesUnder(root), files)
})
