import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import sharp from 'sharp'
import { FileSystemStorage, ImageField, type VariantOptions } from '../lib/index.js'
import { fixture, makeApp, postForm, type Tap } from './helpers.js'
import { storedMessages } from './variants-lazy-helpers.js'

// What an upload's variants cost: the original is not read back, WebP is encoded at a lower effort.

/** A disk storage that counts the files opened for reading. */
class CountingStorage extends FileSystemStorage {
  opened: string[] = []
  override open (name: string): Readable {
    this.opened.push(name)
    return super.open(name)
  }
}

async function setup (t: Tap, variants: Record<string, VariantOptions>, extra: { verify?: 'decode' } = {}) {
  const storage = new CountingStorage({ location: 'media', baseUrl: '/media/' })
  const { app, dir } = await makeApp(t, { storages: { default: storage } })
  const Profile = app.media.model('profile', { avatar: ImageField({ uploadTo: 'avatars/', variants, ...extra }) })
  app.post('/p', { upload: Profile }, async (req, reply) => reply.code(201).send(req.uploads))
  const read = (name: string): Buffer => readFileSync(join(dir, 'media', name))
  return { app, storage, read }
}

t.test('variants and the decode check are made from the upload\'s bytes in memory: the original is never opened for reading', async (t) => {
  const { app, storage, read } = await setup(t, { thumb: { width: 50, format: 'webp' } }, { verify: 'decode' })
  const res = await postForm(app, '/p', [{ name: 'avatar', filename: 'me.png', content: fixture('fixture.png') }])
  t.equal(res.statusCode, 201)
  t.same(storage.opened, [])
  const avatar = res.json().avatar
  t.ok(read(avatar.name).equals(fixture('fixture.png')), 'the original is stored byte for byte')
  t.match(await sharp(read(avatar.variants.thumb.name)).metadata(), { format: 'webp', width: 50 })
})

const png = fixture('fixture.png')
/** sharp's WebP of the fixture, 120 px wide, at this effort. */
const expected = async (effort: number): Promise<Buffer> => await sharp(png).autoOrient().resize({ width: 120, withoutEnlargement: true }).webp({ effort }).toBuffer()

t.test('a WebP variant is encoded at effort 2 unless it names its own effort', async (t) => {
  const [effort2, effort4, effort6] = await Promise.all([2, 4, 6].map(expected)) as [Buffer, Buffer, Buffer]
  t.notOk(effort2.equals(effort4), 'the efforts give different bytes for this image')
  t.notOk(effort6.equals(effort4))

  const plain = await setup(t, { thumb: { width: 120, format: 'webp' } })
  const stored = (await postForm(plain.app, '/p', [{ name: 'avatar', filename: 'me.png', content: png }])).json().avatar
  t.ok(plain.read(stored.variants.thumb.name).equals(effort2), 'default: effort 2')

  const named = await setup(t, { thumb: { width: 120, format: 'webp', effort: 6 } })
  const six = (await postForm(named.app, '/p', [{ name: 'avatar', filename: 'me.png', content: png }])).json().avatar
  t.ok(named.read(six.variants.thumb.name).equals(effort6), 'effort: 6')
})

t.test('a WebP variant made on its first request or by the background queue is encoded at its effort too (2 by default)', async (t) => {
  const [effort2, effort6] = await Promise.all([2, 6].map(expected)) as [Buffer, Buffer]
  t.notOk(effort2.equals(effort6), 'the efforts give different bytes for this image')
  const { app, read } = await setup(t, {
    lazy: { width: 120, format: 'webp', generation: 'lazy' },
    lazy6: { width: 120, format: 'webp', effort: 6, generation: 'lazy' },
    later6: { width: 120, format: 'webp', effort: 6, generation: 'background' }
  })
  const stored = storedMessages(t)
  const queued = stored.next((message) => message.variant === 'later6')
  const avatar = (await postForm(app, '/p', [{ name: 'avatar', filename: 'me.png', content: png }])).json().avatar
  await queued
  t.ok(read(avatar.variants.later6.name).equals(effort6), 'background, effort: 6')
  const lazy = await app.inject(avatar.variants.lazy.url)
  t.equal(lazy.statusCode, 200)
  t.ok(lazy.rawPayload.equals(effort2), 'lazy, default: effort 2')
  t.ok(read(avatar.variants.lazy.name).equals(effort2), 'and stored so')
  const lazy6 = await app.inject(avatar.variants.lazy6.url)
  t.ok(lazy6.rawPayload.equals(effort6), 'lazy, effort: 6')
})

t.test('an effort out of 0..6, or on a variant not declared WebP, is refused at declaration', async (t) => {
  const invalid = (message: RegExp) => ({ code: 'FST_MEDIA_INVALID_OPTION', message })
  t.throws(() => ImageField({ variants: { thumb: { width: 10, format: 'webp', effort: 7 } } }), invalid(/^ImageField\.variants\.thumb\.effort: must be an integer from 0 to 6$/))
  t.throws(() => ImageField({ variants: { thumb: { width: 10, format: 'webp', effort: 1.5 } } }), invalid(/effort: must be an integer from 0 to 6$/))
  t.throws(() => ImageField({ variants: { thumb: { width: 10, format: 'png', effort: 1 } } }), invalid(/^ImageField\.variants\.thumb\.effort: applies to WebP only/))
  t.throws(() => ImageField({ variants: { thumb: { width: 10, effort: 1 } } }), invalid(/applies to WebP only/))
  t.doesNotThrow(() => ImageField({ variants: { thumb: { width: 10, format: 'webp', effort: 0 } } }))
})
