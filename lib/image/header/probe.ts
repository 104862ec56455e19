import type { ImageFormat } from '../formats.js'
import { probeAvif } from './avif.js'
import { GifWalker } from './gif.js'
import { probeJpeg } from './jpeg.js'
import { probePng } from './png.js'
import { broken, more, UNKNOWN, type ImageHeader, type Probe } from './types.js'
import { WebpWalker } from './webp.js'

export type FrameWalker = GifWalker | WebpWalker

/** The walker that follows a format's frames through the whole file; undefined for a format whose header says them. */
export function frameWalker (format: ImageFormat | undefined): FrameWalker | undefined {
  if (format === 'gif') return new GifWalker()
  return format === 'webp' ? new WebpWalker() : undefined
}

/** What a walker found so far: the size once known, the frames counted up to here. */
export function walkedHeader (walker: FrameWalker): ImageHeader | undefined {
  const { format, size, pages, orientation } = walker
  return size === undefined ? undefined : { format, ...size, pages, orientation }
}

/** What a walker makes of the bytes so far, as a probe; `ended` when they are the whole file. */
export function walked (walker: FrameWalker, ended: boolean): Probe {
  if (walker.broken !== undefined) return broken(walker.broken)
  const header = walkedHeader(walker)
  if (walker.readable && (walker.done || ended)) return { kind: 'header', header: header! }
  return ended ? broken('the file ends inside the image') : more(header)
}

/**
 * Reads the header of an image of `format` (what its signature said) from its first bytes, without sharp.
 * A GIF or WebP header is complete only with the whole file (their frames run through it).
 */
export function probeHeader (bytes: Buffer, format: ImageFormat, ended = false): Probe {
  switch (format) {
    case 'png': return probePng(bytes)
    case 'jpeg': return probeJpeg(bytes)
    case 'avif': return probeAvif(bytes)
    case 'gif':
    case 'webp': {
      const walker = frameWalker(format)!
      walker.push(bytes)
      return walked(walker, ended)
    }
    default: return UNKNOWN
  }
}

/** The format an image's signature says, for a stored file read back (an upload's was sniffed already). */
export function signatureFormat (bytes: Buffer): ImageFormat | undefined {
  if (bytes.subarray(0, 8).equals(PNG)) return 'png'
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg'
  if (bytes.toString('latin1', 0, 4) === 'GIF8') return 'gif'
  if (bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP') return 'webp'
  if (bytes.toString('latin1', 4, 12) === 'ftypavif') return 'avif'
  return undefined
}

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
