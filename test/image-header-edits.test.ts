// One field of a real image's header changed at a time (Buffer surgery on sharp's images and the
// fixtures): our reader answers as sharp does, leaves to sharp what it does not read, and an upload of
// a hostile one is refused with our code, never a crash.
import t from 'tap'
import sharp from 'sharp'
import { ImageField } from '../lib/index.js'
import { probeHeader } from '../lib/image/header/probe.js'
import type { ImageFormat } from '../lib/image/formats.js'
import type { ImageHeader, Probe } from '../lib/image/header/types.js'
import { fromSharp } from '../lib/upload/image-header.js'
import { avifParts, box, fullBox, u16, u32 } from './avif-boxes.js'
import { filesUnder, makeApp, postForm, type Tap } from './helpers.js'

async function sharpHeader (bytes: Buffer): Promise<ImageHeader | undefined> {
  try {
    return fromSharp(await sharp(bytes, { limitInputPixels: false }).metadata())
  } catch {
    return undefined
  }
}

const pick = ({ format, width, height, pages, orientation }: ImageHeader) => ({ format, width, height, pages, orientation })

/** The reader's answer is `kind`; a header is sharp's, a refusal is a file sharp cannot read either. */
async function agrees (t: Tap, name: string, format: ImageFormat, bytes: Buffer, kind: Probe['kind']): Promise<Probe> {
  const ours = probeHeader(bytes, format, true)
  const theirs = await sharpHeader(bytes)
  t.equal(ours.kind, kind, `${name}: ${JSON.stringify(ours)}`)
  if (ours.kind === 'header') t.same(pick(ours.header), theirs === undefined ? undefined : pick(theirs), `${name}: sharp agrees`)
  if (ours.kind === 'broken' || ours.kind === 'more') t.equal(theirs, undefined, `${name}: sharp cannot read it either`)
  return ours
}

