import type { FastifyBaseLogger } from 'fastify'
import { buffer as readAll } from 'node:stream/consumers'
import { formatBytes } from '../bytes.js'
import { FST_MEDIA_BUSY, FST_MEDIA_INVALID_IMAGE, FST_MEDIA_INVALID_OPTION, FST_MEDIA_VARIANT_FAILED } from '../errors.js'
import { storageName, storedChannel, type StoredMessage } from '../events.js'
import type { ResolvedField } from '../fields/field.js'
import { typeForName } from '../mime.js'
import type { Storage } from '../storage/storage.js'
import { urlPath } from '../storage/url-path.js'
import { splitExtension } from '../storage/valid-name.js'
import { checkHeader, readImageHeader, unreadableHeader } from '../upload/image-header.js'
import { IMAGE_FORMAT_OF, type ImageFormat } from './formats.js'
import type { GenerationConfig } from './generation-options.js'
import { makeVariant } from './process.js'
import { imageSlots } from './slots.js'
import { variantFormat, variantName, type ResolvedVariant } from './variant-options.js'
import type { VariantJob } from './variant-queue.js'

export interface MakerOptions {
  config: GenerationConfig
  /** The plugin's storages by name (a queued job names its storage). */
  storages: ReadonlyMap<string, Storage>
  log: FastifyBaseLogger
  /** The storages whose files the app's own routes serve. */
  servedByApp: ReadonlySet<Storage>
  /** The query of a signed app URL (a private storage's); present when the plugin has a signingKey. */
  sign: ((storageName: string, name: string) => string) | undefined
}

/** A variant made after its upload, as one field declares it. */
interface Recipe {
  variant: ResolvedVariant
  field: ResolvedField
  fieldName: string
  model: string
}

/** A name that is a declared variant of an original in the same storage. */
interface Target {
  name: string
  original: string
  format: ImageFormat
  recipes: Recipe[]
}

/** What went wrong with an image (its header, its decode, its time budget): the same answer every time. */
const isImageFailure = (err: unknown): boolean => (err as { code?: unknown }).code === 'FST_MEDIA_INVALID_IMAGE'

/**
 * Makes the variants declared `generation: 'lazy'` or `'background'` when they are first asked for: by a
 * request for their URL, or by a job of the background queue. One app's: it knows the app's models.
 *
 * - Only declared variants: a name must be `<original>@<key>.<ext>` for a key and format some field of that
 *   storage declares; anything else is left to the route (404), with nothing read.
 * - Single-flight: concurrent asks for one variant in this process share one make. Across processes the
 *   storage's never-overwrite save decides: the first file stored wins, a later one is discarded.
 * - Guards: the work holds an image slot; past `maxQueue` waiting, a request is refused (503). The field's
 *   size, pixel, frame and dimension limits are checked again on the original's header before any decode,
 *   and sharp's `timeout` bounds the decode and encode.
 * - A variant that cannot be made is remembered (the last `failures` of them) and answered 422 at once.
 */
export class VariantMaker {
  readonly #config: GenerationConfig
  readonly #storages: ReadonlyMap<string, Storage>
  readonly #log: FastifyBaseLogger
  readonly #servedByApp: ReadonlySet<Storage>
  readonly #sign: ((storageName: string, name: string) => string) | undefined
  readonly #recipes = new Map<Storage, Map<string, Recipe[]>>()
  readonly #flights = new Map<Storage, Map<string, Promise<boolean>>>()
  readonly #failures = new Map<string, Error>()

  constructor ({ config, storages, log, servedByApp, sign }: MakerOptions) {
    this.#config = config
    this.#storages = storages
    this.#log = log
    this.#servedByApp = servedByApp
    this.#sign = sign
  }

