/**
 * A job of the background queue: make one variant (the name says which, `<original>@<key>.<ext>`) in one
 * storage (its name in `storages`). Plain JSON, so that a queue across processes (BullMQ) can carry it, and
 * idempotent: a variant that exists already is left as it is.
 */
export interface VariantJob {
  storage: string
  name: string
}

/**
 * Where `generation: 'background'` variants wait once their upload has committed. The plugin calls `start`
 * once with what runs a job (it resolves when the variant is there, and rejects when it cannot be made:
 * the queue may retry or drop it, the app does not crash), `enqueue` for each variant, and `close` when the
 * app closes: it resolves once the jobs this process took are done.
 */
export interface VariantQueue {
  start: (run: (job: VariantJob) => Promise<void>) => void | Promise<void>
  enqueue: (job: VariantJob) => void | Promise<void>
  close: () => Promise<void>
}

/**
 * The default queue: in this process, one job at a time (each takes an image slot, which uploads and
 * on-demand requests share), in order. Jobs enqueued after `close` are dropped: their variants are made on
 * the first request for them. A process that dies loses what waits here, which is harmless for the same reason.
 */
export class InProcessVariantQueue implements VariantQueue {
  readonly #jobs: VariantJob[] = []
  #run: ((job: VariantJob) => Promise<void>) | undefined
  #working: Promise<void> | undefined
  #closed = false

  start (run: (job: VariantJob) => Promise<void>): void {
    this.#run = run
    this.#closed = false
    this.#kick()
  }

  enqueue (job: VariantJob): void {
    if (this.#closed) return
    this.#jobs.push(job)
    this.#kick()
  }

  async close (): Promise<void> {
    this.#closed = true
    await this.#working
  }

  #kick (): void {
    const run = this.#run
    if (run === undefined || this.#working !== undefined || this.#jobs.length === 0) return
    this.#working = this.#drain(run)
  }

  async #drain (run: (job: VariantJob) => Promise<void>): Promise<void> {
    // there is a job, so the first await comes before this returns: #working is set by then
    for (let job = this.#jobs.shift(); job !== undefined; job = this.#jobs.shift()) {
      // a failure is the runner's to report: the queue goes on
      await run(job).catch(() => {})
    }
    this.#working = undefined
  }
}
