import { unreadableHeader } from './image-header.js'

/**
 * How far into a file an image header may lie before the file is refused. What precedes it is held in
 * memory, so the bound is also the memory one such upload can take; real files put it in the first 64 KiB.
 */
export const LATE_HEADER_LIMIT = 2 * 1024 * 1024

/**
 * A header the gate hands over when the content has passed: known already (`value`), still to be read
 * from the content's first bytes (`late`: resolves undefined while they do not hold it yet, throws when
 * they hold one that fails its checks), or followed through every byte in constant memory (`walk`).
 */
export type HeaderSource<H> = { value: H } | { late: (bytes: Buffer) => Promise<H | undefined> } | { walk: HeaderWalk<H> }

/** A header spread over the whole content (a GIF's or WebP's frames): walked as the bytes pass, nothing held. */
export interface HeaderWalk<H> {
  /** Walks the next bytes of the content; throws as soon as what they say fails a check. */
  push: (chunk: Buffer) => void
  /** The header once every byte was walked; throws when the content holds none. */
  end: () => H
}

/** Before the header is found: the first bytes of the content, held until they hold it. */
interface Waiting<H> {
  late: (bytes: Buffer) => Promise<H | undefined>
  held: Buffer[]
  size: number
}

/** The header of a content whose header may lie beyond the sniffing window. */
export class HeaderReader<H> {
  #state: { found: H } | Waiting<H> | { walk: HeaderWalk<H> }
  readonly #field: string

  constructor (source: HeaderSource<H>, field: string) {
    this.#state = 'value' in source ? { found: source.value } : 'walk' in source ? source : { late: source.late, held: [], size: 0 }
    this.#field = field
  }

  /** Holds a chunk and reads the header once the late-header bound is reached (refusing the file if not there). */
  async feed (chunk: Buffer): Promise<void> {
    if ('walk' in this.#state) return this.#state.walk.push(chunk)
    const waiting = this.#hold(chunk)
    if (waiting !== undefined && waiting.size >= LATE_HEADER_LIMIT) await this.resolve()
  }

  /** Holds a chunk and reads the header if the bytes hold it; throws only when it is there and fails. */
  async tryWith (chunk: Buffer): Promise<void> {
    if ('walk' in this.#state) return this.#state.walk.push(chunk)
    const waiting = this.#hold(chunk)
    if (waiting !== undefined) await this.#try(waiting)
  }

  /** The header: known, or read from the held bytes; refuses the file when they hold none. */
  async resolve (): Promise<H> {
    if ('walk' in this.#state) return this.#state.walk.end()
    const state = 'found' in this.#state ? this.#state : await this.#try(this.#state)
    if (!('found' in state)) throw unreadableHeader(this.#field)
    return state.found
  }

  /** Nothing is held once the header is known. */
  #hold (chunk: Buffer): Waiting<H> | undefined {
    if (!('held' in this.#state)) return undefined
    this.#state.held.push(chunk)
    this.#state.size += chunk.length
    return this.#state
  }

  async #try (waiting: Waiting<H>): Promise<{ found: H } | Waiting<H>> {
    const found = await waiting.late(Buffer.concat(waiting.held, waiting.size))
    if (found !== undefined) this.#state = { found }
    return this.#state as { found: H } | Waiting<H>
  }
}
