import { knownKeys } from './check-keys.js'
import { FST_MEDIA_INVALID_OPTION } from './errors.js'
import { createModel, type Fields, type Model } from './fields/model.js'
import { srcset, type SrcsetImage } from './image/srcset.js'
import type { MediaConfig } from './options.js'
import type { CollectOptions, CollectResult } from './static/collect.js'
import type { FoundFile } from './static/finders.js'
import type { StaticFiles } from './static/static-files.js'
import type { Storage } from './storage/storage.js'
import type { DirectUploads, PresignRequest, PresignResult } from './direct/direct-uploads.js'
import { directRoutes, type DirectRoutesOptions } from './direct/routes.js'
import type { BoundField } from './fields/model.js'
import type { UploadedPart } from './storage/driver.js'
import type { FastifyPluginAsync } from 'fastify'
import type { ResumableOptions } from './resumable/options.js'
import type { ResumableUploads } from './resumable/resumable-uploads.js'
import { resumableEndpoint } from './resumable/routes.js'
import { sweep } from './lifecycle/sweep.js'
import { parseSweep, type SweepOptions, type SweepResult } from './lifecycle/sweep-options.js'
import { Disk } from './storage/disk.js'
import type { PendingNames } from './upload/pending.js'
import type { VariantMaker } from './image/on-demand.js'

const ADD_STATIC_DIR_OPTIONS = knownKeys(['prefix'])

/** What `app.media` offers. */
export interface MediaApi {
  /** The resolved, frozen configuration. */
  readonly config: MediaConfig
  /** Declares a model: named file fields that upload routes and records share. */
  model: <F extends Fields>(name: string, fields: F) => Model<F>
  /** A storage by its name in `storages` ('default' for the media root). */
  storage: (name?: string) => Storage
  /** The URL of a static file for a page (`css/app.css` -> `/static/css/app.3f2a9c1be0d4.css` in production). */
  static: (path: string) => string
  /** Adds a directory of static files (for other plugins, like Django's app directories). */
  addStaticDir: (dir: string, options?: { prefix?: string }) => void
  /** Fills `static.root`: what `fastify-media collectstatic` runs. */
  collectstatic: (options?: CollectOptions) => Promise<CollectResult>
  /** Every static dir holding a path, the winner first: what `fastify-media findstatic` prints. */
  findstatic: (path: string) => Promise<FoundFile[]>
  /** A `srcset` attribute of an image's variants (all of them by default): `'/media/a.png@s.webp 200w, …'`. */
  srcset: <V extends string>(image: SrcsetImage<V>, variants?: readonly V[]) => string
  /**
   * Where a browser sends a file of a `direct` field itself: a POST form, or a multipart upload for a file
   * above the field's `multipartAbove`. The `token` in the result, sent as the field's form value, commits it.
   */
  presign: (field: BoundField, file: PresignRequest) => Promise<PresignResult>
  /** A URL for one part of a multipart upload. */
  signPart: (token: string, partNumber: number) => Promise<{ url: string }>
  /** The parts the storage has of a multipart upload. */
  listParts: (token: string) => Promise<UploadedPart[]>
  /** Joins a multipart upload's parts (`{ PartNumber, ETag }`, as the part uploads answered); 413 past the field's maxSize. */
  completeMultipart: (token: string, parts: readonly UploadedPart[]) => Promise<void>
  /** Drops a multipart upload and its parts. */
  abortMultipart: (token: string) => Promise<void>
  /** A plugin of the JSON routes a browser calls around direct uploads: `app.register(app.media.directRoutes, { prefix, fields })`. */
  directRoutes: FastifyPluginAsync<DirectRoutesOptions>
  /**
   * A plugin mounting a tus 1.0 endpoint for these fields at `prefix`, in the scope it is registered in
   * (`await app.register(app.media.resumable('/files', { fields }))`). An upload's URL, sent as its field's
   * form value, commits the file on an upload route.
   */
  resumable: (prefix: string, options: ResumableOptions) => FastifyPluginAsync
  /**
   * Removes resumable uploads, finished or not, that no form committed: those older than `olderThan`
   * seconds (default each endpoint's `expiresIn`). What the endpoints' timers run; resolves how many went.
   */
  expireUploads: (options?: { olderThan?: number }) => Promise<number>
  /**
   * Removes the files of a storage that no record names (`isReferenced`), older than `olderThan`, and what
   * the plugin's own prefixes hold of abandoned uploads; `dryRun` only counts. What `fastify-media sweep` runs.
   */
  sweep: (options: SweepOptions) => Promise<SweepResult>
}

export function createMediaApi (config: MediaConfig, staticFiles: StaticFiles | undefined, direct: DirectUploads, resumable: ResumableUploads, pending: PendingNames, maker: VariantMaker): MediaApi {
  const models = new Set<string>()
  const statics = (): StaticFiles => {
    if (staticFiles === undefined) throw new FST_MEDIA_INVALID_OPTION('static', 'static files are turned off (static: false)')
    return staticFiles
  }
  return Object.freeze({
    config,
    model<F extends Fields> (name: string, fields: F): Model<F> {
      if (models.has(name)) throw new FST_MEDIA_INVALID_OPTION('model', `"${name}" is declared twice`)
      const model = createModel(name, fields, config.storages)
      for (const field of Object.values(model.fields)) {
        direct.register(field)
        maker.declare(name, field.name, field.options, field.storage)
      }
      models.add(name)
      return model
    },
    storage (name = 'default'): Storage {
      const storage = config.storages.get(name)
      if (storage === undefined) throw new FST_MEDIA_INVALID_OPTION('storage', `no storage named "${name}"`)
      return storage
    },
    static: (path: string) => statics().url(path),
    addStaticDir: (dir: string, options: { prefix?: string } = {}) => {
      ADD_STATIC_DIR_OPTIONS.check(options, 'addStaticDir')
      statics().addDir(dir, options.prefix)
    },
    collectstatic: async (options?: CollectOptions) => await statics().collect(options),
    findstatic: async (path: string) => await statics().find(path),
    srcset,
    presign: direct.presign.bind(direct),
    signPart: direct.signPart.bind(direct),
    listParts: direct.listParts.bind(direct),
    completeMultipart: direct.completeMultipart.bind(direct),
    abortMultipart: direct.abortMultipart.bind(direct),
    directRoutes: directRoutes(direct),
    resumable: (prefix: string, options: ResumableOptions) => resumableEndpoint(resumable, prefix, options),
    expireUploads: resumable.expire.bind(resumable),
    async sweep (options: SweepOptions): Promise<SweepResult> {
      const rules = parseSweep(options, config.isReferenced)
      const storage = config.storages.get(rules.storage)
      if (!(storage instanceof Disk)) throw new FST_MEDIA_INVALID_OPTION('sweep.storage', storage === undefined ? `no storage named "${rules.storage}"` : `"${rules.storage}" is not a storage the plugin can list (a Disk)`)
      return await sweep(storage, rules, {
        isPending: (name) => pending.has(storage, name),
        tokenLifetime: direct.tokenLifetime(storage),
        expireUploads: async (olderThan) => await resumable.expire({ olderThan, storage })
      })
    }
  })
}
