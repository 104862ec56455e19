import type { Readable } from 'node:stream'
import type { Metadata } from 'sharp'
import { loadSharp } from '../image/load-sharp.js'
import { FST_MEDIA_INVALID_IMAGE } from '../errors.js'
import { refusal } from '../refusal.js'
import type { ImageFormat, ImageRules } from '../fields/field.js'

export interface Dimensions {
  width: number
  height: number
  /** Frames of an animated image, 1 for a still one. */
  pages: number
  /** The EXIF orientation, when the header has one (variants made later are planned from it). */
  orientation?: number | undefined
}

/** sharp's metadata of a header, or undefined when the bytes hold no complete header. */
export async function readHeader (bytes: Buffer): Promise<Metadata | undefined> {
  const sharp = await loadSharp()
  try {
    // sharp enforces its own pixel limit with its own error: ours is compared below, with our code
    return await sharp(bytes, { limitInputPixels: false }).metadata()
  } catch {
    return undefined
  }
}

/**
 * The header of a stored image, reading only as far as it needs: 64 KiB, then four times more each try, up
 * to `limit`. The rest of the stream is never read.
 */
export async function readStreamHeader (source: Readable, limit: number): Promise<Metadata | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  let next = 64 * 1024
  for await (const chunk of source) {
    chunks.push(chunk as Buffer)
    size += (chunk as Buffer).length
    if (size < Math.min(next, limit)) continue
    const meta = await readHeader(Buffer.concat(chunks, size))
    if (meta !== undefined || size >= limit) return meta
    next *= 4
  }
  return await readHeader(Buffer.concat(chunks, size))
}

function formatOf (meta: Metadata): string | undefined {
  if (meta.format === 'heif') return meta.compression === 'av1' ? 'avif' : 'heif'
  return meta.format
}

/**
 * Checks a parsed header against the field: the format sharp sees must be the one the signature said,
 * and the dimensions and pixel count must be within bounds. Nothing is decoded.
 */
export function checkHeader (meta: Metadata, expected: ImageFormat, rules: ImageRules, field: string): Dimensions {
  const invalid = (why: string, option?: keyof ImageRules) =>
    refusal(new FST_MEDIA_INVALID_IMAGE(field, why), { field, option, limit: option === undefined ? undefined : rules[option] as number })
  const format = formatOf(meta)
  if (format !== expected) throw invalid(`the header says ${format ?? 'nothing'} where the signature says ${expected}`)
  const { width, height } = meta
  if (!(width > 0 && height > 0)) throw invalid('the image has no dimensions')
  if (width * height > rules.maxPixels) throw invalid(`${width}x${height} is more than ${rules.maxPixels} pixels`, 'maxPixels')
  const pages = meta.pages ?? 1
  // a field that decodes every frame decodes width x height x frames pixels
  if (rules.decodesAllFrames && width * height * pages > rules.maxPixels) {
    throw invalid(`${width}x${height} in ${pages} frames is more than ${rules.maxPixels} pixels`, 'maxPixels')
  }
  if (width < rules.minWidth) throw invalid(`${width} px wide is less than ${rules.minWidth}`, 'minWidth')
  if (width > rules.maxWidth) throw invalid(`${width} px wide is more than ${rules.maxWidth}`, 'maxWidth')
  if (height < rules.minHeight) throw invalid(`${height} px high is less than ${rules.minHeight}`, 'minHeight')
  if (height > rules.maxHeight) throw invalid(`${height} px high is more than ${rules.maxHeight}`, 'maxHeight')
  if (pages > rules.maxPages) throw invalid(`${pages} frames are more than ${rules.maxPages}`, 'maxPages')
  return { width, height, pages, orientation: meta.orientation }
}

export const unreadableHeader = (field: string): Error => new FST_MEDIA_INVALID_IMAGE(field, 'the image header cannot be read')
