import type { FastifyRequest } from 'fastify'
import { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { buffer as readAll } from 'node:stream/consumers'
import { formatBytes } from '../bytes.js'
import { FST_MEDIA_EXTENSION_MISMATCH, FST_MEDIA_FILE_TOO_LARGE, FST_MEDIA_FILE_TOO_SMALL, FST_MEDIA_INVALID_NAME } from '../errors.js'
import { isClientError, refusal } from '../refusal.js'
import type { ImageFormat, ImageRules, ResolvedField } from '../fields/field.js'
import { FieldFile, ImageFile } from '../fields/field-file.js'
import { planName, type NamePlan, type UploadToContext } from '../fields/upload-to.js'
import { canonicalExtension } from '../mime.js'
import type { Storage } from '../storage/storage.js'
import { getValidName, splitExtension } from '../storage/valid-name.js'
import { decodesStored, processesStored, processStored, sanitizeOriginal } from '../image/pipeline.js'
import type { Encoded } from '../image/process.js'
import { Gate } from './gate.js'
import type { HeaderSource } from './late-header.js'
import { readHead, type Head } from './head.js'
import type { Dimensions } from './image-header.js'
import { imageHeaderSource } from './header-source.js'
import { acceptedTypes, detectType, type Detected } from './sniff.js'
import type { UploadHooks } from './transaction.js'

/** A file's chunks; `return()` releases what is left unread (a refusal mid-part leaves the rest). */
export type FileSource = AsyncIterator<Buffer> & { return: (value?: undefined) => Promise<unknown> }

/** What a copy of a file already in storage is told, as `storage.save` would be. */
export interface CopyToOptions {
  contentType: string
  maxLength: number
  claim: (name: string) => void
  release: (name: string) => void
  /** The request's commit publishes the name (a staging storage keeps the file out of sight until then). */
  stage: true
  /** The request's `limits.uploadTimeout`: a copy still running when it fires is cancelled. */
  signal?: AbortSignal
}

/**
 * A file already in the field's storage (a direct upload): its size is known before any byte is read, and
 * it is copied to its name inside the storage rather than written through the app. The source then reads it.
 */
export interface InStorage {
  size: number
  /** Copies the file to a free name from `name` on, and resolves that name. */
  copyTo: (name: string, options: CopyToOptions) => Promise<string>
}

/** Everything storing one file needs. */
export interface StoreContext {
  field: ResolvedField
  fieldName: string
  modelName: string
  storage: Storage
  /** The client's file name, untrusted. */
  filename: string
  source: FileSource
  request?: FastifyRequest
  hooks: UploadHooks
  /** Set when the file is in the storage already: `source` reads it from there. */
  inStorage?: InStorage
  /** The request's `limits.uploadTimeout`: a save or a copy still running when it fires is given up. */
  signal?: AbortSignal
}

interface Detection {
  detected: Detected
  /** The client's name, cleaned, without its extension. */
  stem: string
  clientExt: string
}

/** What the checks before any write learned of a file. */
interface Checked {
  detected: Detected
  /** Set for an image field. */
  image: CheckedImage | undefined
  /** Where it goes. */
  plan: NamePlan
}

interface CheckedImage {
  format: ImageFormat
  rules: ImageRules
  /** Read from the sniffing window, or to be read by the gate from the first bytes. */
  header: HeaderSource<Dimensions>
}

/** What storing a file learned. */
interface Stored<H> {
  name: string
  size: number
  sha256: string | undefined
  header: H
  /** The re-encoded original of a `sanitize` field. */
  sanitized: Encoded | undefined
  /** What was stored, when the gate kept it. */
  content: Buffer | undefined
}

/**
 * Validates and stores one file, in the order of the contract: name, type, extension, image header, size
 * (a file already in storage: its size first, known without a read). Nothing is written before the type is known; nothing becomes visible before every check has passed.
 * Returns null for what a browser sends for an untouched file input (no name, no bytes).
 */
export async function storeFile (ctx: StoreContext): Promise<FieldFile | null> {
  // one out of bounds costs no read (its type is then not checked, nor named in the refusal)
  if (ctx.inStorage !== undefined) checkSize(ctx, ctx.inStorage.size)
  const head = await readHead(ctx.source)
  try {
    if (ctx.filename === '' && head.ended && head.bytes.length === 0) return null
    const detection = await detectFile(ctx, head).catch(refused(ctx, head))
    const checked = await checkDetected(ctx, head, detection).catch(refused(ctx, head, detection.detected))
    const { image } = checked
    if (image === undefined) {
      return await storeChecked(ctx, head, checked, { value: undefined }, undefined, async (stored) => new FieldFile(await fileInit(ctx, checked, stored)))
    }
    const { format, rules } = image
    const sanitizeWith = rules.sanitize
      ? async (buffer: Buffer, { pages }: Dimensions) => await sanitizeOriginal({ buffer, format, pages, rules, field: ctx.fieldName })
      : undefined
    return await storeChecked(ctx, head, checked, image.header, sanitizeWith, async (stored) => await imageFile(ctx, checked, image, stored))
  } finally {
    // a refusal before the content was handed over leaves the part unread: release it
    if (!head.ended) await ctx.source.return()
  }
}

/** Streams the checked file through the gate into storage and makes its file; a refusal gets what was learned. */
async function storeChecked<H, F extends FieldFile> (
  ctx: StoreContext,
  head: Head,
  checked: Checked,
  header: HeaderSource<H>,
  sanitizeWith: ((buffer: Buffer, header: H) => Promise<Encoded>) | undefined,
  makeFile: (stored: Stored<H>) => Promise<F>
): Promise<F> {
  const { field, fieldName, hooks } = ctx
  const gate = new Gate(head.chunks, head.ended ? undefined : ctx.source, {
    field: fieldName,
    maxSize: field.maxSize,
    minSize: field.minSize,
    hash: checked.plan.needsHash,
    text: checked.detected.text,
    // an image decoded once stored (decode check, upload variants, placeholder) is read by sharp whole
    // anyway: kept, it is not read back; one whose variants are all made later is not held in memory
    keep: checked.image !== undefined && decodesStored(checked.image.rules) && sanitizeWith === undefined,
    count: hooks.count
  }, header)
  const stored = async (): Promise<F> => await makeFile(await store(ctx, checked, gate, sanitizeWith, header))
  return await stored().catch(refused(ctx, head, checked.detected, gate))
}

/** Every refusal of a file names its field, what it was and how much of it came. */
function refused ({ field, fieldName }: StoreContext, head: Head, detected?: Detected, gate?: Gate<unknown>) {
  return (err: unknown): never => {
    if (isClientError(err)) {
      const accepted = err.code === 'FST_MEDIA_INVALID_TYPE' ? acceptedTypes(field) : undefined
      refusal(err, { field: fieldName, detected: detected?.mime, accepted, bytes: Math.max(head.bytes.length, gate?.seen ?? 0) })
    }
    throw err
  }
}

/** What the file is: its name is usable, it is not empty, and its first bytes say a type the field takes. */
async function detectFile ({ field, fieldName, filename }: StoreContext, head: Head): Promise<Detection> {
  const validName = getValidName(filename)
  if (validName === '') throw new FST_MEDIA_INVALID_NAME(fieldName, 'nothing usable is left of the file name')
  // an empty file has no type to detect: it is refused for its size
  if (head.ended && head.bytes.length === 0) {
    const limit = Math.max(field.minSize, 1)
    throw refusal(new FST_MEDIA_FILE_TOO_SMALL(fieldName, formatBytes(limit)), { field: fieldName, limit, option: 'minSize' })
  }
  const { stem, ext: clientExt } = splitExtension(validName)
  return { detected: await detectType(head.bytes, clientExt, field, fieldName), stem, clientExt }
}

/**
 * The checks a file's first bytes allow before the rest has come (name, type, extension, image header), for
 * a file that arrives in pieces (a resumable upload). Its commit runs every check again on the whole file.
 */
export async function checkFirstBytes (ctx: Pick<StoreContext, 'field' | 'fieldName' | 'filename'>, head: Head): Promise<void> {
  const context = ctx as StoreContext
  const detection = await detectFile(context, head).catch(refused(context, head))
  await checkContent(context, head, detection).catch(refused(context, head, detection.detected))
}

/** What the first bytes say beyond the type: the client's extension agrees, an image's header is in bounds. */
async function checkContent ({ field, fieldName }: StoreContext, head: Head, { detected, clientExt }: Detection): Promise<CheckedImage | undefined> {
  if (clientExt !== '' && canonicalExtension(clientExt) !== detected.ext) {
    throw new FST_MEDIA_EXTENSION_MISMATCH(fieldName, clientExt, detected.mime)
  }
  // detectType gives an image field only the formats it takes
  const { format } = detected
  const rules = format === undefined ? undefined : field.image
  return rules === undefined || format === undefined
    ? undefined
    : { format, rules, header: await imageHeaderSource(head, format, rules, fieldName) }
}

/** The other checks the sniffing window allows: extension, image header, size (when the part fit in it). */
async function checkDetected (ctx: StoreContext, head: Head, detection: Detection): Promise<Checked> {
  const { field, fieldName } = ctx
  const { detected, stem } = detection
  const image = await checkContent(ctx, head, detection)

  // size comes last in the contract's order; a part that fit in the window is refused before any write
  if (head.ended && head.bytes.length > field.maxSize) {
    throw refusal(new FST_MEDIA_FILE_TOO_LARGE(fieldName, formatBytes(field.maxSize)), { field: fieldName, limit: field.maxSize, option: 'maxSize' })
  }
  const filename = `${stem}.${detected.ext}`
  return { detected, image, plan: namePlan(ctx, filename, detected.ext) }
}

/** A file in storage whose size is out of the field's bounds is refused for it, with nothing of it read. */
function checkSize ({ field, fieldName }: StoreContext, size: number): void {
  if (size > field.maxSize) {
    throw refusal(new FST_MEDIA_FILE_TOO_LARGE(fieldName, formatBytes(field.maxSize)), { field: fieldName, limit: field.maxSize, option: 'maxSize', bytes: 0 })
  }
  if (size < field.minSize) {
    throw refusal(new FST_MEDIA_FILE_TOO_SMALL(fieldName, formatBytes(field.minSize)), { field: fieldName, limit: field.minSize, option: 'minSize', bytes: 0 })
  }
}

/**
 * Streams the content through the gate into storage; a `sanitize` image field stores its re-encoded
 * original instead, once the gate has passed all of it. The name is the storage's (a taken one gets a suffix).
 */
async function store<H> (
  { field, storage, hooks, inStorage, signal }: StoreContext,
  { detected, plan }: Checked,
  gate: Gate<H>,
  sanitizeWith: ((buffer: Buffer, header: H) => Promise<Encoded>) | undefined,
  header: HeaderSource<H>
): Promise<Stored<H>> {
  const options = { contentType: detected.mime, maxLength: field.maxLength, claim: hooks.claim, release: hooks.release, stage: true as const }
  // a name refused for its path is refused before any byte is read, unless it waits for the content's hash
  const wanted = plan.needsHash ? () => plan.name(gate.result().sha256) : plan.name()
  if (inStorage !== undefined && sanitizeWith === undefined) {
    const copied = await copyInStorage(inStorage, gate, header, { ...options, signal }, wanted)
    hooks.onStored(copied.name)
    return copied
  }
  if (sanitizeWith !== undefined) {
    const input = await readAll(gate)
    const sanitized = await sanitizeWith(input, gate.result().header)
    const name = await storage.save(wanted, sanitized.data, options)
    hooks.onStored(name)
    return { name, ...gate.result(), sanitized }
  }
  const name = await storage.save(wanted, gate, { ...options, signal })
  hooks.onStored(name)
  return { name, ...gate.result(), sanitized: undefined }
}

/**
 * A file already in storage gets its name by a copy inside the storage. Its bytes pass the gate first only
 * where a check needs all of them: a text type, a `{hash}` name, an image header beyond the sniffing window.
 */
async function copyInStorage<H> (inStorage: InStorage, gate: Gate<H>, header: HeaderSource<H>, options: CopyToOptions, wanted: string | (() => string)): Promise<Stored<H>> {
  const readsAll = typeof wanted === 'function' || gate.checksText || !('value' in header)
  // the gate checks as it is read; nothing is kept
  if (readsAll) await pipeline(gate, new Writable({ write: (_chunk, _encoding, done) => done() }))
  const passed = readsAll ? gate.result() : { size: inStorage.size, sha256: undefined, header: (header as { value: H }).value, content: undefined }
  const name = await inStorage.copyTo(typeof wanted === 'function' ? wanted() : wanted, options)
  return { name, ...passed, sanitized: undefined }
}

function namePlan ({ field, fieldName, modelName, request }: StoreContext, filename: string, ext: string): NamePlan {
  return planName({
    uploadTo: field.uploadTo,
    // the router hands params as strings; the context says so for `ctx.request.params.id`
    ctx: { filename, field: fieldName, model: modelName, request: request as UploadToContext['request'], date: new Date() },
    ext,
    maxLength: field.maxLength,
    timeZone: field.timeZone
  })
}

async function fileInit ({ storage }: StoreContext, { detected }: Checked, stored: Stored<unknown>) {
  return { name: stored.name, storage, url: await storage.url(stored.name), size: stored.sanitized?.data.length ?? stored.size, contentType: detected.mime }
}

/** The stored image with its dimensions, after the decode check and the variants its field asks for. */
async function imageFile (ctx: StoreContext, checked: Checked, { format, rules }: CheckedImage, stored: Stored<Dimensions>): Promise<ImageFile> {
  const { storage, hooks } = ctx
  const { sanitized, header: { width, height, pages } } = stored
  const init = { ...await fileInit(ctx, checked, stored), width: sanitized?.width ?? width, height: sanitized?.height ?? height }
  if (!processesStored(rules)) return new ImageFile(init)
  const work = processStored({ storage, name: stored.name, format, pages, width, height, orientation: stored.header.orientation, rules, field: ctx.fieldName, sanitized: sanitized?.data, content: stored.content, hooks })
  hooks.track(work)
  const { variants, placeholder } = await work
  return new ImageFile({ ...init, variants, ...(rules.placeholder === undefined ? {} : { placeholder }) })
}
