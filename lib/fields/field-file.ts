import type { Readable } from 'node:stream'
import { LATE_HEADER_LIMIT } from '../upload/gate.js'
import { readStreamHeader, unreadableHeader } from '../upload/image-header.js'
import type { Storage } from '../storage/storage.js'
import { typeForName } from '../mime.js'

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

  /** Removes the file from its storage; does not throw when it is already gone. */
  async delete (): Promise<void> {
    await this.storage.delete(this.name)
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
}

export interface ImageFileJSON extends FieldFileJSON {
  width: number
  height: number
}

export class ImageFile extends FieldFile {
  width: number
  height: number

  constructor (init: ImageFileInit) {
    super(init)
    this.width = init.width as number
    this.height = init.height as number
  }

  override async stat (): Promise<this> {
    await super.stat()
    const meta = await readStreamHeader(this.open(), LATE_HEADER_LIMIT)
    if (meta === undefined) throw unreadableHeader(this.name)
    this.width = meta.width
    this.height = meta.height
    return this
  }

  override toJSON (): ImageFileJSON {
    return { ...super.toJSON(), width: this.width, height: this.height }
  }
}

type Unknown<T, K extends PropertyKey> = Omit<T, K> & { [P in K & keyof T]: T[P] | undefined }
type Measured<F extends FieldFile> = 'size' | (F extends ImageFile ? 'width' | 'height' : never)

/**
 * A file rebuilt from a record: size and dimensions are unknown until `stat()`, in its JSON too, and its
 * URL is a Promise where the storage signs asynchronously (private S3): `await file.url` works for all.
 */
export type Loaded<F extends FieldFile> = Unknown<Omit<F, 'stat' | 'toJSON' | 'url'>, Measured<F>> & {
  readonly url: string | Promise<string>
  stat: () => Promise<F>
  toJSON: () => Unknown<Omit<ReturnType<F['toJSON']>, 'url'>, Measured<F>> & { url: string | Promise<string> }
}