t.test('AVIF: each variant of the header is read as sharp reads it, or left to sharp', async (t) => {
  const { parts, assemble, infe, ispe, av1C, pixi } = await avifParts()
  const ipma = (version: number, flags: number, ...entries: Buffer[]) => fullBox('ipma', version, flags, u32(entries.length), ...entries)
  const entry = (id: number, ...indexes: number[]) => Buffer.concat([u16(id), Buffer.from([indexes.length, ...indexes])])
  // sharp and file-type find the brand at offset 8: only a later box can have a 64-bit size
  const largeFree = Buffer.concat([u32(1), Buffer.from('free'), u32(0), u32(20), u32(0)])
  const withLargeFree = Buffer.concat([parts.ftyp, largeFree, assemble(parts).subarray(parts.ftyp.length)])
  const headers: Array<[string, Buffer]> = [
    ['as sharp made it', assemble(parts)],
    ['a box with a 64-bit size before meta', withLargeFree],
    ['pitm version 1: a 32-bit item id', assemble({ ...parts, pitm: fullBox('pitm', 1, 0, u32(1)) })],
    ['iinf version 1: a 32-bit entry count', assemble({ ...parts, iinf: fullBox('iinf', 1, 0, u32(1), infe(1, 'av01')) })],
    ['infe version 3: a 32-bit item id', assemble({ ...parts, iinf: fullBox('iinf', 0, 0, u16(1), infe(1, 'av01', 3)) })],
    ['ipma version 1: 32-bit item ids', assemble({ ...parts, ipma: ipma(1, 0, Buffer.concat([u32(1), Buffer.from([3, 0x81, 2, 3])])) })],
    ['ipma flags 1: 16-bit property indexes', assemble({ ...parts, ipma: ipma(0, 1, Buffer.concat([u16(1), Buffer.from([3, 0x80, 1, 0, 2, 0, 3])])) })],
    ['ipma lists another item first', assemble({ ...parts, ipma: ipma(0, 0, entry(2, 3), entry(1, 0x81, 2, 3)) })]
  ]
  for (const [name, bytes] of headers) await agrees(t, name, 'avif', bytes, 'header')
  await agrees(t, 'cut inside a 64-bit box size', 'avif', withLargeFree.subarray(0, parts.ftyp.length + 12), 'more')
  await agrees(t, 'cut inside a box', 'avif', assemble(parts).subarray(0, 20), 'more')
  await agrees(t, 'a box of size 0 before meta', 'avif', Buffer.concat([parts.ftyp, u32(0), Buffer.from('free'), assemble(parts).subarray(parts.ftyp.length)]), 'more')
  await agrees(t, 'no meta', 'avif', parts.ftyp, 'more')
  const leftToSharp: Array<[string, Buffer]> = [
    ['major brand mif1', assemble({ ...parts, ftyp: Buffer.concat([parts.ftyp.subarray(0, 8), Buffer.from('mif1'), parts.ftyp.subarray(12)]) })],
    ['pitm names no image item', assemble({ ...parts, pitm: fullBox('pitm', 0, 0, u16(7)) })],
    ['pitm too short for its version and flags', assemble({ ...parts, pitm: box('pitm', Buffer.from([0, 0])) })],
    ['pitm without its item id', assemble({ ...parts, pitm: fullBox('pitm', 0, 0) })],
    ['no iinf', assemble({ ...parts, iinf: box('free') })],
    ['no iprp', assemble({ ...parts, iprp: box('free') })],
    ['no ipma', assemble({ ...parts, iprp: box('iprp', parts.ipco) })],
    ['no ipco', assemble({ ...parts, iprp: box('iprp', parts.ipma) })],
    ['infe version 1', assemble({ ...parts, iinf: fullBox('iinf', 0, 0, u16(1), infe(1, 'av01', 1)) })],
    ['iinf holds another box', assemble({ ...parts, iinf: fullBox('iinf', 0, 0, u16(1), box('free', Buffer.alloc(12))) })],
    ['an infe runs past iinf', assemble({ ...parts, iinf: fullBox('iinf', 0, 0, u16(1), infe(1, 'av01').subarray(0, 20)) })],
    ['infe without its fields', assemble({ ...parts, iinf: fullBox('iinf', 0, 0, u16(1), fullBox('infe', 2, 0, u16(1))) })],
    ['two images (an alpha plane)', assemble({ ...parts, iinf: fullBox('iinf', 0, 0, u16(2), infe(1, 'av01'), infe(2, 'av01')) })],
    ['a grid', assemble({ ...parts, iinf: fullBox('iinf', 0, 0, u16(1), infe(1, 'grid')) })],
    ['rotated (irot)', assemble({ ...parts, ipco: box('ipco', av1C, ispe, pixi, box('irot', Buffer.from([1]))), ipma: ipma(0, 0, entry(1, 0x81, 2, 3, 4)) })],
    ['a property index past ipco', assemble({ ...parts, ipma: ipma(0, 0, entry(1, 0x81, 2, 9)) })],
    ['a property cut short', assemble({ ...parts, ipco: box('ipco', av1C, ispe, pixi.subarray(0, 12)) })],
    ['ispe without its size', assemble({ ...parts, ipco: box('ipco', av1C, fullBox('ispe', 0, 0, u32(48)), pixi) })],
    ['no ispe', assemble({ ...parts, ipma: ipma(0, 0, entry(1, 0x81, 3)) })],
    ['the image has no properties in ipma', assemble({ ...parts, ipma: ipma(0, 0, entry(2, 0x81, 2)) })],
    ['ipma counts more entries than it holds', assemble({ ...parts, ipma: fullBox('ipma', 0, 0, u32(1000), entry(2, 1)) })]
  ]
  for (const [name, bytes] of leftToSharp) await agrees(t, name, 'avif', bytes, 'unknown')
})

t.test('an upload of a hostile AVIF header is refused with our code, and nothing is kept', async (t) => {
  const { parts, assemble } = await avifParts()
  const { app, dir } = await makeApp(t)
  const M = app.media.model('m', { image: ImageField() })
  app.post('/m', { upload: M }, async (req) => req.uploads)
  const hostile = [
    assemble({ ...parts, pitm: fullBox('pitm', 0, 0) }),
    assemble({ ...parts, ipma: fullBox('ipma', 0, 0, u32(0xffffffff)) })
  ]
  for (const content of hostile) {
    const res = await postForm(app, '/m', [{ name: 'image', filename: 'a.avif', content }])
    t.match(res.json(), { statusCode: 400, code: 'FST_MEDIA_INVALID_IMAGE' })
  }
  t.same(filesUnder(dir), [])
})

const base = () => sharp({ create: { width: 48, height: 32, channels: 3, background: '#3a6' } })
const insert = (bytes: Buffer, at: number, ...parts: Buffer[]) => Buffer.concat([bytes.subarray(0, at), ...parts, bytes.subarray(at)])

