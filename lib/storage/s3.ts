import { randomUUID } from 'node:crypto'
import { Readable } from 'node:stream'
import type * as ClientS3 from '@aws-sdk/client-s3'
import { keysOf, knownKeys } from '../check-keys.js'
import { FST_MEDIA_INVALID_NAME, FST_MEDIA_INVALID_OPTION, FST_MEDIA_STORAGE } from '../errors.js'
import { isInlineType, typeForName } from '../mime.js'
import type { S3ClientConfigLike, S3ClientLike } from './s3-client.js'
import { asBuffer, loadSdk, notFound, preconditionFailed, type Sdk } from './s3-sdk.js'
import type { Content, FileStat, SaveOptions, Storage, StorageContext, UrlOptions } from './storage.js'
import { fitName, normalizeStorageName, withRandomSuffix } from './valid-name.js'
import { urlPath } from './url-path.js'

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
}

// every key the constructor takes (keysOf holds the list to S3StorageOptions); the S3 client's own
// settings, a common slip, are pointed to clientConfig
const OPTIONS = knownKeys(keysOf<S3StorageOptions>()(['bucket', 'prefix', 'client', 'clientConfig', 'public', 'publicUrl', 'presignExpires']),
  Object.fromEntries(['region', 'endpoint', 'forcePathStyle', 'credentials'].map((key) => [key, 'an S3 client setting: put it in clientConfig'])))

/** Below this, lib-storage sends one PUT (and holds its bytes). */
const SINGLE_PUT = 5 * 1024 * 1024
const NAME_ATTEMPTS = 5
/** How long `ready()` waits for the bucket to answer (the SDK's own retries included). */
const READY_TIMEOUT = 5000

/**
 * Files in an S3 bucket (AWS, MinIO, R2, s3rver). Uploads stream (lib-storage: one PUT below 5 MiB, a
 * multipart upload above, both atomic); a failed upload is aborted, so no object appears. Never
 * overwrites: a name is checked with HeadObject and written with `IfNoneMatch: '*'` (servers that ignore
 * it leave a window between processes; within one process, names being written are held).
 */
export class S3Storage implements Storage {
  readonly public: boolean
  readonly #sdk: Sdk
  readonly #client: ClientS3.S3Client
  readonly #bucket: string
  readonly #prefix: string
  readonly #publicUrl: string | undefined
  readonly #presignExpires: number
  #baseUrl: string | undefined
  readonly #writing = new Set<string>()
  /** How errors at register time name this storage. */
  #label: string

  constructor (options: S3StorageOptions) {
    OPTIONS.check(options, 'S3Storage')
    if (typeof options?.bucket !== 'string' || options.bucket === '') throw new FST_MEDIA_INVALID_OPTION('S3Storage.bucket', 'must be a bucket name')
    if (options.publicUrl !== undefined && !/^(https?:\/\/[^/]+)?\/(.*\/)?$/.test(options.publicUrl)) {
      throw new FST_MEDIA_INVALID_OPTION('S3Storage.publicUrl', 'must be a URL or path ending in "/"')
    }
    this.#sdk = loadSdk()
    // the options are typed without the SDK (s3-client.ts); at run time they are the SDK's own
    this.#client = (options.client as ClientS3.S3Client | undefined) ?? new this.#sdk.s3.S3Client((options.clientConfig ?? {}) as ClientS3.S3ClientConfig)
    this.#bucket = options.bucket
    this.#prefix = options.prefix === undefined || options.prefix === '' ? '' : `${S3Storage.#checkPrefix(options.prefix)}/`
    this.public = options.public ?? true
    this.#publicUrl = options.publicUrl
    this.#presignExpires = options.presignExpires ?? 3600
    this.#label = `S3Storage (bucket "${this.#bucket}")`
  }

  attach (context: StorageContext): void {
    this.#label = `storages.${context.storageName} (S3Storage, bucket "${this.#bucket}")`
  }

  static #checkPrefix (prefix: string): string {
    const clean = normalizeStorageName(prefix.replace(/\/+$/, ''))
    if (clean === undefined) throw new FST_MEDIA_INVALID_OPTION('S3Storage.prefix', `"${prefix}" is not a key prefix inside the bucket`)
    return clean
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

