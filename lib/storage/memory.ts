import { Readable } from 'node:stream'
import { keysOf, knownKeys } from '../check-keys.js'
import { Disk, type DiskOptions } from './disk.js'
import { fileNotFound, pageOf, type ByteRange, type DriverContent, type ListOptions, type ListPage, type StorageDriver, type WriteOptions } from './driver.js'
import type { FileStat } from './storage.js'

/** `baseUrl` (default `/media/`) is the prefix its URLs claim: nothing serves a MemoryStorage. */
export type MemoryStorageOptions = Omit<DiskOptions, 'serve' | 'staged'>

// every key the constructor takes (keysOf holds the list to MemoryStorageOptions)
const OPTIONS = knownKeys(keysOf<MemoryStorageOptions>()(['baseUrl', 'public', 'expiresIn']))

/**
 * A storage in a Map, for users' own tests (and ours where disk is not the point): the same names, rules
 * and errors as the disk storage, no files. It holds whole files in memory, by design.
 */
export class MemoryStorage extends Disk<string> {
  constructor (options: MemoryStorageOptions = {}) {
    OPTIONS.check(options, 'MemoryStorage')
    super(new MemoryDriver(), { baseUrl: options.baseUrl ?? '/media/', public: options.public, expiresIn: options.expiresIn, serve: false })
  }
}

interface Entry extends FileStat {
  content: Buffer
}

export class MemoryDriver implements StorageDriver {
  // nothing awaits between a check and a set: every write is atomic
  readonly exclusive = true
  readonly #files = new Map<string, Entry>()

  async write (key: string, content: DriverContent, { ifAbsent, contentType }: WriteOptions): Promise<boolean> {
    const chunks: Buffer[] = []
    for await (const chunk of Buffer.isBuffer(content) ? [content] : content) chunks.push(Buffer.from(chunk))
    if (ifAbsent === true && this.#files.has(key)) return false
    const bytes = Buffer.concat(chunks)
    this.#files.set(key, { content: bytes, size: bytes.length, modified: new Date(), contentType })
    return true
  }

  read (key: string, range?: ByteRange): Readable {
    const files = this.#files
    return Readable.from((async function * () {
      const entry = files.get(key)
      if (entry === undefined) throw fileNotFound(key)
      yield range === undefined ? entry.content : entry.content.subarray(range.start, (range.end ?? Infinity) + 1)
    })(), { objectMode: false })
  }

  async head (key: string): Promise<FileStat | undefined> {
    const entry = this.#files.get(key)
    return entry === undefined ? undefined : { size: entry.size, modified: entry.modified, contentType: entry.contentType }
  }

  async delete (key: string): Promise<void> {
    this.#files.delete(key)
  }

  async list (prefix: string, options: ListOptions): Promise<ListPage> {
    const page = pageOf([...this.#files.keys()].filter((key) => key.startsWith(prefix)), options)
    return { ...page, modified: page.keys.map((key) => this.#files.get(key)!.modified) }
  }

  async copy (from: string, to: string): Promise<boolean> {
    const entry = this.#files.get(from)
    if (entry === undefined) throw fileNotFound(from)
    if (this.#files.has(to)) return false
    this.#files.set(to, { ...entry, modified: new Date() })
    return true
  }

  async move (from: string, to: string): Promise<boolean> {
    if (!await this.copy(from, to)) return false
    this.#files.delete(from)
    return true
  }
}
