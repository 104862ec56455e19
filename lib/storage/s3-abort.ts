/**
 * Waits between the tries at aborting a multipart upload that S3 could not abort (it was down, or did not
 * answer): 1 s doubling to 1 min, nine more tries over about four minutes. S3 bills the parts of an upload
 * neither completed nor aborted until a lifecycle rule (or a sweep with ListMultipartUploads) ends it.
 */
export const ABORT_RETRY_DELAYS: readonly number[] = [1, 2, 4, 8, 16, 32, 60, 60, 60].map((seconds) => seconds * 1000)

/**
 * How long closing the app may spend on the aborts still waiting for their next try: each is tried once
 * more, together, and what has not succeeded by then is given up (its requests cancelled).
 */
export const ABORT_ON_CLOSE_TIMEOUT = 5000

export type Schedule = (retry: () => Promise<void>, delay: number) => void

/** Aborts one upload (AbortMultipartUpload); resolves as well when it is already gone. */
export type SendAbort = (key: string, uploadId: string, signal?: AbortSignal) => Promise<void>

// unref: a retry still waiting never keeps the process alive
const later: Schedule = (retry, delay) => { setTimeout(retry, delay).unref() }

/**
 * Aborts multipart uploads left by failed writes: once at once, then again later, in this process, while
 * S3 fails; and once more when the app closes (`flush`).
 */
export class MultipartAborts {
  readonly #send: SendAbort
  readonly #schedule: Schedule
  /** The uploads whose next try is waiting, by `key uploadId`. */
  readonly #waiting = new Map<string, { key: string, uploadId: string }>()
  #closed = false

  /** `schedule` runs a retry after a delay (the tests drive it by hand). */
  constructor (send: SendAbort, schedule: Schedule = later) {
    this.#send = send
    this.#schedule = schedule
  }

  /** Resolves after the first try, whatever it gave: a failure is tried again later, never thrown. */
  async abort (key: string, uploadId: string): Promise<void> {
    await this.#try(key, uploadId, 0)
  }

  /**
   * The app closes: every abort waiting for its next try is tried once more now, within `timeout` ms, and
   * none is scheduled again. Never rejects.
   */
  async flush (timeout = ABORT_ON_CLOSE_TIMEOUT): Promise<void> {
    this.#closed = true
    const waiting = [...this.#waiting.values()]
    this.#waiting.clear()
    const signal = AbortSignal.timeout(timeout)
    await Promise.all(waiting.map(async ({ key, uploadId }) => await this.#send(key, uploadId, signal).catch(() => {})))
  }

  // never rejects: a failure schedules the next try, or ends the tries
  async #try (key: string, uploadId: string, retry: number): Promise<void> {
    const id = `${key} ${uploadId}`
    await this.#send(key, uploadId).catch(() => {
      const delay = ABORT_RETRY_DELAYS[retry]
      if (delay === undefined || this.#closed) return
      this.#waiting.set(id, { key, uploadId })
      // a flush took it meanwhile: it is not tried again
      this.#schedule(async () => { if (this.#waiting.delete(id)) await this.#try(key, uploadId, retry + 1) }, delay)
    })
  }
}
