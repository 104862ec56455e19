import type { Readable } from 'node:stream'

/** Bytes `start` to `end`, both included (HTTP's byte ranges); `end` defaults to the last byte. */
export interface ByteRange {
  start: number
  end?: number
}

/** What `save` accepts: all of it is read before the file becomes visible. */
export type Content = Buffer | Readable | AsyncIterable<Uint8Array>

/** Headers some storages keep with a file (S3's object metadata). */
export interface FileHeaders {
  /** The detected type (S3's ContentType). */
  contentType?: string
  /** How long caches may keep it. */
  cacheControl?: string
  /** `br` or `gzip` for a precompressed variant. */
  contentEncoding?: string
}

export interface SaveOptions extends FileHeaders {
  /** Longest stored name in bytes; a longer name loses characters of its stem, never its extension. */
  maxLength?: number
  /**
   * Told the final name just before the file becomes visible under it, and `release`d if that name turns
   * out to be taken: the plugin keeps a request's files unserved from their first moment.
   */
  claim?: (name: string) => void
  release?: (name: string) => void
  /**
   * The caller makes the file visible itself, with `publish(name)`, once its work has succeeded (the upload
   * pipeline does at its request's commit). A staging storage (S3Storage's `staged`) then keeps the bytes
   * out of sight and only reserves the name; any other storage stores the file as usual.
   */
  stage?: boolean
  /**
   * Aborting it gives the save up: the driver's requests stop (S3Storage cancels them), nothing is kept, and
   * the save rejects with the signal's reason. The upload pipeline passes its `limits.uploadTimeout`.
   */
  signal?: AbortSignal
}

export interface FileStat {
  size: number
  modified: Date
  contentType?: string
  /** The backend's version tag of the bytes (S3's ETag), where it has one. */
  etag?: string
}

export interface UrlOptions {
  /** Seconds a signed URL of a private storage stays valid. */
  expiresIn?: number
}

/** What the plugin tells a storage when it is registered under a name. */
export interface StorageContext {
  /** The key in `storages` ('default' for the media root). */
  storageName: string
  /** Resolves a relative `location` against the plugin's `baseDir`. */
  baseDir: string
  /** The query (`expires=…&signature=…`) of a private file's URL; present when `signingKey` is set. */
  sign?: (name: string, expiresIn: number) => string
}

/** Where the plugin serves a storage's files: under `baseUrl`, from `location` when they are on this machine. */
export interface ServedFiles {
  /** Undefined when none was given: the plugin refuses that at register. */
  baseUrl: string | undefined
  /** The absolute directory holding the files, when the driver has one. */
  location: string | undefined
  /** Its route answers with `X-Accel-Redirect` instead of the bytes (a storage with a `location` only). */
  xAccel: boolean
  /** A request's files stay under `.tmp/` until it commits: nothing of an unfinished request is on disk under its name. */
  staged: boolean
  /** Size and modification time for serving, undefined for no such file (or a name that cannot be one). */
  head: (name: string) => Promise<FileStat | undefined>
  /** The bytes for serving, or a range of them. */
  read: (name: string, range?: ByteRange) => Readable
}

/**
 * Django's Storage API. Names are `/`-separated paths inside the storage; a storage refuses (with
 * FST_MEDIA_INVALID_NAME) any name that would leave its root.
 */
export interface Storage {
  /** Private storages are never served by the public media route; their URLs are signed. */
  readonly public: boolean
  /**
   * Stores content and returns the name it got, which differs from the wanted one when that is taken
   * (`_` + 7 random alphanumerics). Never overwrites; the file becomes visible only once complete, and
   * a failing content stream leaves nothing behind. `name` may be a function, called once the content
   * has been read, for names that depend on it.
   */
  save: (name: string | (() => string), content: Content, opts?: SaveOptions) => Promise<string>
  /**
   * Makes a name that a save asked to `stage` visible under it; resolves at once for any other name. A
   * storage without it never stages.
   */
  publish?: (name: string) => Promise<void>
  /** The file's bytes (or bytes `start` to `end`, both included); a missing file errors the stream with code ENOENT. */
  open: (name: string, range?: ByteRange) => Readable
  /**
   * Does not throw when the file is already gone. A file saved to `stage` and deleted before it was
   * published (a rollback) takes the directories its save made with it, those left empty.
   */
  delete: (name: string) => Promise<void>
  /** Returns false, never throws, for a name that is missing or invalid. */
  exists: (name: string) => Promise<boolean>
  size: (name: string) => Promise<number>
  stat: (name: string) => Promise<FileStat>
  url: (name: string, opts?: UrlOptions) => string | Promise<string>
  /** Every stored name under `prefix` (a directory), sorted. */
  list: (prefix?: string) => Promise<string[]>
  /** A name not taken right now; only `save` is atomic about it. */
  getAvailableName: (name: string, maxLength?: number) => Promise<string>
  /** Called by the plugin at register time; may refuse (a storage already registered by another live app). */
  attach?: (context: StorageContext) => void
  /** Called by the plugin when its app closes. */
  detach?: () => void
  /** Awaited by the plugin when its app closes, before `detach`: work left for later is done or given up. */
  close?: () => Promise<void>
  /** Where the plugin serves this storage (relative locations resolve against `baseDir`); undefined: not served. */
  served?: (baseDir: string) => ServedFiles | undefined
  /** Awaited by the plugin at register time (e.g. to resolve an S3 endpoint for URLs). */
  ready?: () => Promise<void>
  /**
   * Removes the scratch files of saves (`.tmp/`) untouched for `olderThan` milliseconds: what a process
   * killed mid-save left. Resolves the keys removed. The plugin runs it at start and then periodically.
   */
  sweepScratch?: (olderThan: number) => Promise<string[]>
}

/**
 * The plugin's storages by name, declared by the app to type the `url` of loaded files (`Model.load()`),
 * which is a Promise only where the storage signs asynchronously (a private S3Storage). Registering the
 * plugin cannot tell TypeScript which storages it got, so an app states them once:
 * `declare module 'fastify-media' { interface MediaStorages { default: FileSystemStorage } }`.
 * A storage not declared here gives `string | Promise<string>`.
 */
export interface MediaStorages {}

/** What `url()` of the storage named N returns: `string | Promise<string>` unless MediaStorages says. */
export type StorageUrl<N extends string> = string extends N
  ? string | Promise<string>
  : N extends keyof MediaStorages
    ? (MediaStorages[N] extends { url: (...args: never[]) => infer U } ? U : string | Promise<string>)
    : string | Promise<string>
