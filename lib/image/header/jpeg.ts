import { exifOrientation } from './exif.js'
import { broken, more, UNKNOWN, type ImageHeader, type Probe } from './types.js'

/** Start-of-frame markers of the processes libjpeg-turbo decodes: its other SOFn and JPG it refuses. */
const FRAMES = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc9, 0xca, 0xcb])
/** Segments libjpeg skips whatever their length says (APPn, COM, DNL): a length under 2 skips nothing. */
const isSkipped = (marker: number) => (marker >= 0xe0 && marker <= 0xef) || marker === 0xfe || marker === 0xdc
/** The rest of the markers it reads: DHT, DAC, DQT, DRI and SOS. Any other one ends the read with an error. */
const isKnown = (marker: number) => FRAMES.has(marker) || isSkipped(marker) || [0xc4, 0xcc, 0xdb, 0xdd, 0xda].includes(marker)
/** Markers without a length: TEM and the restart markers. */
const isStandalone = (marker: number) => marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)
const EXIF = Buffer.from('Exif\0\0', 'latin1')

/**
 * A JPEG's header, read as sharp (libjpeg) reads it: its segments up to the start of scan's header. The
 * dimensions are known at the frame header; the EXIF orientation from the first EXIF APP1 before the scan.
 */
export function probeJpeg (bytes: Buffer): Probe {
  let header: ImageHeader | undefined
  let orientation: number | undefined
  /** The first EXIF APP1 before the scan is the one libvips reads. */
  let exif = false
  for (let at = 2; at + 4 <= bytes.length;) {
    // libjpeg skips bytes other than markers with a warning: sharp judges those files
    if (bytes[at] !== 0xff) return UNKNOWN
    const marker = bytes[at + 1]!
    if (marker === 0xff) {
      at += 1
      continue
    }
    if (isStandalone(marker)) {
      at += 2
      continue
    }
    // EOI or a second SOI before the scan, too
    if (!isKnown(marker)) return broken(`marker ${marker} at ${at}`)
    const length = bytes.readUInt16BE(at + 2)
    if (length < 2 && !isSkipped(marker)) return broken(`a segment at ${at} has length ${length}`)
    const end = at + 2 + Math.max(length, 2)
    if (marker === 0xda) {
      if (header === undefined) return broken('the scan comes before the frame header')
      return end > bytes.length ? more(header) : { kind: 'header', header: { ...header, orientation } }
    }
    if (FRAMES.has(marker) || (marker === 0xe1 && !exif)) {
      if (end > bytes.length) return more(header)
      const data = bytes.subarray(at + 4, end)
      if (marker === 0xe1) {
        exif = data.subarray(0, 6).equals(EXIF)
        if (exif) orientation = exifOrientation(data.subarray(6))
      } else {
        if (header !== undefined) return broken('a second frame header')
        if (data.length < 6) return broken('the frame header is short')
        header = { format: 'jpeg', width: data.readUInt16BE(3), height: data.readUInt16BE(1), pages: 1 }
      }
    }
    at = end
  }
  return more(header)
}
