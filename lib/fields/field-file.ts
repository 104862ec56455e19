import type { Readable } from 'node:stream'
import { LATE_HEADER_LIMIT } from '../upload/late-header.js'
import { readStreamHeader, unreadableHeader } from '../upload/image-header.js'
import type { Storage } from '../storage/storage.js'
import { typeForName } from '../mime.js'
import { publishDeleted, type DeleteOrigin } from '../events.js'
import { statVariant } from '../image/later.js'

/** What a storage's `url()` gives: a Promise only where it signs asynchronously (private S3). */
export type FileUrl = string | Promise<string>

/**
 * U is the type of `url`; N the type of what is measured (`size`, an image's `width` and `height`): `number`
 * on an uploaded file, `number | undefined` on a loaded one until `stat()` reads them.
 */
export interface FieldFileInit<U extends FileUrl = FileUrl, N extends number | undefined = number | undefined> {
  name: string
  storage: Storage
  url: U
  size?: N
  contentType?: string
}

export interface FieldFileJSON<U extends FileUrl = string, N extends number | undefined = number> {
  name: string
  url: U
  size: N
  contentType: string
}

// Files stored for good (field.save() resolved, or their request committed): only these were announced on
// `fastify-media:stored`, so a file not kept yet (a request's, still open) is removed without an announcement.
const keptFiles = new WeakSet<object>()

export function markKept (files: Iterable<unknown>): void {
  for (const file of files) if (file instanceof FieldFile) keptFiles.add(file)
}

export const isKept = (file: FieldFile<any, any>): boolean => keptFiles.has(file)

/** Deletes with a reason for `fastify-media:deleted` (`Model.delete` passes its own). */
export const kDelete = Symbol('fastify-media.delete')

/**
 * A stored file: what Django calls FieldFile. `FieldFile` (an upload's) has a string `url` and a known
 * `size`; `Loaded<FieldFile>` is what `Model.load()` rebuilds.
 */
export class FieldFile<U extends FileUrl = string, N extends number | undefined = number> {
  /** The name inside its storage, `/`-separated: what a database keeps. */
  readonly name: string
  /** Always a string on an upload's files; a loaded file's is what its storage's `url()` gave (see `Loaded`). */
  readonly url: U
  size: N
  contentType: string
  readonly storage: Storage

  constructor (init: FieldFileInit<U, N>) {
    this.name = init.name
    this.storage = init.storage
    this.url = init.url
    // a file built without its size (a loaded one) is measured by stat()
    this.size = init.size as N
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

  /**
   * Reads what a loaded file does not know yet from the storage (size; width and height of images) and
   * awaits a signed URL still pending: the file is then what an upload gives.
   */
  async stat (): Promise<FieldFile> {
    const [info, url] = await Promise.all([this.storage.stat(this.name), this.url])
    if (info.contentType !== undefined) this.contentType = info.contentType
    // the same object, now measured and with its URL: its type changes from Loaded<F> to F
    return Object.assign(this, { url, size: info.size }) as FieldFile
  }

  toJSON (): FieldFileJSON<U, N> {
    return { name: this.name, url: this.url, size: this.size, contentType: this.contentType }
  }
}

export interface ImageFileInit<U extends FileUrl = FileUrl, N extends number | undefined = number | undefined> extends FieldFileInit<U, N> {
  width?: N
  height?: N
  variants?: Record<string, ImageFile<never, U, N>>
  /** Given (even undefined: a record kept before the field had one) only for a field that declares `placeholder`. */
  placeholder?: string | undefined
}

export interface ImageFileJSON<U extends FileUrl = string, N extends number | undefined = number> extends FieldFileJSON<U, N> {
  width: N
  height: N
}

/** An image's JSON: its variants' too, when its field declares any. */
export type ImageJSONOf<V extends string, U extends FileUrl = string, N extends number | undefined = number> =
  ImageFileJSON<U, N> & ([V] extends [never] ? unknown : { variants: { [K in V]: ImageFileJSON<U, N> } })

export class ImageFile<V extends string = never, U extends FileUrl = string, N extends number | undefined = number> extends FieldFile<U, N> {
  width: N
  height: N
  /** The resized copies its field declares, by name (`avatar.variants.thumb.url`). */
  readonly variants: { readonly [K in V]: ImageFile<never, U, N> }

  constructor (init: ImageFileInit<U, N>) {
    super(init)
    this.width = init.width as N
    this.height = init.height as N
    this.variants = Object.freeze(init.variants ?? {}) as { readonly [K in V]: ImageFile<never, U, N> }
    // a property only of the images of a field that declares it, as its type says (see WithPlaceholder)
    if ('placeholder' in init) Object.defineProperty(this, 'placeholder', { value: init.placeholder, enumerable: true })
  }

  #variantList (): Array<ImageFile<never, U, N>> {
    return Object.values(this.variants)
  }

  override async [kDelete] (origin: DeleteOrigin, variant?: string): Promise<void> {
    await Promise.all(Object.entries<ImageFile<never, U, N>>(this.variants).map(async ([key, file]) => await file[kDelete](origin, key)))
    await super[kDelete](origin, variant)
  }

  /** Reads size and dimensions from the storage, the variants' too. */
  override async stat (): Promise<ImageFile<V>> {
    await super.stat()
    const meta = await readStreamHeader(this.open(), LATE_HEADER_LIMIT)
    if (meta === undefined) throw unreadableHeader(this.name)
    // a variant made later may not be there yet: it is planned from this header
    await Promise.all(this.#variantList().map(async (variant) => await statVariant(variant, meta)))
    // the same object, now measured and with its URLs: its type changes from Loaded<F> to F
    return Object.assign(this, { width: meta.width, height: meta.height }) as ImageFile<V>
  }

  override toJSON (): ImageJSONOf<V, U, N> {
    const json = { ...super.toJSON(), width: this.width, height: this.height, ...('placeholder' in this ? { placeholder: this.placeholder } : {}) }
    const variants = Object.entries<ImageFile<never, U, N>>(this.variants)
    if (variants.length === 0) return json as ImageJSONOf<V, U, N>
    return { ...json, variants: Object.fromEntries(variants.map(([key, file]) => [key, file.toJSON()])) } as unknown as ImageJSONOf<V, U, N>
  }
}

/**
 * An image of a field that declares `placeholder`: the hash `T` (a string; on a loaded image, undefined
 * when its record was kept before the field had one), in its JSON too. Other images have no such property.
 */
export type WithPlaceholder<F extends ImageFile<any, any, any>, T extends string | undefined> =
  { readonly placeholder: T, toJSON: () => ReturnType<F['toJSON']> & { placeholder: T } } & F

/**
 * A file rebuilt from a record (`Model.load()`): size and dimensions are unknown until `stat()`, in its JSON
 * too. Its URL (U) is what its storage's `url()` returns: a Promise where the storage signs asynchronously
 * (private S3), a string elsewhere; `await file.url` works for all. Its variants are loaded the same way.
 */
export type Loaded<F extends FieldFile, U extends FileUrl = FileUrl> =
  F extends ImageFile<infer V>
    ? (F extends { readonly placeholder: string | undefined } ? WithPlaceholder<ImageFile<V, U, number | undefined>, string | undefined> : ImageFile<V, U, number | undefined>)
    : FieldFile<U, number | undefined>
