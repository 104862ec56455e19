// Variants made after their upload: `generation: 'lazy'` (on the first request for the URL) and the
// on-demand route's guarantees (declared variants only, single-flight, signatures, limits, failures).
import t from 'tap'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Fastify from 'fastify'
import sharp from 'sharp'
import fastifyMedia, { Disk, FileSystemStorage, ImageField, type Content, type FastifyMediaOptions, type FileStat, type ImageFieldOptions, type SaveOptions } from '../lib/index.js'
import { imageSlots } from '../lib/image/slots.js'
import { filesUnder, fixture, makeApp, postForm, tempDir, type Tap } from './helpers.js'
import { listen, waitFor } from './http-helpers.js'
import { MapDriver } from './drivers/map-driver.js'
import { CountingStorage, storedMessages } from './variants-lazy-helpers.js'

const LAZY = { thumb: { width: 50, height: 50, format: 'webp', generation: 'lazy' }, card: { width: 100, generation: 'lazy' } } as const

async function setup (t: Tap, { field = { variants: LAZY }, plugin = {}, dir = tempDir(t) }: { field?: ImageFieldOptions, plugin?: FastifyMediaOptions, dir?: string } = {}) {
  const storage = new CountingStorage({ location: join(dir, 'media'), baseUrl: '/media/' })
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyMedia, { baseDir: dir, static: false, storages: { default: storage }, ...plugin })
  const Profile = app.media.model('profile', { avatar: ImageField({ uploadTo: 'avatars/', ...field }) })
  app.post('/p', { upload: Profile }, async (req, reply) => reply.code(201).send(req.uploads))
  const upload = async (content = fixture('fixture.png'), filename = 'me.png') => {
    const res = await postForm(app, '/p', [{ name: 'avatar', filename, content }])
    t.equal(res.statusCode, 201, res.body)
    return res.json().avatar
  }
  return { app, dir, root: join(dir, 'media'), storage, Profile, upload }
}

t.test('generation is checked like every variant option', async (t) => {
  t.throws(() => ImageField({ variants: { thumb: { width: 10, generation: 'later' as never } } }), { code: 'FST_MEDIA_INVALID_OPTION', message: /ImageField\.variants\.thumb\.generation: must be one of upload, lazy, background/ })
  t.throws(() => ImageField({ variants: { thumb: { width: 10, generaton: 'lazy' } as never } }), { message: /variants\.thumb\.generaton: unknown option, did you mean generation/ })
  for (const generation of ['upload', 'lazy', 'background'] as const) t.doesNotThrow(() => ImageField({ variants: { thumb: { width: 10, generation } } }))
})

t.test('the plugin\'s variants option is checked at register', async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    [{ url: 'x/' }, /variants\.url: "x\/" must start and end with "\/"/],
    [{ url: '/' }, /variants\.url/],
    [{ maxQueue: -1 }, /variants\.maxQueue: must be an integer >= 0/],
    [{ timeout: 1.5 }, /variants\.timeout/],
    [{ queue: {} }, /variants\.queue: must have start, enqueue and close/],
    [{ maxqueue: 3 }, /variants\.maxqueue: unknown option, did you mean maxQueue/]
  ]
  for (const [variants, message] of cases) {
    const app = Fastify()
    await t.rejects(async () => { await app.register(fastifyMedia, { baseDir: tempDir(t), static: false, variants: variants as never }) }, { code: 'FST_MEDIA_INVALID_OPTION', message }, JSON.stringify(variants))
    await app.close()
  }
})

t.test('one key names one recipe per storage: two fields declaring it differently are refused', async (t) => {
  const { app } = await makeApp(t)
  app.media.model('a', { photo: ImageField({ variants: { thumb: { width: 50, generation: 'lazy' } } }) })
  t.throws(() => app.media.model('b', { photo: ImageField({ variants: { thumb: { width: 60, generation: 'lazy' } } }) }), { code: 'FST_MEDIA_INVALID_OPTION', message: /b\.photo\.variants\.thumb: a\.photo declares a different "thumb"/ })
  t.doesNotThrow(() => app.media.model('c', { photo: ImageField({ variants: { thumb: { width: 50, generation: 'background' } } }) }), 'the same recipe made at another time is the same variant')
  t.doesNotThrow(() => app.media.model('d', { photo: ImageField({ variants: { thumb: { width: 60 } } }) }), 'an upload variant is never made from its URL')
})

