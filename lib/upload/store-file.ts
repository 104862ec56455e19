import type { FastifyRequest } from 'fastify'
import { formatBytes } from '../bytes.js'
import { FST_MEDIA_EXTENSION_MISMATCH, FST_MEDIA_FILE_TOO_LARGE, FST_MEDIA_FILE_TOO_SMALL, FST_MEDIA_INVALID_NAME } from '../errors.js'
import { isClientError, refusal } from '../refusal.js'
import type { ResolvedField } from '../fields/field.js'
import { FieldFile, ImageFile } from '../fields/field-file.js'
import { planName, type UploadToContext } from '../fields/upload-to.js'
import { canonicalExtension } from '../mime.js'
import type { Storage } from '../storage/storage.js'
import { getValidName, splitExtension } from '../storage/valid-name.js'
import { processesStored, processStored, sanitizing } from '../image/pipeline.js'
import type { Encoded } from '../image/process.js'
import { gate, type GateResult } from './gate.js'
import { readHead, type Head } from './head.js'
import { checkHeader, readHeader, unreadableHeader, type Dimensions } from './image-header.js'
import { acceptedTypes, detectType, type Detected } from './sniff.js'

/** A file's chunks; `return()` releases what is left unread (a refusal mid-part leaves the rest). */
export type FileSource = AsyncIterator<Buffer> & { return: (value?: undefined) => Promise<unknown> }

export interface StoreInput {
  field: ResolvedField
  fieldName: string
  modelName: string
  storage: Storage
  /** The client's file name, untrusted. */
  filename: string
  source: FileSource
  request?: FastifyRequest
  /** Counts bytes against the request's total; throws past it. */
  count?: (bytes: number) => void
  /** Told every name (the original's, then its variants') as soon as the storage has it. */
  onStored?: (name: string) => void
  /** Passed to the storage: told the name before the file becomes visible under it. */
  claim?: (name: string) => void
  release?: (name: string) => void
  /** Told of image work that still uses the stored original by name. */
  track?: (work: Promise<unknown>) => void
  /** True once the request is failing: image work stops at its next step. */
  cancelled?: () => boolean
}

/**
 * Validates and stores one file, in the order of the contract: name, type, extension, image header, size.
 * Nothing is written before the type is known; nothing becomes visible before every check has passed.
 * Returns null for what a browser sends for an untouched file input (no name, no bytes).
 */
export async function storeFile (input: StoreInput): Promise<FieldFile | null> {
  const head = await readHead(input.source)
  const seen: Seen = { result: { size: 0, sha256: undefined } }
  try {
    return await checkAndStore(input, head, seen).catch((err: unknown) => { throw describeRefusal(err, input, head, seen) })
  } finally {
    // a refusal before the content was handed over leaves the part unread: release it
    if (!head.ended) await input.source.return()
  }
}

/** What the checks learned before a refusal, for its details. */
interface Seen {
  detected?: Detected
  result: GateResult
}

/** Every refusal of a file names its field, what it was and how much of it came. */
function describeRefusal (err: unknown, { field, fieldName }: StoreInput, head: Head, { detected, result }: Seen): unknown {
  if (isClientError(err)) {
    const accepted = (err as { code: string }).code === 'FST_MEDIA_INVALID_TYPE' ? acceptedTypes(field) : undefined
    refusal(err, { field: fieldName, detected: detected?.mime, accepted, bytes: Math.max(head.bytes.length, result.size) })
  }
  return err
}

async function checkAndStore (input: StoreInput, head: Head, seen: Seen): Promise<FieldFile | null> {
  const { field, fieldName, source } = input
  const { result } = seen
  if (input.filename === '' && head.ended && head.bytes.length === 0) return null

  const validName = getValidName(input.filename)
  if (validName === '') throw new FST_MEDIA_INVALID_NAME(fieldName, 'nothing usable is left of the file name')
  // an empty file has no type to detect: it is refused for its size
  if (head.ended && head.bytes.length === 0) {
    const limit = Math.max(field.minSize, 1)
    throw refusal(new FST_MEDIA_FILE_TOO_SMALL(fieldName, formatBytes(limit)), { field: fieldName, limit, option: 'minSize' })
  }

  const clientExt = splitExtension(validName).ext
  const detected = seen.detected = await detectType(head.bytes, clientExt, field, fieldName)
  if (clientExt !== '' && canonicalExtension(clientExt) !== detected.ext) {
    throw new FST_MEDIA_EXTENSION_MISMATCH(fieldName, clientExt, detected.mime)
  }

  let dimensions: Dimensions | undefined
  let lateHeader: ((bytes: Buffer) => Promise<boolean>) | undefined
  if (field.image !== undefined) {
    const rules = field.image
    const format = detected.format!
    const meta = await readHeader(head.bytes)
    if (meta !== undefined) {
      dimensions = checkHeader(meta, format, rules, fieldName)
    } else if (head.ended) {
      throw unreadableHeader(fieldName)
    } else {
      lateHeader = async (bytes) => {
        const late = await readHeader(bytes)
        if (late === undefined) return false
        dimensions = checkHeader(late, format, rules, fieldName)
        return true
      }
    }
  }

  // size comes last in the contract's order; a part that fit in the window is refused before any write
  if (head.ended && head.bytes.length > field.maxSize) {
    throw refusal(new FST_MEDIA_FILE_TOO_LARGE(fieldName, formatBytes(field.maxSize)), { field: fieldName, limit: field.maxSize, option: 'maxSize' })
  }

  const filename = `${splitExtension(validName).stem}.${detected.ext}`
  const plan = planName({
    uploadTo: field.uploadTo,
    // the router hands params as strings; the context says so for `ctx.request.params.id`
    ctx: { filename, field: fieldName, model: input.modelName, request: input.request as UploadToContext['request'], date: new Date() },
    ext: detected.ext,
    maxLength: field.maxLength,
    timeZone: field.timeZone
  })
  let content: AsyncIterable<Buffer> = gate(head.chunks, head.ended ? undefined : source, {
    field: fieldName,
    maxSize: field.maxSize,
    minSize: field.minSize,
    hash: plan.needsHash,
    text: detected.text,
    lateHeader,
    count: input.count
  }, result)
  let sanitized: Encoded | undefined
  const rules = field.image
  if (rules?.sanitize === true) {
    // the header checks ran already (a late one inside the gate, before the last byte comes out of it)
    content = sanitizing(content, () => ({ format: detected.format!, pages: dimensions!.pages, rules, field: fieldName }), (out) => { sanitized = out })
  }
  const wanted = plan.needsHash ? () => plan.name(result.sha256) : plan.name()
  const { storage } = input
  const name = await storage.save(wanted, content, { contentType: detected.mime, maxLength: field.maxLength, claim: input.claim, release: input.release })
  input.onStored?.(name)

  const init = { name, storage, url: await storage.url(name), size: sanitized?.data.length ?? result.size, contentType: detected.mime }
  if (rules === undefined) return new FieldFile(init)
  const { width, height, pages } = dimensions!
  let variants: Record<string, ImageFile> | undefined
  if (processesStored(rules)) {
    const work = processStored({ storage, name, format: detected.format!, pages, rules, field: fieldName, sanitized: sanitized?.data, ...hooksOf(input) })
    input.track?.(work)
    variants = await work
  }
  return new ImageFile({ ...init, width: sanitized?.width ?? width, height: sanitized?.height ?? height, variants })
}

const hooksOf = ({ claim, release, onStored, cancelled }: StoreInput): Pick<StoreInput, 'claim' | 'release' | 'onStored' | 'cancelled'> =>
  ({ claim, release, onStored, cancelled })
