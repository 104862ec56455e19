/**
 * The bytes of an entry's value read for the orientation, by TIFF type: libexif turns BYTE, SBYTE, SSHORT,
 * LONG and SLONG into the SHORT the tag is (keeping the low 16 bits); libvips reads ASCII and UNDEFINED data
 * as a SHORT. A RATIONAL's value is not in the entry: libexif drops it.
 */
const READ_SIZE: Record<number, number> = { 1: 1, 2: 2, 3: 2, 4: 4, 6: 1, 7: 2, 8: 2, 9: 4 }

/** The orientation tag (0x0112) of IFD0 in TIFF-structured EXIF data, or undefined where there is none. */
export function exifOrientation (tiff: Buffer): number | undefined {
  if (tiff.length < 8) return undefined
  const order = tiff.toString('latin1', 0, 2)
  if (order !== 'II' && order !== 'MM') return undefined
  const little = order === 'II'
  const u16 = (at: number) => little ? tiff.readUInt16LE(at) : tiff.readUInt16BE(at)
  const u32 = (at: number) => little ? tiff.readUInt32LE(at) : tiff.readUInt32BE(at)
  const ifd = u32(4)
  if (ifd + 2 > tiff.length) return undefined
  const count = u16(ifd)
  for (let entry = ifd + 2; entry + 12 <= tiff.length && entry < ifd + 2 + count * 12; entry += 12) {
    const size = READ_SIZE[u16(entry + 2)]
    if (u16(entry) === 0x0112 && size !== undefined) {
      // libvips takes a value past 1-8 as 1
      const value = size === 1 ? tiff[entry + 8]! : size === 2 ? u16(entry + 8) : u32(entry + 8) & 0xffff
      return value >= 1 && value <= 8 ? value : 1
    }
  }
  return undefined
}
