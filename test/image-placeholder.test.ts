import t from 'tap'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import sharp from 'sharp'
import { decode as decodeBlurhash, isBlurhashValid } from 'blurhash'
import { thumbHashToApproximateAspectRatio, thumbHashToAverageRGBA } from 'thumbhash'
import { FileField, FileSystemStorage, ImageField, type ImageFieldOptions } from '../lib/index.js'
import { filesUnder, fixture, makeApp, postForm, type Tap } from './helpers.js'
import { orientedJpegWithGps } from './image-fixtures.js'
import { storedMessages } from './variants-lazy-helpers.js'

/** A disk storage that counts the files opened for reading. */
class CountingStorage extends FileSystemStorage {
  opened: string[] = []
  override open (name: string): Readable {
    this.opened.push(name)
    return super.open(name)
  }
}

async function setup (t: Tap, options: ImageFieldOptions) {
  const storage = new CountingStorage({ location: 'media', baseUrl: '/media/' })
  const { app, dir } = await makeApp(t, { storages: { default: storage } })
  const Profile = app.media.model('profile', {
    avatar: ImageField({ uploadTo: 'avatars/', formats: ['jpeg', 'png', 'webp', 'gif', 'avif'], ...options, required: false }),
    photos: ImageField({ uploadTo: 'photos/', multiple: true, required: false, placeholder: 'thumbhash' })
  })
  app.post('/p', { upload: Profile }, async (req, reply) => reply.code(201).send({ uploads: req.uploads, record: Profile.toRecord(req.uploads) }))
  return { app, dir, storage, Profile }
}

/**
 * The mean colour of an image as browsers show it (its ICC profile applied, like sharp's sRGB output). `linear`:
 * averaged in linear light, as BlurHash averages.
 */
async function shownMean (image: Buffer, linear = false): Promise<number[]> {
  const { data, info } = await sharp(image).autoOrient().removeAlpha().raw().toBuffer({ resolveWithObject: true })
  return meanRgb(data, info.channels, linear)
}

const toLinear = (v: number): number => { const x = v / 255; return x <= 0.04045 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4 }
const fromLinear = (x: number): number => 255 * (x <= 0.0031308 ? x * 12.92 : 1.055 * x ** (1 / 2.4) - 0.055)

function meanRgb (pixels: ArrayLike<number>, channels: number, linear = false): number[] {
  const sums: [number, number, number] = [0, 0, 0]
  for (let i = 0; i < pixels.length; i += channels) for (let c = 0 as 0 | 1 | 2; c < 3; c++) sums[c] += linear ? toLinear(pixels[i + c] as number) : pixels[i + c] as number
  const means = sums.map((sum) => sum / (pixels.length / channels))
  return linear ? means.map(fromLinear) : means
}

interface Placeheld { name: string, placeholder?: string, toJSON: () => { placeholder?: string } }

const FIXTURES = ['fixture.png', 'fixture.jpg', 'fixture.webp', 'fixture.gif', 'fixture-yuv420-8bit.avif']

t.test('a thumbhash placeholder of each real fixture decodes to the image\'s mean colour and aspect ratio', async (t) => {
  const { app } = await setup(t, { placeholder: 'thumbhash' })
  for (const file of FIXTURES) {
    const res = await postForm(app, '/p', [{ name: 'avatar', filename: file, content: fixture(file) }])
    t.equal(res.statusCode, 201, file)
    const { avatar } = res.json().uploads
    t.match(avatar.placeholder, /^[A-Za-z0-9+/]{20,60}={0,2}$/, `${file}: base64, a few dozen characters`)
    if (file === 'fixture.png') t.equal(avatar.placeholder.length, 28, 'README: 28 for the test photo')
    const hash = Buffer.from(avatar.placeholder, 'base64')
    const average = thumbHashToAverageRGBA(hash)
    const expected = await shownMean(fixture(file))
    const got = [average.r, average.g, average.b].map((v) => v * 255)
    for (let c = 0; c < 3; c++) t.ok(Math.abs((got[c] as number) - (expected[c] as number)) < 8, `${file}: channel ${c} ${Math.round(got[c] as number)} ~ ${Math.round(expected[c] as number)}`)
    t.ok(Math.abs(thumbHashToApproximateAspectRatio(hash) - avatar.width / avatar.height) < 0.15, `${file}: aspect ratio`)
  }
})

t.test('a blurhash placeholder decodes to a preview of the image\'s mean colour', async (t) => {
  const { app } = await setup(t, { placeholder: 'blurhash' })
  for (const file of FIXTURES) {
    const res = await postForm(app, '/p', [{ name: 'avatar', filename: file, content: fixture(file) }])
    t.equal(res.statusCode, 201, file)
    const { placeholder } = res.json().uploads.avatar
    t.ok(isBlurhashValid(placeholder).result, `${file}: a valid blurhash`)
    t.equal(placeholder.length, 28, `${file}: 4x3 components`)
    const preview = decodeBlurhash(placeholder, 32, 32)
    const got = meanRgb(preview, 4, true)
    const expected = await shownMean(fixture(file), true)
    for (let c = 0; c < 3; c++) t.ok(Math.abs((got[c] as number) - (expected[c] as number)) < 8, `${file}: channel ${c} ${Math.round(got[c] as number)} ~ ${Math.round(expected[c] as number)}`)
  }
})

