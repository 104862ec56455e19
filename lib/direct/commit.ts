import type { FastifyRequest } from 'fastify'
import type { FieldFile } from '../fields/field-file.js'
import type { BoundField } from '../fields/model.js'
import type { Disk } from '../storage/disk.js'
import { storeFile } from '../upload/store-file.js'
import type { UploadHooks } from '../upload/transaction.js'
import { attempt, invalidToken, quarantineKey, usedKey, type DirectUploads } from './direct-uploads.js'
import { objectSource } from './object-source.js'

/** The ids whose commit runs in this process now: a second commit of one token waits for nothing, it is refused. */
const committing = new Set<string>()

/**
 * Commits a direct upload into its field, as if the file had come in the form: the same checks from its
 * first bytes, then a copy inside the storage to its `uploadTo` name. The token is spent first (a record
 * under `.direct/used/`), and the record, the quarantined file and the copy all belong to the request's
 * transaction: a refusal or a failed request leaves none of them. An aborted `signal` (the request's
 * `limits.uploadTimeout`) cancels the copy.
 */
export async function commitDirect (direct: DirectUploads, field: BoundField, token: string, request: FastifyRequest | undefined, hooks: UploadHooks, signal?: AbortSignal): Promise<FieldFile> {
  const { id, filename } = direct.claims(token, `${field.model}.${field.name}`, field.name)
  const storage = field.storage as Disk
  if (committing.has(id)) throw invalidToken(field.name, 'the upload token is being used by another request')
  committing.add(id)
  try {
    await spend(storage, usedKey(id), field.name, hooks)
  } finally {
    committing.delete(id)
  }
  const quarantined = quarantineKey(id)
  const stat = await attempt('commit', async () => await storage.driver.head(quarantined))
  if (stat === undefined) throw invalidToken(field.name, 'nothing was uploaded with this token, or it was committed already')
  hooks.onStored(quarantined)
  // never null: a token names a file (presign refuses a name with nothing usable left)
  const file = await storeFile({
    field: field.options,
    fieldName: field.name,
    modelName: field.model,
    storage,
    filename,
    source: objectSource((range) => storage.open(quarantined, range, { ifMatch: stat.etag }), stat.size),
    request,
    // the bytes are not in the request body: its totalSize does not count them
    hooks: { ...hooks, count: () => {} },
    signal,
    inStorage: {
      size: stat.size,
      copyTo: async (name, options) => await storage.copy(quarantined, name, { ...options, ifMatch: stat.etag })
    }
  }).catch((err: unknown) => { throw changed(err, field.name) }) as FieldFile
  await storage.delete(quarantined)
  return file
}

/** Writes an upload's single-use record; a record already there means the upload was committed (or is being). */
export async function spend (storage: Disk, used: string, field: string, hooks: UploadHooks): Promise<void> {
  // the look first catches a replay on servers that ignore If-None-Match; the conditional write, a race
  const fresh = !await storage.exists(used) && await attempt('commit', async () => await storage.driver.write(used, Buffer.alloc(0), { ifAbsent: true, contentType: 'application/octet-stream' }))
  if (!fresh) throw invalidToken(field, 'the upload token was used already')
  hooks.onStored(used)
}

// a client that rewrote its upload while it was being committed gets a refusal, not a storage failure
export function changed (err: unknown, field: string): unknown {
  const cause = (err as { cause?: { code?: unknown } }).cause
  return cause?.code === 'ECHANGED' ? invalidToken(field, 'the uploaded file changed while it was being committed') : err
}
