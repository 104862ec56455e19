// app.media.sweep() over an S3Storage on s3rver holding 10 000 and 100 000 objects (1 000 and 2 000 with
// --quick): a dry run, then the real one, each in a fresh process. Records reference every even-numbered
// name, so the sweep removes exactly the odd half; the scenario fails when anything else is left. Reports
// each run's seconds and the sweep process's peak RSS: the listing is paged (batchSize names at a time), so
// the memory must not grow with the number of objects.
import { fork } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { resultOf, startServer } from '../lib/child.js'
import { Figure, mib } from '../lib/stats.js'

const BUCKET = 'bench'
const PREFIX = 'media'
const BATCH = 1000
const PER_DIR = 100
const SWEEP_CHILD = fileURLToPath(new URL('../lib/sweep-child.js', import.meta.url))
const OBJECT = '._S3rver_object'

const keyOf = (i) => `${String(Math.floor(i / PER_DIR)).padStart(4, '0')}/${String(i).padStart(6, '0')}.bin`

/**
 * `count` objects written straight into s3rver's directory layout (`<bucket>/<key>._S3rver_object` and its
 * `.md5`), which s3rver reads back as it lists: minutes of PUTs saved, the same objects.
 */
function fill (bucketDir, count) {
  const body = Buffer.from('sweep benchmark\n')
  const md5 = createHash('md5').update(body).digest('hex')
  for (let dir = 0; dir * PER_DIR < count; dir++) mkdirSync(join(bucketDir, PREFIX, String(dir).padStart(4, '0')), { recursive: true })
  for (let i = 0; i < count; i++) {
    const path = join(bucketDir, PREFIX, keyOf(i)) + OBJECT
    writeFileSync(path, body)
    writeFileSync(`${path}.md5`, md5)
  }
}

/** The numbers of the objects left, from s3rver's directory. */
function left (bucketDir) {
  const numbers = []
  for (const dir of readdirSync(join(bucketDir, PREFIX))) {
    for (const file of readdirSync(join(bucketDir, PREFIX, dir))) if (file.endsWith(OBJECT)) numbers.push(Number(file.slice(0, 6)))
  }
  return numbers.sort((a, b) => a - b)
}

async function sweepOnce (config) {
  const child = fork(SWEEP_CHILD, [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  return await resultOf(child, 'result')
}

export default {
  name: 'sweep',
  async run (ctx) {
    const counts = ctx.quick ? [1000, 2000] : [10_000, 100_000]
    const figure = new Figure(`app.media.sweep() over an S3Storage on s3rver (batchSize ${BATCH}; half the objects referenced), seconds per sweep`, {
      unit: 's',
      rowTitle: 'objects, run',
      digits: 1,
      extras: [
        { key: 'rate', title: 'objects/s', format: (v) => v.toFixed(0) },
        { key: 'removed', title: 'removed', format: (v) => v.toLocaleString('en-US') },
        { key: 'peak', title: 'sweep process peak RSS (MiB)', format: (v) => v.toFixed(0) },
        { key: 'added', title: 'added by the sweep (MiB)', format: (v) => v.toFixed(0) }
      ]
    })
    const peaks = new Map()
    for (const count of counts) {
      const dir = ctx.scratchDir(`sweep/${count}`)
      const bucketDir = join(dir, BUCKET)
      ctx.log(`sweep: writing ${count.toLocaleString('en-US')} objects into s3rver's directory`)
      fill(bucketDir, count)
      ctx.sync()
      const s3 = await startServer('s3rver-sweep.js', { dir, bucket: BUCKET }, { execArgv: ['--openssl-legacy-provider'] })
      try {
        for (const dryRun of [true, false]) {
          const label = `${count.toLocaleString('en-US')}, ${dryRun ? 'dry run' : 'for real'}`
          const { result, seconds, rssBefore, rssAfter } = await sweepOnce({ endpoint: `http://127.0.0.1:${s3.port}`, bucket: BUCKET, prefix: PREFIX, dryRun, batchSize: BATCH })
          const expected = count / 2
          if (result.scanned !== count || result.removed !== expected || result.referenced !== expected) {
            throw new Error(`sweep ${label}: scanned ${result.scanned}, removed ${result.removed}, referenced ${result.referenced}; expected ${count}, ${expected}, ${expected}`)
          }
          const remaining = left(bucketDir)
          const wanted = dryRun ? count : expected
          if (remaining.length !== wanted || remaining.some((n) => !dryRun && n % 2 !== 0)) {
            throw new Error(`sweep ${label}: ${remaining.length} objects left, expected ${wanted}${dryRun ? '' : ' (the even ones)'}`)
          }
          figure.add(label, seconds, { rate: count / seconds, removed: result.removed, peak: mib(rssAfter), added: mib(rssAfter - rssBefore) })
          peaks.set(label, rssAfter)
          ctx.log(`sweep ${label}: ${seconds.toFixed(1)} s, removed ${result.removed}, peak RSS ${mib(rssAfter)} MiB (${mib(rssAfter - rssBefore)} MiB over the ready app)`)
        }
      } finally {
        await s3.close()
        rmSync(dir, { recursive: true, force: true })
      }
    }
    figure.notes.push(`Each run in a fresh process: the built plugin, an S3Storage with prefix \`${PREFIX}\`, \`isReferenced\` answering the even-numbered names. Peak RSS is the kernel's high-water mark of the sweep process; "added" is that minus the mark once the app was ready. The objects are written straight into s3rver's directory (${PER_DIR} per folder); s3rver lists each page by walking its folders, and removes one object per DeleteObject request (the sweep removes one name at a time).`)
    const [small, large] = counts.map((count) => peaks.get(`${count.toLocaleString('en-US')}, for real`))
    const growth = small === undefined || large === undefined ? undefined : large / small
    return {
      figures: [figure],
      targets: [
        { what: `Sweep memory bounded by batchSize, not the object count: peak RSS at ${counts[1].toLocaleString('en-US')} objects within 1.25x of ${counts[0].toLocaleString('en-US')}`, ratio: growth, goal: 1.25, met: growth === undefined ? undefined : growth <= 1.25, value: growth === undefined ? undefined : `${growth.toFixed(2)}x` }
      ]
    }
  }
}
