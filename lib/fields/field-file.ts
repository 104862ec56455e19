import type { Readable } from 'node:stream'
import { LATE_HEADER_LIMIT } from '../upload/gate.js'
import { readStreamHeader, unreadableHeader } from '../upload/image-header.js'
import type { Storage } from '../storage/storage.js'
import { typeForName } from '../mime.js'
import { publishDeleted, type DeleteOrigin } from '../events.js'

export interface FieldFileInit {
  name: string
  storage: Storage
  url: string | Promise<string>
  size?: number
  contentType?: string
}

export interface FieldFileJSON {
  name: string
  url: string
  size: number
  contentType: string
}

/** Deletes with a reason for `fastify-media:deleted` (`Model.delete` passes its own). */
export const kDelete = Symbol('fastify-media.delete')

/** A stored file: what Django calls FieldFile. */
export class FieldFile {
  /** The name inside its storage, `/`-separated: what a database keeps. */
  readonly name: string
  /** Always a string on an upload's files; a loaded file's may be a Promise (see `Loaded`). */
  readonly url: string
  size: number
  contentType: string
  readonly storage: Storage

  constructor (init: FieldFileInit) {
    this.name = init.name
    this.storage = init.storage
    this.url = init.url as string
    this.size = init.size as number
    this.contentType = init.contentType ?? typeForName(init.name)
  }

  open (): Readable {
    return this.storage.open(this.name)
  }

  /**
   * Removes the file from its storage (an image's variants first: once its name is free, nothing of it
   * is left to delete); does not throw when it is already gone.
   */
  async delete (): Promise<void> {
    await this[kDelete]({ reason: 'FieldFile.delete' })
  }

  async [kDelete] (origin: DeleteOrigin, variant?: string): Promise<void> {
    await this.storage.delete(this.name)
    publishDeleted(this, origin, variant)
  }

  /** Reads what a loaded file does not know yet (size; width and height of images) from the storage. */
  async stat (): Promise<this> {
    const info = await this.storage.stat(this.name)
    this.size = info.size
    if (info.contentType !== undefined) this.contentType = info.contentType
    return this
  }

  toJSON (): FieldFileJSON {
    return { name: this.name, url: this.url, size: this.size, contentType: this.contentType }
  }
}

export interface ImageFileInit extends FieldFileInit {
  width?: number
  height?: number
  variants?: Record<string, ImageFile>
}

export interface ImageFileJSON extends FieldFileJSON {
  width: number
  height: number
}

/** An image's JSON: its variants' too, when its field declares any. */
export type ImageJSONOf<V extends string> = ImageFileJSON & ([V] extends [never] ? unknown : { variants: { [K in V]: ImageFileJSON } })

export class ImageFile<V extends string = never> extends FieldFile {
  width: number
  height: number
  /** The resized copies its field declares, by name (`avatar.variants.thumb.url`). */
  readonly variants: { readonly [K in V]: ImageFile }

  constructor (init: ImageFileInit) {
    super(init)
    this.width = init.width as number
    this.height = init.height as number
    this.variants = Object.freeze(init.variants ?? {}) as { readonly [K in V]: ImageFile }
  }

  #variantList (): ImageFile[] {
    return Object.values(this.variants)
  }

  override async [kDelete] (origin: DeleteOrigin, variant?: string): Promise<void> {
    await Promise.all(Object.entries<ImageFile>(this.variants).map(async ([key, file]) => await file[kDelete](origin, key)))
    await super[kDelete](origin, variant)
  }

  /** Reads size and dimensions from the storage, the variants' too. */
  override async stat (): Promise<this> {
    await Promise.all([super.stat(), ...this.#variantList().map(async (variant) => await variant.stat())])
    const meta = await readStreamHeader(this.open(), LATE_HEADER_LIMIT)
    if (meta === undefined) throw unreadableHeader(this.name)
    this.width = meta.width
    this.height = meta.height
    return this
  }

  override toJSON (): ImageJSONOf<V> {
    const json = { ...super.toJSON(), width: this.width, height: this.height }
    const variants = Object.entries<ImageFile>(this.variants)
    if (variants.length === 0) return json as ImageJSONOf<V>
    return { ...json, variants: Object.fromEntries(variants.map(([key, file]) => [key, file.toJSON()])) } as unknown as ImageJSONOf<V>
  }
}

type Unknown<T, K extends PropertyKey> = Omit<T, K> & { [P in K & keyof T]: T[P] | undefined }
type Measured<F extends FieldFile> = 'size' | ('width' extends keyof F ? 'width' | 'height' : never)
type LoadedJSON<J, U> = Unknown<Omit<J, 'url'>, 'size' | 'width' | 'height'> & { url: U }
type VariantsOf<F> = F extends ImageFile<infer V> ? V : never

/**
 * A file rebuilt from a record: size and dimensions are unknown until `stat()`, in its JSON too. Its URL
 * (U) is what its storage's `url()` returns: a Promise where the storage signs asynchronously (private S3),
 * a string elsewhere; `await file.url` works for all. An image's variants are rebuilt from their derived
 * names, loaded the same way.
 */
export type Loaded<F extends FieldFile, U extends string | Promise<string> = string | Promise<string>> = Unknown<Omit<F, 'stat' | 'toJSON' | 'url' | 'variants'>, Measured<F>> & {
  readonly url: U
  stat: () => Promise<F>
  toJSON: () => LoadedJSON<Omit<ReturnType<F['toJSON']>, 'variants'>, U> &
  ([VariantsOf<F>] extends [never] ? unknown : { variants: { [K in VariantsOf<F>]: LoadedJSON<ImageFileJSON, U> } })
} & ('variants' extends keyof F ? { readonly variants: { readonly [K in VariantsOf<F>]: Loaded<ImageFile, U> } } : unknown)