/** TIFF-structured EXIF data: IFD0 at `ifd` with these entries (tag, type, value). */
function tiff (order: 'II' | 'MM', entries: Array<[number, number, number]>, ifd = 8): Buffer {
  const little = order === 'II'
  const out = Buffer.alloc(ifd + 2 + entries.length * 12 + 4)
  out.write(order, 0, 'latin1')
  const u16 = (n: number, at: number) => little ? out.writeUInt16LE(n, at) : out.writeUInt16BE(n, at)
  const u32 = (n: number, at: number) => little ? out.writeUInt32LE(n, at) : out.writeUInt32BE(n, at)
  u16(42, 2)
  u32(ifd, 4)
  u16(entries.length, ifd)
  entries.forEach(([tag, type, value], i) => {
    const at = ifd + 2 + i * 12
    u16(tag, at)
    u16(type, at + 2)
    u32(1, at + 4)
    if (type === 3) u16(value, at + 8)
    else u32(value, at + 8)
  })
  return out
}

t.test('JPEG: markers, lengths and EXIF as libjpeg and libexif take them', async (t) => {
  const jpeg = await base().jpeg().toBuffer()
  const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]))
  const beforeSof = (...parts: Buffer[]) => insert(jpeg, sof, ...parts)
  const app1 = (data: Buffer) => Buffer.concat([Buffer.from([0xff, 0xe1]), u16(data.length + 2), data])
  const exif = (data: Buffer) => app1(Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), data]))
  const withExif = (data: Buffer) => insert(jpeg, 2, exif(data))
  const read: Array<[string, Buffer]> = [
    ['fill bytes before a marker', beforeSof(Buffer.from([0xff, 0xff]))],
    ['a restart marker before the frame', beforeSof(Buffer.from([0xff, 0xd0]))],
    ['TEM before the frame', beforeSof(Buffer.from([0xff, 0x01]))],
    ['a COM of length 1 (libjpeg skips nothing)', beforeSof(Buffer.from([0xff, 0xfe, 0, 1]))],
    ['an APP0 of length 0', beforeSof(Buffer.from([0xff, 0xe0, 0, 0]))],
    ['DRI, DAC and DNL', beforeSof(Buffer.from([0xff, 0xdd, 0, 4, 0, 0, 0xff, 0xcc, 0, 2, 0xff, 0xdc, 0, 4, 0, 0]))],
    ...[0xc1, 0xc2, 0xc3, 0xc9, 0xca, 0xcb].map((marker) => [`SOF ${marker.toString(16)}`, Buffer.concat([jpeg.subarray(0, sof + 1), Buffer.from([marker]), jpeg.subarray(sof + 2)])] as [string, Buffer]),
    ['an XMP APP1, then the EXIF one', insert(jpeg, 2, app1(Buffer.from('http://ns.adobe.com/xap/1.0/\0<x/>', 'latin1')), exif(tiff('MM', [[0x112, 3, 6]])))],
    ['an EXIF APP1 after the frame (ignored)', insert(jpeg, sof + 19, exif(tiff('MM', [[0x112, 3, 6]])))],
    ['two EXIF APP1 (the first counts)', insert(jpeg, 2, exif(tiff('II', [[0x112, 3, 3]])), exif(tiff('II', [[0x112, 3, 8]])))],
    ['orientation, big-endian', withExif(tiff('MM', [[0x100, 3, 48], [0x112, 3, 6]]))],
    ['orientation, little-endian', withExif(tiff('II', [[0x112, 3, 5]]))],
    ['orientation 9 (out of range)', withExif(tiff('II', [[0x112, 3, 9]]))],
    ['orientation 0', withExif(tiff('II', [[0x112, 3, 0]]))],
    ['orientation as a LONG', withExif(tiff('II', [[0x112, 4, 6]]))],
    ['orientation as a big-endian LONG', withExif(tiff('MM', [[0x112, 4, 7]]))],
    ['orientation as a LONG past 16 bits', withExif(tiff('MM', [[0x112, 4, 0x10006]]))],
    ['orientation as a BYTE', withExif(tiff('II', [[0x112, 1, 6]]))],
    ['orientation as an SBYTE', withExif(tiff('MM', [[0x112, 6, 0x03000000]]))],
    ['orientation as an SSHORT', withExif(tiff('MM', [[0x112, 8, 0x00040000]]))],
    ['orientation as an SLONG', withExif(tiff('II', [[0x112, 9, 2]]))],
    ['orientation as ASCII', withExif(tiff('II', [[0x112, 2, 0x36]]))],
    ['orientation as a RATIONAL', withExif(tiff('II', [[0x112, 5, 40]]))],
    ['an EXIF APP1 without orientation, then one with it (the first counts)', insert(jpeg, 2, exif(tiff('II', [[0x100, 3, 48]])), exif(tiff('II', [[0x112, 3, 8]])))],
    ['no orientation tag', withExif(tiff('II', [[0x100, 3, 48]]))],
    ['IFD0 past the end of the data', withExif(Buffer.concat([tiff('II', [[0x112, 3, 6]]).subarray(0, 4), Buffer.from([200, 0, 0, 0])]))],
    ['IFD0 counts more entries than it holds', withExif(tiff('MM', [[0x112, 3, 6]]).subarray(0, 8 + 2 + 6))],
    ['a byte order that is neither II nor MM', withExif(Buffer.concat([Buffer.from('XX'), tiff('II', [[0x112, 3, 6]]).subarray(2)]))],
    ['EXIF data shorter than a TIFF header', withExif(Buffer.from('II*\0', 'latin1'))]
  ]
  for (const [name, bytes] of read) await agrees(t, name, 'jpeg', bytes, 'header')
  const refused: Array<[string, Buffer]> = [
    ['EOI before the frame', beforeSof(Buffer.from([0xff, 0xd9]))],
    ['a second SOI', beforeSof(Buffer.from([0xff, 0xd8]))],
    ['a reserved marker', beforeSof(Buffer.from([0xff, 0x02, 0, 4, 0, 0]))],
    ['JPGn', beforeSof(Buffer.from([0xff, 0xf0, 0, 4, 0, 0]))],
    ['DHT of length 1', beforeSof(Buffer.from([0xff, 0xc4, 0, 1]))],
    ...[0xc5, 0xc6, 0xc7, 0xc8, 0xcd, 0xce, 0xcf].map((marker) => [`SOF ${marker.toString(16)}`, Buffer.concat([jpeg.subarray(0, sof + 1), Buffer.from([marker]), jpeg.subarray(sof + 2)])] as [string, Buffer]),
    ['a second frame header', beforeSof(jpeg.subarray(sof, sof + 19))],
    ['a frame header too short for its size', beforeSof(Buffer.from([0xff, 0xc1, 0, 6, 8, 0, 16, 0]))]
  ]
  for (const [name, bytes] of refused) await agrees(t, name, 'jpeg', bytes, 'broken')
  await agrees(t, 'a byte other than a marker between segments', 'jpeg', beforeSof(Buffer.from([0])), 'unknown')
  await agrees(t, 'cut inside the frame header', 'jpeg', jpeg.subarray(0, sof + 10), 'more')
  await agrees(t, 'cut inside an APP1', 'jpeg', withExif(tiff('II', [[0x112, 3, 6]])).subarray(0, 20), 'more')
})