t.test('the placeholder follows the EXIF orientation: a sideways-stored JPEG gets a portrait one', async (t) => {
  const { app } = await setup(t, { placeholder: 'thumbhash' })
  const res = await postForm(app, '/p', [{ name: 'avatar', filename: 'side.jpg', content: await orientedJpegWithGps() }])
  t.equal(res.statusCode, 201)
  const ratio = thumbHashToApproximateAspectRatio(Buffer.from(res.json().uploads.avatar.placeholder, 'base64'))
  t.ok(ratio < 0.8, `600x800 as shown: ${ratio.toFixed(2)}`)

  // a portrait BlurHash has 3 components across and 4 down: its first character says so ((3-1) + (4-1)*9 = 29, 'T')
  const blur = await setup(t, { placeholder: 'blurhash' })
  const portrait = (await postForm(blur.app, '/p', [{ name: 'avatar', filename: 'side.jpg', content: await orientedJpegWithGps() }])).json().uploads.avatar.placeholder
  t.equal(portrait[0], 'T')
  const landscape = (await postForm(blur.app, '/p', [{ name: 'avatar', filename: 'me.png', content: fixture('fixture.png') }])).json().uploads.avatar.placeholder
  t.equal(landscape[0], 'L', '4 across, 3 down: (4-1) + (3-1)*9 = 21')
})

t.test('the placeholder is made from the upload\'s bytes in memory, with or without variants, sanitize or a decode check', async (t) => {
  const cases: ImageFieldOptions[] = [
    { placeholder: 'thumbhash' },
    { placeholder: 'thumbhash', variants: { thumb: { width: 40, format: 'webp' } } },
    { placeholder: 'blurhash', sanitize: true },
    { placeholder: 'blurhash', verify: 'decode' }
  ]
  for (const options of cases) {
    const { app, storage } = await setup(t, options)
    const res = await postForm(app, '/p', [{ name: 'avatar', filename: 'me.png', content: fixture('fixture.png') }])
    t.equal(res.statusCode, 201, JSON.stringify(options))
    t.type(res.json().uploads.avatar.placeholder, 'string')
    t.same(storage.opened, [], `${JSON.stringify(options)}: nothing read back`)
  }
})

t.test('the placeholder is made at upload whatever the variants\' generation; lazy and background variants are made later from the stored original', async (t) => {
  const cases: Record<string, ImageFieldOptions['variants']> = {
    lazy: { card: { width: 40, format: 'webp', generation: 'lazy' } },
    background: { card: { width: 40, format: 'webp', generation: 'background' } },
    mixed: { thumb: { width: 20, format: 'webp' }, card: { width: 40, format: 'webp', generation: 'lazy' } }
  }
  for (const [label, variants] of Object.entries(cases)) {
    const { app, dir, storage } = await setup(t, { placeholder: 'blurhash', variants })
    const stored = storedMessages(t)
    const made = stored.next((message) => message.variant === 'card')
    const res = await postForm(app, '/p', [{ name: 'avatar', filename: 'me.png', content: fixture('fixture.png') }])
    t.equal(res.statusCode, 201, label)
    const { uploads: { avatar }, record } = res.json()
    t.ok(isBlurhashValid(avatar.placeholder).result, `${label}: in the upload's answer`)
    t.equal(record.avatarPlaceholder, avatar.placeholder, `${label}: and its record`)
    t.same(storage.opened, [], `${label}: made from the bytes in memory`)
    if (label === 'background') {
      await made
    } else {
      t.notOk(filesUnder(join(dir, 'media')).includes(avatar.variants.card.name), `${label}: the lazy variant waits for its request`)
      t.equal((await app.inject(avatar.variants.card.url)).statusCode, 200)
    }
    t.same(storage.opened, [avatar.name], `${label}: the later variant read the stored original`)
    t.equal(avatar.variants.card.size, undefined, `${label}: not made at upload`)
  }
})

