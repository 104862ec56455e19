import { createHash, type Hash } from 'node:crypto'
import { formatBytes } from '../bytes.js'
import { FST_MEDIA_FILE_TOO_LARGE, FST_MEDIA_FILE_TOO_SMALL, FST_MEDIA_INVALID_TYPE, FST_MEDIA_STORAGE } from '../errors.js'
import { refusal } from '../refusal.js'
import { HeaderReader, type HeaderSource } from './late-header.js'

export { LATE_HEADER_LIMIT } from './late-header.js'

export interface GateOptions {
  field: string
  maxSize: number
  minSize: number
  /** Compute the SHA-256 of the content (for `{hash}` names). */
  hash: boolean
  /** Check the content is UTF-8 without NUL (text formats have no signature). */
  text: boolean
  /** Keep the content in memory (an image to process once stored: no need to read it back). */
  keep: boolean
  /** Counts every byte against the request's `limits.totalSize`; throws past it. */
  count: (bytes: number) => void
}

/** What passed the gate: every byte of it, once it ended. */
export interface Passed<H> {
  size: number
  /** Set when `hash` was asked for. */
  sha256: string | undefined
  header: H
  /** Every byte, when `keep` was asked for. */
  content: Buffer | undefined
}

/**
 * Every byte of a file passes through here on its way to storage. It throws the moment a limit is passed,
 * which fails the storage's write before the file becomes visible; the checks that need the whole file
 * run after the last chunk and before the stream ends, so a file never becomes visible unchecked.
 */
export class Gate<H> implements AsyncIterable<Buffer> {
  readonly #head: Buffer[]
  readonly #rest: AsyncIterator<Buffer> | undefined
  readonly #opts: GateOptions
  readonly #header: HeaderSource<H>
  #seen = 0
  #passed: Passed<H> | undefined

  /** `rest` is what follows `head` in the part (none when the part fit in it); it is released at the end. */
  constructor (head: Buffer[], rest: AsyncIterator<Buffer> | undefined, opts: GateOptions, header: HeaderSource<H>) {
    this.#head = head
    this.#rest = rest
    this.#opts = opts
    this.#header = header
  }

  /** True when the content's bytes must be checked as text: only reading all of them can tell. */
  get checksText (): boolean {
    return this.#opts.text
  }

  /** Bytes that came so far, the one that passed a limit included: what a refusal reports. */
  get seen (): number {
    return this.#seen
  }

  /**
   * What passed, once the content has been read to its end and passed every check. A storage that resolves
   * its write without reading the whole content gets an error here, not a file with a wrong size.
   */
  result (): Passed<H> {
    if (this.#passed === undefined) throw new FST_MEDIA_STORAGE(this.#opts.field, 'the storage did not read the whole content')
    return this.#passed
  }

  [Symbol.asyncIterator] (): AsyncGenerator<Buffer> {
    return this.#run()
  }

  async * #run (): AsyncGenerator<Buffer> {
    const opts = this.#opts
    const rest = this.#rest
    const digest: Hash | undefined = opts.hash ? createHash('sha256') : undefined
    const decoder = opts.text ? new TextDecoder('utf-8', { fatal: true }) : undefined
    const header = new HeaderReader(this.#header, opts.field)
    const notText = () => new FST_MEDIA_INVALID_TYPE(opts.field, 'the text is not UTF-8 without NUL bytes')
    const kept: Buffer[] | undefined = opts.keep ? [] : undefined

    const check = async (chunk: Buffer): Promise<void> => {
      this.#seen += chunk.length
      if (this.#seen > opts.maxSize) {
        // the header comes before the size in the contract's order, when what was read holds it
        await header.tryWith(chunk)
        throw refusal(new FST_MEDIA_FILE_TOO_LARGE(opts.field, formatBytes(opts.maxSize)), { field: opts.field, limit: opts.maxSize, option: 'maxSize' })
      }
      opts.count(chunk.length)
      digest?.update(chunk)
      if (decoder !== undefined) {
        if (chunk.includes(0)) throw notText()
        try {
          decoder.decode(chunk, { stream: true })
        } catch {
          throw notText()
        }
      }
      await header.feed(chunk)
      kept?.push(chunk)
    }

    try {
      for (const chunk of this.#head) {
        await check(chunk)
        yield chunk
      }
      if (rest !== undefined) {
        for (let next = await rest.next(); next.done !== true; next = await rest.next()) {
          await check(next.value)
          yield next.value
        }
      }
      if (decoder !== undefined) {
        try {
          decoder.decode()
        } catch {
          throw notText()
        }
      }
      const found = await header.resolve()
      // an empty part never gets here: it is refused before anything is written
      if (this.#seen < opts.minSize) {
        throw refusal(new FST_MEDIA_FILE_TOO_SMALL(opts.field, formatBytes(opts.minSize)), { field: opts.field, limit: opts.minSize, option: 'minSize' })
      }
      this.#passed = { size: this.#seen, sha256: digest?.digest('hex'), header: found, content: kept === undefined ? undefined : Buffer.concat(kept, this.#seen) }
    } finally {
      // stops the multipart file stream as soon as we stop, so the parser does not wait on it
      await rest?.return?.()
    }
  }
}
