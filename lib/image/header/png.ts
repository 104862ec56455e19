import { exifOrientation } from './exif.js'
import { broken, more, type ImageHeader, type Probe } from './types.js'

const MAX_LENGTH = 0x7fffffff
/** The bit depths each colour type allows (PNG spec, 11.2.2). */
const DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] }
const isLetter = (byte: number) => (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
const isUpper = (type: string, at: number) => (type.charCodeAt(at) & 0x20) === 0
const CRITICAL = new Set(['IHDR', 'PLTE', 'IDAT', 'IEND'])

/**
 * A PNG's header: IHDR, then every chunk up to the first IDAT, as sharp reads it (CRCs unchecked, chunk
 * types and lengths checked). The dimensions are known from the first 33 bytes; the header ends at the
 * first IDAT.
 */
export function probePng (bytes: Buffer): Probe {
  let header: ImageHeader | undefined
  let colour = 0
  let palette = false
  for (let at = 8; at + 8 <= bytes.length;) {
    const length = bytes.readUInt32BE(at)
    const type = bytes.toString('latin1', at + 4, at + 8)
    if (length > MAX_LENGTH || !bytes.subarray(at + 4, at + 8).every(isLetter)) return broken(`a chunk at ${at} is not a PNG chunk`)
    if (header === undefined && type !== 'IHDR') return broken('the first chunk is not IHDR')
    // libspng refuses a critical chunk it does not know, and a chunk type's reserved bit set (a lowercase third letter)
    if ((isUpper(type, 0) && !CRITICAL.has(type)) || !isUpper(type, 2)) return broken(`a chunk at ${at} is ${type}`)
    if (type === 'IDAT') {
      if (colour === 3 && !palette) return broken('a palette image has no PLTE before its data')
      return { kind: 'header', header: header! }
    }
    if (at + 12 + length > bytes.length) return more(header)
    const data = bytes.subarray(at + 8, at + 8 + length)
    if (type === 'IHDR') {
      const ihdr = readIhdr(data)
      if (typeof ihdr === 'string') return broken(ihdr)
      header = ihdr
      colour = data[9]!
    } else if (type === 'PLTE') {
      palette = true
    } else if (type === 'eXIf') {
      header!.orientation ??= exifOrientation(data)
    } else if (type === 'IEND') {
      return broken('the image ends before its data')
    }
    at += 12 + length
  }
  return more(header)
}

/** The dimensions, or why IHDR is invalid. */
function readIhdr (data: Buffer): ImageHeader | string {
  if (data.length !== 13) return 'IHDR is not 13 bytes'
  const width = data.readUInt32BE(0)
  const height = data.readUInt32BE(4)
  const [depth, colour, compression, filter, interlace] = [data[8]!, data[9]!, data[10]!, data[11]!, data[12]!]
  if (width === 0 || height === 0 || width > MAX_LENGTH || height > MAX_LENGTH) return `IHDR says ${width}x${height}`
  if (DEPTHS[colour]?.includes(depth) !== true || compression !== 0 || filter !== 0 || interlace > 1) return 'IHDR holds invalid values'
  return { format: 'png', width, height, pages: 1, orientation: undefined }
}
