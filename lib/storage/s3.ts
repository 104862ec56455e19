import { Readable } from 'node:stream'
import type * as ClientS3 from '@aws-sdk/client-s3'
import { keysOf, knownKeys } from '../check-keys.js'
import { FST_MEDIA_INVALID_OPTION, FST_MEDIA_STORAGE } from '../errors.js'
import { isInlineType } from '../mime.js'
import { Disk } from './disk.js'
import { fileNotFound, sourceChanged, type HeadOptions, type ByteRange, type CopyOptions, type MultipartDriver, type DriverContent, type DriverContext, type ListOptions, type ListPage, type PresignedPost, type PresignPostOptions, type ReadOptions, type ResumableStore, type ResumableStoreOptions, type StorageDriver, type WriteOptions } from './driver.js'
import { s3Backing } from '../resumable/s3-backing.js'
import type { S3ClientConfigLike, S3ClientLike } from './s3-client.js'
import { MultipartAborts } from './s3-abort.js'
import { S3Multipart } from './s3-multipart.js'
import { loadPresignedPost, loadSdk, notFound, preconditionFailed, type Sdk } from './s3-sdk.js'
import type { FileStat } from './storage.js'
import { urlPath } from './url-path.js'
import { normalizeStorageName } from './valid-name.js'

export interface S3StorageOptions {
  bucket: string
  /** A key prefix inside the bucket (`media/`): every name lives under it. */
  prefix?: string
  /** A ready-made client; or `clientConfig` to make one. */
  client?: S3ClientLike
  clientConfig?: S3ClientConfigLike
  public?: boolean
  /** Where public files are reached (a CDN or custom domain), ending in `/`. */
  publicUrl?: string
  /** Lifetime of presigned URLs of a private bucket, in seconds. */
  presignExpires?: number
  /**
   * Uploads wait under `prefix/.tmp/` with their name reserved (`prefix/.direct/names/<name>`) and are
   * copied to their name when their request commits: no object is public before its request has
   * succeeded. Costs a copy per file at commit. Default false.
   */
  staged?: boolean
  /**
   * Milliseconds to open a connection to S3 before the request fails (and the SDK retries it). Default 5000;
   * 0: none. Set on the client made from `clientConfig`; with your own `client`, set yours.
   */
  connectionTimeout?: number
  /**
   * Milliseconds an S3 request may go without sending or receiving a byte before it fails (and the SDK
   * retries it): an S3 that accepts connections and never answers. Default 30 000; 0: none. As
   * `connectionTimeout`, for the client made from `clientConfig`.
   */
  socketTimeout?: number
}

// every key the constructor takes (keysOf holds the list to S3StorageOptions); the S3 client's own
// settings, a common slip, are pointed to clientConfig
const OPTIONS = knownKeys(keysOf<S3StorageOptions>()(['bucket', 'prefix', 'client', 'clientConfig', 'public', 'publicUrl', 'presignExpires', 'staged', 'connectionTimeout', 'socketTimeout']),
  Object.fromEntries(['region', 'endpoint', 'forcePathStyle', 'credentials'].map((key) => [key, 'an S3 client setting: put it in clientConfig'])))

/** How long `ready()` waits for the bucket to answer (the SDK's own retries included). */
const READY_TIMEOUT = 5000
/**
 * The SDK's own defaults are no timeout at all (its 'legacy' defaults mode). Its `requestTimeout` bounds a
 * whole request but only logs a warning unless told to throw, and would cut a long CopyObject or a large
 * part on a slow link: the idle timeout (`socketTimeout`) is the one that catches a silent S3.
 */
const TIMEOUTS = { connectionTimeout: 5000, socketTimeout: 30_000 }

/**
 * Files in an S3 bucket (AWS, MinIO, R2, s3rver). Uploads stream (lib-storage: one PUT below 5 MiB, a
 * multipart upload above, both atomic); a failed upload is aborted, so no object appears. Never
 * overwrites: a name is checked with HeadObject and written with `IfNoneMatch: '*'` (servers that ignore
 * it leave a window between processes; within one process, names being written are held).
 */
/** What `url()` returns: a public bucket's URL at once, a private one's presigned GET as a Promise. */
export type S3Url<P extends boolean> = P extends true ? string : Promise<string>

export class S3Storage<P extends boolean = true> extends Disk<S3Url<P>> {
  constructor (options: S3StorageOptions & { public?: P }) {
    OPTIONS.check(options, 'S3Storage')
    if (options.staged !== undefined && typeof options.staged !== 'boolean') throw new FST_MEDIA_INVALID_OPTION('S3Storage.staged', 'must be true or false')
    super(new S3Driver(options), { public: options.public, expiresIn: options.presignExpires, staged: options.staged })
  }
}

