import t from 'tap'
import { Readable } from 'node:stream'
import sharp from 'sharp'
import { ImageField, ImageFile, MemoryStorage, type Content, type SaveOptions, type Storage } from '../lib/index.js'
import { Slots } from '../lib/concurrency.js'
import { fixture, makeApp, postForm, type Tap } from './helpers.js'
import { STORAGES } from './storages.js'

const VARIANTS = { thumb: { width: 50, height: 50, format: 'webp' }, card: { width: 100 } } as const

t.test('variant declarations are checked at declaration, naming the option', async (t) => {
  const cases: Array<[() => unknown, RegExp]> = [
    [() => ImageField({ variants: [] as never }), /ImageField\.variants: must be an object/],
    [() => ImageField({ variants: null as never }), /ImageField\.variants: must be an object/],
    [() => ImageField({ variants: { 'a b': { width: 1 } } }), /ImageField\.variants: "a b" is not a variant name/],
    [() => ImageField({ variants: { [`v${'x'.repeat(32)}`]: { width: 1 } } }), /is not a variant name/],
    [() => ImageField({ variants: { thumb: 5 as never } }), /ImageField\.variants\.thumb: must be an object/],
    [() => ImageField({ variants: { thumb: { width: 0 } } }), /variants\.thumb\.width: must be an integer from 1 to 65535/],
    [() => ImageField({ variants: { thumb: { width: 20_000, format: 'webp' } } }), /variants\.thumb\.width: must be an integer from 1 to 16383/],
    [() => ImageField({ variants: { thumb: { width: 10 }, Thumb: { width: 20 } } }), /ImageField\.variants: "Thumb" differs from another variant name only in case/],
    [() => ImageField({ variants: { thumb: { height: 1.5 } } }), /variants\.thumb\.height/],
    [() => ImageField({ variants: { thumb: { quality: 101 } } }), /variants\.thumb\.quality: must be an integer from 1 to 100/],
    [() => ImageField({ variants: { thumb: { fit: 'stretch' as never } } }), /variants\.thumb\.fit: must be one of cover, contain, fill, inside, outside/],
    [() => ImageField({ variants: { thumb: { format: 'tiff' as never } } }), /variants\.thumb\.format: must be one of jpeg, png, webp, avif, gif/],
    [() => ImageField({ variants: { thumb: { animated: 'yes' as never } } }), /variants\.thumb\.animated: must be true or false/],
    [() => ImageField({ variants: { thumb: { animated: true, format: 'jpeg' } } }), /variants\.thumb\.animated: jpeg cannot hold frames/],
    [() => ImageField({ verify: 'full' as never }), /ImageField\.verify: must be 'header' or 'decode'/],
    [() => ImageField({ sanitize: 1 as never }), /ImageField\.sanitize: must be true or false/],
    [() => ImageField({ sanitize: true, formats: ['png', 'svg'] }), /ImageField\.sanitize: cannot re-encode SVG/],
    [() => ImageField({ maxPages: 0 }), /ImageField\.maxPages/],
    [() => ImageField({ maxLength: 20, variants: { thumbnail: { width: 1 } } }), /ImageField\.maxLength: leaves less than 16 bytes once variant names take 15/]
  ]
  for (const [make, message] of cases) t.throws(make, { code: 'FST_MEDIA_INVALID_OPTION', message })

  const field = ImageField({ maxLength: 400, variants: { thumb: { width: 10 } } })
  t.equal(field.options.maxLength, 255 - '@thumb.webp'.length, 'one file name holds the variant\'s')
  t.match(field.options.image, { verify: 'header', sanitize: false, autoOrient: true, maxPages: 100 })
  t.match(field.options.image?.variants[0], { key: 'thumb', fit: 'cover', withoutEnlargement: true, animated: false, stripMetadata: true, format: undefined })
  t.equal(ImageField().options.maxLength, 255, 'no variants, no room taken')

  // sharp holds whole images in memory: fields that process them get a bound unless they set one
  t.equal(field.options.maxSize, 20_000_000)
  t.equal(ImageField({ sanitize: true }).options.maxSize, 20_000_000)
  t.equal(ImageField({ verify: 'decode' }).options.maxSize, 20_000_000)
  t.equal(ImageField({ variants: { a: { width: 1 } }, maxSize: '50 MB' }).options.maxSize, 50_000_000)
  t.equal(ImageField().options.maxSize, Infinity, 'a field that reads headers only has none')
  t.equal(ImageField({ variants: { a: { width: 1 } } }).options.image?.decodesAllFrames, false)
  t.equal(ImageField({ variants: { a: { width: 1, animated: true } } }).options.image?.decodesAllFrames, true)
})

