import { randomUUID } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { chmod, link, mkdir, open as openFile, readdir, realpath, stat, unlink } from 'node:fs/promises'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { Readable } from 'node:stream'
import type { FileHandle } from 'node:fs/promises'
import { keysOf, knownKeys } from '../check-keys.js'
import { FST_MEDIA_INVALID_NAME, FST_MEDIA_INVALID_OPTION, FST_MEDIA_STORAGE } from '../errors.js'
import { typeForName } from '../mime.js'
import type { Content, FileStat, SaveOptions, Storage, StorageContext, UrlOptions } from './storage.js'
import { fitName, normalizeStorageName, withRandomSuffix } from './valid-name.js'
import { urlPath } from './url-path.js'

export interface FileSystemStorageOptions {
  /** The directory; relative paths resolve against the plugin's `baseDir`. */
  location: string
  /** The URL prefix files are served under (ends in `/`); the default storage uses `media.url`. */
  baseUrl?: string
  public?: boolean
  /** Default lifetime of a private file's signed URL, in seconds. */
  expiresIn?: number
  fileMode?: number
  dirMode?: number
}

// every key the constructor takes (keysOf holds the list to FileSystemStorageOptions)
const OPTIONS = knownKeys(keysOf<FileSystemStorageOptions>()(['location', 'baseUrl', 'public', 'expiresIn', 'fileMode', 'dirMode']))

/** Where unfinished uploads live: inside the root so the final link is on the same file system. */
export const TEMP_DIR = '.tmp'

export class FileSystemStorage implements Storage {
  readonly public: boolean
  readonly options: Readonly<FileSystemStorageOptions>
  #location: string
  #baseUrl: string | undefined
  #context: StorageContext | undefined
  // the root's real path, made once: each save still checks its own directories with one realpath each
  #root: Promise<string> | undefined

  constructor (options: FileSystemStorageOptions) {
    OPTIONS.check(options, 'FileSystemStorage')
    if (typeof options?.location !== 'string' || options.location === '') {
      throw new FST_MEDIA_INVALID_OPTION('FileSystemStorage.location', 'must be a non-empty path')
    }
    if (options.baseUrl !== undefined && !/^\/(.*\/)?$/.test(options.baseUrl)) {
      throw new FST_MEDIA_INVALID_OPTION('FileSystemStorage.baseUrl', 'must start and end with "/"')
    }
    this.options = Object.freeze({ ...options })
    this.public = options.public ?? true
    this.#location = resolve(options.location)
    this.#baseUrl = options.baseUrl
  }

  get location (): string {
    return this.#location
  }

  get baseUrl (): string | undefined {
    return this.#baseUrl
  }

  attach (context: StorageContext): void {
    this.#context = context
    this.#location = resolve(context.baseDir, this.options.location)
  }

  async save (name: string | (() => string), content: Content, opts: SaveOptions = {}): Promise<string> {
    const maxLength = opts.maxLength ?? 255
    const tempDir = join(this.#location, TEMP_DIR)
    const temp = join(tempDir, randomUUID())
    // best effort: the temp dir may be what failed, and its error must not hide the first one
    const discard = () => unlink(temp).catch(() => {})
    let stored: string
    try {
      await this.#mkdirInside(tempDir)
      // Opened before the first byte is read and closed before anything else happens, so a failing source
      // can never leave a file that is still being created after our cleanup.
      await writeAll(await openFile(temp, 'wx', this.options.fileMode ?? 0o644), content)
      if (this.options.fileMode !== undefined) await chmod(temp, this.options.fileMode)
      const wanted = this.#fit(typeof name === 'function' ? name() : name, maxLength)
      stored = await this.#linkAvailable(temp, wanted, maxLength, opts)
    } catch (err) {
      this.#forgetDirs()
      await discard()
      throw wrap(err, 'save')
    }
    await discard()
    return stored
  }

  // a root removed behind our back is made again by the next save
  #forgetDirs (): void {
    this.#root = undefined
  }