t.test('an upload with only lazy variants stores the original alone, and knows their names, URLs and planned sizes', async (t) => {
  const { root, upload } = await setup(t)
  const stored = storedMessages(t)
  const avatar = await upload()
  t.match(avatar.variants, {
    thumb: { name: `${avatar.name}@thumb.webp`, url: `/media/${avatar.name}@thumb.webp`, width: 50, height: 50, contentType: 'image/webp' },
    card: { name: `${avatar.name}@card.png`, url: `/media/${avatar.name}@card.png`, width: 100, height: 67, contentType: 'image/png' }
  })
  t.equal(avatar.variants.thumb.size, undefined, 'no bytes yet')
  t.same(filesUnder(root), [avatar.name], 'nothing made at upload')
  t.same(stored.messages.map((message) => message.variant), [undefined], 'only the original is announced')
})

t.test('the first request for a lazy variant makes it, stores it next to the original and serves it with media headers', async (t) => {
  const { app, root, upload } = await setup(t)
  const avatar = await upload()
  const stored = storedMessages(t)
  const res = await app.inject(avatar.variants.card.url)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'image/png')
  t.equal(res.headers['x-content-type-options'], 'nosniff')
  t.equal(res.headers['content-security-policy'], "default-src 'none'; sandbox")
  const meta = await sharp(res.rawPayload).metadata()
  t.match(meta, { format: 'png', width: avatar.variants.card.width, height: avatar.variants.card.height }, 'the size planned at upload')
  t.same(readFileSync(join(root, avatar.variants.card.name)), res.rawPayload, 'stored next to the original')
  t.match(stored.messages, [{ name: avatar.variants.card.name, model: 'profile', field: 'avatar', variant: 'card', size: res.rawPayload.length, contentType: 'image/png', storage: 'default' }])
  const again = await app.inject({ url: avatar.variants.card.url, headers: { 'if-none-match': res.headers.etag as string } })
  t.equal(again.statusCode, 304, 'later hits are a stored file: validators, 304')
  t.equal(stored.messages.length, 1, 'made once')
})

t.test('load(), stat(), toJSON() and srcset() work before and after a lazy variant is made', async (t) => {
  const { app, upload } = await setup(t)
  // the same field, declared with its literal options so that its loaded files are typed
  const Typed = app.media.model('typed', { avatar: ImageField({ uploadTo: 'avatars/', variants: LAZY }) })
  const avatar = await upload()
  const loaded = Typed.load({ avatar: avatar.name }).avatar
  t.equal(loaded.variants.thumb.url, avatar.variants.thumb.url, 'the URL is known from the name alone')
  const measured = await loaded.stat()
  t.match(measured.variants.card, { width: 100, height: 67, size: undefined }, 'planned from the original\'s header while not made')
  t.equal(app.media.srcset(measured), `${avatar.variants.thumb.url} 50w, ${avatar.variants.card.url} 100w`)
  await app.inject(avatar.variants.card.url)
  const made = await Typed.load({ avatar: avatar.name }).avatar.stat()
  t.match(made.toJSON().variants, { card: { width: 100, height: 67, contentType: 'image/png' } })
  t.type(made.variants.card.size, 'number', 'measured from the storage once made')
  t.match(JSON.parse(JSON.stringify(measured)).variants.thumb, { name: avatar.variants.thumb.name, url: avatar.variants.thumb.url })
})

t.test('a lazy variant of a sideways photo is planned upright, at upload and by stat(), whatever its format', async (t) => {
  // a WebP's EXIF chunk follows its image data: its orientation is known once the whole file has passed
  for (const format of ['jpeg', 'png', 'webp'] as const) {
    const photo = await sharp({ create: { width: 80, height: 60, channels: 3, background: '#c33' } }).withMetadata({ orientation: 6 }).toFormat(format).toBuffer()
    const field = { variants: { card: { width: 30, generation: 'lazy' } } } as const
    const { app, upload } = await setup(t, { field })
    const Typed = app.media.model('typed', { avatar: ImageField({ uploadTo: 'avatars/', ...field }) })
    const avatar = await upload(photo, `photo.${format}`)
    t.match(avatar.variants.card, { width: 30, height: 40 }, `${format}: at upload`)
    t.match((await Typed.load({ avatar: avatar.name }).avatar.stat()).variants.card, { width: 30, height: 40 }, `${format}: by stat()`)
    const made = await sharp((await app.inject(avatar.variants.card.url)).rawPayload).metadata()
    t.match(made, { width: 30, height: 40 }, `${format}: made`)
  }
})

