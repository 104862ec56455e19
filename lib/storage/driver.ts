import type { Readable } from 'node:stream'
import type { ByteRange, FileHeaders, FileStat } from './storage.js'

export type { ByteRange }

/** What a driver is given to write: the facade turns every other kind of content into one of these. */
export type DriverContent = Buffer | AsyncIterable<Uint8Array>

/** What a write, copy or move to a name may be told. */
export interface PlaceOptions {
  /**
   * Told each directory made on the way to the key (on a backend with directories), parents first: the
   * facade removes them again with `removeDirectory` when the file is rolled back.
   */
  created?: (dir: string) => void
}

/** How a driver stores what it is given, with the headers it may keep. */
export interface WriteOptions extends FileHeaders, PlaceOptions {
  /**
   * Never replace: resolve false, and leave the existing file as it was, when the key exists. Without it
   * the key is one the facade made unique (a scratch key under `.tmp/`), and the driver may write in place.
   */
  ifAbsent?: boolean
  /**
   * The caller gave up (the request's `limits.uploadTimeout`): stop, leave nothing, reject. A driver that
   * ignores it finishes or fails on its own time, and the facade then keeps nothing of it.
   */
  signal?: AbortSignal
}

/** What a lookup may be told. */
export interface HeadOptions {
  /** As WriteOptions' `signal`: a lookup made for a save the caller gave up stops. */
  signal?: AbortSignal
}

/** What a copy may be told: the new file's headers (a driver that keeps headers replaces the source's). */
export interface CopyOptions extends FileHeaders, PlaceOptions {
  /** Copy only while the source still has this `etag` (from `head`): a source rewritten meanwhile fails the copy. */
  ifMatch?: string
  /** As WriteOptions' `signal`: a copy made for a request that gave up is cancelled. */
  signal?: AbortSignal
}

export interface ReadOptions {
  /** Read only while the file still has this `etag` (from `head`). */
  ifMatch?: string
}

/** Where a browser sends a file itself, and the form fields to send with it (an S3 POST policy). */
export interface PresignedPost {
  url: string
  fields: Record<string, string>
}

/** What a presigned write pins: the exact type, the size range and how long it is valid. */
export interface PresignPostOptions {
  contentType: string
  minSize: number
  maxSize: number
  /** Seconds. */
  expiresIn: number
}

/** A part of a multipart upload, as S3 (and @uppy/aws-s3) name its properties. */
export interface UploadedPart {
  PartNumber: number
  ETag: string
  Size?: number
}

/** A backend's multipart uploads, each part sent by the browser to a presigned URL. */
export interface MultipartDriver {
  /** Starts an upload to `key`; resolves its id. */
  create: (key: string, options: { contentType: string }) => Promise<string>
  /** A URL that takes one part's bytes (a PUT) for `expiresIn` seconds. */
  signPart: (key: string, uploadId: string, partNumber: number, expiresIn: number) => Promise<string>
  /** The parts received so far, in order. */
  listParts: (key: string, uploadId: string) => Promise<UploadedPart[]>
  /** Joins the parts into the file under `key`. */
  complete: (key: string, uploadId: string, parts: UploadedPart[]) => Promise<void>
  /** Drops the upload and its parts; resolves as well when there was none. An aborted `signal` cancels it. */
  abort: (key: string, uploadId: string, options?: { signal?: AbortSignal }) => Promise<void>
  /**
   * A page of the uploads started and neither completed nor aborted (S3's ListMultipartUploads), in key
   * order, from after `cursor`; the next page's cursor while there is one. For the sweep.
   */
  listUnfinished?: (options: { cursor?: string, limit: number }) => Promise<{ uploads: UnfinishedUpload[], cursor?: string }>
}

/** A multipart upload neither completed nor aborted. */
export interface UnfinishedUpload {
  key: string
  uploadId: string
  initiated: Date
}

/** What a storage's resumable uploads are kept with. */
export interface ResumableStoreOptions {
  /** Uploads neither finished nor committed within this many milliseconds are expired. */
  expiresIn: number
}

/**
 * A tus DataStore (@tus/file-store, @tus/s3-store) keeping a storage's resumable uploads under its
 * `.resumable/` keys, which the facade never lists nor serves.
 */
export interface ResumableStore {
  /** The @tus/utils DataStore that @tus/server writes to (typed loosely: @tus/* are optional peers). */
  readonly datastore: object
  /** The DataStore's own id of an upload (its key naming), from the id in the upload's URL. */
  storeId: (id: string) => string
  /** The storage key of a finished upload's bytes. */
  dataKey: (id: string) => string
  /** Every storage key an upload may occupy (its bytes, its record, a part), for removing what is left. */
  keys: (id: string) => string[]
  /** The bytes received so far of an unfinished upload, up to `length`. */
  readStart: (id: string, length: number) => Promise<Buffer>
  /** The ids (as in URLs) of every upload kept. */
  list: () => Promise<string[]>
}

export interface ListOptions {
  /** Where the previous page stopped (its `cursor`); absent for the first page. */
  cursor?: string
  /** At most this many keys (a driver may return fewer); default the driver's own page size. */
  limit?: number
}

export interface ListPage {
  keys: string[]
  /** Each key's last modification, in the same order, where the listing tells it (a sweep asks `head` otherwise). */
  modified?: Date[]
  /** Present when more keys follow: pass it back for the next page. */
  cursor?: string
}

