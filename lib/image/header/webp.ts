import { exifOrientation } from './exif.js'
import { StreamWalker } from './walker.js'

/** The first bytes of an EXIF chunk read for its orientation (IFD0 comes first; 64 KiB bounds a JPEG's). */
const EXIF_MOST = 64 * 1024

/**
 * Walks a WebP's RIFF chunks, skipping their payloads: sizes it from its first chunk (VP8X canvas, or the
 * VP8/VP8L bitstream), counts the frames (ANMF chunks) of an animated one and reads the orientation of
 * its first EXIF chunk when VP8X announces one, as sharp (libwebp, libvips) does.
 */
export class WebpWalker extends StreamWalker {
  readonly format = 'webp'
  /** Known once the first chunk has been read. */
  size: { width: number, height: number } | undefined
  /** Known once the EXIF chunk VP8X announces has been read. */
  orientation: number | undefined
  #animated = false
  /** VP8X announces EXIF, and its chunk has not been read yet. */
  #exif = false
  /** While an EXIF chunk's start is read: the rest of its payload, skipped after. */
  #exifRest: number | undefined
  #frames = 0
  /** Where the RIFF data ends, and where the next chunk starts. */
  #end = 0
  #at = 12
  /** The first chunk's type, while its start is read. */
  #first: string | undefined
  /** Past the last chunk's header: only its payload is left. */
  #last = false

  constructor () {
    super(12)
  }

  /** The size, and the orientation when there is one, are known: what follows only counts frames. */
  get settled (): boolean {
    return this.size !== undefined && !this.#exif
  }

  get pages (): number {
    return this.#animated ? this.#frames : 1
  }

  /** sharp reads a WebP only whole: every byte the RIFF header announces. */
  get readable (): boolean {
    return this.broken === undefined && this.#last && (this.done || this.atBoundary) && (!this.#animated || this.#frames > 0)
  }

  protected step (bytes: Buffer): void {
    // a byte after the RIFF data: the image ended before it
    if (this.#last) {
      this.done = true
      return
    }
    if (this.#end === 0) return this.#readRiff(bytes)
    if (this.#first !== undefined) return this.#readFirst(this.#first, bytes)
    if (this.#exifRest !== undefined) return this.#readExif(bytes, this.#exifRest)
    this.#readChunk(bytes)
  }

  /** The RIFF header: its signature was sniffed already (file-type and signatureFormat check RIFF and WEBP). */
  #readRiff (bytes: Buffer): void {
    this.#end = 8 + bytes.readUInt32LE(4)
    this.next(8)
  }

  #readChunk (bytes: Buffer): void {
    const type = bytes.toString('latin1', 0, 4)
    const size = bytes.readUInt32LE(4)
    const payload = size + (size & 1)
    const start = this.#at
    this.#at += 8 + payload
    if (this.#at > this.#end) return this.fail(`the ${type} chunk runs past the end of the RIFF data`)
    if (start === 12) {
      const read = FIRST[type]
      if (read === undefined) return this.fail(`the first chunk is ${type}`)
      if (size < read) return this.fail(`the ${type} chunk is short`)
      this.#first = type
      return this.next(read)
    }
    if (type === 'EXIF' && this.#exif && size > 0) {
      this.#exifRest = payload - Math.min(size, EXIF_MOST)
      return this.next(Math.min(size, EXIF_MOST))
    }
    this.#after(payload)
    if (type === 'ANMF') {
      this.#frames += 1
      if (this.#animated) this.onFrame?.()
    }
  }

  /** libvips takes EXIF data with or without the JPEG APP1 prefix. */
  #readExif (bytes: Buffer, rest: number): void {
    this.#exifRest = undefined
    this.#exif = false
    this.orientation = exifOrientation(bytes.subarray(0, 6).equals(EXIF_PREFIX) ? bytes.subarray(6) : bytes)
    this.#after(rest)
  }

  /** The next chunk header after `skip` bytes, or the end of the RIFF data. */
  #after (skip: number): void {
    this.#last = this.#at === this.#end
    this.next(this.#last ? 1 : 8, skip)
  }

  #readFirst (type: string, bytes: Buffer): void {
    this.#first = undefined
    if (type === 'VP8X') {
      this.#animated = (bytes[0]! & 0x02) !== 0
      this.#exif = (bytes[0]! & 0x08) !== 0
      this.size = { width: 1 + bytes.readUIntLE(4, 3), height: 1 + bytes.readUIntLE(7, 3) }
    } else if (type === 'VP8 ') {
      // a key frame: its tag's first bit clear, then the start code
      if ((bytes[0]! & 1) !== 0 || bytes[3] !== 0x9d || bytes[4] !== 0x01 || bytes[5] !== 0x2a) return this.fail('the VP8 data is not a key frame')
      this.size = { width: bytes.readUInt16LE(6) & 0x3fff, height: bytes.readUInt16LE(8) & 0x3fff }
    } else {
      if (bytes[0] !== 0x2f) return this.fail('the VP8L data has no signature')
      const bits = bytes.readUInt32LE(1)
      this.size = { width: 1 + (bits & 0x3fff), height: 1 + ((bits >>> 14) & 0x3fff) }
    }
    this.#after(this.#at - 12 - 8 - FIRST[type]!)
  }
}

const EXIF_PREFIX = Buffer.from('Exif\0\0', 'latin1')

/** The bytes of a first chunk that hold the image's size. */
const FIRST: Record<string, number> = { VP8X: 10, 'VP8 ': 10, VP8L: 5 }
