// bullmqVariantQueue in this process, against a real redis-server. Two adapters on one Redis stand for two
// processes: nothing but Redis is shared between them. test/bullmq-multi-instance.test.ts runs real app
// processes (a worker killed mid-variant among them).
import t from 'tap'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Queue, QueueEvents } from 'bullmq'
import Fastify from 'fastify'
import { Redis } from 'ioredis'
import sharp from 'sharp'
import fastifyMedia, { bullmqVariantQueue, ImageField, type BullmqVariantQueueOptions, type VariantJob } from '../lib/index.js'
import { jobId } from '../lib/image/bullmq-queue.js'
import { loadBullmq } from '../lib/image/load-bullmq.js'
import { fixture, postForm, tempDir, type Tap } from './helpers.js'
import { within } from './http-helpers.js'
import { startRedis } from './redis-server.js'
import { storedMessages } from './variants-lazy-helpers.js'

const NAME = 'fastify-media-variants'

/** The jobs a run function was given, and a wait for the n-th call. */
function recorder (behave: (job: VariantJob, call: number) => Promise<void> = async () => {}) {
  const jobs: VariantJob[] = []
  const waiting = new Map<number, () => void>()
  return {
    jobs,
    run: async (job: VariantJob): Promise<void> => {
      jobs.push(job)
      waiting.get(jobs.length)?.()
      await behave(job, jobs.length)
    },
    called: async (times: number): Promise<void> => {
      if (jobs.length >= times) return
      await within(new Promise<void>((resolve) => waiting.set(times, resolve)), `call ${times} of run`)
    }
  }
}

/** A BullMQ view of the queue for the test's own checks (job counts, finished events), closed at teardown. */
async function inspect (t: Tap, path: string) {
  const queue = new Queue(NAME, { connection: { path } })
  const events = new QueueEvents(NAME, { connection: { path } })
  t.teardown(async () => { await events.close(); await queue.close() })
  await events.waitUntilReady()
  const finished = (kind: 'completed' | 'failed', id: string): Promise<{ failedReason?: string }> =>
    within(new Promise((resolve) => {
      const listener = (event: { jobId: string, failedReason?: string }): void => {
        if (event.jobId !== id) return
        events.off(kind, listener)
        resolve(event)
      }
      events.on(kind, listener)
    }), `job ${id} ${kind}`)
  return { counts: async () => await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'completed', 'failed'), finished }
}

const NONE = { wait: 0, active: 0, delayed: 0, prioritized: 0, completed: 0, failed: 0 }

async function setup (t: Tap, options: Partial<BullmqVariantQueueOptions> = {}) {
  const redis = await startRedis(t)
  if (redis === undefined) return undefined
  const make = () => {
    const queue = bullmqVariantQueue({ connection: { path: redis.path }, ...options })
    t.teardown(() => queue.close())
    return queue
  }
  return { redis, make, ...await inspect(t, redis.path) }
}

