import type { Storage } from '../storage/storage.js'

/**
 * Names stored by requests that have not finished yet. A file becomes visible on disk when it is complete,
 * but it is only the request's to keep once the handler has succeeded: until then the media route answers
 * 404 for it, so a refused or still-open upload can never be fetched (one process; see the README).
 */
export class PendingNames {
  #names = new Map<Storage, Set<string>>()

  add (storage: Storage, name: string): void {
    let names = this.#names.get(storage)
    if (names === undefined) this.#names.set(storage, names = new Set())
    names.add(name)
  }

  delete (storage: Storage, name: string): void {
    this.#names.get(storage)?.delete(name)
  }

  has (storage: Storage, name: string): boolean {
    return this.#names.get(storage)?.has(name) === true
  }
}
