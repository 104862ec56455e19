import t from 'tap'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ImageField, type ImageFieldOptions } from '../lib/index.js'
import { checkHeader, fromSharp } from '../lib/upload/image-header.js'
import { LATE_HEADER_LIMIT } from '../lib/upload/gate.js'
import { filesUnder, fixture, makeApp, postForm, type Tap } from './helpers.js'
import { chunk } from './security/payloads.js'

const png = fixture('fixture.png')
const SIGNATURE_AND_IHDR = 8 + 25

/** The fixture PNG with a tEXt chunk of `size` bytes between IHDR and the image data. */
function pngWithText (size: number): Buffer {
  const text = Buffer.concat([Buffer.from('Comment\0'), Buffer.alloc(size - 8, 'x')])
  return Buffer.concat([png.subarray(0, SIGNATURE_AND_IHDR), chunk('tEXt', text), png.subarray(SIGNATURE_AND_IHDR)])
}

/** The fixture PNG claiming other dimensions in its IHDR. */
function pngClaiming (width: number, height: number): Buffer {
  const ihdr = Buffer.from(png.subarray(16, 29))
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  return Buffer.concat([png.subarray(0, 8), chunk('IHDR', ihdr), png.subarray(SIGNATURE_AND_IHDR)])
}

/** The fixture JPEG with comment segments adding up to `size` bytes before its frame header. */
function jpegWithComments (size: number): Buffer {
  const jpg = fixture('fixture.jpg')
  const segments: Buffer[] = []
  for (let left = size; left > 0; left -= 65_533) {
    const data = Buffer.alloc(Math.min(left, 65_533), 'c')
    const header = Buffer.from([0xff, 0xfe, 0, 0])
    header.writeUInt16BE(data.length + 2, 2)
    segments.push(header, data)
  }
  return Buffer.concat([jpg.subarray(0, 2), ...segments, jpg.subarray(2)])
}

async function upload (t: Tap, options: ImageFieldOptions, content: Buffer, filename = 'a.png') {
  const { app, dir } = await makeApp(t)
  const M = app.media.model('m', { image: ImageField(options) })
  app.post('/m', { upload: M }, async (req) => req.uploads)
  // in 64 KiB chunks, as a network delivers it: the sniffing window then really is the first 64 KiB
  const res = await postForm(app, '/m', [{ name: 'image', filename, content }], { chunkSize: 65_536 })
  return { res, files: filesUnder(dir) }
}

t.test('dimensions and pixels are checked from the header', async (t) => {
  const cases: Array<[ImageFieldOptions, Buffer, RegExp]> = [
    [{}, pngClaiming(60_000, 60_000), /60000x60000 is more than 40000000 pixels/],
    [{ maxPixels: 1000 }, png, /200x133 is more than 1000 pixels/],
    [{ minWidth: 201 }, png, /200 px wide is less than 201/],
    [{ maxWidth: 199 }, png, /200 px wide is more than 199/],
    [{ minHeight: 134 }, png, /133 px high is less than 134/],
    [{ maxHeight: 132 }, png, /133 px high is more than 132/]
  ]
  for (const [options, content, message] of cases) {
    const { res, files } = await upload(t, options, content)
    t.match(res.json(), { statusCode: 400, code: 'FST_MEDIA_INVALID_IMAGE', message }, JSON.stringify(options))
    t.same(files, [])
  }
  const { res } = await upload(t, { minWidth: 200, maxWidth: 200, minHeight: 133, maxHeight: 133, maxPixels: 26_600 }, png)
  t.equal(res.statusCode, 200, 'bounds are inclusive')
})

t.test('an unreadable header is INVALID_IMAGE', async (t) => {
  const { res, files } = await upload(t, {}, Buffer.concat([png.subarray(0, 40), Buffer.alloc(200, 7)]))
  t.match(res.json(), { statusCode: 400, code: 'FST_MEDIA_INVALID_IMAGE', message: 'image: the image header cannot be read' })
  t.same(files, [])
})

t.test('a header beyond the sniffing window is checked before the file becomes visible', async (t) => {
  const late = pngWithText(200_000)
  const ok = await upload(t, {}, late)
  t.equal(ok.res.statusCode, 200, ok.res.body)
  t.match(ok.res.json().image, { width: 200, height: 133, size: late.length })
  const tooWide = await upload(t, { maxWidth: 100 }, late)
  t.equal(tooWide.res.json().code, 'FST_MEDIA_INVALID_IMAGE')
  t.same(tooWide.files, [], 'refused after streaming: the temp file is gone too')
  const broken = Buffer.concat([late.subarray(0, 150_000), Buffer.alloc(10_000, 1)])
  const unreadable = await upload(t, {}, broken)
  t.equal(unreadable.res.json().code, 'FST_MEDIA_INVALID_IMAGE')
  t.same(unreadable.files, [])
})

