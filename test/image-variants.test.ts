import t from 'tap'
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { ImageField, type ImageFieldOptions, type ImageFormat } from '../lib/index.js'
import { filesUnder, fixture, makeApp, postForm, type Tap } from './helpers.js'
import { animated, hasGps, noisyJpeg, orientedJpegWithGps, svg, tiff } from './image-fixtures.js'

const VARIANTS = {
  thumb: { width: 50, height: 50, fit: 'cover', format: 'webp', quality: 80 },
  card: { width: 100 }
} as const

async function setup (t: Tap, options: ImageFieldOptions = { variants: VARIANTS }) {
  const { app, dir } = await makeApp(t)
  // every format sharp reads; SVG only where the original is not re-encoded
  const formats: ImageFormat[] = ['jpeg', 'png', 'webp', 'gif', 'avif', 'tiff', ...(options.sanitize === true ? [] : ['svg' as const])]
  const Profile = app.media.model('profile', { avatar: ImageField({ uploadTo: 'avatars/', formats, ...options }) })
  app.post('/p', { upload: Profile }, async (req, reply) => reply.code(201).send(req.uploads))
  const root = join(dir, 'media')
  const read = (name: string): Buffer => readFileSync(join(root, name))
  return { app, dir, root, Profile, read }
}

t.test('variants of each real fixture: right size and format, stored next to the original', async (t) => {
  const { app, dir, read } = await setup(t)
  const cases: Array<[string, string, number, number]> = [
    // file, the card's format (the original's), the card's height for 100 px wide
    ['fixture.png', 'png', 100, 67],
    ['fixture.jpg', 'jpeg', 100, 67],
    ['fixture.gif', 'gif', 100, 67],
    ['fixture.webp', 'webp', 100, 66], // libwebp's shrink-on-load rounds down
    ['fixture-yuv420-8bit.avif', 'heif', 100, 42]
  ]
  for (const [file, cardFormat, width, height] of cases) {
    const res = await postForm(app, '/p', [{ name: 'avatar', filename: file, content: fixture(file) }])
    t.equal(res.statusCode, 201, file)
    const avatar = res.json().avatar
    const ext = avatar.name.split('.').pop()
    t.match(avatar.variants, {
      thumb: { name: `${avatar.name}@thumb.webp`, url: `/media/${avatar.name}@thumb.webp`, width: 50, height: 50, contentType: 'image/webp' },
      card: { name: `${avatar.name}@card.${ext}`, width, height, contentType: avatar.contentType }
    }, file)
    const thumb = await sharp(read(avatar.variants.thumb.name)).metadata()
    t.match(thumb, { format: 'webp', width: 50, height: 50 }, `${file}: thumb on disk`)
    const card = await sharp(read(avatar.variants.card.name)).metadata()
    t.match(card, { format: cardFormat, width, height }, `${file}: card on disk`)
    t.equal(avatar.variants.card.size, read(avatar.variants.card.name).length)
  }
  t.equal(filesUnder(join(dir, 'media')).filter((name) => !name.includes('@')).length, 5)
  t.equal(filesUnder(join(dir, 'media')).length, 15)
})

t.test('the variants are served like any media file', async (t) => {
  const { app } = await setup(t)
  const avatar = (await postForm(app, '/p', [{ name: 'avatar', filename: 'me.png', content: fixture('fixture.png') }])).json().avatar
  const res = await app.inject(avatar.variants.thumb.url)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'image/webp')
  t.equal(res.headers['x-content-type-options'], 'nosniff')
})

t.test('EXIF orientation is applied to variants (autoOrient, the default), and GPS is stripped', async (t) => {
  const photo = await orientedJpegWithGps()
  const input = await sharp(photo).metadata()
  t.equal(input.orientation, 6, 'the input is stored sideways')
  t.ok(hasGps(input.exif), 'the input carries GPS data')

  const { app, read } = await setup(t, { variants: { card: { width: 150 }, kept: { width: 150, stripMetadata: false } } })
  const avatar = (await postForm(app, '/p', [{ name: 'avatar', filename: 'photo.jpg', content: photo }])).json().avatar
  t.match(avatar, { width: 800, height: 600 }, 'the original is what was sent')
  t.match(avatar.variants.card, { width: 150, height: 200 }, 'upright: taller than wide')
  const card = await sharp(read(avatar.variants.card.name)).metadata()
  t.match(card, { width: 150, height: 200 })
  t.equal(card.exif, undefined, 'no EXIF at all')
  t.notOk(card.orientation !== undefined && card.orientation !== 1)
  const kept = await sharp(read(avatar.variants.kept.name)).metadata()
  t.ok(hasGps(kept.exif), 'stripMetadata: false keeps the EXIF data')
  t.ok(hasGps((await sharp(read(avatar.name)).metadata()).exif), 'the original is stored as sent')
})

