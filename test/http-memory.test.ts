// A 1 GiB upload streams: the server (its own process, the built package) stays within a few tens of MiB
// of its resident memory before the upload. Generous on purpose: not a timing assertion.
import { fork, type ChildProcess } from 'node:child_process'
import { existsSync, statSync, unlinkSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import t from 'tap'
import sharp from 'sharp'
import { Client, Pool } from 'undici'
import { filesUnder, fixture, tempDir, type Tap } from './helpers.js'
import { body, CLOSING, filler, mediaRootOf, MULTIPART, PART_END, partHead } from './http-helpers.js'

const MiB = 1024 * 1024
const GiB = 1024 * MiB
// typically 33-39 MiB; 64.4 was seen once with the load average at 8 on 2 cores, 80.5 on Node 24 at 15.
// Holding the file would be 1 GiB: an eighth of it still tells streaming from holding
const LIMIT = 128 * MiB
// decoding is where images cost memory: a few photos at a time (the image slots), not fifty. Each upload
// also keeps its 1 MiB of bytes until its variants are made from them (50 MiB for the burst). README
// "Images" quotes 205-235 MiB for this burst (Node 20, 2 cores, load 5); fifty 2000x1500 decodes at once
// would hold 50 x 8.6 MiB of pixels alone, about 430 MiB, plus those bytes
const IMAGE_LIMIT = 280 * MiB
/** One image slot per CPU of the server's machine (lib/image/slots.ts), which is this one. */
const SLOTS = availableParallelism()
const SERVER = join(import.meta.dirname, 'http-memory-server.mjs')
const DIST = join(import.meta.dirname, '..', 'dist', 'index.js')

type Message = { type: 'ready', port: number }
  | { type: 'baseline', rss: number }
  | { type: 'report', baseline: number, peak: number, samples: number, maxRSS: number, maxSharpTasks: number }

/** The next IPC message of a type, or a rejection if the server dies or takes too long first. */
function next<T extends Message['type']> (child: ChildProcess, type: T, timeout = 30_000): Promise<Extract<Message, { type: T }>> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error, message?: Message) => {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
      if (err === undefined) resolve(message as Extract<Message, { type: T }>)
      else reject(err)
    }
    const onMessage = (message: Message) => { if (message.type === type) done(undefined, message) }
    const onExit = (code: number | null, signal: string | null) => done(new Error(`the server exited (${code ?? signal}) before "${type}"`))
    const timer = setTimeout(() => done(new Error(`no "${type}" from the server within ${timeout} ms`)), timeout)
    child.on('message', onMessage)
    child.once('exit', onExit)
  })
}

const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`

/**
 * The server in a clean child (no TypeScript loader, no coverage, none of tap's NODE_OPTIONS) on a temp
 * media root; undefined (and the test failed) when the package is not built.
 */
async function startServerChild (t: Tap): Promise<{ child: ChildProcess, port: number, root: string } | undefined> {
  if (!existsSync(DIST)) {
    t.fail('dist/index.js is missing: run `npm run build` first (npm test does)')
    return undefined
  }
  const dir = tempDir(t)
  const env = { ...process.env }
  delete env.NODE_OPTIONS
  delete env.NODE_V8_COVERAGE
  const child = fork(SERVER, [dir], { execArgv: ['--expose-gc'], env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill() })
  const { port } = await next(child, 'ready')
  return { child, port, root: mediaRootOf(dir) }
}

t.test('a 1 GiB upload to a FileField streams: peak RSS grows by less than 128 MiB', async (t) => {
  const server = await startServerChild(t)
  if (server === undefined) return
  const { child, port, root } = server

  const client = new Client(`http://127.0.0.1:${port}`, { headersTimeout: 120_000, bodyTimeout: 120_000 })
  t.teardown(() => client.destroy())

  // what startup leaves, then one small upload so the lazily loaded parts (file-type, ...) are in
  child.send('baseline')
  const atStartup = (await next(child, 'baseline')).rss
  const warm = await client.request({
    method: 'POST',
    path: '/upload',
    headers: { 'content-type': MULTIPART },
    body: body([{ name: 'doc', filename: 'warm.pdf', content: fixture('fixture.pdf') }])
  })
  const warmed = await warm.body.json() as { doc: { name: string } }
  t.equal(warm.statusCode, 201, 'the warm-up upload is stored')
  unlinkSync(join(root, warmed.doc.name))
  child.send('baseline')
  const baseline = (await next(child, 'baseline')).rss

  const header = Buffer.from('%PDF-1.4\n')
  function * payload (): Generator<Buffer> {
    yield partHead('doc', 'big.pdf', 'application/pdf')
    yield header
    yield * filler(GiB - header.length, 256 * 1024)
    yield PART_END
    yield CLOSING
  }
  const length = partHead('doc', 'big.pdf', 'application/pdf').length + GiB + PART_END.length + CLOSING.length

  const started = Date.now()
  const res = await client.request({
    method: 'POST',
    path: '/upload',
    headers: { 'content-type': MULTIPART, 'content-length': String(length) },
    body: Readable.from(payload())
  })
  const json = await res.body.json() as { doc: { name: string, size: number, contentType: string } }
  const seconds = (Date.now() - started) / 1000
  t.equal(res.statusCode, 201, 'the 1 GiB file is accepted')
  t.equal(json.doc.size, GiB, 'the reported size is 1 GiB')
  t.equal(json.doc.contentType, 'application/pdf')
  t.equal(statSync(join(root, json.doc.name)).size, GiB, 'the stored file is complete')

  child.send('report')
  const report = await next(child, 'report')
  const growth = report.peak - baseline
  t.comment(`upload: ${seconds.toFixed(1)} s; RSS at startup ${mib(atStartup)}, baseline after warm-up ${mib(baseline)}, ` +
    `sampled peak ${mib(report.peak)} (${report.samples} samples), growth ${mib(growth)} (${mib(report.peak - atStartup)} over startup); ` +
    `lifetime maxRSS ${mib(report.maxRSS)}`)
  t.ok(growth < LIMIT, `peak RSS grew by ${mib(growth)}, less than ${mib(LIMIT)}`)
  t.ok(report.maxRSS - baseline < LIMIT, `the kernel's high-water mark is ${mib(report.maxRSS - baseline)} over the baseline, less than ${mib(LIMIT)}`)

  unlinkSync(join(root, json.doc.name))
  t.same(filesUnder(root), [], 'the 1 GiB file is deleted, no temp file is left')

  child.send('close')
  await new Promise((resolve) => child.once('exit', resolve))
})

