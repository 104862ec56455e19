import { randomUUID } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { chmod, link, lstat, mkdir, open as openFile, readdir, realpath, rmdir, stat, unlink } from 'node:fs/promises'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { Readable } from 'node:stream'
import type { FileHandle } from 'node:fs/promises'
import { keysOf, knownKeys } from '../check-keys.js'
import { FST_MEDIA_INVALID_OPTION } from '../errors.js'
import { Disk, type DiskOptions } from './disk.js'
import { type ByteRange, type CopyOptions, type DriverContent, type DriverContext, type ListOptions, type ListPage, type PlaceOptions, type ResumableStore, type ResumableStoreOptions, type StorageDriver, type WriteOptions } from './driver.js'
import { fileBacking } from '../resumable/file-backing.js'
import { walkPage } from './walk.js'
import type { FileStat } from './storage.js'

/** The default storage has `baseUrl` = `media.url`. */
export interface FileSystemStorageOptions extends Omit<DiskOptions, 'serve' | 'staged'> {
  /** The directory; relative paths resolve against the plugin's `baseDir`. */
  location: string
  fileMode?: number
  dirMode?: number
  /**
   * `'x-accel'`: the plugin's route for this storage checks each request (the signature of a private
   * file's URL, a file whose request has not committed), then hands the sending to nginx with
   * `X-Accel-Redirect` (README, Behind nginx). Default true: the plugin sends the bytes itself.
   */
  serve?: true | 'x-accel'
  /**
   * A request's files wait under `.tmp/` until it commits, and only their names are reserved: what a server
   * reading the directory itself (nginx) sees is committed files only. Default false: a file is linked
   * under its name as soon as it is stored, and the plugin's own route hides it until the request commits.
   */
  staged?: boolean
}

// every key the constructor takes (keysOf holds the list to FileSystemStorageOptions)
const OPTIONS = knownKeys(keysOf<FileSystemStorageOptions>()(['location', 'baseUrl', 'public', 'expiresIn', 'fileMode', 'dirMode', 'serve', 'staged']))

/** Where unfinished writes live: inside the root so the final link is on the same file system. */
export const TEMP_DIR = '.tmp'
/**
 * Tries at making a file's directories and linking it there: a rolled-back request removes the empty
 * directories it made, and may do so between another request's mkdir and its link.
 */
const LINK_ATTEMPTS = 8

/** Files in a directory: what Django's FileSystemStorage is. */
export class FileSystemStorage extends Disk<string> {
  readonly options: Readonly<FileSystemStorageOptions>
  declare readonly driver: FileSystemDriver

  constructor (options: FileSystemStorageOptions) {
    OPTIONS.check(options, 'FileSystemStorage')
    if (typeof options?.location !== 'string' || options.location === '') {
      throw new FST_MEDIA_INVALID_OPTION('FileSystemStorage.location', 'must be a non-empty path')
    }
    if (options.serve !== undefined && options.serve !== true && options.serve !== 'x-accel') {
      throw new FST_MEDIA_INVALID_OPTION('FileSystemStorage.serve', `must be true or 'x-accel', not ${JSON.stringify(options.serve)}`)
    }
    if (options.staged !== undefined && typeof options.staged !== 'boolean') {
      throw new FST_MEDIA_INVALID_OPTION('FileSystemStorage.staged', 'must be true or false')
    }
    super(new FileSystemDriver(options), { baseUrl: options.baseUrl, public: options.public, expiresIn: options.expiresIn, serve: options.serve, staged: options.staged })
    this.options = Object.freeze({ ...options })
  }

  /** The directory, absolute: resolved against the plugin's baseDir once registered. */
  get location (): string {
    return this.driver.root
  }
}

/**
 * The disk driver. Every key stays inside the root: directories are created one level at a time and each
 * resolved with realpath, so a symlink planted inside the root never leads a read or a write out of it.
 */