export class S3Driver implements StorageDriver {
  readonly #sdk: Sdk
  readonly #client: ClientS3.S3Client
  readonly #bucket: string
  readonly #prefix: string
  readonly #publicUrl: string | undefined
  #baseUrl: string | undefined
  /** How errors at register time name this storage. */
  #label: string
  readonly multipart: MultipartDriver
  readonly #aborts: MultipartAborts

  constructor (options: S3StorageOptions) {
    if (typeof options?.bucket !== 'string' || options.bucket === '') throw new FST_MEDIA_INVALID_OPTION('S3Storage.bucket', 'must be a bucket name')
    if (options.publicUrl !== undefined && !/^(https?:\/\/[^/]+)?\/(.*\/)?$/.test(options.publicUrl)) {
      throw new FST_MEDIA_INVALID_OPTION('S3Storage.publicUrl', 'must be a URL or path ending in "/"')
    }
    this.#sdk = loadSdk()
    // the options are typed without the SDK (s3-client.ts); at run time they are the SDK's own
    const timed = withTimeouts(options)
    this.#client = (options.client as ClientS3.S3Client | undefined) ?? new this.#sdk.s3.S3Client(timed as ClientS3.S3ClientConfig)
    this.#bucket = options.bucket
    this.#prefix = options.prefix === undefined || options.prefix === '' ? '' : `${checkPrefix(options.prefix)}/`
    this.#publicUrl = options.publicUrl
    this.#label = `S3Storage (bucket "${this.#bucket}")`
    const multipart = new S3Multipart(this.#sdk, this.#client, this.#bucket, this.#prefix)
    this.multipart = multipart
    this.#aborts = new MultipartAborts(async (key, uploadId, signal) => await multipart.abort(key, uploadId, { signal }))
  }

  /** The S3 client this storage sends with: yours, or the one made from `clientConfig` (with the timeouts). */
  get client (): S3ClientLike {
    return this.#client
  }

  async resumable (options: ResumableStoreOptions): Promise<ResumableStore> {
    return await s3Backing({ s3: this.#sdk.s3, client: this.#client, bucket: this.#bucket, prefix: this.#prefix, list: this.list.bind(this) }, options)
  }

  /** The app closes: multipart aborts waiting for their next try are tried once more (ABORT_ON_CLOSE_TIMEOUT). */
  async close (): Promise<void> {
    await this.#aborts.flush()
  }

  attach ({ storageName }: DriverContext): void {
    this.#label = `storages.${storageName} (S3Storage, bucket "${this.#bucket}")`
  }

  /**
   * Resolves the client's region and endpoint once (the SDK's config is asynchronous), for public URLs, and
   * checks the bucket answers (HeadBucket, within 5 s): a misconfigured storage fails at register time with
   * FST_MEDIA_STORAGE naming it and the cause, not at the first upload.
   */
  async ready (): Promise<void> {
    const config = this.#client.config
    let region: string
    try {
      region = await config.region()
    } catch (err) {
      throw new FST_MEDIA_STORAGE(this.#label, 'no region: set clientConfig.region, or AWS_REGION', { cause: err })
    }
    const endpoint = config.endpoint === undefined ? undefined : await config.endpoint()
    if (this.#publicUrl !== undefined) {
      this.#baseUrl = this.#publicUrl + this.#prefix
    } else if (endpoint !== undefined && config.forcePathStyle === true) {
      const port = endpoint.port === undefined ? '' : `:${endpoint.port}`
      this.#baseUrl = `${endpoint.protocol}//${endpoint.hostname}${port}${endpoint.path.replace(/\/$/, '')}/${this.#bucket}/${this.#prefix}`
    } else {
      this.#baseUrl = `https://${this.#bucket}.s3.${region}.amazonaws.com/${this.#prefix}`
    }
    try {
      await this.#client.send(new this.#sdk.s3.HeadBucketCommand({ Bucket: this.#bucket }), { abortSignal: AbortSignal.timeout(READY_TIMEOUT) })
    } catch (err) {
      throw new FST_MEDIA_STORAGE(this.#label, this.#bucketProblem(err), { cause: err })
    }
  }

  #bucketProblem (err: unknown): string {
    const { name, message, $metadata } = err as Error & { $metadata?: { httpStatusCode?: number } }
    if ($metadata?.httpStatusCode === 404) return `bucket "${this.#bucket}" does not exist`
    if (name === 'AbortError') return `no answer within ${READY_TIMEOUT} ms`
    return `HeadBucket failed: ${name}: ${message}`
  }

  /**
   * Streams the content up (lib-storage); a failed upload is aborted so that no object and no part is left,
   * and an abort that fails (S3 down) is tried again later. An aborted `signal` cancels every request.
   */
  async write (key: string, content: DriverContent, { ifAbsent, contentType = 'application/octet-stream', cacheControl, contentEncoding, signal }: WriteOptions): Promise<boolean> {
    const upload = new this.#sdk.storage.Upload({
      client: signal === undefined ? this.#client : cancellable(this.#client, signal),
      // two 5 MiB parts in flight: half lib-storage's default, so a burst of uploads holds half the memory
      queueSize: 2,
      // aborted here instead: lib-storage tries once, and its failed abort would hide the upload's own error
      leavePartsOnError: true,
      params: {
        Bucket: this.#bucket,
        Key: this.#prefix + key,
        Body: Buffer.isBuffer(content) ? content : Readable.from(content),
        ContentType: contentType,
        ContentDisposition: isInlineType(contentType) ? undefined : 'attachment',
        CacheControl: cacheControl,
        ContentEncoding: contentEncoding,
        IfNoneMatch: ifAbsent === true ? '*' : undefined
      } as ClientS3.PutObjectCommandInput
    })
    // abort() only rejects done() (with an AbortError); the requests stop by the signal itself
    const stop = (): void => { upload.abort() }
    signal?.addEventListener('abort', stop, { once: true })
    try {
      await upload.done()
    } catch (err) {
      if (upload.uploadId !== undefined) {
        const aborted = this.#aborts.abort(key, upload.uploadId)
        // a save given up answers now: its abort (to an S3 that may not answer) goes on without it
        if (signal?.aborted !== true) await aborted
      }
      if (preconditionFailed(err)) return false
      throw err
    } finally {
      signal?.removeEventListener('abort', stop)
    }
    // after the try, not inside it: V8 counts the code after a try whose every path returns as a missed branch
    return true
  }

  read (key: string, range?: ByteRange, { ifMatch }: ReadOptions = {}): Readable {
    const send = async () => await this.#client.send(new this.#sdk.s3.GetObjectCommand({
      Bucket: this.#bucket,
      Key: this.#prefix + key,
      Range: range === undefined ? undefined : `bytes=${range.start}-${range.end ?? ''}`,
      IfMatch: ifMatch
    }))
    return Readable.from((async function * () {
      const response = await send().catch((err: unknown) => {
        throw notFound(err) ? fileNotFound(key) : preconditionFailed(err) ? sourceChanged(key) : err
      })
      yield * (response.Body as Readable)
    })(), { objectMode: false })
  }

  async head (key: string, { signal }: HeadOptions = {}): Promise<FileStat | undefined> {
    try {
      const head = await this.#client.send(new this.#sdk.s3.HeadObjectCommand({ Bucket: this.#bucket, Key: this.#prefix + key }), { abortSignal: signal })
      return { size: head.ContentLength as number, modified: head.LastModified as Date, contentType: head.ContentType, etag: head.ETag }
    } catch (err) {
      if (notFound(err)) return undefined
      throw err
    }
  }

  async delete (key: string): Promise<void> {
    try {
      await this.#client.send(new this.#sdk.s3.DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#prefix + key }))
    } catch (err) {
      if (!notFound(err)) throw err
    }
  }

  /** ListObjectsV2, a page per request; the cursor is S3's continuation token. */
  async list (prefix: string, { cursor, limit }: ListOptions): Promise<ListPage> {
    const page = await this.#client.send(new this.#sdk.s3.ListObjectsV2Command({ Bucket: this.#bucket, Prefix: this.#prefix + prefix, ContinuationToken: cursor, MaxKeys: limit }))
    const objects = page.Contents ?? []
    const keys = objects.map((object) => (object.Key as string).slice(this.#prefix.length))
    return { keys, modified: objects.map((object) => object.LastModified as Date), cursor: page.IsTruncated === true ? page.NextContinuationToken : undefined }
  }

  /**
   * A server-side copy (CopyObject, up to 5 GiB), conditional where the server honours `IfNoneMatch`. Given
   * a content type, the copy gets its own headers (a browser's upload keeps none of what it claimed).
   */
  async copy (from: string, to: string, { ifMatch, contentType, cacheControl, contentEncoding, signal }: CopyOptions = {}): Promise<boolean> {
    const headers = contentType === undefined
      ? { MetadataDirective: 'COPY' }
      : { MetadataDirective: 'REPLACE', ContentType: contentType, ContentDisposition: isInlineType(contentType) ? undefined : 'attachment', CacheControl: cacheControl, ContentEncoding: contentEncoding }
    try {
      await this.#client.send(new this.#sdk.s3.CopyObjectCommand({
        Bucket: this.#bucket,
        Key: this.#prefix + to,
        CopySource: `${this.#bucket}/${encodeURIComponent(this.#prefix + from).replace(/%2F/g, '/')}`,
        CopySourceIfMatch: ifMatch,
        ...headers,
        IfNoneMatch: '*'
      } as ClientS3.CopyObjectCommandInput), { abortSignal: signal })
      return true
    } catch (err) {
      if (!preconditionFailed(err)) throw err
      // the same status says the source changed (CopySourceIfMatch) or the target exists (IfNoneMatch)
      if (ifMatch === undefined) return false
      const source = await this.head(from)
      if (source === undefined || source.etag !== ifMatch) throw sourceChanged(from)
      return false
    }
  }

  url (key: string): string {
    if (this.#baseUrl === undefined) throw new FST_MEDIA_INVALID_OPTION('S3Storage', 'call `await storage.ready()` (the plugin does) before asking for URLs')
    return this.#baseUrl + urlPath(key)
  }

  /**
   * A POST policy for one key: the exact content type, the size range, the expiry. S3 checks them when
   * the browser posts; the commit checks the bytes again anyway.
   */
  async presignPost (key: string, { contentType, minSize, maxSize, expiresIn }: PresignPostOptions): Promise<PresignedPost> {
    const { createPresignedPost } = loadPresignedPost()
    return await createPresignedPost(this.#client, {
      Bucket: this.#bucket,
      Key: this.#prefix + key,
      Conditions: [['content-length-range', minSize, maxSize], ['eq', '$Content-Type', contentType]],
      Fields: { 'Content-Type': contentType },
      Expires: expiresIn
    })
  }

  async presignRead (key: string, expiresIn: number): Promise<string> {
    const command = new this.#sdk.s3.GetObjectCommand({ Bucket: this.#bucket, Key: this.#prefix + key })
    return await this.#sdk.presigner.getSignedUrl(this.#client, command, { expiresIn })
  }
}

