// A FileSystemStorage that tells the test when its calls end, so a test orders its steps by what the
// storage did (a file saved, a save that failed and cleaned up, a file deleted) instead of polling the disk
// or sleeping. It stores exactly as FileSystemStorage does: it only reports.
import { FileSystemStorage, type Content, type SaveOptions } from '../lib/index.js'
import { within } from './http-helpers.js'

type Call = 'saved' | 'failed' | 'deleted'

interface Waiter {
  call: Call
  match: (name: string) => boolean
  resolve: (name: string) => void
}

export class WatchedStorage extends FileSystemStorage {
  readonly #waiters = new Set<Waiter>()
  /** Every call that ended, in order: `saved avatars/me.png`, `failed`, `deleted docs/report.pdf`. */
  readonly log: string[] = []

  /** The media root as makeApp's apps have it (`media.root` 'media', served at '/media/'). */
  constructor (location = 'media', baseUrl = '/media/') {
    super({ location, baseUrl })
  }

  override async save (name: string | (() => string), content: Content, opts?: SaveOptions): Promise<string> {
    try {
      const saved = await super.save(name, content, opts)
      this.#report('saved', saved)
      return saved
    } catch (err) {
      // the facade has removed what it wrote (its temp file) before rejecting
      this.#report('failed', typeof name === 'string' ? name : '')
      throw err
    }
  }

  override async delete (name: string): Promise<void> {
    await super.delete(name)
    this.#report('deleted', name)
  }

  /**
   * Resolves with the name once a call of this kind ends for a name that `match` accepts (a name, or a
   * test). Ask before the call can happen: a call that ended earlier is not replayed. Rejects when none
   * comes within 10 s (a guard, so that a missing call fails the test instead of hanging it).
   */
  async next (call: Call, match: string | ((name: string) => boolean) = () => true): Promise<string> {
    const accepts = typeof match === 'string' ? (name: string) => name === match : match
    const waited = new Promise<string>((resolve) => { this.#waiters.add({ call, match: accepts, resolve }) })
    return await within(waited, `the storage's next ${call}${typeof match === 'string' ? ` ${match}` : ''}`)
  }

  #report (call: Call, name: string): void {
    this.log.push(name === '' ? call : `${call} ${name}`)
    for (const waiter of this.#waiters) {
      if (waiter.call !== call || !waiter.match(name)) continue
      this.#waiters.delete(waiter)
      waiter.resolve(name)
    }
  }
}
