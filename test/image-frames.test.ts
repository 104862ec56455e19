// GIF and WebP keep their frames all through the file: the header check reads their dimensions from the
// first bytes and counts frames as the bytes stream through, in constant memory, whatever the file's size.
import t from 'tap'
import sharp from 'sharp'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ImageField, type ImageFieldOptions, type ImageFile } from '../lib/index.js'
import { createModel } from '../lib/fields/model.js'
import { probeHeader } from '../lib/image/header/probe.js'
import { LATE_HEADER_LIMIT } from '../lib/upload/gate.js'
import { CountingReads, filesUnder, fixture, makeApp, postForm, tempDir, type Tap } from './helpers.js'
import { svg, tiff } from './image-fixtures.js'

const noise = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 60 } } })

async function upload (t: Tap, options: ImageFieldOptions, content: Buffer, filename: string) {
  const { app, dir } = await makeApp(t)
  const M = app.media.model('m', { image: ImageField(options) })
  app.post('/m', { upload: M }, async (req) => req.uploads)
  const res = await postForm(app, '/m', [{ name: 'image', filename, content }], { chunkSize: 65_536 })
  return { res, files: filesUnder(dir) }
}

t.test('a WebP and a GIF larger than the late-header bound are stored with their dimensions', async (t) => {
  const webp = await noise(1000, 1000).webp({ lossless: true, effort: 0 }).toBuffer()
  const gif = await noise(1600, 1200).gif({ effort: 1, dither: 0 }).toBuffer()
  for (const [content, filename, width, height] of [[webp, 'big.webp', 1000, 1000], [gif, 'big.gif', 1600, 1200]] as const) {
    t.ok(content.length > LATE_HEADER_LIMIT, `${filename}: ${content.length} bytes`)
    const { res, files } = await upload(t, { maxSize: '10 MB' }, content, filename)
    t.equal(res.statusCode, 200, res.body)
    t.match(res.json().image, { name: filename, width, height, size: content.length })
    t.same(files, [`media/${filename}`])
  }
})

/** An animated image of noisy frames, so that its frames run far past the sniffing window. */
async function noisyAnimation (format: 'gif' | 'webp', frames: number, width = 200, height = 150): Promise<Buffer> {
  const pages = await Promise.all(Array.from({ length: frames }, async () => await noise(width, height).png().toBuffer()))
  return await sharp(pages, { join: { animated: true } }).toFormat(format, { loop: 0 }).toBuffer()
}

t.test('frames are counted as they stream: the one past maxPages refuses the file at once', async (t) => {
  for (const format of ['gif', 'webp'] as const) {
    const content = await noisyAnimation(format, 8)
    t.ok(content.length > 2 * 65_536, `${format}: ${content.length} bytes`)
    const refused = await upload(t, { maxPages: 3 }, content, `a.${format}`)
    t.match(refused.res.json(), { statusCode: 400, code: 'FST_MEDIA_INVALID_IMAGE', message: /4 frames are more than 3/ }, `${format}: the 4th frame refuses it, not the 8th`)
    t.same(refused.files, [])
    const budget = await upload(t, { maxPixels: 200 * 150 * 2, variants: { moving: { width: 50, animated: true } } }, content, `a.${format}`)
    t.match(budget.res.json(), { code: 'FST_MEDIA_INVALID_IMAGE', message: /200x150 in 3 frames is more than 60000 pixels/ }, `${format}: every frame decoded counts`)
    const stored = await upload(t, {}, content, `a.${format}`)
    t.match(stored.res.json().image, { width: 200, height: 150, size: content.length }, `${format}: 8 frames are fine`)
  }
})

t.test('a GIF or WebP cut short is refused once its end shows it, and nothing is kept', async (t) => {
  const gif = await noise(600, 400).gif({ effort: 1, dither: 0 }).toBuffer()
  const webp = await noisyAnimation('webp', 4)
  // the GIF ends inside its only frame; the WebP misses the last byte its RIFF header announces
  for (const [cut, filename] of [[gif.subarray(0, 150_000), 'cut.gif'], [webp.subarray(0, webp.length - 1), 'cut.webp']] as const) {
    const { res, files } = await upload(t, {}, cut, filename)
    t.match(res.json(), { code: 'FST_MEDIA_INVALID_IMAGE', message: /header cannot be read/ }, filename)
    t.same(files, [])
  }
})

t.test('stat() of a stored WebP and GIF larger than the late-header bound reads their size from the first bytes', async (t) => {
  const { app, dir } = await makeApp(t)
  const M = app.media.model('m', { image: ImageField({ maxSize: '10 MB' }) })
  app.post('/m', { upload: M }, async (req) => req.uploads)
  for (const [content, filename] of [[await noise(1000, 1000).webp({ lossless: true, effort: 0 }).toBuffer(), 'big.webp'], [await noise(1600, 1200).gif({ effort: 1, dither: 0 }).toBuffer(), 'big.gif']] as const) {
    const res = await postForm(app, '/m', [{ name: 'image', filename, content }], { chunkSize: 65_536 })
    t.equal(res.statusCode, 200, res.body)
    t.match(await M.load({ image: filename }).image.stat(), { width: filename.endsWith('webp') ? 1000 : 1600 }, dir)
  }
})

/** The offset where the image descriptor of frame `n` starts (its pages count turns n there). */
function frameStart (gif: Buffer, n: number): number {
  let low = 0
  let high = gif.length
  const pages = (end: number) => { const probe = probeHeader(gif.subarray(0, end), 'gif'); return probe.kind === 'more' ? probe.partial?.pages ?? 0 : n }
  while (low < high) {
    const middle = Math.floor((low + high) / 2)
    if (pages(middle) >= n) high = middle
    else low = middle + 1
  }
  // the count turns once the descriptor's 9 bytes after its 0x2c are read
  return low - 10
}