async function profileApp (t: Tap, storage?: Storage) {
  const { app } = await makeApp(t, storage === undefined ? {} : { media: false, storages: { default: storage } })
  const Profile = app.media.model('profile', {
    avatar: ImageField({ uploadTo: 'avatars/', variants: VARIANTS }),
    photos: ImageField({ uploadTo: 'photos/', multiple: true, required: false, variants: { small: { width: 20 } } })
  })
  let record: Record<string, unknown> = {}
  app.post('/p', { upload: Profile }, async (req, reply) => {
    record = Profile.toRecord(req.uploads)
    return reply.code(201).send(req.uploads)
  })
  return { app, Profile, record: () => record }
}

t.test('load() restores the variants from the original\'s name; stat(), srcset() and delete() include them', async (t) => {
  const storage = new MemoryStorage({ baseUrl: '/files/' })
  const { app, Profile, record } = await profileApp(t, storage)
  const res = await postForm(app, '/p', [{ name: 'avatar', filename: 'me.jpg', content: fixture('fixture.jpg') }])
  const uploaded = res.json().avatar
  t.same(record(), { avatar: 'avatars/me.jpg', photos: [] }, 'a record keeps the original only')
  t.equal(app.media.srcset(uploaded, ['thumb', 'card']), '/files/avatars/me.jpg@thumb.webp 50w, /files/avatars/me.jpg@card.jpg 100w')

  const loaded = Profile.load(record())
  t.ok(loaded.avatar!.variants.thumb instanceof ImageFile)
  t.match(loaded.avatar!.variants, {
    thumb: { name: 'avatars/me.jpg@thumb.webp', url: '/files/avatars/me.jpg@thumb.webp', width: undefined },
    card: { name: 'avatars/me.jpg@card.jpg', url: '/files/avatars/me.jpg@card.jpg' }
  })
  // the types ask for a measured image; callers without types get a clear error
  t.throws(() => app.media.srcset(loaded.avatar! as never), { code: 'FST_MEDIA_INVALID_OPTION', message: /avatars\/me\.jpg@thumb\.webp has no width yet: await the image's stat\(\) first/ })
  const measured = await loaded.avatar!.stat()
  t.match(loaded.avatar!.variants.card, { width: 100, height: 67, size: uploaded.variants.card.size })
  t.equal(app.media.srcset(measured), app.media.srcset(uploaded), 'all variants by default, in declaration order')
  t.same(JSON.parse(JSON.stringify(loaded.avatar)), uploaded, 'the same JSON once stat()ed')

  await Profile.delete(record())
  t.same(await storage.list(), [], 'the record\'s delete removes the variants too')

  const again = (await postForm(app, '/p', [{ name: 'avatar', filename: 'me.png', content: fixture('fixture.png') }])).json().avatar
  t.equal((await storage.list()).length, 3)
  await Profile.load({ avatar: again.name }).avatar!.delete()
  t.same(await storage.list(), [], 'and so does the file\'s delete()')
})

t.test('srcset() refuses what it cannot write', async (t) => {
  const { app } = await makeApp(t)
  const file = (variants: Record<string, ImageFile>) => new ImageFile({ name: 'a.png', storage: app.media.storage(), url: '/media/a.png', variants })
  t.throws(() => app.media.srcset(file({})), { message: /a\.png has no variants to list/ })
  t.throws(() => app.media.srcset(file({}) as never, ['thumb'] as never), { message: /a\.png has no variant "thumb"/ })
  const signed = new ImageFile({ name: 'a.png@s.png', storage: app.media.storage(), url: Promise.resolve('https://signed'), width: 10 })
  t.throws(() => app.media.srcset(file({ s: signed as never })), { message: /a\.png@s\.png has a signed URL still to await/ })
})

t.test('field.save() makes the variants, and a failure removes the original and every variant', async (t) => {
  const storage = new MemoryStorage({ baseUrl: '/files/' })
  const { app } = await makeApp(t, { media: false, storages: { default: storage } })
  const Good = app.media.model('good', { avatar: ImageField({ uploadTo: 'a/', variants: VARIANTS }) })
  const saved = await Good.fields.avatar.save('me.png', Readable.from([fixture('fixture.png')]))
  t.match(saved.variants, { thumb: { name: 'a/me.png@thumb.webp', width: 50 }, card: { name: 'a/me.png@card.png', width: 100 } })

  const Bad = app.media.model('bad', { avatar: ImageField({ uploadTo: 'b/', variants: { ...VARIANTS, tall: { width: 200, format: 'webp' } } }) })
  const tall = await sharp({ create: { width: 100, height: 20_000, channels: 3, background: '#888' } }).png().toBuffer()
  await t.rejects(Bad.fields.avatar.save('me.png', tall), { code: 'FST_MEDIA_INVALID_IMAGE', message: /variant tall cannot be made/ })
  t.same((await storage.list()).filter((name) => name.startsWith('b/')), [], 'nothing left of the failed save')
})

/** A storage of someone else's making on which variant names are always taken: it suffixes every `@` name. */
class SuffixingStorage extends MemoryStorage {
  override async save (name: string | (() => string), content: Content, opts?: SaveOptions): Promise<string> {
    const wanted = typeof name === 'function' ? name() : name
    return await super.save(wanted.includes('@') ? wanted.replace(/(\.\w+)$/, '_taken1$1') : wanted, content, opts)
  }
}

t.test('a variant name that stays taken fails the upload with a storage error, leaving nothing', async (t) => {
  const storage = new SuffixingStorage({ baseUrl: '/files/' })
  const { app } = await profileApp(t, storage)
  const res = await postForm(app, '/p', [{ name: 'avatar', filename: 'me.png', content: fixture('fixture.png') }])
  t.match(res.json(), { statusCode: 500, code: 'FST_MEDIA_STORAGE', message: /the variant name avatars\/me\.png@(thumb\.webp|card\.png) stays taken/ })
  t.same(await storage.list(), [])
})

for (const [label, make] of STORAGES) {
  t.test(`${label}: variants are stored, all or nothing, and deleted with their original`, async (t) => {
    const storage = await make(t)
    const { app, Profile, record } = await profileApp(t, storage)
    const res = await postForm(app, '/p', [
      { name: 'avatar', filename: 'me.png', content: fixture('fixture.png') },
      { name: 'photos', filename: 'a.webp', content: fixture('fixture.webp') }
    ])
    t.equal(res.statusCode, 201)
    t.same((await storage.list()).sort(), ['avatars/me.png', 'avatars/me.png@card.png', 'avatars/me.png@thumb.webp', 'photos/a.webp', 'photos/a.webp@small.webp'])
    const { avatar } = res.json()
    t.equal(await storage.size(avatar.variants.thumb.name), avatar.variants.thumb.size)
    if (label === 'S3Storage') t.equal((await storage.stat(avatar.variants.thumb.name)).contentType, 'image/webp', 'S3 keeps the variant\'s type')

    // a later part fails: the first part's original and variants go
    const failed = await postForm(app, '/p', [
      { name: 'avatar', filename: 'you.png', content: fixture('fixture.png') },
      { name: 'photos', filename: 'x.png', content: fixture('fixture.exe') }
    ])
    t.equal(failed.json().code, 'FST_MEDIA_INVALID_TYPE')
    t.equal((await storage.list()).length, 5, 'nothing of the failed request')

    await Profile.delete(record())
    t.same(await storage.list(), [])
  })
}

t.test('Slots: never more than its size at once, first come first served', async (t) => {
  const slots = new Slots(2)
  let running = 0
  let peak = 0
  const order: number[] = []
  const job = (i: number) => async () => {
    running++
    peak = Math.max(peak, running)
    await new Promise((resolve) => setImmediate(resolve))
    order.push(i)
    running--
    if (i === 3) throw new Error('job 3 fails')
    return i
  }
  const running6 = Promise.allSettled([1, 2, 3, 4, 5, 6].map(async (i) => await slots.run(job(i))))
  t.equal(slots.waiting, 4, 'four wait while two run')
  const results = await running6
  t.equal(slots.waiting, 0)
  t.equal(peak, 2)
  t.same(order, [1, 2, 3, 4, 5, 6])
  t.match(results[2], { status: 'rejected', reason: { message: 'job 3 fails' } })
  t.match(results[5], { status: 'fulfilled', value: 6 }, 'a failure frees its slot')
})