t.test('bad options are FST_MEDIA_INVALID_OPTION naming the option', async (t) => {
  const redis = await startRedis(t)
  if (redis === undefined) return
  const code = 'FST_MEDIA_INVALID_OPTION'
  const connection = { path: redis.path }
  t.throws(() => bullmqVariantQueue(undefined as unknown as BullmqVariantQueueOptions), { code, message: /^bullmqVariantQueue: needs options with a connection/ })
  t.throws(() => bullmqVariantQueue({} as BullmqVariantQueueOptions), { code, message: /bullmqVariantQueue\.connection/ })
  t.throws(() => bullmqVariantQueue({ connection: 'redis://127.0.0.1' as unknown as object }), { code, message: /bullmqVariantQueue\.connection/ })
  t.throws(() => bullmqVariantQueue({ connection: redis.client() }), { code, message: /bullmqVariantQueue\.connection: an ioredis Redis needs maxRetriesPerRequest: null/ })
  t.throws(() => bullmqVariantQueue({ connection, name: 'a:b' }), { code, message: /bullmqVariantQueue\.name/ })
  t.throws(() => bullmqVariantQueue({ connection, name: '' }), { code, message: /bullmqVariantQueue\.name/ })
  t.throws(() => bullmqVariantQueue({ connection, prefix: 7 as unknown as string }), { code, message: /bullmqVariantQueue\.prefix/ })
  t.throws(() => bullmqVariantQueue({ connection, concurrency: 0 }), { code, message: /bullmqVariantQueue\.concurrency: must be an integer >= 1/ })
  t.throws(() => bullmqVariantQueue({ connection, attempts: 1.5 }), { code, message: /bullmqVariantQueue\.attempts/ })
  t.throws(() => bullmqVariantQueue({ connection, backoff: -1 }), { code, message: /bullmqVariantQueue\.backoff: must be an integer >= 0/ })
  t.throws(() => bullmqVariantQueue({ connection, lockDuration: 0 }), { code, message: /bullmqVariantQueue\.lockDuration/ })
  t.throws(() => bullmqVariantQueue({ connection, stalledInterval: '5' as unknown as number }), { code, message: /bullmqVariantQueue\.stalledInterval/ })
  t.throws(() => bullmqVariantQueue({ connection, attempt: 2 } as BullmqVariantQueueOptions), { code, message: /bullmqVariantQueue\.attempt: unknown option, did you mean attempts\?/ })
  t.ok(bullmqVariantQueue({ connection: new Redis({ path: redis.path, lazyConnect: true, maxRetriesPerRequest: null }) }), 'an ioredis Redis made for BullMQ is taken')
})

t.test('without bullmq installed the adapter says what to install', async (t) => {
  await t.rejects(loadBullmq(async () => { throw new Error('Cannot find package \'bullmq\'') }), { code: 'FST_MEDIA_INVALID_OPTION', message: /bullmqVariantQueue: needs bullmq: npm install bullmq/ })
  t.type((await loadBullmq()).Worker, 'function')
})

t.test('a variant enqueued twice, through two queues on one Redis, is one job: run once, with its plain JSON', async (t) => {
  const env = await setup(t)
  if (env === undefined) return
  const [one, two] = [env.make(), env.make()]
  // `%` and `:` are escaped in job ids: these two are different variants
  const jobs = [{ storage: 'default', name: 'a/b.png@thumb.webp' }, { storage: 'x', name: 'c:d.png@t.webp' }, { storage: 'x', name: 'c%3Ad.png@t.webp' }]
  for (const job of jobs) {
    await one.enqueue(job)
    await two.enqueue({ ...job })
  }
  t.match(await env.counts(), { wait: 3 }, 'three jobs wait in Redis, not six')
  const { run, called, jobs: ran } = recorder()
  await two.start(run)
  await called(3)
  await two.close()
  await one.close()
  t.same([...ran].sort((a, b) => a.name.localeCompare(b.name)), [...jobs].sort((a, b) => a.name.localeCompare(b.name)), 'each run once, with the job as enqueued')
  t.same(await env.counts(), NONE, 'nothing left: done jobs are removed from Redis')
  t.equal(jobId({ storage: 'a/b', name: 'c' }) === jobId({ storage: 'a', name: 'b/c' }), false, 'the storage\'s name ends at the first /')
})

t.test('a failing job runs again after its backoff, until it succeeds', async (t) => {
  const env = await setup(t, { attempts: 3, backoff: 1 })
  if (env === undefined) return
  const queue = env.make()
  const { run, called, jobs } = recorder(async (_job, call) => { if (call < 3) throw new Error(`storage down (${call})`) })
  const job = { storage: 'default', name: 'a.png@thumb.webp' }
  const completed = env.finished('completed', jobId(job))
  await queue.start(run)
  await queue.enqueue(job)
  await completed
  await called(3)
  t.equal(jobs.length, 3, 'two failures, then the run that made it')
  await queue.close()
  t.same(await env.counts(), NONE)
})

