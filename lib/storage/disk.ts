import { randomUUID } from 'node:crypto'
import { resolve } from 'node:path'
import { Readable } from 'node:stream'
import { FST_MEDIA_FILE_NOT_FOUND, FST_MEDIA_INVALID_NAME, FST_MEDIA_INVALID_OPTION, FST_MEDIA_STORAGE } from '../errors.js'
import { typeForName } from '../mime.js'
import type { ByteRange, CopyOptions, ListOptions, MultipartDriver, ReadOptions, StorageDriver, UnfinishedUpload, WriteOptions } from './driver.js'
import { readAhead, tracked } from './content.js'
import type { Content, FileStat, SaveOptions, ServedFiles, Storage, StorageContext, UrlOptions } from './storage.js'
import { urlPath } from './url-path.js'
import { fitName, normalizeStorageName, withRandomSuffix } from './valid-name.js'

export interface DiskOptions {
  /** The URL prefix the plugin serves the files under (starts and ends with `/`), unless the driver has URLs of its own. */
  baseUrl?: string
  /** Private storages are never served publicly: their URLs are signed and expire. Default true. */
  public?: boolean
  /** Default lifetime of a private file's URL, in seconds (default 3600). */
  expiresIn?: number
  /**
   * False: the plugin does not serve the files (their URLs only claim `baseUrl`). `'x-accel'` (a storage
   * with a directory): its route checks the request as always, then answers with `X-Accel-Redirect` to
   * nginx's internal location for the storage (`fastify-media nginx` writes it), which sends the bytes.
   * Default true.
   */
  serve?: boolean | 'x-accel'
  /**
   * Saves asked to `stage` keep their bytes under `.tmp/` and only reserve their name until the caller
   * `publish`es it (S3Storage's `staged`). Default false.
   */
  staged?: boolean
}

/** Where the facade keeps content whose name is not decided yet; never listed, never served. */
export const SCRATCH = '.tmp/'
/** Where browsers upload files themselves (direct uploads) before a commit checks them; never listed, never served. */
export const DIRECT = '.direct/'
/** A staged name's reservation: an empty object that keeps the name from every other save until it is published. */
const RESERVED = DIRECT + 'names/'
/** Where resumable (tus) uploads wait for a form to commit them; never listed, never served. */
export const RESUMABLE = '.resumable/'
const isInternal = (key: string): boolean => key.startsWith(SCRATCH) || key.startsWith(DIRECT) || key.startsWith(RESUMABLE)
/** Content up to this size is held in memory when the driver cannot move files: a lost name is retried with it. */
const HELD = 5 * 1024 * 1024
/** Tries at a free name before giving up: each suffix is one of 62^7. */
const NAME_ATTEMPTS = 10

/** The directory holding a key (`a/b` for `a/b/c`), undefined at the root. */
function parentOf (key: string): string | undefined {
  const slash = key.lastIndexOf('/')
  return slash === -1 ? undefined : key.slice(0, slash)
}

/**
 * Our own errors pass as they are; a driver's become FST_MEDIA_STORAGE with the operation and the driver's
 * code, the original as `cause`, and the storage's name once the plugin registered it.
 */
export function storageFailure (err: unknown, operation: string, storage?: string): unknown {
  const { code, name, message } = err as { code?: unknown, name?: string, message?: string }
  if (typeof code === 'string' && code.startsWith('FST_')) return err
  // a system error's code (ENOSPC), an SDK's error name (NoSuchBucket), or what a plain Error says
  const detail = typeof code === 'string' ? code : name !== undefined && name !== 'Error' ? name : String(message)
  return failure(operation, detail, storage, err)
}

/** `storages.media: storage failed (save: ECONNREFUSED)`; a storage used alone says `save: storage failed (...)`. */
function failure (operation: string, detail: string, storage: string | undefined, cause?: unknown): Error {
  return storage === undefined
    ? new FST_MEDIA_STORAGE(operation, detail, { cause })
    : new FST_MEDIA_STORAGE(`storages.${storage}`, `${operation}: ${detail}`, { cause })
}

/**
 * The storage the plugin uses (Django's Storage API), over a driver of raw primitives: flydrive's facade.
 * Everything that is the same for every backend lives here, once: valid names and their length, free
 * names and collisions, the names this process is writing, wrapping driver failures into FST_MEDIA_STORAGE
 * with `{ cause }`, URLs and their signatures, and what the plugin serves.
 */
