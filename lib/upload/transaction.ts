import type { Storage } from '../storage/storage.js'
import type { PendingNames } from './pending.js'

type State = 'parsing' | 'handling' | 'committed' | 'rolledBack'

/**
 * The files one request stored. Rolled back on any failure; once rolled back, a file that a still-running
 * save reports is deleted at once, so an abort can never race a save into an orphan.
 */
export class UploadTransaction {
  #files: Array<{ storage: Storage, name: string }> = []
  #state: State = 'parsing'
  #deletions: Array<Promise<void>> = []
  readonly #pending: PendingNames

  constructor (pending: PendingNames) {
    this.#pending = pending
  }

  /** True until the body has been read: an abort then means the upload itself is incomplete. */
  get parsing (): boolean {
    return this.#state === 'parsing'
  }

  /** A name about to become visible: unserved from its first moment. */
  claim (storage: Storage, name: string): void {
    this.#pending.add(storage, name)
  }

  /** A claimed name that turned out to be taken by another file. */
  release (storage: Storage, name: string): void {
    this.#pending.delete(storage, name)
  }

  add (storage: Storage, name: string): void {
    if (this.#state === 'rolledBack') {
      this.#deletions.push(storage.delete(name).catch(() => {}).then(() => this.#pending.delete(storage, name)))
      return
    }
    this.#pending.add(storage, name)
    this.#files.push({ storage, name })
  }

  /** The body is read and checked; the handler's outcome decides from now on. */
  parsed (): void {
    if (this.#state === 'parsing') this.#state = 'handling'
  }

  commit (): void {
    if (this.#state !== 'parsing' && this.#state !== 'handling') return
    this.#state = 'committed'
    for (const { storage, name } of this.#files) this.#pending.delete(storage, name)
  }

  /** Deletes every file; errors are swallowed because the request is failing already. Idempotent. */
  async rollback (): Promise<void> {
    if (this.#state === 'committed') return
    this.#state = 'rolledBack'
    const files = this.#files
    this.#files = []
    this.#deletions.push(...files.map(async ({ storage, name }) => {
      await storage.delete(name).catch(() => {})
      this.#pending.delete(storage, name)
    }))
    await Promise.all(this.#deletions)
  }
}
