import type { FormatEnum, OutputInfo, Sharp } from 'sharp'
import { loadSharp } from './load-sharp.js'
import { FST_MEDIA_INVALID_IMAGE } from '../errors.js'
import type { ImageFormat, ImageRules } from '../fields/field.js'
import { keepsAnimation, variantFormat, type ResolvedVariant } from './variant-options.js'

export interface ImageSource {
  /** The whole encoded image: sharp reads every input into memory anyway, and once is enough. */
  buffer: Buffer
  format: ImageFormat
  /** Frames, from the header. */
  pages: number
  rules: ImageRules
  field: string
}

export interface Encoded {
  data: Buffer
  width: number
  height: number
}

const ANIMATED_INPUT: ReadonlySet<ImageFormat> = new Set(['gif', 'webp'])

/**
 * A decoder for the source. `verify: 'decode'` fails on any libvips warning (a truncated JPEG is one);
 * otherwise only on errors, as browsers show a slightly damaged image too. The pixel limit was checked
 * from the header already.
 */
async function decoder (source: ImageSource, animated: boolean, orient: boolean): Promise<Sharp> {
  const failOn = source.rules.verify === 'decode' ? 'warning' : 'error'
  const sharp = await loadSharp()
  const image = sharp(source.buffer, { failOn, limitInputPixels: false, animated, sequentialRead: true })
  return orient ? image.autoOrient() : image
}

const message = (err: unknown): string => (err as Error).message.split('\n')[0] as string

/** Decodes every pixel (of every frame) once; refuses what libvips warns about. */
export async function verifyDecodes (source: ImageSource): Promise<void> {
  const animated = source.pages > 1 && ANIMATED_INPUT.has(source.format)
  const sharp = await loadSharp()
  await sharp(source.buffer, { failOn: 'warning', limitInputPixels: false, animated, sequentialRead: true }).stats().catch((err: unknown) => {
    throw new FST_MEDIA_INVALID_IMAGE(source.field, `the image cannot be decoded (${message(err)})`)
  })
}

function encoded (data: Buffer, info: OutputInfo): Encoded {
  // an animated output's height is every frame stacked: one frame's is what a page shows
  return { data, width: info.width, height: info.pageHeight ?? info.height }
}

/**
 * The original written again in its own format: no metadata, no trailing bytes. The orientation is always
 * applied, whatever `autoOrient` says: the EXIF tag that carried it is dropped with the rest.
 */
export async function sanitize (source: ImageSource): Promise<Encoded> {
  const animated = source.pages > 1 && ANIMATED_INPUT.has(source.format)
  const { data, info } = await (await decoder(source, animated, true))
    .toFormat(source.format as keyof FormatEnum)
    .toBuffer({ resolveWithObject: true })
    .catch((err: unknown) => {
      throw new FST_MEDIA_INVALID_IMAGE(source.field, `the image cannot be re-encoded (${message(err)})`)
    })
  return encoded(data, info)
}

/**
 * One variant. The declaration was checked when the field was declared, so a failure comes from this
 * image: one that does not decode, or whose shape the variant cannot take (a 100x20000 image never
 * enlarged stays past WebP's 16383 px). Either way it is the client's: 400.
 */
export async function makeVariant (source: ImageSource, variant: ResolvedVariant, timeoutSeconds = 0): Promise<Encoded> {
  const format = variantFormat(variant, source.format)
  let image = await decoder(source, source.pages > 1 && keepsAnimation(variant, source.format), source.rules.autoOrient)
  // a variant made on demand has a time budget (0: none, as inside an upload, which its own timeout bounds)
  if (timeoutSeconds > 0) image = image.timeout({ seconds: timeoutSeconds })
  if (variant.width !== undefined || variant.height !== undefined) {
    image = image.resize({ width: variant.width, height: variant.height, fit: variant.fit, withoutEnlargement: variant.withoutEnlargement })
  }
  const quality = variant.quality === undefined ? {} : { quality: variant.quality }
  image = image.toFormat(format, format === 'webp' ? { ...quality, effort: variant.effort } : quality)
  if (!variant.stripMetadata) image = image.keepMetadata()
  const { data, info } = await image.toBuffer({ resolveWithObject: true }).catch((err: unknown) => {
    throw new FST_MEDIA_INVALID_IMAGE(source.field, `variant ${variant.key} cannot be made from this image (${message(err)})`)
  })
  return encoded(data, info)
}