/**
 * The client lib-storage sends with: the SDK's, each request given `signal` (lib-storage passes none to
 * `send`, so aborting the Upload alone leaves its request running).
 */
function cancellable (client: ClientS3.S3Client, signal: AbortSignal): ClientS3.S3Client {
  const send = async (command: never, options?: object): Promise<unknown> => await client.send(command, { ...options, abortSignal: signal })
  return { config: client.config, send } as unknown as ClientS3.S3Client
}

/**
 * `clientConfig` with the timeouts (ours, or the defaults) on its request handler; options the user gave
 * that handler win. A ready-made client, or handler, keeps its own: timeouts given with one are refused.
 */
function withTimeouts ({ client, clientConfig = {}, connectionTimeout, socketTimeout }: S3StorageOptions): S3ClientConfigLike {
  const given = { connectionTimeout, socketTimeout }
  for (const [option, value] of Object.entries(given)) {
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) throw new FST_MEDIA_INVALID_OPTION(`S3Storage.${option}`, 'must be milliseconds (0: none)')
  }
  const handler = clientConfig.requestHandler as { handle?: unknown } | undefined
  const own = client !== undefined ? 'client' : typeof handler?.handle === 'function' ? 'clientConfig.requestHandler' : undefined
  if (own !== undefined) {
    if (connectionTimeout !== undefined || socketTimeout !== undefined) throw new FST_MEDIA_INVALID_OPTION('S3Storage', `${own} is yours and keeps its own timeouts: set them there`)
    return clientConfig
  }
  const timeouts = { connectionTimeout: connectionTimeout ?? TIMEOUTS.connectionTimeout, socketTimeout: socketTimeout ?? TIMEOUTS.socketTimeout }
  return { ...clientConfig, requestHandler: { ...timeouts, ...handler } }
}

function checkPrefix (prefix: string): string {
  const clean = normalizeStorageName(prefix.replace(/\/+$/, ''))
  if (clean === undefined) throw new FST_MEDIA_INVALID_OPTION('S3Storage.prefix', `"${prefix}" is not a key prefix inside the bucket`)
  return clean
}