export class Disk<U extends string | Promise<string> = string | Promise<string>> implements Storage {
  readonly public: boolean
  readonly driver: StorageDriver
  readonly #baseUrl: string | undefined
  readonly #expiresIn: number
  readonly #serve: boolean | 'x-accel'
  /** Names being written by this process: never offered to another save until that write is over. */
  readonly #writing = new Set<string>()
  readonly #staging: boolean
  /** Names saved staged and not yet published, and the scratch key holding each one's bytes. */
  readonly #staged = new Map<string, string>()
  /**
   * Directories that saves asked to `stage` made, while no file in them has been published: a rollback
   * (deleting such a file) removes them again once empty. A directory that existed before is never one.
   */
  readonly #fresh = new Set<string>()
  #context: StorageContext | undefined

  constructor (driver: StorageDriver, options: DiskOptions = {}) {
    if (options.baseUrl !== undefined && !/^\/(.*\/)?$/.test(options.baseUrl)) {
      throw new FST_MEDIA_INVALID_OPTION(`${this.constructor.name}.baseUrl`, 'must start and end with "/"')
    }
    const { serve } = options
    if (serve !== undefined && typeof serve !== 'boolean' && serve !== 'x-accel') {
      throw new FST_MEDIA_INVALID_OPTION(`${this.constructor.name}.serve`, `must be true, false or 'x-accel', not ${JSON.stringify(serve)}`)
    }
    // its route would redirect nginx to an internal location `fastify-media nginx` cannot write
    if (serve === 'x-accel' && driver.location === undefined) {
      throw new FST_MEDIA_INVALID_OPTION(`${this.constructor.name}.serve`, '\'x-accel\' needs a driver with a location: nginx sends the files from a directory')
    }
    this.driver = driver
    this.public = options.public ?? true
    this.#baseUrl = options.baseUrl
    this.#expiresIn = options.expiresIn ?? 3600
    this.#serve = options.serve ?? true
    this.#staging = options.staged === true
  }

  get baseUrl (): string | undefined {
    return this.#baseUrl
  }

  /** One app at a time: a storage registered by two live apps would sign and resolve for both. */
  attach (context: StorageContext): void {
    if (this.#context !== undefined) {
      throw new FST_MEDIA_INVALID_OPTION(`storages.${context.storageName}`, `is already registered as storages.${this.#context.storageName} by an app that has not closed: give each app its own ${this.constructor.name}`)
    }
    this.#context = context
    this.driver.attach?.({ storageName: context.storageName, baseDir: context.baseDir })
  }

  detach (): void {
    this.#context = undefined
  }

  async close (): Promise<void> {
    await this.driver.close?.()
  }

  async ready (): Promise<void> {
    await this.driver.ready?.()
  }

  served (baseDir: string): ServedFiles | undefined {
    if (this.#serve === false || this.#ownUrls()) return undefined
    const { location } = this.driver
    return {
      baseUrl: this.#baseUrl,
      location: location === undefined ? undefined : resolve(baseDir, location),
      xAccel: this.#serve === 'x-accel',
      staged: this.#staging,
      head: async (name) => {
        const key = normalizeStorageName(name)
        return key === undefined ? undefined : await this.driver.head(key).catch((err: unknown) => { throw this.#wrap(err, 'head') })
      },
      read: (name, range) => this.open(name, range)
    }
  }

  // URLs that the backend answers itself: the plugin neither makes nor serves them
  // failures name the storage once the plugin has registered it (`storages.docs`), not before
  get #storageName (): string | undefined {
    return this.#context?.storageName
  }

  #ownUrls (): boolean {
    return (this.public ? this.driver.url : this.driver.presignRead) !== undefined
  }

  #key (name: string): string {
    const clean = normalizeStorageName(name)
    if (clean === undefined) throw new FST_MEDIA_INVALID_NAME(name, 'not a name inside the storage')
    return clean
  }

