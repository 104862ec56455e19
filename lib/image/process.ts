import sharp, { type FormatEnum, type OutputInfo, type Sharp } from 'sharp'
import { FST_MEDIA_INVALID_IMAGE, FST_MEDIA_VARIANT } from '../errors.js'
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
function decoder (source: ImageSource, animated: boolean): Sharp {
  const failOn = source.rules.verify === 'decode' ? 'warning' : 'error'
  const image = sharp(source.buffer, { failOn, limitInputPixels: false, animated, sequentialRead: true })
  return source.rules.autoOrient ? image.autoOrient() : image
}

const message = (err: unknown): string => (err as Error).message.split('\n')[0] as string

/** Decodes every pixel (of every frame) once; refuses what libvips warns about. */
export async function verifyDecodes (source: ImageSource): Promise<void> {
  const animated = source.pages > 1 && ANIMATED_INPUT.has(source.format)
  await sharp(source.buffer, { failOn: 'warning', limitInputPixels: false, animated, sequentialRead: true }).stats().catch((err: unknown) => {
    throw new FST_MEDIA_INVALID_IMAGE(source.field, `the image cannot be decoded (${message(err)})`)
  })
}

function encoded (data: Buffer, info: OutputInfo): Encoded {
  // an animated output's height is every frame stacked: one frame's is what a page shows
  return { data, width: info.width, height: info.pageHeight ?? info.height }
}

/** The original written again in its own format: no metadata, no trailing bytes, orientation applied. */
export async function sanitize (source: ImageSource): Promise<Encoded> {
  const animated = source.pages > 1 && ANIMATED_INPUT.has(source.format)
  const { data, info } = await decoder(source, animated)
    .toFormat(source.format as keyof FormatEnum)
    .toBuffer({ resolveWithObject: true })
    .catch((err: unknown) => {
      throw new FST_MEDIA_INVALID_IMAGE(source.field, `the image cannot be re-encoded (${message(err)})`)
    })
  return encoded(data, info)
}

/**
 * One variant. A failure is the client's (400) when the image itself does not decode, and the
 * declaration's (500) when it does: a variant that no image can satisfy is a server mistake.
 */
export async function makeVariant (source: ImageSource, variant: ResolvedVariant): Promise<Encoded> {
  const format = variantFormat(variant, source.format)
  let image = decoder(source, source.pages > 1 && keepsAnimation(variant, source.format))
  if (variant.width !== undefined || variant.height !== undefined) {
    image = image.resize({ width: variant.width, height: variant.height, fit: variant.fit, withoutEnlargement: variant.withoutEnlargement })
  }
  image = image.toFormat(format, variant.quality === undefined ? {} : { quality: variant.quality })
  if (!variant.stripMetadata) image = image.keepMetadata()
  const { data, info } = await image.toBuffer({ resolveWithObject: true }).catch(async (err: unknown) => {
    await verifyDecodes(source)
    throw new FST_MEDIA_VARIANT(source.field, variant.key, message(err))
  })
  return encoded(data, info)
}
