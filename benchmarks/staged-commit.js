// What S3Storage's `staged` costs: the same upload through the app against s3rver (in a child process),
// staged and not, for a small and a large file. Prints, per size and mode, the median request time and
// the median commit time (the handler's end to the response: the copy to the final name, and the cleanup).
//   npm run build && node benchmarks/staged-commit.js [--large-mib 100] [--small-runs 30] [--large-runs 3]
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { S3Client } from '@aws-sdk/client-s3'
import Fastify from 'fastify'
import { request } from 'undici'
import fastifyMedia, { FileField, S3Storage } from '../dist/index.js'

const { values } = parseArgs({ options: { 'large-mib': { type: 'string', default: '100' }, 'small-runs': { type: 'string', default: '30' }, 'large-runs': { type: 'string', default: '3' } } })
const BOUNDARY = '----stagedbench'
const PDF_HEAD = Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1')

async function startS3 (dir, bucket) {
  const child = fork(new URL('../test/s3rver-process.mjs', import.meta.url), [dir, bucket], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: ['--openssl-legacy-provider'] })
  const [{ port }] = await once(child, 'message')
  return { child, endpoint: `http://127.0.0.1:${port}` }
}

async function startApp (client, bucket, staged) {
  const app = Fastify()
  await app.register(fastifyMedia, { baseDir: tmpdir(), static: false, media: false, storages: { bucket: new S3Storage({ bucket, client, staged }) } })
  const Doc = app.media.model('doc', { file: FileField({ storage: 'bucket', uploadTo: 'docs/', accept: ['application/pdf'], maxSize: 2 ** 31 }) })
  const handled = new WeakMap()
  app.addHook('onResponse', async (req) => { if (handled.has(req)) req.commitMs = performance.now() - handled.get(req) })
  let last
  app.addHook('onResponse', async (req) => { last = req.commitMs })
  app.post('/docs', { upload: Doc }, async (req, reply) => {
    handled.set(req, performance.now())
    return await reply.code(201).send({ name: req.uploads.file.name })
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, url: `http://127.0.0.1:${app.server.address().port}/docs`, lastCommit: () => last }
}

function * body (size) {
  yield Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="f.pdf"\r\nContent-Type: application/pdf\r\n\r\n`)
  yield PDF_HEAD
  const chunk = Buffer.alloc(1024 * 1024, 0x20)
  for (let left = size - PDF_HEAD.length; left > 0; left -= chunk.length) yield left >= chunk.length ? chunk : chunk.subarray(0, left)
  yield Buffer.from(`\r\n--${BOUNDARY}--\r\n`)
}

async function upload (url, size) {
  const start = performance.now()
  const res = await request(url, { method: 'POST', body: body(size), headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` } })
  await res.body.dump()
  if (res.statusCode !== 201) throw new Error(`upload answered ${res.statusCode}`)
  return performance.now() - start
}

const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]

const dir = mkdtempSync(join(tmpdir(), 'staged-bench-'))
const bucket = 'bench'
const { child, endpoint } = await startS3(dir, bucket)
const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, requestChecksumCalculation: 'WHEN_REQUIRED' })
const sizes = [['64 KiB', 64 * 1024, Number(values['small-runs'])], [`${values['large-mib']} MiB`, Number(values['large-mib']) * 2 ** 20, Number(values['large-runs'])]]
try {
  for (const [label, size, runs] of sizes) {
    const apps = { 'not staged': await startApp(client, bucket, false), staged: await startApp(client, bucket, true) }
    const figures = Object.fromEntries(Object.keys(apps).map((mode) => [mode, { total: [], commit: [] }]))
    await upload(apps.staged.url, size) // warm-up
    await upload(apps['not staged'].url, size)
    // the two modes take turns, so a slower moment of the machine hits both
    for (let i = 0; i < runs; i++) {
      for (const [mode, { url, lastCommit }] of Object.entries(apps)) {
        figures[mode].total.push(await upload(url, size))
        figures[mode].commit.push(lastCommit())
      }
    }
    for (const [mode, { total, commit }] of Object.entries(figures)) {
      console.log(`${label.padEnd(8)} ${mode.padEnd(11)} request ${median(total).toFixed(1).padStart(8)} ms   commit ${median(commit).toFixed(1).padStart(8)} ms   (median of ${runs})`)
    }
    for (const { app } of Object.values(apps)) await app.close()
  }
} finally {
  client.destroy()
  child.send('stop')
  await once(child, 'exit')
  rmSync(dir, { recursive: true, force: true })
}
