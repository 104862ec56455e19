import { randomBytes } from 'node:crypto'
import { pipeline, type Readable } from 'node:stream'
import type { DataStore } from '@tus/utils'
import { formatBytes } from '../bytes.js'
import { FST_MEDIA_FILE_TOO_LARGE, FST_MEDIA_FILE_TOO_SMALL, FST_MEDIA_INVALID_NAME, FST_MEDIA_UNKNOWN_FIELD } from '../errors.js'
import type { BoundField } from '../fields/model.js'
import { refusal, type Refusal } from '../refusal.js'
import type { Disk } from '../storage/disk.js'
import type { ResumableStore } from '../storage/driver.js'
import { getValidName } from '../storage/valid-name.js'
import { HEAD_SIZE } from '../upload/head.js'
import { checkFirstBytes } from '../upload/store-file.js'
import { firstBytesGate } from './first-bytes.js'
import type { ResumableRules } from './options.js'

/** An upload's id in its URL: 32 hex digits, nothing a client chose. */
export const UPLOAD_ID = /^[0-9a-f]{32}$/

/** What this module reads of a tus upload (@tus/utils' Upload; its types stay out of the published ones). */
export interface TusUpload {
  size?: number
  offset: number
  metadata?: Record<string, string | null>
  creation_date?: string
}

/** What an upload is for, from its metadata. */
export interface UploadTarget {
  field: BoundField
  filename: string
}

/**
 * One mounted tus endpoint's uploads: where they are kept (a storage's `.resumable/` keys, through a tus
 * DataStore), what each is for, the checks of its first bytes, and their expiry.
 */
export class ResumableEndpoint {
  readonly rules: ResumableRules
  /** Where it is mounted (its URLs are `<path>/<id>`). */
  readonly path: string
  readonly storage: Disk
  readonly backing: ResumableStore
  readonly #datastore: DataStore

  constructor (rules: ResumableRules, path: string, storage: Disk, backing: ResumableStore) {
    this.rules = rules
    this.path = path
    this.storage = storage
    this.backing = backing
    this.#datastore = backing.datastore as DataStore
    this.#checkFirstBytes()
  }

  /** A fresh upload's DataStore id. */
  newId (): string {
    return this.backing.storeId(randomBytes(16).toString('hex'))
  }

  /** The id in URLs of a DataStore id. */
  urlId (storeId: string): string {
    return storeId.slice(-32)
  }

  /** The field and file name an upload's metadata names, or the refusal a client gets. */
  target (metadata: TusUpload['metadata']): UploadTarget {
    const { fields } = this.rules
    const named = metadata?.field ?? undefined
    const field = named === undefined
      ? (fields.size === 1 ? [...fields.values()][0] : undefined)
      : fields.get(named) ?? onlyNamed([...fields.values()], named)
    // a missing name reads as "metadata.field: the model declares no such file field"
    if (field === undefined) throw refusal(new FST_MEDIA_UNKNOWN_FIELD(named ?? 'metadata.field'), { field: named ?? null })
    const filename = metadata?.filename ?? metadata?.name ?? ''
    if (getValidName(filename) === '') throw refusal(new FST_MEDIA_INVALID_NAME(field.name, 'the upload\'s metadata has no usable filename'), { field: field.name })
    return { field, filename }
  }

  /** At creation: the field, the name, and the declared length against the field's sizes. */
  created (upload: TusUpload): Record<string, string> {
    const { field, filename } = this.target(upload.metadata)
    if (upload.size !== undefined) checkLength(field, upload.size)
    return { ...upload.metadata as Record<string, string>, field: `${field.model}.${field.name}`, filename }
  }

  /** The field's maxSize for an upload that exists (tus checks a deferred length and the bytes against it). */
  async maxSize (storeId: string | null): Promise<number> {
    const upload = storeId === null ? undefined : await this.find(storeId)
    // a new upload's length is checked at creation, with the field's own error
    return upload === undefined ? 0 : this.target(upload.metadata).field.options.maxSize
  }

