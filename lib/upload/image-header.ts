import type { Readable } from 'node:stream'
import type { Metadata } from 'sharp'
import { loadSharp } from '../image/load-sharp.js'
import { probeHeader, signatureFormat } from '../image/header/probe.js'
import { UNKNOWN, type ImageHeader } from '../image/header/types.js'
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

/** A header as checkHeader reads it: what our reader or sharp found; sharp may lack any of it. */
export type FoundHeader = Partial<ImageHeader>

/** sharp's metadata of a header, or undefined when the bytes hold no complete header. */
export async function readHeader (bytes: Buffer): Promise<ImageHeader | undefined> {
  const sharp = await loadSharp()
  try {
    // sharp enforces its own pixel limit with its own error: ours is compared below, with our code
    return fromSharp(await sharp(bytes, { limitInputPixels: false }).metadata())
  } catch {
    return undefined
  }
}

/** sharp's metadata as our reader's header: AVIF is what sharp reports as heif with compression av1. */
export function fromSharp (meta: Metadata): ImageHeader {
  const format = meta.format === 'heif' ? (meta.compression === 'av1' ? 'avif' : 'heif') : meta.format
  return { format, width: meta.width, height: meta.height, pages: meta.pages ?? 1, orientation: meta.orientation }
}

/**
 * The header of a stored image, reading only as far as it needs: 64 KiB, then four times more each try, up
 * to `limit`. Our reader answers where it can (a GIF or WebP gives its size from its first bytes), sharp
 * where the reader leaves the format to it. The rest of the stream is never read.
 */
export async function readStreamHeader (source: Readable, limit: number): Promise<ImageHeader | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  let next = 64 * 1024
  const read = async (ended: boolean): Promise<ImageHeader | undefined | 'more'> => {
    const bytes = Buffer.concat(chunks, size)
    const format = signatureFormat(bytes)
    const probe = format === undefined ? UNKNOWN : probeHeader(bytes, format, ended)
    if (probe.kind === 'header') return probe.header
    if (probe.kind === 'unknown') return await readHeader(bytes) ?? (ended || size >= limit ? undefined : 'more')
    // only the size is asked for: a GIF's or WebP's frames need not be counted
    if (probe.kind === 'more' && probe.partial !== undefined && (format === 'gif' || format === 'webp')) return probe.partial
    return probe.kind === 'more' && !ended && size < limit ? 'more' : undefined
  }
  for await (const chunk of source) {
    chunks.push(chunk as Buffer)
    size += (chunk as Buffer).length
    if (size < Math.min(next, limit)) continue
    const found = await read(false)
    if (found !== 'more') return found
    next *= 4
  }
  const found = await read(true)
  return found === 'more' ? undefined : found
}

/**
 * Checks a parsed header against the field: the format it says must be the one the signature said,
 * and the dimensions and pixel count must be within bounds. Nothing is decoded.
 */
export function checkHeader (meta: FoundHeader, expected: ImageFormat, rules: ImageRules, field: string): Dimensions {
  const invalid = (why: string, option?: keyof ImageRules) =>
    refusal(new FST_MEDIA_INVALID_IMAGE(field, why), { field, option, limit: option === undefined ? undefined : rules[option] as number })
  const { format } = meta
  if (format !== expected) throw invalid(`the header says ${format ?? 'nothing'} where the signature says ${expected}`)
  const { width = 0, height = 0 } = meta
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