t.test('only declared variants are made: other names are 404 and nothing is read', async (t) => {
  const { app, root, storage, upload } = await setup(t)
  const avatar = await upload()
  const names = [
    `${avatar.name}@nope.webp`, // no such key
    `${avatar.name}@thumb.png`, // the key's format is webp
    `${avatar.name}@card.webp`, // card keeps the original's format
    `${avatar.name}@thumb`, // no extension
    '@thumb.webp', // no original
    'avatars/missing.png@thumb.webp', // declared, but no original
    'avatars/me.txt@thumb.webp', // not an image's name
    `${avatar.name}@thumb.webp/` // not a file's name
  ]
  for (const name of names) t.equal((await app.inject(`/media/${name}`)).statusCode, 404, name)
  t.equal(storage.opened.get(avatar.name), undefined, 'the original was never opened')
  t.same(filesUnder(root), [avatar.name])
})

t.test('100 concurrent first requests over HTTP make the variant once', async (t) => {
  const { app, root, storage, upload } = await setup(t)
  const avatar = await upload()
  const stored = storedMessages(t)
  const { origin } = await listen(app)
  const bodies = await Promise.all(Array.from({ length: 100 }, async () => {
    const res = await fetch(origin + avatar.variants.thumb.url)
    t.equal(res.status, 200)
    return Buffer.from(await res.arrayBuffer())
  }))
  t.equal(new Set(bodies.map((body) => body.toString('base64'))).size, 1, 'every client got the same bytes')
  t.equal(stored.messages.filter((message) => message.variant === 'thumb').length, 1, 'one variant stored')
  t.equal(storage.opened.get(avatar.name), 1, 'the original read (and decoded) once')
  t.same(filesUnder(root), [avatar.name, avatar.variants.thumb.name])
})

t.test('across processes one stored variant wins and the other is discarded', async (t) => {
  const dir = tempDir(t)
  // another process stores the variant between this one's look and its save
  class Raced extends FileSystemStorage {
    override async save (name: string | (() => string), content: Content, opts?: SaveOptions): Promise<string> {
      if (typeof name === 'string' && name.includes('@')) await super.save(name, Buffer.from('theirs'))
      return await super.save(name, content, opts)
    }
  }
  const storage = new Raced({ location: join(dir, 'media'), baseUrl: '/media/' })
  const { app, upload } = await setup(t, { dir, plugin: { storages: { default: storage } } })
  const avatar = await upload()
  const stored = storedMessages(t)
  const res = await app.inject(avatar.variants.thumb.url)
  t.equal(res.statusCode, 200)
  t.equal(res.body, 'theirs', 'the first stored is served')
  t.same(filesUnder(join(dir, 'media')), [avatar.name, avatar.variants.thumb.name], 'ours discarded')
  t.equal(stored.messages.length, 0, 'nothing of ours announced')
})

t.test('a private storage\'s lazy variant URL is signed like the original\'s: a bad signature is 403 and makes nothing', async (t) => {
  const dir = tempDir(t)
  const storage = new CountingStorage({ location: join(dir, 'private'), baseUrl: '/private/', public: false })
  const { app, upload } = await setup(t, { dir, plugin: { storages: { default: storage }, signingKey: 'k'.repeat(32) } })
  const avatar = await upload()
  const url = new URL(avatar.variants.thumb.url, 'http://x')
  t.match(url.search, /^\?expires=\d+&signature=/)
  url.searchParams.set('signature', 'A'.repeat(43))
  const forged = await app.inject(url.pathname + url.search)
  t.equal(forged.statusCode, 403)
  t.equal(forged.json().code, 'FST_MEDIA_BAD_SIGNATURE')
  t.equal(storage.opened.get(avatar.name), undefined, 'nothing read')
  const res = await app.inject(avatar.variants.thumb.url)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'private, no-store')
})