  async find (storeId: string): Promise<TusUpload | undefined> {
    return await this.#datastore.getUpload(storeId).catch(() => undefined)
  }

  /** Removes an upload and whatever of it is left (an aborted multipart upload on S3 included). */
  async remove (id: string): Promise<void> {
    await this.#datastore.remove(this.backing.storeId(id)).catch(() => {})
    // and the record of a commit (commit.ts): once the upload is gone, a replay finds nothing to commit
    const keys = [...this.backing.keys(id), `${this.backing.dataKey(id)}.used`]
    await Promise.all(keys.map(async (key) => await this.storage.delete(key)))
  }

  /** The refusal of an upload tus found too large (a deferred length, or bytes past the field's maxSize). */
  async tooLarge (storeId: string): Promise<Refusal | undefined> {
    const upload = await this.find(storeId)
    if (upload === undefined) return undefined
    const { field } = this.target(upload.metadata)
    return tooLarge(field)
  }

  /** Removes the uploads created more than `olderThan` seconds ago (default `expiresIn`), finished or not; resolves how many. */
  async expire (olderThan = this.rules.expiresIn): Promise<number> {
    let removed = 0
    const before = Date.now() - olderThan * 1000
    for (const id of await this.backing.list()) {
      // a record without a date (written by hand, or half) counts as old
      const created = Date.parse((await this.find(this.backing.storeId(id)))?.creation_date ?? '')
      if (created > before) continue
      await this.remove(id)
      removed++
    }
    return removed
  }

  /**
   * Every write that reaches into an upload's first 64 KiB passes the gate: the window is checked as a form
   * upload's is before any of it is stored, and a refused upload is removed at once.
   */
  #checkFirstBytes (): void {
    const datastore = this.#datastore
    const write = datastore.write.bind(datastore)
    datastore.write = async (stream: Readable, storeId: string, offset: number): Promise<number> => {
      if (offset >= HEAD_SIZE) return await write(stream, storeId, offset)
      const upload = await datastore.getUpload(storeId)
      const windowEnd = Math.min(HEAD_SIZE, upload.size ?? HEAD_SIZE)
      const { field, filename } = this.target(upload.metadata)
      const id = this.urlId(storeId)
      let refused: unknown
      // read before the store's write begins: @tus/s3-store takes the incomplete part (and deletes it) first
      const earlier = offset === 0 ? Buffer.alloc(0) : await this.backing.readStart(id, offset)
      const check = async (received: Buffer): Promise<void> => {
        const bytes = Buffer.concat([earlier, received])
        try {
          await checkFirstBytes({ field: field.options, fieldName: field.name, filename }, { chunks: [bytes], bytes, ended: bytes.length === upload.size })
        } catch (err) {
          refused = err
          throw err
        }
      }
      const gated = pipeline(stream, firstBytesGate(offset, windowEnd, check), () => {})
      const written = await write(gated, storeId, offset)
      if (refused === undefined) return written
      await this.remove(id)
      throw refused
    }
  }
}

/** The one field of this name, when the metadata names a field without its model. */
function onlyNamed (fields: BoundField[], name: string): BoundField | undefined {
  const matching = fields.filter((field) => field.name === name)
  return matching.length === 1 ? matching[0] : undefined
}

function checkLength (field: BoundField, size: number): void {
  const { maxSize, minSize } = field.options
  if (size > maxSize) throw tooLarge(field)
  const least = Math.max(minSize, 1)
  if (size < least) throw refusal(new FST_MEDIA_FILE_TOO_SMALL(field.name, formatBytes(least)), { field: field.name, limit: least, option: 'minSize' })
}

function tooLarge ({ name, options: { maxSize } }: BoundField): Refusal {
  return refusal(new FST_MEDIA_FILE_TOO_LARGE(name, formatBytes(maxSize)), { field: name, limit: maxSize, option: 'maxSize' }) as Refusal
}
