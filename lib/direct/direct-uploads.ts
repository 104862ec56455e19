import { randomUUID } from 'node:crypto'
import { formatBytes } from '../bytes.js'
import { FST_MEDIA_FILE_TOO_LARGE, FST_MEDIA_FILE_TOO_SMALL, FST_MEDIA_INVALID_NAME, FST_MEDIA_INVALID_OPTION, FST_MEDIA_INVALID_TOKEN } from '../errors.js'
import type { BoundField } from '../fields/model.js'
import { refusal } from '../refusal.js'
import { DIRECT, Disk, storageFailure } from '../storage/disk.js'
import type { MultipartDriver, StorageDriver, UploadedPart } from '../storage/driver.js'
import { getValidName } from '../storage/valid-name.js'
import type { DirectRules } from './options.js'
import { signToken, verifyToken, type TokenClaims } from './token.js'

/** What a browser says about the file it is about to send. */
export interface PresignRequest {
  filename: string
  /** Bytes. */
  size: number
  /** The type the browser will send; pinned in the policy. Default `application/octet-stream`. */
  contentType?: string
}

/** A form to POST the file to (S3's POST policy): `fields` first, the file last, as `file`. */
export interface PresignedForm {
  method: 'POST'
  url: string
  fields: Record<string, string>
  token: string
  /** When the URL and the token stop working (ISO 8601). */
  expires: string
}

/** A file sent in parts: each part's URL comes from `signPart`, and `completeMultipart` joins them. */
export interface PresignedMultipart {
  method: 'multipart'
  uploadId: string
  /** Where the parts go, as @uppy/aws-s3 wants it back; the token is what the app trusts. */
  key: string
  /** A part size that keeps the file within S3's 10,000 parts (each at least 5 MiB but the last). */
  partSize: number
  token: string
  expires: string
}

export type PresignResult = PresignedForm | PresignedMultipart

/** S3's largest single PUT or POST. */
const SINGLE_MAX = 5 * 1024 ** 3
const MIN_PART = 8 * 1024 * 1024
const MAX_PARTS = 10_000

export const quarantineKey = (id: string): string => `${DIRECT}q/${id}`
export const usedKey = (id: string): string => `${DIRECT}used/${id}`

interface Resolved {
  field: BoundField
  rules: DirectRules
  driver: StorageDriver
  storage: Disk
}

/**
 * Direct uploads: the browser sends a file to the storage itself, under a quarantine key that is never
 * served, and a form commits it with the token it got (commit.ts). Tokens are signed with the plugin's
 * `signingKey` (its first key; any of its keys verifies) and bound to the field, the upload and the expiry.
 */
export class DirectUploads {
  readonly #keys: readonly Buffer[] | undefined
  readonly #fields = new Map<string, BoundField>()

  constructor (keys: readonly Buffer[] | undefined) {
    this.#keys = keys
  }

  /** Called for each field of a declared model: a field that cannot upload directly fails its declaration. */
  register (field: BoundField): void {
    if (field.options.direct === undefined) return
    const path = `${field.model}.${field.name}.direct`
    if (!(field.storage instanceof Disk) || field.storage.driver.presignPost === undefined) {
      throw new FST_MEDIA_INVALID_OPTION(path, `storage "${field.options.storage}" cannot presign uploads (S3Storage can)`)
    }
    if (this.#keys === undefined) throw new FST_MEDIA_INVALID_OPTION(path, 'direct uploads sign their tokens with the plugin\'s signingKey: set one')
    this.#fields.set(`${field.model}.${field.name}`, field)
  }

  /** Seconds the longest-lived token of `storage`'s direct fields stays valid (0 without any). */
  tokenLifetime (storage: object): number {
    let longest = 0
    for (const field of this.#fields.values()) {
      if (field.storage === storage) longest = Math.max(longest, field.options.direct!.expiresIn)
    }
    return longest
  }

  #resolve (field: BoundField): Resolved {
    const rules = field.options.direct
    const registered = this.#fields.get(`${field.model}.${field.name}`)
    if (rules === undefined || registered !== field) throw new FST_MEDIA_INVALID_OPTION(`${field.model}.${field.name}`, 'is not declared with direct uploads (direct: true)')
    const storage = field.storage as Disk
    return { field, rules, storage, driver: storage.driver }
  }