export class FileSystemDriver implements StorageDriver {
  readonly location: string
  readonly exclusive = true
  readonly #fileMode: number | undefined
  readonly #dirMode: number
  #root: string
  // the root's real path, made once: each write still checks its own directories with one realpath each
  #realRoot: Promise<string> | undefined

  constructor ({ location, fileMode, dirMode }: FileSystemStorageOptions) {
    this.location = location
    this.#root = resolve(location)
    this.#fileMode = fileMode
    this.#dirMode = dirMode ?? 0o755
  }

  get root (): string {
    return this.#root
  }

  attach ({ baseDir }: DriverContext): void {
    this.#root = resolve(baseDir, this.location)
  }

  #path (key: string): string {
    return join(this.#root, key)
  }

  async write (key: string, content: DriverContent, { ifAbsent, created }: WriteOptions): Promise<boolean> {
    // a key the facade made unique is written in place ('wx' never follows a planted symlink)
    if (ifAbsent !== true) return await this.#writeFile(this.#path(key), content).then(() => true)
    const temp = join(this.#root, TEMP_DIR, randomUUID())
    try {
      await this.#writeFile(temp, content)
      return await this.#link(temp, key, created)
    } finally {
      // best effort: the temp dir may be what failed, and its error must not hide the first one
      await unlink(temp).catch(() => {})
    }
  }

  // Opened before the first byte is read and closed before anything else happens, so a failing source can
  // never leave a file that is still being created after the caller's cleanup.
  async #writeFile (path: string, content: DriverContent): Promise<void> {
    await this.#mkdirInside(dirname(path))
    const handle = await openFile(path, 'wx', this.#fileMode ?? 0o644)
    try {
      await writeAll(handle, content)
      if (this.#fileMode !== undefined) await chmod(path, this.#fileMode)
    } catch (err) {
      await unlink(path).catch(() => {})
      throw err
    }
  }

  // A hard link fails with EEXIST atomically and never leaves a placeholder, so two writers can never share
  // a name, and the file appears complete or not at all.
  async #link (from: string, key: string, created?: (dir: string) => void, attempt = 1): Promise<boolean> {
    const target = this.#path(key)
    try {
      await this.#mkdirInside(dirname(target), created)
      await link(from, target)
      return true
    } catch (err) {
      const { code } = err as NodeJS.ErrnoException
      if (code === 'EEXIST') return false
      // a directory on the way went (or `from` is missing, and every try fails the same)
      if (code !== 'ENOENT' || attempt === LINK_ATTEMPTS) throw err
    }
    return await this.#link(from, key, created, attempt + 1)
  }

  // a hard link: files are never changed in place, so two names may share one
  async copy (from: string, to: string, { created }: CopyOptions = {}): Promise<boolean> {
    return await this.#link(await this.#existing(from), to, created)
  }

  async resumable (options: ResumableStoreOptions): Promise<ResumableStore> {
    return await fileBacking(this.#root, options)
  }

  // the source is the facade's scratch file (or a finished resumable upload), checked when it was written
  async move (from: string, to: string, { created }: PlaceOptions = {}): Promise<boolean> {
    const source = this.#path(from)
    // a resumable upload's file was made by @tus/file-store, with the umask's mode: the storage's fileMode wins
    if (this.#fileMode !== undefined) await chmod(source, this.#fileMode)
    if (!await this.#link(source, to, created)) return false
    await unlink(source)
    return true
  }

  async removeDirectory (dir: string): Promise<boolean> {
    try {
      await rmdir(await this.#existing(dir))
      return true
    } catch (err) {
      const { code } = err as NodeJS.ErrnoException
      if (code === 'ENOENT') return true
      // another request's file is there (EEXIST on some systems), or a link was planted in its place
      if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR') return false
      throw err
    }
  }

  async sweepTemp (before: Date): Promise<string[]> {
    const dir = join(this.#root, TEMP_DIR)
    let names
    try {
      // `.tmp` itself must be the root's own directory, never a link that leads elsewhere
      if (await realpath(dir) !== join(await realpath(this.#root), TEMP_DIR)) throw new Error(`${TEMP_DIR} resolves outside the storage root`)
      names = await readdir(dir)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw err
    }
    const removed: string[] = []
    // a file that cannot be looked at or removed now (another sweep took it first) is skipped: the next
    // sweep tries again
    const skip = (): undefined => undefined
    for (const name of names) {
      const path = join(dir, name)
      const info = await lstat(path).catch(skip)
      // mtime: a file being written is modified with every chunk, so only a dead writer's file gets old
      if (info === undefined || !info.isFile() || info.mtime >= before) continue
      await unlink(path).then(() => removed.push(`${TEMP_DIR}/${name}`), skip)
    }
    return removed
  }

  read (key: string, range?: ByteRange): Readable {
    const existing = this.#existing.bind(this)
    return Readable.from((async function * () {
      yield * createReadStream(await existing(key), range)
    })(), { objectMode: false })
  }

  async head (key: string): Promise<FileStat | undefined> {
    let info
    try {
      info = await stat(await this.#existing(key))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw err
    }
    if (!info.isFile()) throw new Error('not a file')
    return { size: info.size, modified: info.mtime }
  }

  async delete (key: string): Promise<void> {
    try {
      await unlink(await this.#existing(key))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
  }

  /** Walks the directory (dotfiles and the temp directory left out) in key order; a page starts after `cursor`. */
  async list (prefix: string, options: ListOptions): Promise<ListPage> {
    return await walkPage(this.#root, prefix, options)
  }

  async #realRootOnce (): Promise<string> {
    this.#realRoot ??= mkdir(this.#root, { recursive: true, mode: this.#dirMode }).then(async () => await realpath(this.#root))
    return await this.#realRoot.catch((err: unknown) => {
      this.#realRoot = undefined
      throw err
    })
  }

  async #assertInside (path: string, root: string): Promise<void> {
    const real = await realpath(path)
    if (real !== root && !real.startsWith(root + sep)) throw new Error('a directory resolves outside the storage root')
  }

  // Missing directories are created one level at a time, each checked before going deeper, so nothing is
  // ever created through a symlink that leads out of the root.
  async #mkdirInside (dir: string, created?: (dir: string) => void): Promise<void> {
    try {
      await this.#mkdirEach(dir, await this.#realRootOnce(), created)
    } catch (err) {
      // a root removed behind our back is made again by the next write
      this.#realRoot = undefined
      throw err
    }
  }

  async #mkdirEach (dir: string, root: string, created?: (dir: string) => void): Promise<void> {
    try {
      return await this.#assertInside(dir, root)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    let current = this.#root
    for (const segment of relative(this.#root, dir).split(sep)) {
      current = join(current, segment)
      const made = await mkdir(current, { mode: this.#dirMode }).then(() => true, (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err
        return false
      })
      await this.#assertInside(current, root)
      if (made) created?.(relative(this.#root, current).split(sep).join('/'))
    }
  }

  /** The path of an existing file, refused when its directory resolves outside the root. */
  async #existing (key: string): Promise<string> {
    const path = this.#path(key)
    await this.#assertInside(dirname(path), await realpath(this.#root))
    return path
  }
}

/**
 * Writes every chunk at the file's position, then closes it. A plain loop rather than pipeline(), which
 * costs an AbortController and an AbortError per file: a tenth of a small upload's time.
 */
async function writeAll (handle: FileHandle, content: DriverContent): Promise<void> {
  try {
    for await (const chunk of Buffer.isBuffer(content) ? [content] : content) {
      // a write may take fewer bytes than it was given
      for (let offset = 0; offset < chunk.length;) offset += (await handle.write(chunk, offset)).bytesWritten
    }
  } finally {
    await handle.close()
  }
}