t.test('50 concurrent photo uploads with 3 variants each: all complete, image work queued, RSS bounded', async (t) => {
  const server = await startServerChild(t)
  if (server === undefined) return
  const { child, port, root } = server
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 50, headersTimeout: 300_000, bodyTimeout: 300_000 })
  t.teardown(() => pool.destroy())

  // a 3-megapixel photo: each decode is real work, and the burst would hold 50 of them without the queue
  const photo = await sharp({ create: { width: 2000, height: 1500, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 40 } } })
    .jpeg({ quality: 70 }).toBuffer()
  const post = async () => await pool.request({ method: 'POST', path: '/photo', headers: { 'content-type': MULTIPART }, body: body([{ name: 'photo', filename: 'p.jpg', content: photo }]) })

  const warm = await post()
  t.equal(warm.statusCode, 201, 'the warm-up upload is stored')
  await warm.body.dump()
  child.send('baseline')
  const baseline = (await next(child, 'baseline')).rss

  const started = Date.now()
  const responses = await Promise.all(Array.from({ length: 50 }, post))
  const results = await Promise.all(responses.map(async (res) => ({ status: res.statusCode, json: await res.body.json() as { photo: { variants: Record<'thumb' | 'card' | 'wide', { width: number }> } } })))
  const seconds = (Date.now() - started) / 1000
  t.ok(results.every((result) => result.status === 201), 'all 50 are stored')
  t.ok(results.every(({ json }) => json.photo.variants.thumb.width === 200 && json.photo.variants.card.width === 800 && json.photo.variants.wide.width === 1200), 'each with its three variants')
  t.equal(filesUnder(root).length, 51 * 4, 'originals and variants on disk, no temp file')

  child.send('report')
  const report = await next(child, 'report')
  const growth = report.peak - baseline
  t.comment(`50 x ${mib(photo.length)} photos (2000x1500) with 3 variants: ${seconds.toFixed(1)} s; baseline ${mib(baseline)}, ` +
    `sampled peak ${mib(report.peak)} (${report.samples} samples), growth ${mib(growth)}; lifetime maxRSS ${mib(report.maxRSS)}`)
  t.ok(growth < IMAGE_LIMIT, `peak RSS grew by ${mib(growth)}, less than ${mib(IMAGE_LIMIT)}`)
  // queued: at most one image's operations per slot are in sharp at once (an image's variants and its
  // checks, a handful: up to 11 for 2 slots was sampled once on Node 24 under load, 5.5 a slot), where fifty
  // images at once would put 50 x that many in flight
  t.ok(report.maxSharpTasks > 0, 'sharp was seen at work')
  t.ok(report.maxSharpTasks <= SLOTS * 8, `image work queued: at most ${report.maxSharpTasks} sharp operations in flight at once, for ${SLOTS} slots`)

  child.send('close')
  await new Promise((resolve) => child.once('exit', resolve))
})
