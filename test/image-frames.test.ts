// GIF and WebP keep their frames all through the file: the header check reads their dimensions from the
// first bytes and counts frames as the bytes stream through, in constant memory, whatever the file's size.
import t from 'tap'
import sharp from 'sharp'
import { ImageField, type ImageFieldOptions } from '../lib/index.js'
import { LATE_HEADER_LIMIT } from '../lib/upload/gate.js'
import { filesUnder, makeApp, postForm, type Tap } from './helpers.js'

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
async function noisyAnimation (format: 'gif' | 'webp', frames: number): Promise<Buffer> {
  const pages = await Promise.all(Array.from({ length: frames }, async () => await noise(200, 150).png().toBuffer()))
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