t.test('autoOrient: false leaves the pixels as stored', async (t) => {
  const { app } = await setup(t, { autoOrient: false, variants: { card: { width: 150 } } })
  const avatar = (await postForm(app, '/p', [{ name: 'avatar', filename: 'photo.jpg', content: await orientedJpegWithGps() }])).json().avatar
  t.match(avatar.variants.card, { width: 150, height: 113 })
})

t.test('sanitize: the original is re-encoded, without metadata or trailing bytes', async (t) => {
  const { app, read } = await setup(t, { sanitize: true, variants: { card: { width: 150 } } })
  const polyglot = Buffer.concat([fixture('fixture.png'), Buffer.from('<html><script>alert(1)</script></html>')])
  const png = (await postForm(app, '/p', [{ name: 'avatar', filename: 'poly.png', content: polyglot }])).json().avatar
  const stored = read(png.name)
  t.notOk(stored.includes('<script>'), 'the trailing HTML is gone')
  t.equal(png.size, stored.length, 'size is what is stored')
  t.match(await sharp(stored).metadata(), { format: 'png', width: 200, height: 133 })

  const photo = (await postForm(app, '/p', [{ name: 'avatar', filename: 'photo.jpg', content: await orientedJpegWithGps() }])).json().avatar
  const meta = await sharp(read(photo.name)).metadata()
  t.equal(meta.exif, undefined, 'EXIF (GPS) gone from the original')
  t.match(photo, { width: 600, height: 800 }, 'the orientation is applied, so the dimensions are upright')
  t.match(meta, { width: 600, height: 800 })
  t.match(photo.variants.card, { width: 150, height: 200 })

  const gif = (await postForm(app, '/p', [{ name: 'avatar', filename: 'a.gif', content: await animated('gif') }])).json().avatar
  t.equal((await sharp(read(gif.name)).metadata()).pages, 3, 'an animated original keeps its frames')
})

t.test('verify: decode refuses a truncated JPEG that the header alone lets through', async (t) => {
  const truncated = (await noisyJpeg()).subarray(0, 10_000)
  const strict = await setup(t, { verify: 'decode' })
  const res = await postForm(strict.app, '/p', [{ name: 'avatar', filename: 'cut.jpg', content: truncated }])
  t.match(res.json(), { statusCode: 400, code: 'FST_MEDIA_INVALID_IMAGE', message: /avatar: the image cannot be decoded/ })
  t.same(filesUnder(strict.root), [])

  const lenient = await setup(t, { verify: 'header' })
  const ok = await postForm(lenient.app, '/p', [{ name: 'avatar', filename: 'cut.jpg', content: truncated }])
  t.equal(ok.statusCode, 201, 'the header is complete: accepted by default')

  const good = await postForm(strict.app, '/p', [{ name: 'avatar', filename: 'a.jpg', content: await noisyJpeg() }])
  t.equal(good.statusCode, 201, 'a whole image passes the decode check')
  const frames = await postForm(strict.app, '/p', [{ name: 'avatar', filename: 'a.gif', content: await animated('gif') }])
  t.equal(frames.statusCode, 201, 'every frame of an animated image decodes')
})

t.test('a truncated image fails its variants as the client\'s error, and with sanitize too', async (t) => {
  const truncated = (await noisyJpeg()).subarray(0, 10_000)
  for (const options of [{ variants: VARIANTS }, { sanitize: true }] as ImageFieldOptions[]) {
    const { app, root } = await setup(t, options)
    const res = await postForm(app, '/p', [{ name: 'avatar', filename: 'cut.jpg', content: truncated }])
    t.match(res.json(), { statusCode: 400, code: 'FST_MEDIA_INVALID_IMAGE' }, Object.keys(options).join())
    t.same(filesUnder(root), [], 'nothing stored')
  }
})

