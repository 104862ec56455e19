import type { FastifyRequest } from 'fastify'
import type { Readable } from 'node:stream'
import { formatBytes } from '../bytes.js'
import { FST_MEDIA_BAD_MULTIPART, FST_MEDIA_FIELD_REQUIRED, FST_MEDIA_LIMIT, FST_MEDIA_TOO_MANY_FILES, FST_MEDIA_UNKNOWN_FIELD } from '../errors.js'
import { refusal } from '../refusal.js'
import type { FieldFile } from '../fields/field-file.js'
import type { BoundField, Model } from '../fields/model.js'
import type { MediaLimits } from '../options.js'
import { parserError, totalSizeError } from './map-error.js'
import { storeFile, type FileSource } from './store-file.js'
import type { UploadTransaction } from './transaction.js'
import { commitDirect } from '../direct/commit.js'
import type { DirectUploads } from '../direct/direct-uploads.js'
import { commitResumable, isUploadUrl } from '../resumable/commit.js'
import type { ResumableUploads } from '../resumable/resumable-uploads.js'

/** Where a form's text value may name a file uploaded before it: straight to storage, or resumably. */
export interface UploadedElsewhere {
  direct: DirectUploads
  resumable: ResumableUploads
}

export type UploadsRecord = Record<string, FieldFile | FieldFile[] | null>
export type TextFields = Record<string, unknown>

export function emptyUploads (model: Model): UploadsRecord {
  const uploads: UploadsRecord = {}
  for (const [name, field] of Object.entries(model.fields)) uploads[name] = field.multiple ? [] : null
  return uploads
}

/**
 * Reads a multipart body part by part: text parts into `body` (filled as they come, so a failing request
 * still shows what was read), file parts through the checks into storage, each stored name into the
 * transaction the moment it exists. An aborted `signal` stops it with the signal's reason: the file being
 * received fails (so its storage discards what it wrote) and a wait for the next part ends.
 */
export async function parseUpload (request: FastifyRequest, model: Model, limits: MediaLimits, tx: UploadTransaction, body: TextFields, signal: AbortSignal, elsewhere: UploadedElsewhere): Promise<UploadsRecord> {
  const uploads = emptyUploads(model)
  let total = 0
  const count = (bytes: number): void => {
    total += bytes
    if (total > limits.totalSize) throw totalSizeError(limits)
  }

  // everything the parser throws (the parts iterator, busboy's Content-Type check included, or a file
  // stream) goes through here
  const fromParser = (err: unknown): Error => parserError(err, limits, request.raw.destroyed)
  const parts = request.parts({
    limits: {
      fileSize: Infinity,
      files: limits.files,
      fields: limits.fields,
      fieldSize: limits.fieldSize,
      parts: limits.parts,
      headerPairs: limits.headerPairs
    },
    // busboy's default makes any application/octet-stream part a file, named or not: only a filename does
    isPartAFile: (_field: string, _type: string, filename: string | undefined) => filename !== undefined,
    throwFileSizeLimit: false
  } as Parameters<FastifyRequest['parts']>[0])
  const add = (name: string, field: BoundField, file: FieldFile): void => {
    if (field.multiple) (uploads[name] as FieldFile[]).push(file)
    else uploads[name] = file
  }
  const iterator = parts[Symbol.asyncIterator]()
  let receiving: Readable | undefined
  const stopped = new Promise<never>((_resolve, reject) => {
    signal.addEventListener('abort', () => {
      receiving?.destroy(signal.reason)
      reject(signal.reason)
    }, { once: true })
  })
  // nothing else may ever await it: without this, an abort after the body was read is an unhandled rejection
  stopped.catch(() => {})
  // the parser may never settle a wait for a part that never comes: race it (race handles both outcomes)
  const nextPart = async () => await Promise.race([iterator.next().catch((err: unknown) => { throw fromParser(err) }), stopped])
  for (let next = await nextPart(); next.done !== true; next = await nextPart()) {
    const part = next.value
    const name = part.fieldname
    if (part.type === 'field') {
      if (part.valueTruncated) {
        const err = new FST_MEDIA_LIMIT(name, `limits.fieldSize: ${formatBytes(limits.fieldSize)}`)
        throw refusal(err, { field: name, limit: limits.fieldSize, option: 'limits.fieldSize' })
      }
      if (Object.hasOwn(model.fields, name)) {
        // an empty value is no file: what Swagger UI (and `curl -F avatar=`) send for a file left empty
        if (part.value === '') continue
        const field = model.fields[name]!
        // a resumable upload's URL, or a direct upload's token: the file it names is committed as this field's file
        const value = String(part.value)
        const endpoint = elsewhere.resumable.endpointOf(field)
        const resumable = endpoint !== undefined && isUploadUrl(value)
        if (!resumable && field.options.direct === undefined) throw refusal(new FST_MEDIA_BAD_MULTIPART(name, 'a text value where a file was expected'), { field: name })
        checkRoom(name, field, uploads[name]!)
        const hooks = tx.hooksFor(field.storage, count)
        const committing = resumable ? commitResumable(endpoint, field, value, request, hooks, signal) : commitDirect(elsewhere.direct, field, value, request, hooks, signal)
        // its copy stops by the signal; a lookup or a read before it that S3 never answers must not hold the request
        committing.catch(() => {})
        add(name, field, await Promise.race([committing, stopped]))
        continue
      }
      count(Buffer.byteLength(typeof part.value === 'string' ? part.value : JSON.stringify(part.value)))
      const previous = body[name]
      body[name] = previous === undefined ? part.value : [previous, part.value].flat()
      continue
    }

    if (!Object.hasOwn(model.fields, name)) throw refusal(new FST_MEDIA_UNKNOWN_FIELD(name), { field: name })
    const field = model.fields[name]!
    checkRoom(name, field, uploads[name]!)
    receiving = part.file
    const file = await storeFile({
      field: field.options,
      fieldName: name,
      modelName: model.name,
      storage: field.storage,
      filename: part.filename,
      source: parserSource(part.file, fromParser),
      request,
      hooks: tx.hooksFor(field.storage, count),
      signal
    })
    receiving = undefined
    if (file !== null) add(name, field, file)
  }

  for (const [name, field] of Object.entries(model.fields)) {
    const value = uploads[name]
    if (field.required && (value === null || (Array.isArray(value) && value.length === 0))) {
      throw refusal(new FST_MEDIA_FIELD_REQUIRED(name), { field: name })
    }
  }
  return uploads
}

/** Refuses one file more than a field takes. */
function checkRoom (name: string, field: BoundField, current: FieldFile | FieldFile[] | null): void {
  if (!field.multiple && current !== null) throw refusal(new FST_MEDIA_TOO_MANY_FILES(name, 1), { field: name, limit: 1, option: 'multiple' })
  if (field.multiple && (current as FieldFile[]).length >= field.options.maxCount) {
    throw refusal(new FST_MEDIA_TOO_MANY_FILES(name, field.options.maxCount), { field: name, limit: field.options.maxCount, option: 'maxCount' })
  }
}

/** A file part's chunks, with what its stream throws (busboy: the body ended inside it) made ours. */
function parserSource (file: Readable, convert: (err: unknown) => Error): FileSource {
  const chunks = file[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  return {
    next: async () => await chunks.next().catch((err: unknown) => { throw convert(err) }),
    return: async () => await chunks.return!()
  }
}