t.test('a pixel bomb uploaded before maxPixels was lowered is refused at variant time, without a decode, and not retried', async (t) => {
  const dir = tempDir(t)
  const big = await sharp({ create: { width: 1000, height: 1000, channels: 3, background: '#333' } }).png().toBuffer()
  const before = await setup(t, { dir })
  const avatar = await before.upload(big, 'big.png')
  await before.app.close()

  const { app, storage, root } = await setup(t, { dir, field: { variants: LAZY, maxPixels: 100_000 } })
  const res = await app.inject(avatar.variants.thumb.url)
  t.equal(res.statusCode, 422)
  t.match(res.json(), { code: 'FST_MEDIA_VARIANT_FAILED', message: /avatar: variant thumb of .*big\.png cannot be made \(avatar: 1000x1000 is more than 100000 pixels\)/ })
  t.equal(storage.opened.get(avatar.name), 1)
  const again = await app.inject(avatar.variants.thumb.url)
  t.equal(again.statusCode, 422, 'the same answer')
  t.equal(storage.opened.get(avatar.name), 1, 'from memory: the original is not read again')
  t.same(filesUnder(root), [avatar.name])
})

t.test('an original larger than the field\'s maxSize now is refused before it is read', async (t) => {
  const dir = tempDir(t)
  const before = await setup(t, { dir })
  const avatar = await before.upload()
  await before.app.close()
  const { app, storage } = await setup(t, { dir, field: { variants: LAZY, maxSize: 100 } })
  const res = await app.inject(avatar.variants.thumb.url)
  t.equal(res.statusCode, 422)
  t.match(res.json().message, /the original is larger than 100 B/)
  t.equal(storage.opened.get(avatar.name), undefined)
})

t.test('an original that does not decode answers 422 once, then from memory; the memory is bounded', async (t) => {
  const dir = tempDir(t)
  const { app, storage, upload } = await setup(t, { dir, plugin: { variants: { failures: 1 } } })
  const good = await upload()
  // put there by hand (a file stored before verify: 'decode', or damaged since): the header is intact, the pixels are not
  const name = good.name.replace('.png', '-x.png')
  writeFileSync(join(dir, 'media', name), fixture('fixture.png').subarray(0, 3000))
  const first = await app.inject(`/media/${name}@thumb.webp`)
  t.equal(first.statusCode, 422)
  t.equal(first.json().code, 'FST_MEDIA_VARIANT_FAILED')
  const headerless = good.name.replace('.png', '-y.png')
  writeFileSync(join(dir, 'media', headerless), Buffer.from('not a png at all'))
  t.match((await app.inject(`/media/${headerless}@thumb.webp`)).json(), { statusCode: 422, message: /header cannot be read/ })
  t.equal(storage.opened.get(name), 1)
  // remembering only one failure: the first was forgotten, and is tried (and refused) again
  t.equal((await app.inject(`/media/${name}@thumb.webp`)).statusCode, 422)
  t.equal(storage.opened.get(name), 2)
})

t.test('past variants.maxQueue waiting for an image slot, a first request is 503 with Retry-After', async (t) => {
  const { app, upload } = await setup(t, { plugin: { variants: { maxQueue: 0, retryAfter: 7 } } })
  const avatar = await upload()
  // every slot held, none free: the first request would have to wait, and none may
  const held: Array<() => void> = []
  const holders = Array.from({ length: imageSlots.size }, async () => await imageSlots.run(async () => await new Promise<void>((resolve) => held.push(resolve))))
  const res = await app.inject(avatar.variants.thumb.url)
  t.equal(res.statusCode, 503)
  t.equal(res.headers['retry-after'], '7')
  t.equal(res.json().code, 'FST_MEDIA_BUSY')
  for (const release of held) release()
  await Promise.all(holders)
  t.equal((await app.inject(avatar.variants.thumb.url)).statusCode, 200, 'served once the slots are free')
})

t.test('a storage failure while making is a 500, not remembered', async (t) => {
  const dir = tempDir(t)
  let failing = true
  class Failing extends FileSystemStorage {
    override async stat (name: string): Promise<FileStat> {
      if (failing && !name.includes('@')) throw Object.assign(new Error('disk on fire'), { code: 'EIO' })
      return await super.stat(name)
    }
  }
  const storage = new Failing({ location: join(dir, 'media'), baseUrl: '/media/' })
  const { app, upload } = await setup(t, { dir, plugin: { storages: { default: storage } } })
  const avatar = await upload()
  t.equal((await app.inject(avatar.variants.thumb.url)).statusCode, 500)
  failing = false
  t.equal((await app.inject(avatar.variants.thumb.url)).statusCode, 200, 'tried again')
})

