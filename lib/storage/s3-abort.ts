/**
 * Waits between the tries at aborting a multipart upload that S3 could not abort (it was down, or did not
 * answer): 1 s doubling to 1 min, nine more tries over about four minutes. S3 bills the parts of an upload
 * neither completed nor aborted until a lifecycle rule (or a sweep with ListMultipartUploads) ends it.
 */
export const ABORT_RETRY_DELAYS: readonly number[] = [1, 2, 4, 8, 16, 32, 60, 60, 60].map((seconds) => seconds * 1000)

export type Schedule = (retry: () => Promise<void>, delay: number) => void

// unref: a retry still waiting never keeps the process alive
const later: Schedule = (retry, delay) => { setTimeout(retry, delay).unref() }

/**
 * Aborts multipart uploads left by failed writes: once at once, then again later, in this process, while
 * S3 fails. `send` aborts one (AbortMultipartUpload) and resolves as well when the upload is already gone.
 */
export class MultipartAborts {
  readonly #send: (key: string, uploadId: string) => Promise<void>
  readonly #schedule: Schedule

  /** `schedule` runs a retry after a delay (the tests drive it by hand). */
  constructor (send: (key: string, uploadId: string) => Promise<void>, schedule: Schedule = later) {
    this.#send = send
    this.#schedule = schedule
  }

  /** Resolves after the first try, whatever it gave: a failure is tried again later, never thrown. */
  async abort (key: string, uploadId: string): Promise<void> {
    await this.#try(key, uploadId, 0)
  }

  // never rejects: a failure schedules the next try, or ends the tries
  async #try (key: string, uploadId: string, retry: number): Promise<void> {
    await this.#send(key, uploadId).catch(() => {
      const delay = ABORT_RETRY_DELAYS[retry]
      if (delay !== undefined) this.#schedule(async () => await this.#try(key, uploadId, retry + 1), delay)
    })
  }
}
