// Real app processes (test/bullmq-server.mjs, the built package: run `npm run build` first) sharing one
// media root and one BullMQ queue on a real redis-server, and nothing else. Each child reports every variant
// save it begins ('making'), so the test counts makes across processes. The adapter's logic is tested in
// this process by test/bullmq-queue.test.ts; these children are not covered by tap.
import t from 'tap'
import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readdirSync, statSync, utimesSync } from 'node:fs'
import { join } from 'node:path'
import { Queue, QueueEvents } from 'bullmq'
import sharp from 'sharp'
import { request } from 'undici'
import { jobId } from '../lib/image/bullmq-queue.js'
import { fixture, multipart, tempDir, type Tap } from './helpers.js'
import { waitFor, within } from './http-helpers.js'
import { startRedis } from './redis-server.js'

const SERVER = join(import.meta.dirname, 'bullmq-server.mjs')
const DIST = join(import.meta.dirname, '..', 'dist', 'index.js')
const TIMEOUT = 20_000

interface Report { type: 'ready' | 'making' | 'made' | 'holding', name?: string, port?: number, bytes?: number }

interface Instance {
  child: ChildProcess
  origin: string
  reports: Report[]
  /** The first report (past or coming) that matches. */
  seen: (match: (report: Report) => boolean, what: string) => Promise<Report>
}

/** One app process on `baseDir` and the test's Redis; killed when the test ends if it is still there. */
async function instance (t: Tap, baseDir: string, options: Record<string, unknown>): Promise<Instance> {
  // a clean child: no TypeScript loader, no coverage, none of tap's NODE_OPTIONS
  const env = { ...process.env }
  delete env.NODE_OPTIONS
  delete env.NODE_V8_COVERAGE
  const child = fork(SERVER, [baseDir, JSON.stringify(options)], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  t.teardown(() => { child.kill('SIGKILL') })
  const reports: Report[] = []
  const waiters = new Set<{ match: (report: Report) => boolean, resolve: (report: Report) => void }>()
  child.on('message', (report: Report) => {
    reports.push(report)
    for (const waiter of waiters) {
      if (waiter.match(report)) {
        waiters.delete(waiter)
        waiter.resolve(report)
      }
    }
  })
  const seen = async (match: (report: Report) => boolean, what: string): Promise<Report> => {
    const past = reports.find(match)
    if (past !== undefined) return past
    return await within(new Promise<Report>((resolve) => { waiters.add({ match, resolve }) }), what, TIMEOUT)
  }
  const ready = await within(Promise.race([
    seen((report) => report.type === 'ready', 'the app listening'),
    once(child, 'exit').then(([code]) => { throw new Error(`the app exited (${String(code)}) before listening`) })
  ]), 'the app listening', 30_000)
  return { child, origin: `http://127.0.0.1:${ready.port!}`, reports, seen }
}

/** Closes an app over IPC (its close waits for the jobs it took) and waits for its exit. */
async function stop (app: Instance): Promise<void> {
  const exited = once(app.child, 'exit')
  app.child.send('close')
  await within(exited, 'the app closed')
}

async function upload (origin: string, filename: string): Promise<string> {
  const { payload, headers } = multipart([{ name: 'avatar', filename, content: fixture('fixture.png'), contentType: 'image/png' }])
  const res = await request(`${origin}/profiles`, { method: 'POST', headers, body: payload, headersTimeout: TIMEOUT, bodyTimeout: TIMEOUT })
  const body = await res.body.json() as { avatar: { variants: { thumb: { name: string } } } }
  if (res.statusCode !== 201) throw new Error(`the upload answered ${res.statusCode}: ${JSON.stringify(body)}`)
  return body.avatar.variants.thumb.name
}

async function enqueue (origin: string, name: string): Promise<void> {
  const res = await request(`${origin}/enqueue?name=${encodeURIComponent(name)}`, { method: 'POST', headersTimeout: TIMEOUT, bodyTimeout: TIMEOUT })
  await res.body.dump()
  if (res.statusCode !== 204) throw new Error(`enqueue answered ${res.statusCode}`)
}

/** What BullMQ holds of the queue once everything is done: nothing, when each job completed. */
async function jobCounts (t: Tap, path: string): Promise<Record<string, number>> {
  const queue = new Queue('fastify-media-variants', { connection: { path } })
  t.teardown(() => queue.close())
  return await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'completed', 'failed')
}

const makes = (apps: Instance[], name: string): number =>
  apps.reduce((sum, app) => sum + app.reports.filter((report) => report.type === 'making' && report.name === name).length, 0)

const scratch = (root: string): string[] => {
  const dir = join(root, '.tmp')
  return existsSync(dir) ? readdirSync(dir) : []
}

const NONE = { wait: 0, active: 0, delayed: 0, prioritized: 0, completed: 0, failed: 0 }

