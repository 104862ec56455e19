import { exifOrientation } from './exif.js'
import { broken, more, UNKNOWN, type ImageHeader, type Probe } from './types.js'

/** Start-of-frame markers: C0-CF but DHT (C4), JPG (C8) and DAC (CC). */
const isFrame = (marker: number) => marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc
/** Markers without a length: TEM and the restart markers. */
const isStandalone = (marker: number) => marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)
const EXIF = Buffer.from('Exif\0\0', 'latin1')

/**
 * A JPEG's header, read as sharp (libjpeg) reads it: its segments up to the start of scan's header. The
 * dimensions are known at the frame header; the EXIF orientation from an APP1 segment before it.
 */
export function probeJpeg (bytes: Buffer): Probe {
  let header: ImageHeader | undefined
  let orientation: number | undefined
  for (let at = 2; ;) {
    if (at + 4 > bytes.length) return more(header)
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
    if (marker === 0xd9) return broken('the image ends before its data')
    if (marker === 0xd8) return broken('a second start of image')
    const length = bytes.readUInt16BE(at + 2)
    if (length < 2) return broken(`a segment at ${at} has length ${length}`)
    const end = at + 2 + length
    if (marker === 0xda) {
      if (header === undefined) return broken('the scan comes before the frame header')
      return end > bytes.length ? more(header) : { kind: 'header', header }
    }
    if (isFrame(marker) || (marker === 0xe1 && orientation === undefined && header === undefined)) {
      if (end > bytes.length) return more(header)
      const data = bytes.subarray(at + 4, end)
      if (marker === 0xe1) {
        if (data.subarray(0, 6).equals(EXIF)) orientation = exifOrientation(data.subarray(6))
      } else {
        if (header !== undefined) return broken('a second frame header')
        if (data.length < 6) return broken('the frame header is short')
        header = { format: 'jpeg', width: data.readUInt16BE(3), height: data.readUInt16BE(1), pages: 1, orientation }
      }
    }
    at = end
  }
}
