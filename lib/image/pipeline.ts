import { buffer as readAll } from 'node:stream/consumers'
import { FST_MEDIA_CANCELLED, FST_MEDIA_STORAGE } from '../errors.js'
import type { ImageFormat, ImageRules } from '../fields/field.js'
import { ImageFile } from '../fields/field-file.js'
import { typeForName } from '../mime.js'
import type { Storage } from '../storage/storage.js'
import type { UploadHooks } from '../upload/transaction.js'
import { makePlaceholder } from './placeholder.js'
import { makeVariant, sanitize, verifyDecodes, type Encoded, type ImageSource } from './process.js'
import { imageSlots } from './slots.js'
import { variantFormat, variantName, type ResolvedVariant } from './variant-options.js'
import { planVariant, queueAfterCommit, variantUrl } from './later.js'
import { plannedSize } from './planned-size.js'

export interface StoredImage {
  storage: Storage
  /** The original's stored name. */
  name: string
  format: ImageFormat
  pages: number
  /** The original's header: what the variants made later are planned from. */
  width: number
  height: number
  orientation?: number | undefined
  rules: ImageRules
  field: string
  /** The sanitised original, when there is one: no need to read it back. */
  sanitized?: Buffer
  /** The stored bytes, when the upload kept them on their way to storage: no need to read them back either. */
  content?: Buffer
  /** Told every variant's name as soon as it is stored (a failing request removes it); `cancelled` stops the work before its next read or write. */
  hooks: Pick<UploadHooks, 'onStored' | 'claim' | 'release' | 'cancelled'>
}

/** Whether an image field does anything with the image once it is stored (variants made later get their file objects). */
export const processesStored = (rules: ImageRules): boolean => rules.verify === 'decode' || rules.variants.length > 0 || rules.placeholder !== undefined

/** Whether the upload decodes the stored image: its bytes are wanted in memory (a field whose variants are all made later may not). */
export const decodesStored = (rules: ImageRules): boolean =>
  rules.verify === 'decode' || rules.placeholder !== undefined || rules.variants.some((variant) => variant.generation === 'upload')

/** What processing a stored image made. */
export interface Processed {
  variants: Record<string, ImageFile>
  /** Set when the field asks for one. */
  placeholder: string | undefined
}

/**
 * The checked upload re-encoded in an image slot: what a `sanitize` field stores. The size limits stay
 * the input's (they guard what the client sends).
 */
export async function sanitizeOriginal (source: ImageSource): Promise<Encoded> {
  return await imageSlots.run(async () => await sanitize(source))
}

/**
 * After the original is stored (and still unserved): the full decode check, the variants made at upload
 * and the placeholder, in one image slot, from the bytes in memory when the upload kept them. Every variant
 * is settled before this returns, so a failure leaves none behind unreported. Variants made later
 * (`lazy`, `background`) get their file objects only: they are made from the stored original when asked for.
 */
export async function processStored (image: StoredImage): Promise<Processed> {
  const now = image.rules.variants.filter((variant) => variant.generation === 'upload')
  // variants made later cost nothing now: no slot, no decode, unless the decode check or the placeholder wants one
  const made = decodesStored(image.rules) ? await processNow(image, now) : { variants: {}, placeholder: undefined }
  const variants: Record<string, ImageFile> = {}
  for (const variant of image.rules.variants) variants[variant.key] = made.variants[variant.key] ?? await laterVariant(image, variant)
  return { variants, placeholder: made.placeholder }
}

/**
 * A variant made after the upload (`lazy`, `background`): its name and URL now, its size as planned from
 * the original's header, its byte size once made. A background one is queued when the upload commits.
 */
async function laterVariant (image: StoredImage, variant: ResolvedVariant): Promise<ImageFile> {
  const name = variantName(image.name, variant.key, variantFormat(variant, image.format))
  const { width, height } = plannedSize(image, variant, image.rules.autoOrient)
  const file = new ImageFile({ name, storage: image.storage, url: await variantUrl(image.storage, name, variant), size: undefined, contentType: typeForName(name), width, height })
  planVariant(file, variant, image.rules.autoOrient)
  if (variant.generation === 'background') queueAfterCommit(file)
  return file
}

async function processNow (image: StoredImage, now: readonly ResolvedVariant[]): Promise<Processed> {
  return await imageSlots.run(async () => {
    if (image.hooks.cancelled()) throw new FST_MEDIA_CANCELLED(image.field)
    const source: ImageSource = {
      buffer: image.sanitized ?? image.content ?? await readAll(image.storage.open(image.name)),
      format: image.format,
      pages: image.pages,
      rules: image.rules,
      field: image.field
    }
    // a sanitised original was decoded by its re-encoding already
    if (image.rules.verify === 'decode' && image.sanitized === undefined) await verifyDecodes(source)
    const { placeholder: kind } = image.rules
    const [placeholder, ...settled] = await Promise.allSettled([
      kind === undefined ? undefined : makePlaceholder(source, kind),
      ...now.map(async (variant) => await storeVariant(image, source, variant))
    ])
    const variants: Record<string, ImageFile> = {}
    for (const [i, result] of settled.entries()) {
      if (result.status === 'rejected') throw result.reason
      variants[(now[i] as ResolvedVariant).key] = result.value
    }
    if (placeholder.status === 'rejected') throw placeholder.reason
    return { variants, placeholder: placeholder.value }
  })
}

async function storeVariant (image: StoredImage, source: ImageSource, variant: ResolvedVariant): Promise<ImageFile> {
  const out = await makeVariant(source, variant)
  if (image.hooks.cancelled()) throw new FST_MEDIA_CANCELLED(image.field)
  const wanted = variantName(image.name, variant.key, variantFormat(variant, image.format))
  const name = await saveAs(image, wanted, out.data)
  return new ImageFile({ name, storage: image.storage, url: await image.storage.url(name), size: out.data.length, contentType: typeForName(name), width: out.width, height: out.height })
}

/**
 * Stores a variant under its derived name exactly. The original was just stored under a free name, so a
 * file already holding that variant name belongs to an original that is gone: it is replaced.
 */
async function saveAs (image: StoredImage, wanted: string, data: Buffer): Promise<string> {
  const { claim, release } = image.hooks
  const options = { contentType: typeForName(wanted), claim, release, stage: true }
  const discard = async (name: string): Promise<void> => {
    await image.storage.delete(name)
    release(name)
  }
  let name = await image.storage.save(wanted, data, options)
  if (name !== wanted) {
    await discard(name)
    await image.storage.delete(wanted)
    name = await image.storage.save(wanted, data, options)
    if (name !== wanted) {
      await discard(name)
      throw new FST_MEDIA_STORAGE(image.field, `the variant name ${wanted} stays taken`)
    }
  }
  image.hooks.onStored(name)
  return name
}
