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
    // a SHORT holds its value in the entry itself
    if (u16(entry) === 0x0112 && u16(entry + 2) === 3) {
      const value = u16(entry + 8)
      return value >= 1 && value <= 8 ? value : undefined
    }
  }
  return undefined
}