  // A hard link fails with EEXIST atomically and never leaves a placeholder, so concurrent saves of one
  // name can never share it, and the file appears complete or not at all.
  async #linkAvailable (temp: string, wanted: string, maxLength: number, { claim, release }: SaveOptions): Promise<string> {
    let candidate = wanted
    // 62^7 suffixes: a retry that collides again is possible but a loop that never ends is not
    for (;;) {
      const target = this.#path(candidate)
      await this.#mkdirInside(dirname(target))
      claim?.(candidate)
      try {
        await link(temp, target)
        return candidate
      } catch (err) {
        release?.(candidate)
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      }
      candidate = this.#suffixed(wanted, maxLength)
    }
  }

  #suffixed (wanted: string, maxLength: number): string {
    const suffixed = withRandomSuffix(wanted, maxLength)
    if (suffixed === undefined) throw new FST_MEDIA_INVALID_NAME(wanted, `taken, and no room for a unique suffix within ${maxLength} bytes`)
    return suffixed
  }

  async #realRoot (): Promise<string> {
    this.#root ??= mkdir(this.#location, { recursive: true, mode: this.options.dirMode ?? 0o755 })
      .then(async () => await realpath(this.#location))
    return await this.#root.catch((err: unknown) => {
      this.#root = undefined
      throw err
    })
  }

  // A symlink planted inside the root must not lead anything out of it.
  async #assertInside (path: string, root: string, operation: string): Promise<void> {
    const real = await realpath(path)
    if (real !== root && !real.startsWith(root + sep)) {
      throw new FST_MEDIA_STORAGE(operation, 'a directory resolves outside the storage root')
    }
  }

  // Missing directories are created one level at a time, each checked before going deeper, so nothing is
  // ever created through a symlink that leads out of the root.
  async #mkdirInside (dir: string): Promise<void> {
    const root = await this.#realRoot()
    try {
      return await this.#assertInside(dir, root, 'save')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    let current = this.#location
    for (const segment of relative(this.#location, dir).split(sep)) {
      current = join(current, segment)
      await mkdir(current, { mode: this.options.dirMode ?? 0o755 }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err
      })
      await this.#assertInside(current, root, 'save')
    }
  }

  /** The path of an existing file, refused when its directory resolves outside the root. */
  async #existing (name: string, operation: string): Promise<string> {
    const path = this.#path(name)
    await this.#assertInside(dirname(path), await realpath(this.#location), operation)
    return path
  }

  #clean (name: string): string {
    const clean = normalizeStorageName(name)
    if (clean === undefined) throw new FST_MEDIA_INVALID_NAME(name, 'not a name inside the storage')
    return clean
  }

  #fit (name: string, maxLength: number): string {
    const clean = this.#clean(name)
    const fitted = fitName(clean, maxLength)
    if (fitted === undefined) throw new FST_MEDIA_INVALID_NAME(clean, `longer than ${maxLength} bytes`)
    return fitted
  }

  #path (name: string): string {
    return join(this.#location, this.#clean(name))
  }

  open (name: string): Readable {
    this.#path(name)
    const read = async function * (this: FileSystemStorage): AsyncGenerator<Buffer> {
      yield * createReadStream(await this.#existing(name, 'open'))
    }
    return Readable.from(read.call(this), { objectMode: false })
  }

  async delete (name: string): Promise<void> {
    try {
      await unlink(await this.#existing(name, 'delete'))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw wrap(err, 'delete')
    }
  }

  async exists (name: string): Promise<boolean> {
    try {
      return (await stat(await this.#existing(name, 'exists'))).isFile()
    } catch {
      return false
    }
  }

  async size (name: string): Promise<number> {
    return (await this.stat(name)).size
  }

  async stat (name: string): Promise<FileStat> {
    let info
    try {
      info = await stat(await this.#existing(name, 'stat'))
    } catch (err) {
      throw wrap(err, 'stat')
    }
    if (!info.isFile()) throw new FST_MEDIA_STORAGE('stat', 'not a file')
    return { size: info.size, modified: info.mtime, contentType: typeForName(name) }
  }

  url (name: string, opts: UrlOptions = {}): string {
    const clean = this.#clean(name)
    const base = this.#baseUrl ?? '/'
    const path = base + urlPath(clean)
    if (this.public) return path
    const sign = this.#context?.sign
    if (sign === undefined) throw new FST_MEDIA_INVALID_OPTION('signingKey', 'a private storage needs the plugin\'s signingKey')
    return `${path}?${sign(clean, opts.expiresIn ?? this.options.expiresIn ?? 3600)}`
  }

  async list (prefix = ''): Promise<string[]> {
    const start = prefix === '' ? '' : this.#clean(prefix.replace(/\/+$/, ''))
    const found: string[] = []
    const walk = async (relative: string): Promise<void> => {
      let entries
      try {
        entries = await readdir(join(this.#location, relative), { withFileTypes: true })
      } catch {
        return
      }
      for (const entry of entries) {
        if (entry.name.startsWith('.')) continue
        const child = relative === '' ? entry.name : `${relative}/${entry.name}`
        if (entry.isDirectory()) await walk(child)
        else if (entry.isFile()) found.push(child)
      }
    }
    await walk(start)
    return found.sort()
  }

  async getAvailableName (name: string, maxLength = 255): Promise<string> {
    const wanted = this.#fit(name, maxLength)
    let candidate = wanted
    while (await this.exists(candidate)) candidate = this.#suffixed(wanted, maxLength)
    return candidate
  }
}

// Our own errors (from the content stream's checks or name rules) pass through; the file system's are
// wrapped so a full disk or a read-only directory becomes a clear 500 with a media code.
function wrap (err: unknown, operation: string): unknown {
  const code = (err as { code?: string })?.code
  if (typeof code === 'string' && code.startsWith('FST_')) return err
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
    return new FST_MEDIA_STORAGE(operation, code, { cause: err })
  }
  return err
}

/**
 * Writes every chunk at the file's position, then closes it. A plain loop rather than pipeline(), which
 * costs an AbortController and an AbortError per file: a tenth of a small upload's time.
 */
async function writeAll (handle: FileHandle, content: Content): Promise<void> {
  try {
    for await (const chunk of Buffer.isBuffer(content) ? [content] : content) {
      // a Readable in string mode yields strings
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk as Uint8Array
      // a write may take fewer bytes than it was given
      for (let offset = 0; offset < bytes.length;) offset += (await handle.write(bytes, offset)).bytesWritten
    }
  } finally {
    await handle.close()
  }
}
