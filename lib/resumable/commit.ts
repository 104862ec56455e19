import type { FastifyRequest } from 'fastify'
import { attempt, invalidToken } from '../direct/direct-uploads.js'
import { changed, spend } from '../direct/commit.js'
import { objectSource } from '../direct/object-source.js'
import type { FieldFile } from '../fields/field-file.js'
import type { BoundField } from '../fields/model.js'
import { storeFile } from '../upload/store-file.js'
import type { UploadHooks } from '../upload/transaction.js'
import type { ResumableEndpoint } from './endpoint.js'

/** An upload's URL (or its bare id), as the form sends it: the id is its last path segment. */
const UPLOAD_URL = /^(?:[^?#]*\/)?([0-9a-f]{32})\/?$/

/** True for a form value that names a resumable upload rather than a direct upload's token. */
export const isUploadUrl = (value: string): boolean => UPLOAD_URL.test(value)

/** The ids whose commit runs in this process now: a second commit of one upload is refused, not queued. */
const committing = new Set<string>()

/**
 * Commits a finished resumable upload into its field, as if the file had come in the form: every check
 * again on its bytes (the first 64 KiB, or all where the field must read all), then a move (disk) or a copy
 * (S3) to its `uploadTo` name. The upload is then removed, whatever the outcome: a refused file or a failed
 * request leaves neither the upload nor its copy (all or nothing, as for a form upload). An aborted `signal`
 * (the request's `limits.uploadTimeout`) cancels the copy.
 */
export async function commitResumable (endpoint: ResumableEndpoint, field: BoundField, value: string, request: FastifyRequest | undefined, hooks: UploadHooks, signal?: AbortSignal): Promise<FieldFile> {
  const id = UPLOAD_URL.exec(value)![1]!
  const { storage, backing } = endpoint
  const upload = await endpoint.find(backing.storeId(id))
  if (upload === undefined) throw invalidToken(field.name, 'no upload has this URL: it expired, was committed already, or never was')
  const target = endpoint.target(upload.metadata)
  if (target.field !== field) throw invalidToken(field.name, `the upload was made for ${target.field.model}.${target.field.name}`)
  if (upload.size === undefined || upload.offset !== upload.size) throw invalidToken(field.name, `the upload is not finished (${upload.offset} of ${upload.size ?? 'an unknown number of'} bytes)`)
  if (committing.has(id)) throw invalidToken(field.name, 'the upload is being committed by another request')
  committing.add(id)
  try {
    await spend(storage, `${backing.dataKey(id)}.used`, field.name, hooks)
  } finally {
    committing.delete(id)
  }
  const key = backing.dataKey(id)
  try {
    const stat = await attempt('commit', async () => await storage.driver.head(key))
    if (stat === undefined) throw invalidToken(field.name, 'the upload\'s bytes are gone')
    // never null: the upload's metadata names a file (checked at creation)
    return await storeFile({
      field: field.options,
      fieldName: field.name,
      modelName: field.model,
      storage,
      filename: target.filename,
      source: objectSource((range) => storage.open(key, range, { ifMatch: stat.etag }), stat.size),
      request,
      // the bytes came before this request: its totalSize does not count them
      hooks: { ...hooks, count: () => {} },
      signal,
      inStorage: {
        size: stat.size,
        copyTo: async (name, options) => await storage.copy(key, name, { ...options, ifMatch: stat.etag, move: true })
      }
    }).catch((err: unknown) => { throw changed(err, field.name) }) as FieldFile
  } finally {
    await endpoint.remove(id)
  }
}
