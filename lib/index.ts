import fastifyMultipart from '@fastify/multipart'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { randomBytes } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import * as errors from './errors.js'
import { nameStorage } from './events.js'
import { serveMedia } from './media/serve.js'
import { makeMissingVariant, variantRedirects } from './media/variant-routes.js'
import { VariantMaker } from './image/on-demand.js'
import { attachMaker, detachMaker } from './image/later.js'
import { resolveOptions, type FastifyMediaOptions } from './options.js'
import { createMediaApi } from './plugin-api.js'
import { servedStorages } from './storage/served.js'
import { sweepScratch } from './storage/sweep-scratch.js'
import type { Storage } from './storage/storage.js'
import { serveStream } from './media/serve-stream.js'
import { serveXAccel } from './media/x-accel.js'
import { signQuery, verifyQuery } from './storage/signing.js'
import { cliCommand, recordInstance } from './registry.js'
import { staticDirWarnings } from './static/check-dirs.js'
import { serveDevelopment, serveProduction } from './static/serve.js'
import { StaticFiles } from './static/static-files.js'
import { PendingNames } from './upload/pending.js'
import { kUploads, uploadRoutes } from './upload/route.js'
import { DirectUploads } from './direct/direct-uploads.js'
import { ResumableUploads } from './resumable/resumable-uploads.js'
import './types.js'

async function fastifyMedia (app: FastifyInstance, options: FastifyMediaOptions): Promise<void> {
  // Under the CLI (which lets nothing in its process listen) only static work is done: private storages
  // need no signingKey (a throwaway one signs URLs nobody can fetch) and storages are not contacted.
  const cli = cliCommand()
  const config = resolveOptions(cli !== undefined && options.signingKey === undefined ? { ...options, signingKey: randomBytes(32) } : options)

  // the first key signs; every key verifies, so that URLs and tokens signed before a rotation stay valid
  const keys = config.signingKeys
  const key = keys?.[0]
  const attached: Storage[] = []
  // a storage serves one live app at a time: let it go when this one closes, or fails to register
  app.addHook('onClose', async () => {
    // a storage is let go once its work left for later is over (S3's close gives up on its own, bounded)
    await Promise.allSettled(attached.map(async (storage) => await storage.close?.()))
    for (const storage of attached) storage.detach?.()
  })
  try {
    for (const [storageName, storage] of config.storages) {
      nameStorage(storage, storageName)
      storage.attach?.({
        storageName,
        baseDir: config.baseDir,
        sign: key === undefined ? undefined : (name, expiresIn) => signQuery(key, storageName, name, expiresIn)
      })
      attached.push(storage)
    }
  } catch (err) {
    for (const storage of attached) storage.detach?.()
    throw err
  }

  if (cli === undefined) {
    for (const storage of config.storages.values()) await storage.ready?.()
    sweepScratch(app, config.storages, config.limits.uploadTimeout)
  }
  if (config.static !== false) await config.static.storage?.ready?.()

  // reuse the user's @fastify/multipart when it is there; our limits go with each request
  if (!app.hasContentTypeParser('multipart/form-data')) await app.register(fastifyMultipart)

  app.decorateRequest('uploads', {
    getter (this: FastifyRequest & { [kUploads]?: unknown }) {
      const uploads = this[kUploads]
      if (uploads === undefined) {
        throw new errors.FST_MEDIA_NOT_UPLOAD_ROUTE(`req.uploads: ${this.method} ${this.url} is not an upload route (declare it with { upload: Model } after registering fastify-media)`)
      }
      return uploads
    }
  } as never)
  const pending = new PendingNames()
  const documented: Array<() => void> = []
  const direct = new DirectUploads(keys)
  const resumable = new ResumableUploads()
  app.addHook('onRoute', uploadRoutes(config.limits, pending, documented, { direct, resumable }))
  // by now every route's validation is compiled: readers of routeOptions.schema (@fastify/swagger) see the document
  app.addHook('onReady', async () => {
    for (const document of documented.splice(0)) document()
  })

  const served = servedStorages(config.storages, config.baseDir)
  const maker = new VariantMaker({
    config: config.variants,
    storages: config.storages,
    log: app.log,
    servedByApp: new Set(served.map(({ storage }) => storage)),
    sign: key === undefined ? undefined : (storageName, name) => signQuery(key, storageName, name, 3600)
  })
  for (const storage of config.storages.values()) attachMaker(storage, maker)
  app.addHook('onClose', async () => { for (const storage of config.storages.values()) detachMaker(storage, maker) })
  if (cli === undefined) {
    await maker.start()
    // added after the storages' detach: closing runs it first, so queued variants still reach their storage
    app.addHook('onClose', async () => await maker.close())
  }
  for (const { storageName, storage, baseUrl, location, xAccel, head, read } of served) {
    const serve = {
      prefix: baseUrl,
      isPending: (name: string) => pending.has(storage, name),
      // options.ts guarantees a key for every private storage
      verify: storage.public ? undefined : (name: string, query: Record<string, unknown>) => verifyQuery(keys!, storageName, name, query)
    }
    // a scope of its own: a missing later variant is made before the route serves it
    await app.register(async function variants (scope) {
      scope.addHook('onRequest', makeMissingVariant({ maker, storage, verify: serve.verify, isPending: serve.isPending }))
      if (xAccel) {
        await serveXAccel(scope, { ...serve, storageName })
      } else if (location === undefined) {
        await serveStream(scope, { ...serve, head, read })
      } else {
        await mkdir(location, { recursive: true })
        await serveMedia(scope, { ...serve, root: location })
      }
    })
  }
  const selfServed = [...config.storages].filter(([, storage]) => !served.some((entry) => entry.storage === storage))
  if (selfServed.length > 0) {
    await variantRedirects(app, {
      url: config.variants.url,
      maker,
      storages: new Map(selfServed),
      verify: (storageName, name, query) => verifyQuery(keys!, storageName, name, query),
      isPending: (storage, name) => pending.has(storage, name)
    })
  }

  let staticFiles: StaticFiles | undefined
  if (config.static !== false) {
    for (const { option, dir, message } of await staticDirWarnings(config.static.dirs)) app.log.warn({ option, dir }, message)
    const storageLocations = served.flatMap(({ storageName, location }) => location === undefined ? [] : [{ name: storageName, location }])
    staticFiles = new StaticFiles(config.static, config.mode, config.baseDir, storageLocations)
    if (config.mode === 'production') {
      await staticFiles.loadMemory()
      await serveProduction(app, { url: config.static.url, root: config.static.root, finders: staticFiles.finders, isHashed: (path) => staticFiles!.isHashed(path), memory: staticFiles.memory, cors: config.static.cors })
    } else {
      await serveDevelopment(app, { url: config.static.url, finders: staticFiles.finders, baseDir: config.baseDir, cors: config.static.cors })
    }
  }

  const api = createMediaApi(config, staticFiles, direct, resumable, pending, maker)
  recordInstance({ api, instance: app })
  app.decorate('media', api)
}