/** What the facade tells a driver when the plugin registers it. */
export interface DriverContext {
  /** The key in the plugin's `storages`, for messages. */
  storageName: string
  /** Relative locations resolve against it. */
  baseDir: string
}

/**
 * The raw primitives a storage needs, on keys the facade (`Disk`) has already cleaned: `/`-separated,
 * relative, no empty, `.` or `..` segment, no NUL. A driver trusts the key it gets; it never picks names,
 * never retries, never wraps errors into the plugin's (the facade does all three, once for every driver).
 * It must still keep every key inside its own root when the medium can be tricked (symlinks on disk).
 */
export interface StorageDriver {
  /**
   * Stores all of `content` under `key`. The file appears complete or not at all: a content that throws, or
   * a failed write, leaves nothing under the key (nor anywhere else). With `ifAbsent`, resolves false when
   * the key exists; a driver whose backend cannot check atomically says so with `exclusive`.
   */
  write: (key: string, content: DriverContent, options: WriteOptions) => Promise<boolean>
  /**
   * The file's bytes, or a range of them. A missing key errors the stream with `code: 'ENOENT'`; a file
   * whose etag is no longer `ifMatch` errors it too.
   */
  read: (key: string, range?: ByteRange, options?: ReadOptions) => Readable
  /** Size and modification time (and an `etag` where the backend has one), or undefined when there is no file. */
  head: (key: string, options?: HeadOptions) => Promise<FileStat | undefined>
  /** Removes the file; resolves as well when there was none. */
  delete: (key: string) => Promise<void>
  /**
   * Keys that start with `prefix` (a string prefix: the facade passes `dir/` or ''), in byte order, a page
   * at a time. Files the driver keeps for itself are left out (the facade leaves out its own `.tmp/`).
   */
  list: (prefix: string, options: ListOptions) => Promise<ListPage>
  /** Copies one file to another key; never replaces: resolves false when `to` exists. */
  copy: (from: string, to: string, options?: CopyOptions) => Promise<boolean>

  // ---- optional capabilities: the facade decides by their presence ----

  /**
   * Moves a file without copying its bytes (a rename or a hard link), resolving false when `to` exists.
   * With it, streamed content is staged under `.tmp/` and moved to its name, so a name taken at the last
   * moment is retried without the bytes; without it, small content is held in memory for that.
   */
  move?: (from: string, to: string, options?: PlaceOptions) => Promise<boolean>
  /**
   * Removes the directory `dir` (a key prefix without its `/`) when it is empty. Resolves true when it is
   * gone, false when it holds something. A write racing it into the same directory makes it again.
   */
  removeDirectory?: (dir: string) => Promise<boolean>
  /**
   * Removes the temporary files (the facade's `.tmp/` keys, and the driver's own) last modified before
   * `before`, and resolves their keys: what a process killed mid-write left. Never follows a link out of
   * the root; a file another sweep removed first is no error.
   */
  sweepTemp?: (before: Date) => Promise<string[]>
  /** True when `write` and `copy` check `ifAbsent` atomically: the facade then does not look first. */
  readonly exclusive?: boolean
  /**
   * A directory on this machine holding every key as the file `location/key` (relative: to the plugin's
   * baseDir). The plugin then serves the storage from disk, and checks it against other served directories.
   */
  readonly location?: string
  /** The file's public URL, where the backend serves files itself (a bucket, a CDN). */
  url?: (key: string) => string
  /** A URL that reads the file for `expiresIn` seconds, signed by the backend (an S3 presigned GET). */
  presignRead?: (key: string, expiresIn: number) => Promise<string>
  /** A form a browser posts a file with, straight to the backend, under `key` (direct uploads). */
  presignPost?: (key: string, options: PresignPostOptions) => Promise<PresignedPost>
  /** Multipart uploads from the browser, for files too large for one request. */
  readonly multipart?: MultipartDriver
  /** Resumable (tus) uploads kept in this storage until a form commits them. */
  resumable?: (options: ResumableStoreOptions) => Promise<ResumableStore>
  /** Told the plugin's context at register time (before `ready`). */
  attach?: (context: DriverContext) => void
  /** Awaited at register time: connect, check the backend answers, fail early with the reason. */
  ready?: () => Promise<void>
  /** Awaited when the app closes: work the driver left for later is done now, or given up (bounded). */
  close?: () => Promise<void>
}

/** A page of `keys` (all of them, any order) for drivers that list by gathering everything: sorted, after `cursor`. */
export function pageOf (keys: string[], { cursor, limit = Infinity }: ListOptions): ListPage {
  const after = keys.filter((key) => cursor === undefined || key > cursor).sort()
  const page = after.slice(0, limit)
  return { keys: page, cursor: page.length < after.length ? page.at(-1) : undefined }
}

/** What a driver throws for a missing file: Node's own shape (`code: 'ENOENT'`), whatever the backend. */
export function fileNotFound (key: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOENT: no such file '${key}'`), { code: 'ENOENT' })
}

/** What a driver throws when a file changed since the `etag` a read or copy was pinned to (`ifMatch`). */
export function sourceChanged (key: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`'${key}' changed since it was looked at`), { code: 'ECHANGED' })
}