t.test('a late header is checked before the size, as the contract orders', async (t) => {
  const late = jpegWithComments(300_000)
  const unreadable = Buffer.concat([late.subarray(0, 200_000), Buffer.alloc(10, 1)])
  const small = await upload(t, { minSize: '1 MB' }, unreadable, 'a.jpg')
  t.match(small.res.json(), { code: 'FST_MEDIA_INVALID_IMAGE' }, 'an unreadable header, not FILE_TOO_SMALL')
  const near = jpegWithComments(100_000) // the frame header past the window, before maxSize
  const wide = await upload(t, { maxSize: 120_000, maxWidth: 100 }, near, 'a.jpg')
  t.match(wide.res.json(), { code: 'FST_MEDIA_INVALID_IMAGE', message: /200 px wide/ }, 'too wide, though also too large')
  const fine = await upload(t, { maxSize: 120_000 }, near, 'a.jpg')
  t.match(fine.res.json(), { code: 'FST_MEDIA_FILE_TOO_LARGE' }, 'a good header does not excuse the size')
  const large = await upload(t, { maxSize: 200_000 }, late, 'a.jpg')
  t.match(large.res.json(), { code: 'FST_MEDIA_FILE_TOO_LARGE' }, 'a header past maxSize: only the size can be judged')
  t.same([...small.files, ...wide.files, ...large.files, ...fine.files], [])
})

t.test('an animated PNG is a PNG', async (t) => {
  const actl = Buffer.alloc(8)
  actl.writeUInt32BE(1, 0)
  const apng = Buffer.concat([png.subarray(0, SIGNATURE_AND_IHDR), chunk('acTL', actl), png.subarray(SIGNATURE_AND_IHDR)])
  const { res } = await upload(t, { formats: ['png'], accept: ['image/png'] }, apng, 'anim.png')
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json().image, { name: 'anim.png', contentType: 'image/png', width: 200, height: 133 })
})

t.test('the late header search is bounded', async (t) => {
  const lateJpeg = await upload(t, {}, jpegWithComments(300_000), 'a.jpg')
  t.match(lateJpeg.res.json().image, { width: 200, height: 133 }, 'a JPEG frame header past the window')
  const refused = await upload(t, {}, jpegWithComments(LATE_HEADER_LIMIT + 2 * 65_536), 'a.jpg')
  t.match(refused.res.json(), { code: 'FST_MEDIA_INVALID_IMAGE', message: /header cannot be read/ })
  t.same(refused.files, [])
  // a header complete before the bound, in a file larger than it
  const late = pngWithText(100_000)
  const iend = late.length - 12
  const big = Buffer.concat([late.subarray(0, iend), chunk('zzZz', Buffer.alloc(LATE_HEADER_LIMIT)), late.subarray(iend)])
  const accepted = await upload(t, {}, big)
  t.equal(accepted.res.statusCode, 200, accepted.res.body)
})

t.test('stat() of a stored image finds a late header, within the same bound', async (t) => {
  const { app, dir } = await makeApp(t)
  const M = app.media.model('m', { image: ImageField() })
  mkdirSync(join(dir, 'media'), { recursive: true })
  writeFileSync(join(dir, 'media/late.jpg'), jpegWithComments(500_000))
  writeFileSync(join(dir, 'media/lost.jpg'), jpegWithComments(LATE_HEADER_LIMIT + 300_000))
  t.match(await M.load({ image: 'late.jpg' }).image.stat(), { width: 200, height: 133 })
  await t.rejects(M.load({ image: 'lost.jpg' }).image.stat(), { code: 'FST_MEDIA_INVALID_IMAGE' })
})

t.test('checkHeader refuses a header that contradicts the signature or has no size', async (t) => {
  const rules = ImageField().options.image!
  t.throws(() => checkHeader({ format: 'png', width: 1, height: 1 } as never, 'jpeg', rules, 'f'), { code: 'FST_MEDIA_INVALID_IMAGE', message: /header says png where the signature says jpeg/ })
  t.throws(() => checkHeader(fromSharp({ format: 'heif', compression: 'hevc', width: 1, height: 1 } as never), 'avif', rules, 'f'), { message: /header says heif/ })
  t.throws(() => checkHeader(fromSharp({ width: 1, height: 1 } as never), 'png', rules, 'f'), { message: /header says nothing/ })
  t.throws(() => checkHeader({ format: 'png', width: 0, height: 10 } as never, 'png', rules, 'f'), { message: /no dimensions/ })
  t.same(checkHeader(fromSharp({ format: 'heif', compression: 'av1', width: 3, height: 2 } as never), 'avif', rules, 'f'), { width: 3, height: 2, pages: 1 })
  t.same(checkHeader({ format: 'gif', width: 3, height: 2, pages: 100 } as never, 'gif', rules, 'f'), { width: 3, height: 2, pages: 100 }, 'maxPages is inclusive')
  t.throws(() => checkHeader({ format: 'gif', width: 3, height: 2, pages: 101 } as never, 'gif', rules, 'f'), { message: /101 frames are more than 100/ })
})