t.test('records keep the placeholder beside the name; load() and toJSON() give it back; a record without one still loads', async (t) => {
  const { app, Profile } = await setup(t, { placeholder: 'thumbhash' })
  const res = await postForm(app, '/p', [
    { name: 'avatar', filename: 'me.png', content: fixture('fixture.png') },
    { name: 'photos', filename: 'a.webp', content: fixture('fixture.webp') },
    { name: 'photos', filename: 'b.gif', content: fixture('fixture.gif') }
  ])
  t.equal(res.statusCode, 201)
  const { uploads, record } = res.json()
  t.same(record, {
    avatar: uploads.avatar.name,
    avatarPlaceholder: uploads.avatar.placeholder,
    photos: uploads.photos.map((photo: { name: string }) => photo.name),
    photosPlaceholder: uploads.photos.map((photo: { placeholder: string }) => photo.placeholder)
  })
  t.not(record.photosPlaceholder[0], record.photosPlaceholder[1], 'each photo its own')

  // the field's options are typed loosely here (types/placeholders.test-d.ts checks the precise types)
  const load = (row: object) => Profile.load(row as never) as unknown as { avatar: Placeheld | null, photos: Placeheld[] }
  const loaded = load(record)
  t.equal(loaded.avatar?.placeholder, uploads.avatar.placeholder)
  t.same(loaded.photos.map((photo) => photo.placeholder), record.photosPlaceholder)
  t.equal(loaded.avatar?.toJSON().placeholder, uploads.avatar.placeholder)
  t.same(JSON.parse(JSON.stringify(loaded.photos[1])), { name: record.photos[1], url: `/media/${record.photos[1] as string}`, contentType: 'image/gif', placeholder: record.photosPlaceholder[1] })

  // kept before the field had placeholders (or by hand): the files load, their placeholder is undefined
  const old = load({ avatar: record.avatar, photos: record.photos })
  t.equal(old.avatar?.name, record.avatar)
  t.equal(old.avatar?.placeholder, undefined)
  t.ok(old.avatar !== null && 'placeholder' in old.avatar, 'the field declares one: the property is there, undefined')
  t.same(old.photos.map((photo) => photo.placeholder), [undefined, undefined])
  t.same(Profile.toRecord({ avatar: old.avatar, photos: [] } as never), { avatar: record.avatar, avatarPlaceholder: null, photos: [], photosPlaceholder: [] }, 'a file without one: null in the record')
  const odd = load({ avatar: record.avatar, avatarPlaceholder: 42, photos: ['', record.photos[1]], photosPlaceholder: ['x', 'y'] })
  t.equal(odd.avatar?.placeholder, undefined, 'not a string: none')
  t.same(odd.photos.map((photo) => [photo.name, photo.placeholder]), [[record.photos[1], 'y']], 'matched by position, past a missing name')
})

t.test('an image field without placeholder has none: not in its JSON, its record or its loaded files', async (t) => {
  const { app, Profile } = await setup(t, {})
  const res = await postForm(app, '/p', [{ name: 'avatar', filename: 'me.png', content: fixture('fixture.png') }])
  const { uploads, record } = res.json()
  t.notOk('placeholder' in uploads.avatar)
  t.same(Object.keys(record), ['avatar', 'photos', 'photosPlaceholder'])
  t.notOk('placeholder' in (Profile.load(record).avatar as object))
})

t.test('field.save() and Model.replace() carry the placeholder into the record they write', async (t) => {
  const { Profile } = await setup(t, { placeholder: 'blurhash' })
  const avatar = await Profile.fields.avatar.save('me.png', fixture('fixture.png'))
  t.type(avatar.placeholder, 'string')
  const photos = [await Profile.fields.photos.save('a.jpg', fixture('fixture.jpg'))]
  let written: unknown
  await Profile.replace({ avatar: null, photos: [] }, { avatar, photos }, { commit: (changes) => { written = changes } })
  t.same(written, { avatar: avatar.name, avatarPlaceholder: avatar.placeholder, photos: [photos[0]?.name], photosPlaceholder: [photos[0]?.placeholder] })
})

t.test('an image that cannot be decoded for its placeholder is refused 400, nothing left behind', async (t) => {
  const { app, dir } = await setup(t, { placeholder: 'thumbhash' })
  const broken = Buffer.from(fixture('fixture.png'))
  // the header stays readable; the image data does not
  for (let i = 2000; i < 2100; i++) broken[i] = (broken[i] as number) ^ 0x55
  const res = await postForm(app, '/p', [{ name: 'avatar', filename: 'me.png', content: broken }])
  t.equal(res.statusCode, 400)
  t.match(res.json(), { code: 'FST_MEDIA_INVALID_IMAGE', field: 'avatar', message: /no placeholder can be made from this image/ })
  t.same(filesUnder(join(dir, 'media')), [])
})

t.test('placeholder declarations are checked: the kind, the field kind, the record key', async (t) => {
  const invalid = (message: RegExp) => ({ code: 'FST_MEDIA_INVALID_OPTION', message })
  t.throws(() => ImageField({ placeholder: 'bluhash' as never }), invalid(/^ImageField\.placeholder: must be 'thumbhash' or 'blurhash'$/))
  t.throws(() => ImageField({ placeholder: true as never }), invalid(/^ImageField\.placeholder: must be/))
  t.throws(() => FileField({ placeholder: 'thumbhash' } as never), invalid(/^FileField\.placeholder: .*an ImageField option/))
  t.equal(ImageField({ placeholder: 'thumbhash' }).options.maxSize, 20_000_000, 'the whole image is read: the same bound as variants')
  const { app } = await makeApp(t)
  t.throws(() => app.media.model('clash', { avatar: ImageField({ placeholder: 'thumbhash' }), avatarPlaceholder: FileField() }),
    invalid(/^clash\.avatarPlaceholder: is where a record keeps the placeholders of avatar/))
  t.doesNotThrow(() => app.media.model('fine', { avatar: ImageField(), avatarPlaceholder: FileField() }), 'no placeholder, no clash')
})
