import type { Readable } from 'node:stream'
import type { Metadata } from 'sharp'
import { loadSharp } from '../image/load-sharp.js'
import { frameWalker, probeHeader, signatureFormat, walkedHeader, type FrameWalker } from '../image/header/probe.js'
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
 * The header in the first bytes of an image, undefined while they do not hold it (or never will): our
 * reader where it knows the format the signature says, sharp for the rest. `ended`: they are the whole file.
 */
async function firstBytesHeader (bytes: Buffer, ended: boolean): Promise<ImageHeader | undefined> {
  const format = signatureFormat(bytes)
  const probe = format === undefined ? UNKNOWN : probeHeader(bytes, format, ended)
  if (probe.kind === 'unknown') return await readHeader(bytes)
  return probe.kind === 'header' ? probe.header : undefined
}

/** The header of a whole image held in memory (an original read back to make a variant). */
export async function readImageHeader (bytes: Buffer): Promise<ImageHeader | undefined> {
  return await firstBytesHeader(bytes, true)
}

/**
 * The header of a stored image, reading only as far as it needs: 64 KiB, then four times more each try, up
 * to `limit`. A GIF's or WebP's first bytes give its size (a WebP's EXIF orientation follows its image
 * data: it is walked to, in constant memory, when VP8X announces it). The rest of the stream is never read.
 */
export async function readStreamHeader (source: Readable, limit: number): Promise<ImageHeader | undefined> {
  const held: Buffer[] = []
  let size = 0
  let next = 64 * 1024
  let walker: FrameWalker | undefined
  for await (const chunk of source as AsyncIterable<Buffer>) {
    if (walker !== undefined) {
      walker.push(chunk)
    } else {
      held.push(chunk)
      size += chunk.length
      if (size < Math.min(next, limit)) continue
      const bytes = Buffer.concat(held, size)
      walker = frameWalker(signatureFormat(bytes))
      if (walker !== undefined) {
        walker.push(bytes)
      } else {
        const found = await firstBytesHeader(bytes, false)
        if (found !== undefined || size >= limit) return found
        next *= 4
        continue
      }
    }
    // what follows only counts frames; a broken file is refused at once
    if (walker.settled || walker.broken !== undefined) break
  }
  if (walker === undefined) return await firstBytesHeader(Buffer.concat(held, size), true)
  return walker.broken === undefined ? walkedHeader(walker) : undefined
}

/**
 * Checks a parsed header against the field: the format it says must be the one the signature said,
 * and the dimensions and pixel count must be within bounds. Nothing is decoded.
 */
export function checkHeader (meta: ImageHeader, expected: ImageFormat, rules: ImageRules, field: string): Dimensions {
  const invalid = (why: string, option?: keyof ImageRules) =>
    refusal(new FST_MEDIA_INVALID_IMAGE(field, why), { field, option, limit: option === undefined ? undefined : rules[option] as number })
  const { format } = meta
  if (format !== expected) throw invalid(`the header says ${format ?? 'nothing'} where the signature says ${expected}`)
  const { width = 0, height = 0 } = meta
  if (!(width > 0 && height > 0)) throw invalid('the image has no dimensions')
  if (width * height > rules.maxPixels) throw invalid(`${width}x${height} is more than ${rules.maxPixels} pixels`, 'maxPixels')
  const { pages } = meta
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