t.test('a variant of an original whose request has not committed is not made', async (t) => {
  const { app, root } = await setup(t)
  const Other = app.media.model('other', { avatar: ImageField({ uploadTo: 'pending/', variants: LAZY }) })
  let asked: (() => void) | undefined
  const answered = new Promise<void>((resolve) => { asked = resolve })
  let release: (() => void) | undefined
  const held = new Promise<void>((resolve) => { release = resolve })
  let url = ''
  app.post('/slow', { upload: Other }, async (req, reply) => {
    url = (req.uploads.avatar as { variants: { thumb: { url: string } } }).variants.thumb.url
    asked!()
    await held
    return reply.code(201).send(req.uploads)
  })
  const posting = postForm(app, '/slow', [{ name: 'avatar', filename: 'me.png', content: fixture('fixture.png') }])
  await answered
  t.equal((await app.inject(url)).statusCode, 404)
  release!()
  t.equal((await posting).statusCode, 201)
  t.notOk(existsSync(join(root, url.replace('/media/', ''))), 'nothing made while it was pending')
  t.equal((await app.inject(url)).statusCode, 200, 'made once committed')
})

t.test('the size planned at upload is the size made, for every fit, one side or none, with and without enlargement', async (t) => {
  const variants = {
    cover: { width: 60, height: 90, fit: 'cover' },
    contain: { width: 60, height: 90, fit: 'contain' },
    fill: { width: 60, height: 90, fit: 'fill' },
    inside: { width: 60, height: 90, fit: 'inside' },
    outside: { width: 60, height: 90, fit: 'outside' },
    tall: { height: 40 },
    same: { format: 'webp' },
    big: { width: 500 },
    bigger: { width: 500, withoutEnlargement: false },
    huge: { width: 900, height: 900, fit: 'cover' }
  } as const
  const lazy = Object.fromEntries(Object.entries(variants).map(([key, options]) => [key, { ...options, generation: 'lazy' as const }]))
  const { app, upload } = await setup(t, { field: { variants: lazy } })
  // PNG: no shrink on load, so every side is exact
  const avatar = await upload()
  for (const key of Object.keys(variants)) {
    const planned = avatar.variants[key]
    const made = await sharp((await app.inject(planned.url)).rawPayload).metadata()
    t.same([made.width, made.height], [planned.width, planned.height], key)
  }
})

t.test('a variant another process stored while this one waited for an image slot is served, not made again', async (t) => {
  const { app, root, storage, upload } = await setup(t)
  const avatar = await upload()
  const held: Array<() => void> = []
  const holders = Array.from({ length: imageSlots.size }, async () => await imageSlots.run(async () => await new Promise<void>((resolve) => held.push(resolve))))
  const asked = app.inject(avatar.variants.thumb.url)
  // the request has looked (no file) and waits for a slot: the other process stores the variant now
  t.ok(await waitFor(() => imageSlots.waiting > 0), 'the request waits for a slot')
  writeFileSync(join(root, avatar.variants.thumb.name), 'theirs')
  for (const release of held) release()
  await Promise.all(holders)
  const res = await asked
  t.equal(res.statusCode, 200)
  t.equal(res.body, 'theirs')
  t.equal(storage.opened.get(avatar.name), undefined, 'the original was not read')
})

t.test('with serve: \'x-accel\', the app route makes a missing lazy variant before handing nginx its location', async (t) => {
  const dir = tempDir(t)
  const storage = new FileSystemStorage({ location: join(dir, 'media'), baseUrl: '/media/', serve: 'x-accel' })
  const { app, root, upload } = await setup(t, { dir, plugin: { storages: { default: storage } } })
  const avatar = await upload()
  const res = await app.inject(avatar.variants.thumb.url)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['x-accel-redirect'], `/_fastify-media/default/${avatar.variants.thumb.name.split('/').map(encodeURIComponent).join('/')}`)
  t.match(await sharp(join(root, avatar.variants.thumb.name)).metadata(), { format: 'webp', width: 50, height: 50 }, 'on disk for nginx to send')
})

t.test('a storage the app streams (a Disk over a driver without a directory) makes a lazy variant on its first request too', async (t) => {
  const storage = new Disk(new MapDriver(), { baseUrl: '/media/' })
  const { app, upload } = await setup(t, { plugin: { storages: { default: storage } } })
  const avatar = await upload()
  t.notOk(await storage.exists(avatar.variants.thumb.name))
  const res = await app.inject(avatar.variants.thumb.url)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'image/webp')
  t.ok(await storage.exists(avatar.variants.thumb.name))
})
