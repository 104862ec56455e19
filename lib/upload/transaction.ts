import type { Storage } from '../storage/storage.js'

/**
 * The files one request stored. Rolled back on any failure; once closed, a file that a still-running save
 * reports is deleted at once, so an abort can never race a save into an orphan.
 */
export class UploadTransaction {
  #files: Array<{ storage: Storage, name: string }> = []
  #state: 'open' | 'committed' | 'rolledBack' = 'open'
  #deletions: Array<Promise<void>> = []

  add (storage: Storage, name: string): void {
    if (this.#state === 'rolledBack') {
      this.#deletions.push(storage.delete(name).catch(() => {}))
      return
    }
    this.#files.push({ storage, name })
  }

  commit (): void {
    if (this.#state === 'open') this.#state = 'committed'
  }

  /** Deletes every file; errors are swallowed because the request is failing already. Idempotent. */
  async rollback (): Promise<void> {
    if (this.#state === 'committed') return
    this.#state = 'rolledBack'
    const files = this.#files
    this.#files = []
    this.#deletions.push(...files.map(({ storage, name }) => storage.delete(name).catch(() => {})))
    await Promise.all(this.#deletions)
  }
}
