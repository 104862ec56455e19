import sharp from 'sharp'

// Images the variant tests need and the shared fixtures lack, made with sharp so their properties are known.

/** A noisy 800x600 JPEG (big enough that its first 10 000 bytes are a truncated image). */
export const noisyJpeg = async (): Promise<Buffer> =>
  await sharp({ create: { width: 800, height: 600, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 30 } } }).jpeg().toBuffer()

/** An 800x600 JPEG stored sideways: EXIF orientation 6 (shown rotated, 600x800), with GPS data. */
export async function orientedJpegWithGps (): Promise<Buffer> {
  const base = await sharp({ create: { width: 800, height: 600, channels: 3, background: '#c33' } }).jpeg().toBuffer()
  return await sharp(base)
    .withMetadata({ orientation: 6 })
    .withExif({ IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 0/1', GPSLongitudeRef: 'W', GPSLongitude: '0/1 7/1 0/1' } })
    .jpeg()
    .toBuffer()
}

/** Whether EXIF data holds a GPS IFD pointer (tag 0x8825, in either byte order). */
export const hasGps = (exif: Buffer | undefined): boolean =>
  exif !== undefined && (exif.includes(Buffer.from([0x88, 0x25])) || exif.includes(Buffer.from([0x25, 0x88])))

/** A 40x30 animated image of `frames` frames. */
export async function animated (format: 'gif' | 'webp', frames = 3): Promise<Buffer> {
  const colours = ['#d00', '#0d0', '#00d']
  const pages = await Promise.all(Array.from({ length: frames }, async (_, i) =>
    await sharp({ create: { width: 40, height: 30, channels: 3, background: colours[i % 3] as string } }).png().toBuffer()))
  return await sharp(pages, { join: { animated: true } }).toFormat(format, { loop: 0 }).toBuffer()
}

export const tiff = async (): Promise<Buffer> =>
  await sharp({ create: { width: 60, height: 40, channels: 3, background: '#09c' } }).tiff().toBuffer()

export const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="120" height="60"><rect width="120" height="60" fill="#0a0"/></svg>')