  /**
   * A later variant's URL. Where the app serves the storage, the file's own URL: its route makes a missing
   * variant. A storage that serves its own URLs (a bucket) never sends a miss to the app, so its later
   * variants are reached through the app's `variants.url` route (signed like a private file when the
   * storage is private), which makes the variant once and redirects to the storage's URL.
   */
  url (storage: Storage, name: string): string | Promise<string> {
    if (this.#servedByApp.has(storage)) return storage.url(name)
    const storageKey = storageName(storage) as string
    const url = `${this.#config.url}${encodeURIComponent(storageKey)}/${urlPath(name)}`
    return storage.public ? url : `${url}?${this.#sign!(storageKey, name)}`
  }

  /**
   * Learns a field's later variants. A key names one recipe per storage (the URL is all a request has), so
   * two fields of one storage declaring the same key differently are refused.
   */
  declare (model: string, fieldName: string, field: ResolvedField, storage: Storage): void {
    const rules = field.image
    if (rules === undefined) return
    const byKey = this.#recipes.get(storage) ?? new Map<string, Recipe[]>()
    for (const variant of rules.variants) {
      if (variant.generation === 'upload') continue
      const recipes = byKey.get(variant.key) ?? []
      const other = recipes.find((recipe) => !sameRecipe(recipe, variant, rules.autoOrient))
      if (other !== undefined) {
        throw new FST_MEDIA_INVALID_OPTION(`${model}.${fieldName}.variants.${variant.key}`, `${other.model}.${other.fieldName} declares a different "${variant.key}" in the same storage (a variant URL names its key only)`)
      }
      recipes.push({ variant, field, fieldName, model })
      byKey.set(variant.key, recipes)
    }
    if (byKey.size > 0) this.#recipes.set(storage, byKey)
  }

  /** Whether this storage has variants made after upload: its route asks `ensure` for names with `@`. */
  makesIn (storage: Storage): boolean {
    return this.#recipes.has(storage)
  }

  /** The declared variant a name is, or undefined. */
  #target (storage: Storage, name: string): Target | undefined {
    const at = name.lastIndexOf('@')
    if (at <= 0) return undefined
    const original = name.slice(0, at)
    const { stem: key, ext } = splitExtension(name.slice(at + 1))
    const format = IMAGE_FORMAT_OF[splitExtension(original).ext.toLowerCase()]
    if (format === undefined) return undefined
    const recipes = (this.#recipes.get(storage)?.get(key) ?? []).filter((recipe) =>
      recipe.field.image?.formats.has(format) === true && variantName(original, key, variantFormat(recipe.variant, format)) === name && ext !== '')
    return recipes.length === 0 ? undefined : { name, original, format, recipes }
  }

  /**
   * Makes `name` unless it exists, when it is a declared variant. Resolves true when the variant is there
   * now, false when it is not a declared variant or has no original (the route answers 404). Throws
   * FST_MEDIA_VARIANT_FAILED (422) for an image that cannot give it, FST_MEDIA_BUSY (503) past `maxQueue`.
   */
  async ensure (storage: Storage, name: string, { queued = false } = {}): Promise<boolean> {
    const target = this.#target(storage, name)
    if (target === undefined) return false
    const failed = this.#failures.get(failureKey(storage, name))
    if (failed !== undefined) throw failed
    let flight = this.#flights.get(storage)?.get(name)
    if (flight === undefined) {
      if (await storage.exists(name)) return true
      flight = this.#flights.get(storage)?.get(name) ?? this.#fly(storage, target, queued)
    }
    return await flight
  }

  #fly (storage: Storage, target: Target, queued: boolean): Promise<boolean> {
    // a queued job waits its turn whatever the queue's length: only requests are turned away
    if (!queued && imageSlots.full && imageSlots.waiting >= this.#config.maxQueue) {
      throw Object.assign(new FST_MEDIA_BUSY(target.recipes[0]!.fieldName), { retryAfter: this.#config.retryAfter })
    }
    const flights = this.#flights.get(storage) ?? new Map<string, Promise<boolean>>()
    this.#flights.set(storage, flights)
    const flight = imageSlots.run(async () => await this.#make(storage, target)).catch((err: unknown) => {
      if (!isImageFailure(err)) throw err
      const recipe = target.recipes[0]!
      const failure = new FST_MEDIA_VARIANT_FAILED(recipe.fieldName, `${recipe.variant.key} of ${target.original}`, (err as Error).message)
      this.#remember(failureKey(storage, target.name), failure)
      throw failure
    }).finally(() => flights.delete(target.name))
    flights.set(target.name, flight)
    return flight
  }