t.test('two app processes on one Redis queue and one media root: each background variant is made exactly once, and all appear', async (t) => {
  if (!existsSync(DIST)) t.fail('dist/index.js is missing: run `npm run build` first (npm test does)')
  const redis = await startRedis(t)
  if (redis === undefined) return
  const dir = tempDir(t)
  const root = join(dir, 'media')
  const apps = [await instance(t, dir, { redis: redis.path }), await instance(t, dir, { redis: redis.path })]

  // each upload through one process, and the same variant enqueued again at once through the other:
  // both workers are idle, so without one job per variant both would take it
  const names: string[] = []
  for (let i = 0; i < 8; i++) {
    const [through, other] = i % 2 === 0 ? [apps[0]!, apps[1]!] : [apps[1]!, apps[0]!]
    const name = await upload(through.origin, `me${i}.png`)
    await enqueue(other.origin, name)
    names.push(name)
  }
  for (const name of names) {
    await Promise.any(apps.map(async (app) => await app.seen((report) => report.type === 'made' && report.name === name, `${name} made`)))
  }
  for (const app of apps) await stop(app)

  t.same(names.map((name) => makes(apps, name)), names.map(() => 1), 'each variant made once, across both processes')
  t.comment(`made by the first process: ${apps[0]!.reports.filter((report) => report.type === 'making').length}, by the second: ${apps[1]!.reports.filter((report) => report.type === 'making').length}`)
  for (const name of names) t.match(await sharp(join(root, name)).metadata(), { format: 'webp', width: 50, height: 50 }, `${name} is whole`)
  t.same(scratch(root), [], 'no scratch left')
  t.same(await jobCounts(t, redis.path), NONE, 'no job left in Redis')
})

t.test('a worker killed in the middle of a variant leaves no half variant; the job is taken again and completes when a worker runs', async (t) => {
  if (!existsSync(DIST)) t.fail('dist/index.js is missing: run `npm run build` first (npm test does)')
  const redis = await startRedis(t)
  if (redis === undefined) return
  const dir = tempDir(t)
  const root = join(dir, 'media')
  // a job whose process died is taken again once its lock (1 s here, 30 s by default) has lapsed
  const timing = { lockDuration: 1000, stalledInterval: 500 }
  const first = await instance(t, dir, { redis: redis.path, hold: true, ...timing })

  const name = await upload(first.origin, 'me.png')
  const holding = await first.seen((report) => report.type === 'holding' && report.name === name, 'the variant half written')
  const half = (): string | undefined => scratch(root).find((file) => statSync(join(root, '.tmp', file)).size === holding.bytes)
  t.ok(await waitFor(() => half() !== undefined, TIMEOUT), 'half the variant is on disk, in scratch')
  const exited = once(first.child, 'exit')
  first.child.kill('SIGKILL')
  await within(exited, 'the first app gone')

  t.notOk(existsSync(join(root, name)), 'no file under the variant\'s name: it is linked there only once whole')
  t.equal(scratch(root).length, 1, 'the half write stays in scratch')
  // a scratch file older than limits.uploadTimeout belongs to no live save: age this one past it
  const old = new Date(Date.now() - 24 * 3600 * 1000)
  utimesSync(join(root, '.tmp', half()!), old, old)

  const second = await instance(t, dir, { redis: redis.path, ...timing })
  t.same(scratch(root), [], 'the restarted app swept the half write before it listened')
  await second.seen((report) => report.type === 'made' && report.name === name, 'the variant made by the second process')
  await stop(second)

  t.equal(makes([first], name), 1, 'the first process began it once')
  t.equal(makes([second], name), 1, 'the second process made it once')
  t.match(await sharp(join(root, name)).metadata(), { format: 'webp', width: 50, height: 50 }, 'the variant is whole')
  t.same(scratch(root), [], 'no scratch left')
  t.same(await jobCounts(t, redis.path), NONE, 'the job completed: nothing failed, nothing waits')
})

t.test('a job whose worker dies twice fails; its variant is made on its first request', async (t) => {
  if (!existsSync(DIST)) t.fail('dist/index.js is missing: run `npm run build` first (npm test does)')
  const redis = await startRedis(t)
  if (redis === undefined) return
  const dir = tempDir(t)
  const timing = { lockDuration: 1000, stalledInterval: 500 }
  const first = await instance(t, dir, { redis: redis.path, hold: true, ...timing })
  const name = await upload(first.origin, 'me.png')
  const killed = async (app: Instance): Promise<void> => {
    await app.seen((report) => report.type === 'holding' && report.name === name, 'the variant half written')
    const exited = once(app.child, 'exit')
    app.child.kill('SIGKILL')
    await within(exited, 'the app gone')
  }
  await killed(first)
  await killed(await instance(t, dir, { redis: redis.path, hold: true, ...timing }))

  const events = new QueueEvents('fastify-media-variants', { connection: { path: redis.path } })
  t.teardown(() => events.close())
  await events.waitUntilReady()
  const failed = within(new Promise<{ failedReason: string }>((resolve) => {
    events.on('failed', (event) => { if (event.jobId === jobId({ storage: 'default', name })) resolve(event) })
  }), 'the job failed', TIMEOUT)
  const third = await instance(t, dir, { redis: redis.path, ...timing })
  t.match(await failed, { failedReason: /stalled more than allowable limit/ }, 'BullMQ fails the job it took back once')
  t.equal(makes([third], name), 0, 'the third process does not take it')
  t.notOk(existsSync(join(dir, 'media', name)), 'no variant yet')

  const res = await request(`${third.origin}/media/${name}`, { headersTimeout: TIMEOUT, bodyTimeout: TIMEOUT })
  t.equal(res.statusCode, 200, 'its first request answers it')
  t.match(await sharp(Buffer.from(await res.body.arrayBuffer())).metadata(), { format: 'webp', width: 50, height: 50 })
  t.equal(makes([third], name), 1, 'made by its first request')
  await stop(third)
})