  async presign (field: BoundField, { filename, size, contentType = 'application/octet-stream' }: PresignRequest): Promise<PresignResult> {
    const { rules, driver } = this.#resolve(field)
    const { maxSize, minSize } = field.options
    const name = field.name
    if (typeof filename !== 'string' || getValidName(filename) === '') throw refusal(new FST_MEDIA_INVALID_NAME(name, 'nothing usable is left of the file name'), { field: name })
    if (!Number.isSafeInteger(size) || size < 0) throw new FST_MEDIA_INVALID_OPTION(`${name} size`, 'must be a whole number of bytes')
    if (size > maxSize) throw refusal(new FST_MEDIA_FILE_TOO_LARGE(name, formatBytes(maxSize)), { field: name, limit: maxSize, option: 'maxSize' })
    const least = Math.max(minSize, 1)
    if (size < least) throw refusal(new FST_MEDIA_FILE_TOO_SMALL(name, formatBytes(least)), { field: name, limit: least, option: 'minSize' })

    const id = randomUUID()
    const key = quarantineKey(id)
    const expires = Math.floor(Date.now() / 1000) + rules.expiresIn
    const claims: TokenClaims = { field: `${field.model}.${name}`, id, expires, filename }
    const expiresAt = new Date(expires * 1000).toISOString()
    const { multipart } = driver
    if (size > rules.multipartAbove && multipart !== undefined) {
      const uploadId = await attempt('presign', async () => await multipart.create(key, { contentType }))
      const partSize = Math.max(MIN_PART, Math.ceil(size / MAX_PARTS))
      return { method: 'multipart', uploadId, key, partSize, token: this.#sign({ ...claims, uploadId }), expires: expiresAt }
    }
    const post = await attempt('presign', async () => await driver.presignPost!(key, { contentType, minSize: least, maxSize: Math.min(maxSize, SINGLE_MAX), expiresIn: rules.expiresIn }))
    return { method: 'POST', url: post.url, fields: post.fields, token: this.#sign(claims), expires: expiresAt }
  }

  #sign (claims: TokenClaims): string {
    return signToken(this.#keys![0]!, claims)
  }

  /** The claims of a token for `field` (any field: undefined), or the refusal a client gets. */
  claims (token: string, field: string | undefined, fieldName: string | null): TokenClaims & { upload: BoundField } {
    // a token reaches here only for a field registered, which needs the key
    const result = verifyToken(this.#keys!, token, field)
    if (typeof result === 'string') throw invalidToken(fieldName, TOKEN_PROBLEMS[result])
    // a token signed for a field declared in another app sharing the key: as good as forged here
    const upload = this.#fields.get(result.field)
    if (upload === undefined) throw invalidToken(fieldName, TOKEN_PROBLEMS.forged)
    return { ...result, upload }
  }

  #multipart (token: string): { claims: TokenClaims, multipart: MultipartDriver, uploadId: string, field: BoundField } {
    const claims = this.claims(token, undefined, null)
    const multipart = (claims.upload.storage as Disk).driver.multipart
    if (claims.uploadId === undefined || multipart === undefined) throw invalidToken(null, 'not a token of a multipart upload')
    return { claims, multipart, uploadId: claims.uploadId, field: claims.upload }
  }

  /** A URL for one part (1 to 10,000) of a multipart upload, valid as long as the token. */
  async signPart (token: string, partNumber: number): Promise<{ url: string }> {
    const { claims, multipart, uploadId } = this.#multipart(token)
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PARTS) throw new FST_MEDIA_INVALID_OPTION('partNumber', `must be a whole number from 1 to ${MAX_PARTS}`)
    const expiresIn = Math.max(1, claims.expires - Math.floor(Date.now() / 1000))
    const url = await attempt('signPart', async () => await multipart.signPart(quarantineKey(claims.id), uploadId, partNumber, expiresIn))
    return { url }
  }

  async listParts (token: string): Promise<UploadedPart[]> {
    const { claims, multipart, uploadId } = this.#multipart(token)
    return await attempt('listParts', async () => await multipart.listParts(quarantineKey(claims.id), uploadId))
  }

  /**
   * Joins the parts (as the client lists them: S3 checks each ETag) into the quarantined file. A file that
   * comes out larger than the field's maxSize is deleted at once, with a 413: parts cannot be size-checked
   * one by one, the joined file can.
   */
  async completeMultipart (token: string, parts: readonly UploadedPart[]): Promise<void> {
    const { claims, multipart, uploadId, field } = this.#multipart(token)
    const key = quarantineKey(claims.id)
    const storage = field.storage as Disk
    await attempt('completeMultipart', async () => { await multipart.complete(key, uploadId, [...parts].sort((a, b) => a.PartNumber - b.PartNumber)) })
    const size = await storage.size(key)
    const { maxSize } = field.options
    if (size > maxSize) {
      await storage.delete(key).catch(() => {})
      throw refusal(new FST_MEDIA_FILE_TOO_LARGE(field.name, formatBytes(maxSize)), { field: field.name, limit: maxSize, option: 'maxSize' })
    }
  }

  async abortMultipart (token: string): Promise<void> {
    const { claims, multipart, uploadId } = this.#multipart(token)
    await attempt('abortMultipart', async () => { await multipart.abort(quarantineKey(claims.id), uploadId) })
  }
}

const TOKEN_PROBLEMS = {
  forged: 'the upload token is forged or altered',
  expired: 'the upload token has expired',
  'other-field': 'the upload token was made for another field'
}

export function invalidToken (field: string | null, why: string): Error {
  return refusal(new FST_MEDIA_INVALID_TOKEN(field ?? 'token', why), { field })
}

/** A storage's work, its failure made FST_MEDIA_STORAGE as the facade makes it. */
export async function attempt<T> (operation: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (err) {
    throw storageFailure(err, operation)
  }
}
