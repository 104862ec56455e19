import type { FastifyRequest } from 'fastify'
import { formatBytes } from '../bytes.js'
import { FST_MEDIA_EXTENSION_MISMATCH, FST_MEDIA_FILE_TOO_LARGE, FST_MEDIA_FILE_TOO_SMALL, FST_MEDIA_INVALID_NAME } from '../errors.js'
import type { ResolvedField } from '../fields/field.js'
import { FieldFile, ImageFile } from '../fields/field-file.js'
import { planName, type UploadToContext } from '../fields/upload-to.js'
import { canonicalExtension } from '../mime.js'
import type { Storage } from '../storage/storage.js'
import { getValidName, splitExtension } from '../storage/valid-name.js'
import { gate, type GateResult } from './gate.js'
import { readHead } from './head.js'
import { checkHeader, readHeader, unreadableHeader, type Dimensions } from './image-header.js'
import { detectType } from './sniff.js'

export interface StoreInput {
  field: ResolvedField
  fieldName: string
  modelName: string
  storage: Storage
  /** The client's file name, untrusted. */
  filename: string
  source: AsyncIterator<Buffer>
  request?: FastifyRequest
  /** Counts bytes against the request's total; throws past it. */
  count?: (bytes: number) => void
  /** Told the name as soon as the storage has it, before anything else can fail. */
  onStored?: (name: string) => void
  /** Passed to the storage: told the name before the file becomes visible under it. */
  claim?: (name: string) => void
  release?: (name: string) => void
}

/**
 * Validates and stores one file, in the order of the contract: name, type, extension, image header, size.
 * Nothing is written before the type is known; nothing becomes visible before every check has passed.
 * Returns null for what a browser sends for an untouched file input (no name, no bytes).
 */
export async function storeFile (input: StoreInput): Promise<FieldFile | null> {
  const { field, fieldName, source } = input
  const head = await readHead(source)
  try {
    if (input.filename === '' && head.ended && head.bytes.length === 0) return null

    const validName = getValidName(input.filename)
    if (validName === '') throw new FST_MEDIA_INVALID_NAME(fieldName, 'nothing usable is left of the file name')
    // an empty file has no type to detect: it is refused for its size
    if (head.ended && head.bytes.length === 0) throw new FST_MEDIA_FILE_TOO_SMALL(fieldName, formatBytes(Math.max(field.minSize, 1)))

    const clientExt = splitExtension(validName).ext
    const detected = await detectType(head.bytes, clientExt, field, fieldName)
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
    if (head.ended && head.bytes.length > field.maxSize) throw new FST_MEDIA_FILE_TOO_LARGE(fieldName, formatBytes(field.maxSize))

    const filename = `${splitExtension(validName).stem}.${detected.ext}`
    const plan = planName({
      uploadTo: field.uploadTo,
      // the router hands params as strings; the context says so for `ctx.request.params.id`
      ctx: { filename, field: fieldName, model: input.modelName, request: input.request as UploadToContext['request'], date: new Date() },
      ext: detected.ext,
      maxLength: field.maxLength,
      timeZone: field.timeZone
    })
    const result: GateResult = { size: 0, sha256: undefined }
    const content = gate(head.chunks, head.ended ? undefined : source, {
      field: fieldName,
      maxSize: field.maxSize,
      minSize: field.minSize,
      hash: plan.needsHash,
      text: detected.text,
      lateHeader,
      count: input.count
    }, result)
    const wanted = plan.needsHash ? () => plan.name(result.sha256) : plan.name()
    const name = await input.storage.save(wanted, content, { contentType: detected.mime, maxLength: field.maxLength, claim: input.claim, release: input.release })
    input.onStored?.(name)

    const init = { name, storage: input.storage, url: await input.storage.url(name), size: result.size, contentType: detected.mime }
    return dimensions === undefined ? new FieldFile(init) : new ImageFile({ ...init, ...dimensions })
  } finally {
    // a refusal before the content was handed over leaves the part unread: release it
    if (!head.ended) await source.return?.()
  }
}