  #clean (name: string): string {
    const clean = normalizeStorageName(name)
    if (clean === undefined) throw new FST_MEDIA_INVALID_NAME(name, 'not a name inside the storage')
    return clean
  }

  #key (name: string): string {
    return this.#prefix + this.#clean(name)
  }

  async #head (name: string): Promise<ClientS3.HeadObjectCommandOutput | undefined> {
    try {
      return await this.#client.send(new this.#sdk.s3.HeadObjectCommand({ Bucket: this.#bucket, Key: this.#key(name) }))
    } catch (err) {
      if (notFound(err)) return undefined
      throw new FST_MEDIA_STORAGE('head', (err as Error).name, { cause: err })
    }
  }

  /**
   * A name neither stored nor being written. With `reserve`, it is held for this process before the check
   * with the server (synchronously, so two saves here can never both pass it); the caller releases it.
   */
  async #available (wanted: string, maxLength: number, reserve: boolean): Promise<string> {
    let candidate = wanted
    for (;;) {
      if (!this.#writing.has(candidate)) {
        if (reserve) this.#writing.add(candidate)
        if (await this.#head(candidate) === undefined) return candidate
        if (reserve) this.#writing.delete(candidate)
      }
      const suffixed = withRandomSuffix(wanted, maxLength)
      if (suffixed === undefined) throw new FST_MEDIA_INVALID_NAME(wanted, `taken, and no room for a unique suffix within ${maxLength} bytes`)
      candidate = suffixed
    }
  }

  #fit (name: string, maxLength: number): string {
    const fitted = fitName(this.#clean(name), maxLength)
    if (fitted === undefined) throw new FST_MEDIA_INVALID_NAME(name, `longer than ${maxLength} bytes`)
    return fitted
  }

  async #upload (key: string, content: Content, { contentType, cacheControl, contentEncoding }: { contentType: string, cacheControl?: string, contentEncoding?: string }, failure: { error?: unknown }): Promise<void> {
    // the content's own error is the one to report: lib-storage's abort may fail on its own (s3rver: 405)
    const body = Readable.from((async function * () {
      try {
        for await (const chunk of Buffer.isBuffer(content) ? [content] : content) yield asBuffer(chunk)
      } catch (err) {
        failure.error = err
        throw err
      }
    })())
    const upload = new this.#sdk.storage.Upload({
      client: this.#client,
      // two 5 MiB parts in flight: half lib-storage's default, so a burst of uploads holds half the memory
      queueSize: 2,
      params: {
        Bucket: this.#bucket,
        Key: key,
        Body: body,
        ContentType: contentType,
        ContentDisposition: isInlineType(contentType) ? undefined : 'attachment',
        CacheControl: cacheControl,
        ContentEncoding: contentEncoding,
        IfNoneMatch: '*'
      } as ClientS3.PutObjectCommandInput
    })
    try {
      await upload.done()
    } catch (err) {
      await upload.abort().catch(() => {})
      throw failure.error ?? new FST_MEDIA_STORAGE('save', (err as Error).name, { cause: err })
    }
  }

  async save (name: string | (() => string), content: Content, opts: SaveOptions = {}): Promise<string> {
    const maxLength = opts.maxLength ?? 255
    const failure: { error?: unknown } = {}
    if (typeof name === 'function') {
      // the name waits for the content: upload under a temporary key, then copy to the final one
      const temp = `${this.#prefix}.tmp/${randomUUID()}`
      await this.#upload(temp, content, { contentType: opts.contentType ?? 'application/octet-stream' }, failure)
      try {
        const wanted = await this.#available(this.#fit(name(), maxLength), maxLength, true)
        return await this.#commit(wanted, opts, async (key) => {
          await this.#client.send(new this.#sdk.s3.CopyObjectCommand({ Bucket: this.#bucket, Key: key, CopySource: `${this.#bucket}/${encodeURIComponent(temp).replace(/%2F/g, '/')}`, MetadataDirective: 'COPY' }))
        })
      } finally {
        await this.#client.send(new this.#sdk.s3.DeleteObjectCommand({ Bucket: this.#bucket, Key: temp })).catch(() => {})
      }
    }
    const fitted = this.#fit(name, maxLength)
    const contentType = opts.contentType ?? typeForName(fitted)
    const source = Buffer.isBuffer(content) ? [content][Symbol.iterator]() : content[Symbol.asyncIterator]()
    const head: Buffer[] = []
    let size = 0
    let next = await source.next()
    for (; next.done !== true && size <= SINGLE_PUT; next = await source.next()) {
      head.push(asBuffer(next.value))
      size += next.value.length
    }
    if (next.done === true) {
      // one PUT, whose bytes lib-storage would hold anyway: held here, a name another process took at the
      // last moment (412 to IfNoneMatch) is tried again under a new one
      const body = Buffer.concat(head, size)
      for (let attempt = 1; ; attempt++) {
        const wanted = await this.#available(fitted, maxLength, true)
        try {
          return await this.#commit(wanted, opts, async (key) => await this.#upload(key, body, { ...opts, contentType }, failure))
        } catch (err) {
          if (!preconditionFailed(err) || attempt === NAME_ATTEMPTS) throw err
        }
      }
    }
    // larger: streamed as a multipart upload, whose bytes are gone once sent; a 412 there is an error
    const rest = (async function * () {
      yield * head
      for (; next.done !== true; next = await source.next()) yield asBuffer(next.value)
    })()
    const wanted = await this.#available(fitted, maxLength, true)
    return await this.#commit(wanted, opts, async (key) => await this.#upload(key, rest, { ...opts, contentType }, failure))
  }

  /** Writes under a reserved name, and gives the reservation up whatever happens. */
  async #commit (name: string, opts: SaveOptions, write: (key: string) => Promise<void>): Promise<string> {
    opts.claim?.(name)
    try {
      await write(this.#key(name))
    } catch (err) {
      this.#writing.delete(name)
      opts.release?.(name)
      throw err
    }
    this.#writing.delete(name)
    return name
  }

  open (name: string): Readable {
    const key = this.#key(name)
    const send = async () => await this.#client.send(new this.#sdk.s3.GetObjectCommand({ Bucket: this.#bucket, Key: key }))
    return Readable.from((async function * () {
      let response
      try {
        response = await send()
      } catch (err) {
        if (notFound(err)) throw Object.assign(new Error(`ENOENT: no such object '${key}'`), { code: 'ENOENT' })
        throw err
      }
      yield * (response.Body as Readable)
    })(), { objectMode: false })
  }

  async delete (name: string): Promise<void> {
    try {
      await this.#client.send(new this.#sdk.s3.DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#key(name) }))
    } catch (err) {
      if (!notFound(err)) throw new FST_MEDIA_STORAGE('delete', (err as Error).name, { cause: err })
    }
  }

  async exists (name: string): Promise<boolean> {
    try {
      return await this.#head(name) !== undefined
    } catch {
      return false
    }
  }

  async size (name: string): Promise<number> {
    return (await this.stat(name)).size
  }

  async stat (name: string): Promise<FileStat> {
    const head = await this.#head(name)
    if (head === undefined) throw new FST_MEDIA_STORAGE('stat', 'ENOENT')
    return { size: head.ContentLength as number, modified: head.LastModified as Date, contentType: head.ContentType }
  }

  url (name: string, opts: UrlOptions = {}): string | Promise<string> {
    const clean = this.#clean(name)
    if (!this.public) {
      const command = new this.#sdk.s3.GetObjectCommand({ Bucket: this.#bucket, Key: this.#prefix + clean })
      return this.#sdk.presigner.getSignedUrl(this.#client, command, { expiresIn: opts.expiresIn ?? this.#presignExpires })
    }
    if (this.#baseUrl === undefined) throw new FST_MEDIA_INVALID_OPTION('S3Storage', 'call `await storage.ready()` (the plugin does) before asking for URLs')
    return this.#baseUrl + urlPath(clean)
  }

  async list (prefix = ''): Promise<string[]> {
    const start = this.#prefix + (prefix === '' ? '' : `${this.#clean(prefix.replace(/\/+$/, ''))}/`)
    const names: string[] = []
    // ListObjects (v1) paged by the last key: v2's continuation tokens are DES-encrypted by s3rver, which
    // fails on Node 20 (OpenSSL 3); AWS, MinIO and R2 all serve v1 with a Marker
    let after: string | undefined
    for (;;) {
      const page = await this.#client.send(new this.#sdk.s3.ListObjectsCommand({ Bucket: this.#bucket, Prefix: start, Marker: after }))
      const keys = (page.Contents ?? []).map((object) => object.Key as string)
      for (const key of keys) {
        const name = key.slice(this.#prefix.length)
        if (!name.startsWith('.tmp/')) names.push(name)
      }
      if (page.IsTruncated !== true || keys.length === 0) return names.sort()
      after = keys.at(-1)
    }
  }

  async getAvailableName (name: string, maxLength = 255): Promise<string> {
    return await this.#available(this.#fit(name, maxLength), maxLength, false)
  }
}