t.test('PNG: chunk types and IHDR as libspng takes them', async (t) => {
  const png = await base().png().toBuffer()
  const ihdr = (bytes: number[]) => {
    const data = Buffer.from(bytes)
    const out = Buffer.concat([u32(data.length), Buffer.from('IHDR'), data, u32(0)])
    return Buffer.concat([png.subarray(0, 8), out, png.subarray(33)])
  }
  const chunk = (type: string, data: Buffer) => Buffer.concat([u32(data.length), Buffer.from(type, 'latin1'), data, u32(0)])
  await agrees(t, 'an ancillary private chunk', 'png', insert(png, 33, chunk('abCd', Buffer.alloc(2))), 'header')
  await agrees(t, 'two eXIf (the first counts)', 'png', insert(png, 33, chunk('eXIf', tiff('MM', [[0x112, 3, 6]])), chunk('eXIf', tiff('MM', [[0x112, 3, 3]]))), 'header')
  const refused: Array<[string, Buffer]> = [
    ['an unknown critical chunk', insert(png, 33, chunk('ABCD', Buffer.alloc(2)))],
    ['Apple\'s CgBI after IHDR', insert(png, 33, chunk('CgBI', Buffer.from([0x50, 0, 0x20, 2])))],
    ['a chunk type with its reserved bit set', insert(png, 33, chunk('abcd', Buffer.alloc(2)))],
    ['a chunk length past 2^31-1', insert(png, 33, u32(0x80000000), Buffer.from('tEXt'))],
    ['IHDR of 14 bytes', ihdr([0, 0, 0, 48, 0, 0, 0, 32, 8, 2, 0, 0, 0, 0])],
    ['width 0', ihdr([0, 0, 0, 0, 0, 0, 0, 32, 8, 2, 0, 0, 0])],
    ['height 0', ihdr([0, 0, 0, 48, 0, 0, 0, 0, 8, 2, 0, 0, 0])],
    ['width 2^31', ihdr([0x80, 0, 0, 0, 0, 0, 0, 32, 8, 2, 0, 0, 0])],
    ['height 2^31', ihdr([0, 0, 0, 48, 0x80, 0, 0, 0, 8, 2, 0, 0, 0])],
    ['colour type 5', ihdr([0, 0, 0, 48, 0, 0, 0, 32, 8, 5, 0, 0, 0])],
    ['compression 1', ihdr([0, 0, 0, 48, 0, 0, 0, 32, 8, 2, 1, 0, 0])],
    ['filter 1', ihdr([0, 0, 0, 48, 0, 0, 0, 32, 8, 2, 0, 1, 0])],
    ['interlace 2', ihdr([0, 0, 0, 48, 0, 0, 0, 32, 8, 2, 0, 0, 2])]
  ]
  for (const [name, bytes] of refused) await agrees(t, name, 'png', bytes, 'broken')
  await agrees(t, 'cut inside a chunk before IDAT', 'png', insert(png, 33, chunk('tEXt', Buffer.alloc(100))).subarray(0, 60), 'more')
})

