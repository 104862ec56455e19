import type { Storage } from '../storage/storage.js'
import type { PendingNames } from './pending.js'

type State = 'parsing' | 'handling' | 'committed' | 'rolledBack'

/**
 * What storing one file tells its request's transaction, and asks of it. `field.save()` outside HTTP has a
 * transaction of its own, committed as soon as the file is stored (see model.ts).
 */
export interface UploadHooks {
  /** Counts a file's bytes against the request's `limits.totalSize`; throws past it. */
  count: (bytes: number) => void
  /** Told every name (the original's, then its variants') as soon as the storage has it. */
  onStored: (name: string) => void
  /** Passed to the storage: told the name before the file becomes visible under it, and released if taken. */
  claim: (name: string) => void
  release: (name: string) => void
  /** Work that still uses a stored original by its name (its variants): a rollback waits for it. */
  track: (work: Promise<unknown>) => void
  /** True once the request is failing: image work stops at its next step. */
  cancelled: () => boolean
}

// Variant names (`<original>@<key>.<ext>`) belong to their original's name: they go first, so that no
// other request can own the original's name while this one still deletes under it.
const isVariantName = (name: string): boolean => name.includes('@')

/** The request transaction each of a request's files was stored in (`bindFiles`), for `keepFile`. */
const owners = new WeakMap<object, UploadTransaction>()

/** Links a request's files to its transaction: `keepFile` can take one out of it later. */
export function bindFiles (files: Iterable<unknown>, tx: UploadTransaction): void {
  for (const file of files) if (typeof file === 'object' && file !== null) owners.set(file, tx)
}

/**
 * A record committed outside the request's outcome names this file now (Model.replace): its request no
 * longer removes it, whatever the handler does next. `names`: the file's and its variants'. A file of no
 * request (`field.save()`) is kept already.
 */
export function keepFile (file: object, storage: Storage, names: string[]): void {
  owners.get(file)?.keep(storage, names)
}

/** How long the rollback of a request given up at `limits.uploadTimeout` may hold its reply. */
export const ROLLBACK_WAIT = 1000

/**
 * The files one request stored. Rolled back on any failure; once rolled back, a file that a still-running
 * save reports is deleted at once, so an abort can never race a save into an orphan.
 */
export class UploadTransaction {
  #files: Array<{ storage: Storage, name: string }> = []
  #state: State = 'parsing'
  #deletions: Array<Promise<void>> = []
  readonly #work = new Set<Promise<unknown>>()
  #rollback: Promise<void> | undefined
  /** Set when the request was given up: its rollback holds the reply until then at most. */
  #answerBy: number | undefined
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

  /** The hooks of one file stored in `storage`; `count` is the request's byte counter. */
  hooksFor (storage: Storage, count: (bytes: number) => void): UploadHooks {
    return {
      count,
      onStored: (name) => this.add(storage, name),
      claim: (name) => this.claim(storage, name),
      release: (name) => this.release(storage, name),
      track: (work) => {
        const forget = (): void => { this.#work.delete(settled) }
        const settled: Promise<void> = work.then(forget, forget)
        this.#work.add(settled)
      },
      cancelled: () => this.#state === 'rolledBack'
    }
  }

  add (storage: Storage, name: string): void {
    if (this.#state === 'rolledBack') {
      this.#deletions.push(storage.delete(name).catch(() => {}).then(() => this.#pending.delete(storage, name)))
      return
    }
    this.#pending.add(storage, name)
    this.#files.push({ storage, name })
  }

  /** Takes files out of the transaction: neither its commit nor its rollback touches them, and they are served. */
  keep (storage: Storage, names: string[]): void {
    const kept = new Set(names)
    this.#files = this.#files.filter((file) => {
      if (file.storage !== storage || !kept.has(file.name)) return true
      this.#pending.delete(storage, file.name)
      return false
    })
  }

  /** The body is read and checked; the handler's outcome decides from now on. */
  parsed (): void {
    if (this.#state === 'parsing') this.#state = 'handling'
  }

  /**
   * Keeps the files: each staged one is published (copied to its name) now. True when this call committed
   * them, false once committed or rolled back. A file that cannot be published fails the commit: every file
   * is removed again, those already published too, and the storage's error is thrown.
   */
  async commit (): Promise<boolean> {
    if (this.#state !== 'parsing' && this.#state !== 'handling') return false
    this.#state = 'committed'
    const published = await Promise.allSettled(this.#files.map(async ({ storage, name }) => await storage.publish?.(name)))
    const failed = published.find((result): result is PromiseRejectedResult => result.status === 'rejected')
    if (failed !== undefined) {
      this.#state = 'rolledBack'
      this.#rollback = this.#removeAll()
      await this.#rollback
      throw failed.reason
    }
    for (const { storage, name } of this.#files) this.#pending.delete(storage, name)
    return true
  }

  /**
   * The request was given up at its deadline: from now on a rollback resolves within ROLLBACK_WAIT, and the
   * deletes that a storage does not answer (S3 gone silent) go on without the reply. What they cannot
   * remove is left to the sweep.
   */
  givenUp (): void {
    this.#answerBy = Date.now() + ROLLBACK_WAIT
  }

  /**
   * Deletes every file; errors are swallowed because the request is failing already. Idempotent. Waits
   * for work still using an original by name first (it stops at its next step), then deletes variants
   * before originals: an original's name is free for another request only once nothing of ours uses it.
   */
  async rollback (): Promise<void> {
    if (this.#state === 'committed') return
    this.#state = 'rolledBack'
    this.#rollback ??= this.#removeAll()
    if (this.#answerBy === undefined) return await this.#rollback
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<void>((resolve) => { timer = setTimeout(resolve, Math.max(0, this.#answerBy! - Date.now())) })
    await Promise.race([this.#rollback, late])
    clearTimeout(timer)
  }

  async #removeAll (): Promise<void> {
    await Promise.all(this.#work)
    // what arrived late was deleted as it came; wait for those before the originals go
    await Promise.all(this.#deletions)
    const files = this.#files
    this.#files = []
    const remove = async ({ storage, name }: { storage: Storage, name: string }): Promise<void> => {
      await storage.delete(name).catch(() => {})
      this.#pending.delete(storage, name)
    }
    await Promise.all(files.filter((file) => isVariantName(file.name)).map(remove))
    await Promise.all(files.filter((file) => !isVariantName(file.name)).map(remove))
    await Promise.all(this.#deletions)
  }
}