  /** The key holding a name's bytes: a staged name's scratch key until it is published. */
  #resolve (name: string): string {
    const key = this.#key(name)
    return this.#staged.get(key) ?? key
  }

  #fit (name: string, maxLength: number): string {
    const fitted = fitName(this.#key(name), maxLength)
    if (fitted === undefined) throw new FST_MEDIA_INVALID_NAME(name, `longer than ${maxLength} bytes`)
    return fitted
  }

  async save (name: string | (() => string), content: Content, opts: SaveOptions = {}): Promise<string> {
    const maxLength = opts.maxLength ?? 255
    // a name known now is checked before a byte is read
    const wanted = typeof name === 'string' ? this.#fit(name, maxLength) : undefined
    const { signal } = opts
    const meta: WriteOptions = { contentType: opts.contentType ?? (wanted === undefined ? undefined : typeForName(wanted)), cacheControl: opts.cacheControl, contentEncoding: opts.contentEncoding, signal }
    const source = tracked(content)
    const staging = this.#staging && opts.stage === true
    // a file with its name known is written to that name: held in memory when it must be retryable
    if (!staging && wanted !== undefined && (Buffer.isBuffer(content) || this.driver.move === undefined)) {
      const body = Buffer.isBuffer(content) ? content : await readAhead(source, HELD).catch((err: unknown) => { throw this.#wrap(err, 'save', source) })
      // too large to hold: written straight to a free name, and only a race with another process loses it
      const oneShot = Buffer.isBuffer(body) ? undefined : source
      return await this.#publish(wanted, maxLength, opts, async (key) => await this.driver.write(key, body, { ...meta, ifAbsent: true, created: this.#made(opts) }), oneShot)
    }
    const scratch = SCRATCH + randomUUID()
    try {
      await this.driver.write(scratch, source.content, meta)
    } catch (err) {
      await this.driver.delete(scratch).catch(() => {})
      throw this.#wrap(err, 'save', source, signal)
    }
    // fitting is idempotent: a name known at the start comes out as it was
    const final = (): string => this.#fit(typeof name === 'function' ? name() : name, maxLength)
    if (staging) return await this.#stage(scratch, final, maxLength, opts)
    let moved = false
    try {
      const { driver } = this
      const created = this.#made(opts)
      return await this.#publish(final(), maxLength, opts, async (key) => {
        if (driver.move === undefined) return await driver.copy(scratch, key, { created })
        return (moved = await driver.move(scratch, key, { created }))
      })
    } finally {
      if (!moved) await this.driver.delete(scratch).catch(() => {})
    }
  }

  /**
   * Reserves a free name for bytes kept under `scratch`, which `publish` copies there later; reads of the
   * name find the scratch bytes until then. Without a name the scratch bytes are deleted again.
   */
  async #stage (scratch: string, final: () => string, maxLength: number, opts: SaveOptions): Promise<string> {
    try {
      const name = await this.#publish(final(), maxLength, opts, async (key) => await this.driver.write(RESERVED + key, Buffer.alloc(0), { ifAbsent: true, contentType: 'application/octet-stream' }))
      this.#staged.set(name, scratch)
      return name
    } catch (err) {
      await this.driver.delete(scratch).catch(() => {})
      throw err
    }
  }

  /**
   * Makes a name that a save asked to `stage` visible under it: copies its bytes there (never over a file
   * another writer put there despite the reservation), then drops the scratch copy and the reservation.
   * Resolves at once for any other name.
   */
  async publish (name: string): Promise<void> {
    const key = this.#key(name)
    const scratch = this.#staged.get(key)
    // the request keeps the file: its directories are the app's now
    for (let dir = parentOf(key); dir !== undefined; dir = parentOf(dir)) this.#fresh.delete(dir)
    if (scratch === undefined) return
    let copied
    try {
      // looked at first: a reservation keeps this plugin's saves away, not a writer that ignores it, and
      // some servers ignore the copy's IfNoneMatch (s3rver)
      copied = !await this.driver.head(key) && await this.driver.copy(scratch, key)
    } catch (err) {
      throw this.#wrap(err, 'publish')
    }
    if (!copied) throw failure('publish', `"${key}" was written by another writer while it was reserved`, this.#storageName)
    this.#staged.delete(key)
    // the file is in place: what is left is cleanup, and a lifecycle rule on the prefixes catches a failure
    await Promise.all([this.driver.delete(scratch), this.driver.delete(RESERVED + key)]).catch(() => {})
  }

  /**
   * Puts the file under `wanted` or, when that is taken, under a suffixed name: claimed before it becomes
   * visible, released if it turns out to be taken. A one-shot content (`source`) cannot be tried twice.
   */
  async #publish (wanted: string, maxLength: number, opts: SaveOptions, put: (key: string) => Promise<boolean>, source?: ReturnType<typeof tracked>): Promise<string> {
    let candidate = wanted
    for (let attempt = 1; attempt <= NAME_ATTEMPTS; attempt++, candidate = this.#suffixed(wanted, maxLength)) {
      if (this.#writing.has(candidate)) continue
      // held before the first await, so no other save here can pass the same checks
      this.#writing.add(candidate)
      let claimed = false
      let written = false
      try {
        if ((this.driver.exclusive !== true || this.#staging) && await this.#taken(candidate, 'save', opts.signal)) continue
        opts.claim?.(candidate)
        claimed = true
        written = await put(candidate)
      } catch (err) {
        if (claimed) opts.release?.(candidate)
        throw this.#wrap(err, 'save', source, opts.signal)
      } finally {
        this.#writing.delete(candidate)
      }
      if (written) return candidate
      opts.release?.(candidate)
      if (source !== undefined) throw failure('save', `"${candidate}" was taken by another writer`, this.#storageName)
    }
    throw failure('save', `no free name for "${wanted}" in ${NAME_ATTEMPTS} tries`, this.#storageName)
  }

  #suffixed (wanted: string, maxLength: number): string {
    const suffixed = withRandomSuffix(wanted, maxLength)
    if (suffixed === undefined) throw new FST_MEDIA_INVALID_NAME(wanted, `taken, and no room for a unique suffix within ${maxLength} bytes`)
    return suffixed
  }

  /** A file has the name, or (on a staging storage) a save waiting for its commit reserved it. */
  async #taken (key: string, operation: string, signal?: AbortSignal): Promise<boolean> {
    return await this.#exists(key, operation, signal) || (this.#staging && await this.#exists(RESERVED + key, operation, signal))
  }

  async #exists (key: string, operation: string, signal?: AbortSignal): Promise<boolean> {
    try {
      return await this.driver.head(key, { signal }) !== undefined
    } catch (err) {
      throw this.#wrap(err, operation, undefined, signal)
    }
  }

  /**
   * Our own errors, and the content's (a refused upload, a client gone), pass as they are, and so does the
   * reason of a save given up (its signal aborted); the driver's become FST_MEDIA_STORAGE naming the storage
   * and the operation, with the driver's code and the original as `cause`.
   */
  #wrap (err: unknown, operation: string, source?: ReturnType<typeof tracked>, signal?: AbortSignal): unknown {
    if (source?.error !== undefined) return source.error
    return signal?.aborted === true ? signal.reason : storageFailure(err, operation, this.#storageName)
  }

  /** With `ifMatch` (an `etag` from `stat`), the read fails if the file was rewritten since. */
  open (name: string, range?: ByteRange, options?: ReadOptions): Readable {
    const key = this.#resolve(name)
    const read = this.driver.read.bind(this.driver)
    const wrap = this.#wrap.bind(this)
    return Readable.from((async function * () {
      try {
        yield * read(key, range, options)
      } catch (err) {
        // a missing file keeps its ENOENT: callers (and the contract) test for it
        throw (err as { code?: string }).code === 'ENOENT' ? err : wrap(err, 'open')
      }
    })(), { objectMode: false })
  }

  /** A staged name loses its scratch bytes and its reservation: its name was never written. */
  async delete (name: string): Promise<void> {
    const key = this.#key(name)
    const scratch = this.#staged.get(key)
    try {
      if (scratch === undefined) {
        await this.driver.delete(key)
      } else {
        this.#staged.delete(key)
        // the bytes first: the name is free again only once nothing of this save is left
        await this.driver.delete(scratch)
        await this.driver.delete(RESERVED + key)
      }
      await this.#prune(key)
    } catch (err) {
      throw this.#wrap(err, 'delete')
    }
  }

  /** What a save asked to `stage` tells the driver: the directories it makes are fresh until published. */
  #made (opts: SaveOptions): ((dir: string) => void) | undefined {
    return opts.stage === true ? (dir) => { this.#fresh.add(dir) } : undefined
  }

  /**
   * Removes the fresh directories above a deleted key, deepest first, while they are empty: another
   * request's file keeps one (and its parents), and that request's own rollback or commit decides. A save
   * between its mkdir and its link when the directory goes makes it again (the disk driver retries).
   */
  async #prune (key: string): Promise<void> {
    for (let dir = parentOf(key); dir !== undefined && this.#fresh.has(dir); dir = parentOf(dir)) {
      // forgotten before the rmdir: a save that makes the directory again as soon as it is gone marks it
      // fresh anew, and that mark must stay
      this.#fresh.delete(dir)
      if (await this.driver.removeDirectory?.(dir) === true) continue
      this.#fresh.add(dir)
      return
    }
  }

  /**
   * A save's scratch file is written to as its bytes arrive and is gone when the save ends, so one untouched
   * for longer than any upload may take belongs to a process that died. A staged save's bytes wait there
   * for their request's commit, for as long as its handler runs: a staging storage is never swept.
   */
  async sweepScratch (olderThan: number): Promise<string[]> {
    if (this.#staging || this.driver.sweepTemp === undefined) return []
    return await this.driver.sweepTemp(new Date(Date.now() - olderThan)).catch((err: unknown) => { throw this.#wrap(err, 'sweepScratch') })
  }

  async exists (name: string): Promise<boolean> {
    const key = normalizeStorageName(name)
    return key !== undefined && await this.#exists(this.#staged.get(key) ?? key, 'exists').catch(() => false)
  }

  async size (name: string): Promise<number> {
    return (await this.#stat(name, 'size')).size
  }

  async stat (name: string): Promise<FileStat> {
    return await this.#stat(name, 'stat')
  }

  async #stat (name: string, operation: string): Promise<FileStat> {
    const key = this.#key(name)
    let info
    try {
      info = await this.driver.head(this.#staged.get(key) ?? key)
    } catch (err) {
      throw this.#wrap(err, operation)
    }
    if (info === undefined) throw new FST_MEDIA_FILE_NOT_FOUND(key)
    return { ...info, contentType: info.contentType ?? typeForName(key) }
  }

  /** A string, or a Promise where the driver signs (U says which, for the built-in storages). */
  url (name: string, opts: UrlOptions = {}): U {
    return this.#url(this.#key(name), opts.expiresIn ?? this.#expiresIn) as U
  }

  #url (key: string, expiresIn: number): string | Promise<string> {
    const { url, presignRead } = this.driver
    if (this.public && url !== undefined) return url.call(this.driver, key)
    if (!this.public && presignRead !== undefined) return presignRead.call(this.driver, key, expiresIn)
    const path = (this.#baseUrl ?? '/') + urlPath(key)
    if (this.public) return path
    const sign = this.#context?.sign
    if (sign === undefined) throw new FST_MEDIA_INVALID_OPTION('signingKey', 'a private storage needs the plugin\'s signingKey')
    return `${path}?${sign(key, expiresIn)}`
  }

  async list (prefix = ''): Promise<string[]> {
    const names: string[] = []
    let cursor: string | undefined
    do {
      const page = await this.listPage(prefix, { cursor })
      names.push(...page.names)
      cursor = page.cursor
    } while (cursor !== undefined)
    return names.sort()
  }

  /**
   * A page of the names under `prefix`, in byte order: pass the returned `cursor` back for the next one
   * (none when this was the last). For sweeps over storages too large to list at once.
   */
  async listPage (prefix = '', { cursor, limit }: ListOptions = {}): Promise<{ names: string[], cursor?: string }> {
    const start = prefix === '' ? '' : `${this.#key(prefix.replace(/\/+$/, ''))}/`
    const page = await this.driver.list(start, { cursor, limit }).catch((err: unknown) => { throw this.#wrap(err, 'list') })
    return { names: page.keys.filter((key) => !isInternal(key)), cursor: page.cursor }
  }

  /**
   * A page of the files under `prefix` with their last modification, what a sweep reads. `internal` lists
   * one of the plugin's own prefixes (`.tmp/`, `.direct/`, `.resumable/`) instead of the names.
   */
  async listModified (prefix: string, { cursor, limit, internal = false }: ListOptions & { internal?: boolean } = {}): Promise<{ files: Array<{ name: string, modified: Date }>, cursor?: string }> {
    // a key prefix as it is ('' for every name): the sweep's, never a request's
    const page = await this.driver.list(prefix, { cursor, limit }).catch((err: unknown) => { throw this.#wrap(err, 'list') })
    const files: Array<{ name: string, modified: Date }> = []
    for (const [i, key] of page.keys.entries()) {
      if (!internal && isInternal(key)) continue
      // a driver whose listing has no dates is asked for each file's; one gone meanwhile is not listed
      const modified = page.modified?.[i] ?? (await this.driver.head(key).catch((err: unknown) => { throw this.#wrap(err, 'head') }))?.modified
      if (modified !== undefined) files.push({ name: key, modified })
    }
    return { files, cursor: page.cursor }
  }

  /**
   * Whether a request of this process holds `name`: being written, or staged and reserved until its
   * request commits. A sweep never removes such a name (nor, across processes, one younger than its cutoff).
   */
  isClaimed (name: string): boolean {
    return this.#writing.has(name) || this.#staged.has(name)
  }

  /**
   * A page of the driver's multipart uploads neither completed nor aborted, or undefined when it has no such
   * uploads. For the sweep, with `abortUnfinished`.
   */
  async listUnfinished (options: { cursor?: string, limit: number }): Promise<{ uploads: UnfinishedUpload[], cursor?: string } | undefined> {
    const list = this.driver.multipart?.listUnfinished
    if (list === undefined) return undefined
    return await list.call(this.driver.multipart, options).catch((err: unknown) => { throw this.#wrap(err, 'list') })
  }

  async abortUnfinished ({ key, uploadId }: UnfinishedUpload): Promise<void> {
    // called only with what listUnfinished gave: the driver has multipart uploads
    await (this.driver.multipart as MultipartDriver).abort(key, uploadId).catch((err: unknown) => { throw this.#wrap(err, 'delete') })
  }

  /** Removes a file of the plugin's own prefixes (a sweep's): no name rules, it was listed from there. */
  async deleteInternal (key: string): Promise<void> {
    if (!isInternal(key)) throw new FST_MEDIA_INVALID_NAME(key, 'not a key of the plugin\'s own prefixes')
    await this.driver.delete(key).catch((err: unknown) => { throw this.#wrap(err, 'delete') })
  }

  /**
   * Copies a stored file under a new name (made free as `save` does) and returns that name. Headers given
   * replace the source's where the driver keeps them; `ifMatch` fails the copy if the source was rewritten.
   * An aborted `signal` cancels it (where the driver can) and rejects with the signal's reason.
   */
  async copy (name: string, to: string, opts: Pick<SaveOptions, 'maxLength' | 'claim' | 'release' | 'stage'> & CopyOptions & { move?: boolean } = {}): Promise<string> {
    const from = this.#resolve(name)
    const maxLength = opts.maxLength ?? 255
    const { ifMatch, contentType, cacheControl, contentEncoding, signal } = opts
    const headers = { ifMatch, contentType, cacheControl, contentEncoding, signal }
    const created = this.#made(opts)
    const target = this.#fit(to, maxLength)
    // `move`: the source is the caller's to give away (a finished resumable upload), so a driver that can
    // rename takes it without copying the bytes
    const { move } = this.driver
    if (opts.move === true && move !== undefined) return await this.#publish(target, maxLength, opts, async (key) => await move.call(this.driver, from, key, { created }))
    if (!this.#staging || opts.stage !== true) return await this.#publish(target, maxLength, opts, async (key) => await this.driver.copy(from, key, { ...headers, created }))
    // staged as a save is: the bytes wait under a scratch key (a fresh key, so the copy cannot find it taken)
    const scratch = SCRATCH + randomUUID()
    try {
      await this.driver.copy(from, scratch, headers)
    } catch (err) {
      await this.driver.delete(scratch).catch(() => {})
      throw this.#wrap(err, 'copy', undefined, signal)
    }
    return await this.#stage(scratch, () => target, maxLength, opts)
  }

  async getAvailableName (name: string, maxLength = 255): Promise<string> {
    const wanted = this.#fit(name, maxLength)
    let candidate = wanted
    while (this.#writing.has(candidate) || await this.#taken(candidate, 'getAvailableName')) candidate = this.#suffixed(wanted, maxLength)
    return candidate
  }
}