t.test('GIF: any version after GIF8, and an LZW code size past 11 refused, as libnsgif does', async (t) => {
  const gif = await base().gif().toBuffer()
  const lzw = gif.indexOf(0x2c) + 10
  await agrees(t, 'GIF86a', 'gif', Buffer.concat([Buffer.from('GIF86a'), gif.subarray(6)]), 'header')
  await agrees(t, 'GIF87b', 'gif', Buffer.concat([Buffer.from('GIF87b'), gif.subarray(6)]), 'header')
  await agrees(t, 'GIFabc', 'gif', Buffer.concat([Buffer.from('GIFabc'), gif.subarray(6)]), 'broken')
  const code = (size: number) => Buffer.concat([gif.subarray(0, lzw), Buffer.from([size]), gif.subarray(lzw + 1)])
  await agrees(t, 'LZW code size 11', 'gif', code(11), 'header')
  await agrees(t, 'LZW code size 12', 'gif', code(12), 'broken')
})

t.test('WebP: its first chunk, the RIFF size and the EXIF chunk VP8X announces, as libwebp and libvips take them', async (t) => {
  const lossy = await base().webp().toBuffer()
  const lossless = await base().webp({ lossless: true }).toBuffer()
  const oriented = await base().withMetadata({ orientation: 6 }).webp().toBuffer()
  const edit = (bytes: Buffer, at: number, value: number) => {
    const out = Buffer.from(bytes)
    out[at] = value
    return out
  }
  const riff = (...chunks: Buffer[]) => {
    const body = Buffer.concat([Buffer.from('WEBP'), ...chunks])
    return Buffer.concat([Buffer.from('RIFF'), Buffer.from(u32(body.length).reverse()), body])
  }
  const chunk = (type: string, data: Buffer) => Buffer.concat([Buffer.from(type, 'latin1'), Buffer.from(u32(data.length).reverse()), data, Buffer.alloc(data.length & 1)])
  const exifAt = oriented.indexOf('EXIF')
  const vp8x = oriented.subarray(12, 30)
  const image = oriented.subarray(30, exifAt)
  const exif = (data: Buffer) => riff(vp8x, image, chunk('EXIF', data))
  await agrees(t, 'bytes after the RIFF data', 'webp', Buffer.concat([lossy, Buffer.from('trailing')]), 'header')
  await agrees(t, 'EXIF with the JPEG prefix (as sharp writes it)', 'webp', oriented, 'header')
  await agrees(t, 'EXIF without the prefix', 'webp', exif(tiff('II', [[0x112, 3, 5]])), 'header')
  await agrees(t, 'two EXIF chunks (the first counts)', 'webp', riff(vp8x, image, chunk('EXIF', tiff('II', [[0x112, 3, 5]])), chunk('EXIF', tiff('II', [[0x112, 3, 7]]))), 'header')
  await agrees(t, 'an empty EXIF chunk', 'webp', exif(Buffer.alloc(0)), 'header')
  await agrees(t, 'EXIF VP8X does not announce', 'webp', edit(oriented, 20, oriented[20]! & ~0x08), 'header')
  const refused: Array<[string, Buffer]> = [
    ['a first chunk too short for its size', riff(chunk('VP8L', Buffer.from([0x2f, 0, 0])))],
    ['a VP8 frame that is not a key frame', edit(lossy, 20, lossy[20]! | 1)],
    ['a VP8 frame without its start code', edit(lossy, 23, 0)],
    ['a VP8 frame with a bad second start code byte', edit(lossy, 24, 0)],
    ['a VP8 frame with a bad third start code byte', edit(lossy, 25, 0)],
    ['VP8L without its signature', edit(lossless, 20, 0)],
    ['a chunk running past the RIFF data', Buffer.concat([lossy.subarray(0, 16), Buffer.from(u32(lossy.readUInt32LE(16) + 100).reverse()), lossy.subarray(20)])]
  ]
  for (const [name, bytes] of refused) await agrees(t, name, 'webp', bytes, 'broken')
})