t.test('a variant this image cannot take removes every file of the request (the client\'s error)', async (t) => {
  const { app, root } = await setup(t, { variants: { ...VARIANTS, tall: { width: 200, format: 'webp' } } })
  // 100x20000 is 2 MP, within maxPixels; never enlarged, its WebP would pass WebP's 16383 px
  const tall = await sharp({ create: { width: 100, height: 20_000, channels: 3, background: '#888' } }).png().toBuffer()
  const res = await postForm(app, '/p', [{ name: 'avatar', filename: 'tall.png', content: tall }])
  t.match(res.json(), { statusCode: 400, code: 'FST_MEDIA_INVALID_IMAGE', message: /avatar: variant tall cannot be made from this image/ })
  t.same(filesUnder(root), [], 'no original, no thumb, no card')
  const ok = await postForm(app, '/p', [{ name: 'avatar', filename: 'me.png', content: fixture('fixture.png') }])
  t.equal(ok.statusCode, 201, 'the same field takes an ordinary image')
})

t.test('sanitize applies the orientation even with autoOrient: false (the tag that carried it is gone)', async (t) => {
  const { app, read } = await setup(t, { sanitize: true, autoOrient: false, variants: { card: { width: 150 } } })
  const photo = (await postForm(app, '/p', [{ name: 'avatar', filename: 'p.jpg', content: await orientedJpegWithGps() }])).json().avatar
  t.match(await sharp(read(photo.name)).metadata(), { width: 600, height: 800, exif: undefined })
  t.match(photo.variants.card, { width: 150, height: 200 }, 'made from the upright original')
})

t.test('maxPixels counts every frame where every frame is decoded', async (t) => {
  const gif = await animated('gif', 3) // 3 frames of 40x30: 1200 pixels each, 3600 in all
  for (const options of [{ sanitize: true }, { verify: 'decode' }, { variants: { moving: { width: 20, animated: true } } }] as ImageFieldOptions[]) {
    const { app, root } = await setup(t, { maxPixels: 2000, ...options })
    const res = await postForm(app, '/p', [{ name: 'avatar', filename: 'a.gif', content: gif }])
    // frames are counted as they stream: the 2nd frame (2400 pixels) refuses it
    t.match(res.json(), { statusCode: 400, code: 'FST_MEDIA_INVALID_IMAGE', message: /40x30 in 2 frames is more than 2000 pixels/ }, Object.keys(options).join())
    t.same(filesUnder(root), [])
  }
  const firstFrameOnly = await setup(t, { maxPixels: 2000, variants: { still: { width: 20 } } })
  const res = await postForm(firstFrameOnly.app, '/p', [{ name: 'avatar', filename: 'a.gif', content: gif }])
  t.equal(res.statusCode, 201, 'variants of the first frame decode one frame')
})

t.test('animated originals: variants keep their frames only when asked, and only as gif or webp', async (t) => {
  const { app, read } = await setup(t, {
    variants: {
      still: { width: 20 },
      moving: { width: 20, animated: true },
      webp: { width: 20, animated: true, format: 'webp' },
      jpeg: { width: 20, animated: true, format: 'gif' },
      flat: { width: 20, format: 'png', animated: false }
    }
  })
  for (const format of ['gif', 'webp'] as const) {
    const avatar = (await postForm(app, '/p', [{ name: 'avatar', filename: `a.${format}`, content: await animated(format) }])).json().avatar
    const pages = async (key: string) => (await sharp(read(avatar.variants[key].name)).metadata()).pages ?? 1
    t.equal(await pages('still'), 1, `${format}: the first frame by default`)
    t.equal(await pages('moving'), 3, `${format}: frames kept`)
    t.equal(await pages('webp'), 3)
    t.equal(await pages('jpeg'), 3)
    t.equal(await pages('flat'), 1)
    t.match(avatar.variants.moving, { width: 20, height: 15 }, 'one frame\'s height, not the strip\'s')
  }
})