export default fp(fastifyMedia, { fastify: '5.x', name: 'fastify-media' })
export { fastifyMedia }
export { errors }
export type { Refusal, RefusalDetails } from './refusal.js'
export type { DeletedMessage, DeleteReason, RefusedMessage, StoredMessage } from './events.js'
export { formatBytes, parseBytes } from './bytes.js'
export { FileField, ImageField } from './fields/field.js'
export type { FileFieldOptions, ImageFieldOptions, ImageFormat, FieldSpec, PlaceholderKind } from './fields/field.js'
export { FieldFile, ImageFile } from './fields/field-file.js'
export type { FieldFileJSON, ImageFileJSON, ImageJSONOf, Loaded, WithPlaceholder } from './fields/field-file.js'
export type { VariantFormat, VariantGeneration, VariantOptions } from './image/variant-options.js'
export type { VariantsOptions } from './image/generation-options.js'
export type { VariantJob, VariantQueue } from './image/variant-queue.js'
export { InProcessVariantQueue } from './image/variant-queue.js'
export { bullmqVariantQueue } from './image/bullmq-queue.js'
export type { BullmqVariantQueueOptions } from './image/bullmq-queue.js'
export type { DirectOptions } from './direct/options.js'
export type { PresignedForm, PresignedMultipart, PresignRequest, PresignResult } from './direct/direct-uploads.js'
export type { DirectRoutesOptions } from './direct/routes.js'
export type { ResumableOptions } from './resumable/options.js'
export type { SweepOptions, SweepProgress, SweepResult } from './lifecycle/sweep-options.js'
export { redisLocker } from './resumable/redis-locker.js'
export type { RedisLock, RedisLockClient, RedisLockerOptions } from './resumable/redis-locker.js'
export type { RedisSubscriber } from './resumable/redis-channels.js'
export type { SrcsetImage } from './image/srcset.js'
export type { BoundField, Fields, LoadedFileOf, LoadedOf, LoadedRowOf, Model, RecordOf, RowOf, Uploads, UploadsOf, UploadValue } from './fields/model.js'
export type { ReplaceOptions } from './fields/replace.js'
export type { UploadTo, UploadToContext } from './fields/upload-to.js'
export type { FastifyMediaOptions, IsReferenced, MediaConfig } from './options.js'
export type { MediaApi } from './plugin-api.js'
export type { CollectOptions, CollectResult } from './static/collect.js'
export type { FoundFile } from './static/finders.js'
export type { StaticDir } from './options.js'
export { FileSystemStorage } from './storage/filesystem.js'
export { MemoryStorage } from './storage/memory.js'
export { S3Storage } from './storage/s3.js'
export type { S3StorageOptions } from './storage/s3.js'
export type { S3ClientConfigLike, S3ClientLike } from './storage/s3-client.js'
export type { MemoryStorageOptions } from './storage/memory.js'
export type { FileSystemStorageOptions } from './storage/filesystem.js'
export type { Content, FileStat, MediaStorages, SaveOptions, ServedFiles, Storage, StorageContext, StorageUrl, UrlOptions } from './storage/storage.js'
export { Disk } from './storage/disk.js'
export type { DiskOptions } from './storage/disk.js'
export { fileNotFound, pageOf } from './storage/driver.js'
export { sourceChanged } from './storage/driver.js'
export type { ByteRange, CopyOptions, DriverContent, DriverContext, ListOptions, ListPage, MultipartDriver, PresignedPost, PresignPostOptions, ReadOptions, StorageDriver, UploadedPart, WriteOptions } from './storage/driver.js'