t.test('a GIF whose frame past maxPages arrives in the chunk that passes maxSize is refused for its frames: the header before the size', async (t) => {
  const content = await noisyAnimation('gif', 4, 400, 300)
  const fourth = frameStart(content, 4)
  t.equal(content[fourth], 0x2c, 'the 4th frame starts there')
  t.ok(fourth > 2 * 65_536, `past the sniffing window: at ${fourth}`)
  const refused = await upload(t, { maxPages: 3, maxSize: fourth }, content, 'a.gif')
  t.match(refused.res.json(), { statusCode: 400, code: 'FST_MEDIA_INVALID_IMAGE', message: /4 frames are more than 3/ })
  const tooLarge = await upload(t, { maxPages: 4, maxSize: fourth }, content, 'a.gif')
  t.match(tooLarge.res.json(), { statusCode: 413, code: 'FST_MEDIA_FILE_TOO_LARGE' }, 'within maxPages, the size refuses it')
  t.same([...refused.files, ...tooLarge.files], [])
})

/** A WebP whose chunk after `at` bytes of image data says it runs past the RIFF data, and `tail` bytes after it. */
function brokenWebp (at: number, tail: number): Buffer {
  const riff = Buffer.from('RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\x08\0\0\0\x2f\0\0\x1f\0\0', 'latin1')
  const vp8 = Buffer.concat([Buffer.from('VP8L'), Buffer.alloc(4), Buffer.alloc(at)])
  vp8.writeUInt32LE(at, 4)
  vp8[8] = 0x2f
  const past = Buffer.concat([Buffer.from('ANMF'), Buffer.from([0xff, 0xff, 0xff, 0x0f]), Buffer.alloc(tail)])
  const bytes = Buffer.concat([riff, vp8, past])
  bytes.writeUInt32LE(bytes.length - 8 - tail, 4)
  return bytes
}

t.test('a WebP that breaks after the sniffing window is refused as the break passes, before the size limit', async (t) => {
  const content = brokenWebp(200_000, 3 * 1024 * 1024)
  const { res, files } = await upload(t, { maxSize: '2 MB' }, content, 'broken.webp')
  t.match(res.json(), { statusCode: 400, code: 'FST_MEDIA_INVALID_IMAGE', message: /header cannot be read/ }, 'not 413: the break came first')
  t.same(files, [])
})

async function storedStat (t: Tap, name: string, content: Buffer, options: ImageFieldOptions = {}) {
  const location = tempDir(t)
  mkdirSync(location, { recursive: true })
  writeFileSync(join(location, name), content)
  const storage = new CountingReads({ location })
  const M = createModel('m', { image: ImageField(options) }, new Map([['default', storage]]))
  // one image whatever the options: the field is not a list
  const stat = (M.load({ image: name }).image as ImageFile<string>).stat()
  return { stat, storage }
}

t.test('stat() of a stored GIF or WebP walks no further than it must', async (t) => {
  const plain = await noise(1000, 1000).webp({ lossless: true, effort: 0 }).toBuffer()
  const first = await storedStat(t, 'plain.webp', plain)
  t.match(await first.stat, { width: 1000, height: 1000 })
  t.ok(first.storage.bytesRead <= 2 * 65_536, `a WebP without EXIF: its first chunk is enough (${first.storage.bytesRead} of ${plain.length} bytes read)`)
  // VP8X announces EXIF: its chunk follows the image data, 3 MB on
  const oriented = await noise(1000, 600).withMetadata({ orientation: 6 }).webp({ lossless: true, effort: 0 }).toBuffer()
  const sideways = await storedStat(t, 'sideways.webp', oriented, { variants: { card: { width: 100, generation: 'lazy' } } })
  const image = await sideways.stat
  t.match(image, { width: 1000, height: 600 })
  t.match(image.variants.card, { width: 100, height: 167 }, 'the lazy variant is planned upright: the orientation was read')
  t.equal(sideways.storage.bytesRead, oriented.length, 'walked to the EXIF chunk at its end')
  const broken = await storedStat(t, 'broken.webp', brokenWebp(200_000, 5 * 1024 * 1024))
  await t.rejects(broken.stat, { code: 'FST_MEDIA_INVALID_IMAGE', message: /header cannot be read/ })
  t.ok(broken.storage.bytesRead < 400_000, `a broken one stops at the break (${broken.storage.bytesRead} bytes read)`)
})

t.test('stat() of every stored format gives the size sharp reads', async (t) => {
  const files: Array<[string, Buffer]> = [
    ['a.png', fixture('fixture.png')],
    ['a.jpg', fixture('fixture.jpg')],
    ['a.gif', fixture('fixture.gif')],
    ['a.webp', fixture('fixture.webp')],
    ['a.avif', fixture('fixture-yuv420-8bit.avif')],
    ['a.tif', await tiff()],
    ['a.svg', svg]
  ]
  for (const [name, content] of files) {
    const meta = await sharp(content).metadata()
    const { stat } = await storedStat(t, name, content)
    t.match(await stat, { width: meta.width, height: meta.height }, name)
  }
  const cut = await storedStat(t, 'cut.tif', (await tiff()).subarray(0, 100))
  await t.rejects(cut.stat, { code: 'FST_MEDIA_INVALID_IMAGE', message: /header cannot be read/ }, 'sharp cannot read a TIFF cut short either')
})
