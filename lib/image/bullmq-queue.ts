import type { ConnectionOptions, Queue, Worker } from 'bullmq'
import { keysOf, knownKeys } from '../check-keys.js'
import { FST_MEDIA_INVALID_OPTION } from '../errors.js'
import { loadBullmq, type BullmqModule } from './load-bullmq.js'
import type { VariantJob, VariantQueue } from './variant-queue.js'

export interface BullmqVariantQueueOptions {
  /**
   * BullMQ's `connection`: ioredis options (`{ host, port }`, `{ path }`), from which BullMQ opens and closes
   * its own connections, or an ioredis `Redis` made with `maxRetriesPerRequest: null` (a worker blocks on
   * it), which stays yours to close.
   */
  connection: object
  /** The BullMQ queue's name: every process of one app uses the same. Default `'fastify-media-variants'`. */
  name?: string
  /** BullMQ's key prefix, for apps that share one Redis. Default `'bull'` (BullMQ's). */
  prefix?: string
  /** Jobs this process runs at once (each also takes an image slot). Default 1. */
  concurrency?: number
  /** Runs of a failing job, the first included. Default 3. */
  attempts?: number
  /** Milliseconds before the first retry, doubling for each next one. Default 1000. */
  backoff?: number
  /**
   * Milliseconds a job's lock lives unless the process making it renews it (BullMQ renews every half):
   * how long the job of a process that died waits before another takes it. Default 30000.
   */
  lockDuration?: number
  /** Milliseconds between a worker's checks for such jobs (BullMQ's `stalledInterval`). Default 30000. */
  stalledInterval?: number
}

const OPTIONS = knownKeys(keysOf<BullmqVariantQueueOptions>()(['connection', 'name', 'prefix', 'concurrency', 'attempts', 'backoff', 'lockDuration', 'stalledInterval']))

interface Config {
  connection: ConnectionOptions
  name: string
  prefix: string
  concurrency: number
  attempts: number
  backoff: number
  lockDuration: number
  stalledInterval: number
}

function resolveOptions (options: BullmqVariantQueueOptions): Config {
  if (typeof options !== 'object' || options === null) throw new FST_MEDIA_INVALID_OPTION('bullmqVariantQueue', 'needs options with a connection')
  OPTIONS.check(options, 'bullmqVariantQueue')
  const invalid = (option: string, why: string) => new FST_MEDIA_INVALID_OPTION(`bullmqVariantQueue.${option}`, why)
  const { connection, name = 'fastify-media-variants', prefix = 'bull' } = options
  if (typeof connection !== 'object' || connection === null) throw invalid('connection', 'must be ioredis options or an ioredis Redis')
  // BullMQ throws this at the worker's start; said here, it names the option
  const client = connection as { duplicate?: unknown, options?: { maxRetriesPerRequest?: unknown } }
  if (typeof client.duplicate === 'function' && client.options?.maxRetriesPerRequest !== null) {
    throw invalid('connection', 'an ioredis Redis needs maxRetriesPerRequest: null (a BullMQ worker blocks on it)')
  }
  if (typeof name !== 'string' || name === '' || name.includes(':')) throw invalid('name', 'must be a non-empty string without ":"')
  if (typeof prefix !== 'string' || prefix === '') throw invalid('prefix', 'must be a non-empty string')
  const whole = (option: 'concurrency' | 'attempts' | 'backoff' | 'lockDuration' | 'stalledInterval', fallback: number, least: number): number => {
    const value = options[option] ?? fallback
    if (!Number.isInteger(value) || value < least) throw invalid(option, `must be an integer >= ${least}`)
    return value
  }
  return {
    connection: connection as ConnectionOptions,
    name,
    prefix,
    concurrency: whole('concurrency', 1, 1),
    attempts: whole('attempts', 3, 1),
    backoff: whole('backoff', 1000, 0),
    lockDuration: whole('lockDuration', 30_000, 1),
    stalledInterval: whole('stalledInterval', 30_000, 1)
  }
}

/**
 * A job's id: one per variant, so a second enqueue of a variant whose job is still in Redis adds nothing.
 * BullMQ refuses ids with `:`; `%` is escaped too so that no two jobs share an id, and `/` in the storage's
 * name so that the first `/` ends it.
 */
export const jobId = (job: VariantJob): string => `${escape(job.storage, /[%:/]/g)}/${escape(job.name, /[%:]/g)}`
const escape = (part: string, special: RegExp): string => part.replace(special, (char) => encodeURIComponent(char))

// the same answer every time (the image, not the moment): retrying cannot help
const isImageFailure = (err: unknown): boolean => (err as { code?: unknown }).code === 'FST_MEDIA_VARIANT_FAILED'

/**
 * The background variant queue over BullMQ, for several processes of one app on one Redis: a job waits in
 * Redis until a worker of any of them takes it, a variant is one job however often it is enqueued while its
 * job is there, a failing job runs again `attempts` times (exponential `backoff`), and the job of a process
 * that died is taken by another once its lock lapses. `close()` waits for the jobs this process took.
 */
export function bullmqVariantQueue (options: BullmqVariantQueueOptions): VariantQueue {
  return new BullmqVariantQueue(resolveOptions(options))
}

class BullmqVariantQueue implements VariantQueue {
  readonly #config: Config
  #modules: Promise<BullmqModule> | undefined
  #queue: Promise<Queue> | undefined
  #worker: Worker | undefined
  readonly #adding = new Set<Promise<unknown>>()
  #closed = false

  constructor (config: Config) {
    this.#config = config
  }

  async start (run: (job: VariantJob) => Promise<void>): Promise<void> {
    this.#closed = false
    const { Worker, UnrecoverableError } = await this.#load()
    const { name, connection, prefix, concurrency, lockDuration, stalledInterval } = this.#config
    this.#worker = new Worker<VariantJob>(name, async (job) => {
      await run(job.data).catch((err: unknown) => {
        throw isImageFailure(err) ? new UnrecoverableError((err as Error).message) : err
      })
    }, { connection, prefix, concurrency, lockDuration, stalledInterval })
  }

  async enqueue (job: VariantJob): Promise<void> {
    // as the in-process queue: dropped after close, made on its first request
    if (this.#closed) return
    const { attempts, backoff } = this.#config
    const adding = this.#open().then(async (queue) => await queue.add('variant', { storage: job.storage, name: job.name }, {
      jobId: jobId(job),
      attempts,
      backoff: { type: 'exponential', delay: backoff },
      removeOnComplete: true,
      removeOnFail: 1000
    }))
    this.#adding.add(adding)
    try {
      await adding
    } finally {
      this.#adding.delete(adding)
    }
  }

  async close (): Promise<void> {
    this.#closed = true
    const worker = this.#worker
    this.#worker = undefined
    // BullMQ's close waits for the jobs this worker took
    await worker?.close()
    // the jobs being added reach Redis before the connection goes
    await Promise.allSettled(this.#adding)
    const queue = this.#queue
    this.#queue = undefined
    await (await queue)?.close()
  }

  #load (): Promise<BullmqModule> {
    this.#modules ??= loadBullmq()
    return this.#modules
  }

  #open (): Promise<Queue> {
    const { name, connection, prefix } = this.#config
    this.#queue ??= this.#load().then(({ Queue }) => new Queue(name, { connection, prefix }))
    return this.#queue
  }
}