t.test('a job failing every time stops after `attempts` runs and stays in the failed set', async (t) => {
  const env = await setup(t, { attempts: 2, backoff: 1 })
  if (env === undefined) return
  const queue = env.make()
  const { run, jobs } = recorder(async () => { throw new Error('storage down') })
  const job = { storage: 'default', name: 'a.png@thumb.webp' }
  const failed = env.finished('failed', jobId(job))
  await queue.start(run)
  await queue.enqueue(job)
  t.match(await failed, { failedReason: 'storage down' })
  t.equal(jobs.length, 2)
  await queue.close()
  t.match(await env.counts(), { failed: 1, wait: 0, delayed: 0, active: 0 })
})

t.test('an image that cannot give the variant fails at once: no retries', async (t) => {
  const env = await setup(t, { attempts: 5, backoff: 1 })
  if (env === undefined) return
  const queue = env.make()
  const { run, jobs } = recorder(async () => {
    throw Object.assign(new Error('avatar: variant thumb of a.png cannot be made (bad pixels)'), { code: 'FST_MEDIA_VARIANT_FAILED' })
  })
  const job = { storage: 'default', name: 'a.png@thumb.webp' }
  const failed = env.finished('failed', jobId(job))
  await queue.start(run)
  await queue.enqueue(job)
  t.match(await failed, { failedReason: /cannot be made \(bad pixels\)/ })
  t.equal(jobs.length, 1, 'run once, though 5 attempts were allowed')
  await queue.close()
})

t.test('close waits for the job this process took; a job enqueued after close is dropped', async (t) => {
  const env = await setup(t)
  if (env === undefined) return
  const queue = env.make()
  const order: string[] = []
  let release = (): void => {}
  const { run, called } = recorder(async () => {
    await new Promise<void>((resolve) => { release = resolve })
    order.push('job done')
  })
  await queue.start(run)
  await queue.enqueue({ storage: 'default', name: 'a.png@thumb.webp' })
  await called(1)
  const closing = queue.close().then(() => order.push('closed'))
  // a round trip to Redis: the close has gone as far as it goes without the job
  await env.redis.client().ping()
  order.push('released')
  release()
  await closing
  t.same(order, ['released', 'job done', 'closed'])
  await queue.enqueue({ storage: 'default', name: 'late.png@thumb.webp' })
  t.same(await env.counts(), NONE, 'the job finished, and nothing was added after close')
})

t.test('with the plugin: background variants are made by the BullMQ worker, and a job for a variant already there makes nothing', async (t) => {
  const env = await setup(t)
  if (env === undefined) return
  // the app's own ioredis client, made for BullMQ: BullMQ leaves it open, the app closes it
  const client = new Redis({ path: env.redis.path, maxRetriesPerRequest: null })
  const queue = bullmqVariantQueue({ connection: client })
  const dir = tempDir(t)
  const app = Fastify()
  await app.register(fastifyMedia, { baseDir: dir, static: false, variants: { queue } })
  const Profile = app.media.model('profile', {
    avatar: ImageField({ uploadTo: 'avatars/', variants: { thumb: { width: 50, height: 50, format: 'webp', generation: 'background' } } })
  })
  app.post('/p', { upload: Profile }, async (req, reply) => reply.code(201).send(req.uploads))
  const stored = storedMessages(t)
  const made = stored.next((message) => message.variant === 'thumb')

  const res = await postForm(app, '/p', [{ name: 'avatar', filename: 'me.png', content: fixture('fixture.png') }])
  t.equal(res.statusCode, 201)
  const thumb = res.json().avatar.variants.thumb.name as string
  const id = jobId({ storage: 'default', name: thumb })
  const first = env.finished('completed', id)
  t.equal((await made).name, thumb)
  t.match(await sharp(join(dir, 'media', thumb)).metadata(), { format: 'webp', width: 50, height: 50 })
  await first

  // done jobs leave Redis, so the same variant enqueued again is a new job: it finds the variant there
  const again = env.finished('completed', id)
  await queue.enqueue({ storage: 'default', name: thumb })
  await again
  t.equal(stored.messages.filter((message) => message.variant === 'thumb').length, 1, 'made once')
  await app.close()
  t.equal(client.status, 'ready', 'the app\'s own client is left open')
  await client.quit()
  t.ok(existsSync(join(dir, 'media', thumb)))
})