t.test('maxPages: too many frames are refused from the header', async (t) => {
  const { app, root } = await setup(t, { maxPages: 2 })
  const res = await postForm(app, '/p', [{ name: 'avatar', filename: 'a.gif', content: await animated('gif', 3) }])
  t.match(res.json(), { statusCode: 400, code: 'FST_MEDIA_INVALID_IMAGE', message: /3 frames are more than 2/ })
  t.same(filesUnder(root), [])
})

t.test('formats browsers do not all show give PNG variants: SVG and TIFF', async (t) => {
  const { app, read } = await setup(t, { variants: { card: { width: 30 } } })
  const fromSvg = (await postForm(app, '/p', [{ name: 'avatar', filename: 'logo.svg', content: svg }])).json().avatar
  t.equal(fromSvg.variants.card.name, 'avatars/logo.svg@card.png')
  t.match(await sharp(read(fromSvg.variants.card.name)).metadata(), { format: 'png', width: 30, height: 15 })
  const fromTiff = (await postForm(app, '/p', [{ name: 'avatar', filename: 'scan.tif', content: await tiff() }])).json().avatar
  t.equal(fromTiff.variants.card.name, 'avatars/scan.tif@card.png')
})

t.test('withoutEnlargement (the default) never scales a small image up', async (t) => {
  const { app } = await setup(t, { variants: { big: { width: 1000 }, forced: { width: 400, withoutEnlargement: false } } })
  const avatar = (await postForm(app, '/p', [{ name: 'avatar', filename: 'a.png', content: fixture('fixture.png') }])).json().avatar
  t.match(avatar.variants.big, { width: 200, height: 133 })
  t.match(avatar.variants.forced, { width: 400, height: 266 })
})

t.test('a stale variant file whose original is gone is replaced, never suffixed', async (t) => {
  const { app, root, read } = await setup(t)
  mkdirSync(join(root, 'avatars'), { recursive: true })
  writeFileSync(join(root, 'avatars', 'me.png@thumb.webp'), 'stale')
  const avatar = (await postForm(app, '/p', [{ name: 'avatar', filename: 'me.png', content: fixture('fixture.png') }])).json().avatar
  t.equal(avatar.name, 'avatars/me.png')
  t.equal(avatar.variants.thumb.name, 'avatars/me.png@thumb.webp')
  t.equal((await sharp(read('avatars/me.png@thumb.webp')).metadata()).format, 'webp')
  t.same(filesUnder(root), ['avatars/me.png', 'avatars/me.png@card.png', 'avatars/me.png@thumb.webp'])
})

t.test('an original\'s name leaves room for its variants\' names within 255 bytes', async (t) => {
  const { app } = await setup(t)
  const long = `${'n'.repeat(300)}.png`
  const avatar = (await postForm(app, '/p', [{ name: 'avatar', filename: long, content: fixture('fixture.png') }])).json().avatar
  t.ok(Buffer.byteLength(avatar.variants.thumb.name) <= 255, `${Buffer.byteLength(avatar.variants.thumb.name)} bytes`)
  t.ok(Buffer.byteLength(avatar.name) <= 255 - '@thumb.webp'.length)
})

t.test('many uploads at once all get their variants (image work is queued, not dropped)', async (t) => {
  const { app, root } = await setup(t, { variants: { a: { width: 20 }, b: { width: 40, format: 'webp' }, c: { width: 60, format: 'jpeg' } } })
  const results = await Promise.all(Array.from({ length: 12 }, async () =>
    await postForm(app, '/p', [{ name: 'avatar', filename: 'same.png', content: fixture('fixture.png') }])))
  t.ok(results.every((res) => res.statusCode === 201))
  const names = new Set(results.map((res) => res.json().avatar.name))
  t.equal(names.size, 12, 'distinct originals')
  t.equal(filesUnder(root).length, 48, 'each with three variants')
})

t.test('verify: decode with variants; a variant may only convert, or fix one side', async (t) => {
  const { app } = await setup(t, { verify: 'decode', variants: { converted: { format: 'webp' }, tall: { height: 40 } } })
  const avatar = (await postForm(app, '/p', [{ name: 'avatar', filename: 'a.png', content: fixture('fixture.png') }])).json().avatar
  t.match(avatar.variants.converted, { width: 200, height: 133, contentType: 'image/webp' })
  t.match(avatar.variants.tall, { width: 60, height: 40, contentType: 'image/png' })
})
