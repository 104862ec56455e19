import { Readable } from 'node:stream'
import { keysOf, knownKeys } from '../check-keys.js'
import { FST_MEDIA_INVALID_NAME, FST_MEDIA_INVALID_OPTION, FST_MEDIA_STORAGE } from '../errors.js'
import { typeForName } from '../mime.js'
import type { Content, FileStat, SaveOptions, Storage, StorageContext, UrlOptions } from './storage.js'
import { fitName, normalizeStorageName, withRandomSuffix } from './valid-name.js'
import { urlPath } from './url-path.js'

export interface MemoryStorageOptions {
  /** The URL prefix its files claim (nothing serves them); default `/media/`. */
  baseUrl?: string
  public?: boolean
  expiresIn?: number
}

// every key the constructor takes (keysOf holds the list to MemoryStorageOptions)
const OPTIONS = knownKeys(keysOf<MemoryStorageOptions>()(['baseUrl', 'public', 'expiresIn']))

interface Entry {
  content: Buffer
  modified: Date
  contentType: string | undefined
}

/**
 * A storage in a Map, for users' own tests (and ours where disk is not the point): the same names, rules
 * and errors as the disk storage, no files. It holds whole files in memory, by design.
 */
export class MemoryStorage implements Storage {
  readonly public: boolean
  readonly #files = new Map<string, Entry>()
  readonly #baseUrl: string
  readonly #expiresIn: number
  #sign: StorageContext['sign']

  constructor (options: MemoryStorageOptions = {}) {
    OPTIONS.check(options, 'MemoryStorage')
    this.#baseUrl = options.baseUrl ?? '/media/'
    if (!/^\/(.*\/)?$/.test(this.#baseUrl)) throw new FST_MEDIA_INVALID_OPTION('MemoryStorage.baseUrl', 'must start and end with "/"')
    this.public = options.public ?? true
    this.#expiresIn = options.expiresIn ?? 3600
  }

  attach (context: StorageContext): void {
    this.#sign = context.sign
  }

  #clean (name: string): string {
    const clean = normalizeStorageName(name)
    if (clean === undefined) throw new FST_MEDIA_INVALID_NAME(name, 'not a name inside the storage')
    return clean
  }

  #fit (name: string, maxLength: number): string {
    const fitted = fitName(this.#clean(name), maxLength)
    if (fitted === undefined) throw new FST_MEDIA_INVALID_NAME(name, `longer than ${maxLength} bytes`)
    return fitted
  }

  #entry (name: string, operation: string): Entry {
    const entry = this.#files.get(this.#clean(name))
    if (entry === undefined) throw new FST_MEDIA_STORAGE(operation, 'ENOENT')
    return entry
  }

  async save (name: string | (() => string), content: Content, opts: SaveOptions = {}): Promise<string> {
    const maxLength = opts.maxLength ?? 255
    const chunks: Buffer[] = []
    for await (const chunk of Buffer.isBuffer(content) ? [content] : content) chunks.push(Buffer.from(chunk))
    // from here to set() nothing awaits: no other save can take the name in between
    const candidate = this.#available(this.#fit(typeof name === 'function' ? name() : name, maxLength), maxLength)
    opts.claim?.(candidate)
    this.#files.set(candidate, { content: Buffer.concat(chunks), modified: new Date(), contentType: opts.contentType })
    return candidate
  }

  open (name: string): Readable {
    const clean = this.#clean(name)
    const files = this.#files
    return Readable.from((async function * () {
      const entry = files.get(clean)
      if (entry === undefined) throw Object.assign(new Error(`ENOENT: no such file, open '${clean}'`), { code: 'ENOENT' })
      yield entry.content
    })(), { objectMode: false })
  }

  async delete (name: string): Promise<void> {
    this.#files.delete(this.#clean(name))
  }

  async exists (name: string): Promise<boolean> {
    const clean = normalizeStorageName(name)
    return clean !== undefined && this.#files.has(clean)
  }

  async size (name: string): Promise<number> {
    return this.#entry(name, 'size').content.length
  }

  async stat (name: string): Promise<FileStat> {
    const entry = this.#entry(name, 'stat')
    return { size: entry.content.length, modified: entry.modified, contentType: entry.contentType ?? typeForName(name) }
  }

  url (name: string, opts: UrlOptions = {}): string {
    const clean = this.#clean(name)
    const path = this.#baseUrl + urlPath(clean)
    if (this.public) return path
    if (this.#sign === undefined) throw new FST_MEDIA_INVALID_OPTION('signingKey', 'a private storage needs the plugin\'s signingKey')
    return `${path}?${this.#sign(clean, opts.expiresIn ?? this.#expiresIn)}`
  }

  async list (prefix = ''): Promise<string[]> {
    const start = prefix === '' ? '' : `${this.#clean(prefix.replace(/\/+$/, ''))}/`
    return [...this.#files.keys()].filter((name) => name.startsWith(start)).sort()
  }

  async getAvailableName (name: string, maxLength = 255): Promise<string> {
    return this.#available(this.#fit(name, maxLength), maxLength)
  }

  #available (wanted: string, maxLength: number): string {
    let candidate = wanted
    while (this.#files.has(candidate)) {
      const suffixed = withRandomSuffix(wanted, maxLength)
      if (suffixed === undefined) throw new FST_MEDIA_INVALID_NAME(wanted, `taken, and no room for a unique suffix within ${maxLength} bytes`)
      candidate = suffixed
    }
    return candidate
  }
}