  /** True when the variant is there (made now, or meanwhile elsewhere); false when there is no original. */
  async #make (storage: Storage, target: Target): Promise<boolean> {
    // made meanwhile (by another process, or the queue before this flight began)
    if (await storage.exists(target.name)) return true
    const info = await storage.stat(target.original).catch((err: unknown) => {
      if ((err as { code?: unknown }).code === 'FST_MEDIA_FILE_NOT_FOUND') return undefined
      throw err
    })
    // no original: nothing to make, and the route answers 404
    if (info === undefined) return false
    const recipe = this.#admit(target, info.size)
    const buffer = await readAll(storage.open(target.original))
    const meta = await readImageHeader(buffer)
    const { fieldName, field, variant } = recipe
    const rules = field.image!
    if (meta === undefined) throw unreadableHeader(fieldName)
    const { pages } = checkHeader(meta, target.format, rules, fieldName)
    const out = await makeVariant({ buffer, format: target.format, pages, rules, field: fieldName }, variant, this.#config.timeout)
    const contentType = typeForName(target.name)
    const stored = await storage.save(target.name, out.data, { contentType })
    // another process stored it first: theirs is the variant, ours goes
    if (stored !== target.name) {
      await storage.delete(stored)
      return true
    }
    if (storedChannel.hasSubscribers) {
      const message: StoredMessage = { storage: storageName(storage), name: stored, model: recipe.model, field: fieldName, variant: variant.key, size: out.data.length, contentType, request: undefined }
      storedChannel.publish(message)
    }
    return true
  }

  /**
   * The recipe whose field takes an original of this size (checked again: a limit may have been lowered
   * since the upload). Its header is checked by the caller, before any decode.
   */
  #admit (target: Target, size: number): Recipe {
    const recipe = target.recipes.find((recipe) => size <= recipe.field.maxSize)
    if (recipe !== undefined) return recipe
    const first = target.recipes[0]!
    throw new FST_MEDIA_INVALID_IMAGE(first.fieldName, `the original is larger than ${formatBytes(first.field.maxSize)}`)
  }

  #remember (key: string, failure: Error): void {
    this.#failures.set(key, failure)
    // the oldest goes first: a Map keeps insertion order
    if (this.#failures.size > this.#config.failures) this.#failures.delete(this.#failures.keys().next().value as string)
  }

  /** Starts the background queue on this maker's jobs. */
  async start (): Promise<void> {
    await this.#config.queue.start(async (job) => await this.run(job))
  }

  /** Queues a background variant; a queue that refuses it is logged: the first request for it makes it. */
  enqueue (job: VariantJob): void {
    Promise.resolve().then(() => this.#config.queue.enqueue(job)).catch((err: unknown) => {
      this.#log.warn({ err, job }, 'fastify-media: a background variant could not be queued')
    })
  }

  /** Resolves once the queue has finished the jobs it took. */
  async close (): Promise<void> {
    await this.#config.queue.close()
  }

  /** Runs a job of the background queue: made, already there, or dropped (a storage or variant no longer declared). */
  async run (job: VariantJob): Promise<void> {
    const storage = this.#storages.get(job.storage)
    if (storage === undefined) return
    try {
      await this.ensure(storage, job.name, { queued: true })
    } catch (err) {
      this.#log.warn({ err, job }, 'fastify-media: a background variant could not be made')
      throw err
    }
  }
}

// every storage of the app is named at register
const failureKey = (storage: Storage, name: string): string => `${storageName(storage) as string}\n${name}`

function sameRecipe (recipe: Recipe, variant: ResolvedVariant, autoOrient: boolean): boolean {
  // the same output whenever it is made: the generation may differ (one field's lazy is another's background)
  const recipeOf = (v: ResolvedVariant): string => JSON.stringify({ ...v, generation: undefined })
  return recipeOf(recipe.variant) === recipeOf(variant) && recipe.field.image!.autoOrient === autoOrient
}
