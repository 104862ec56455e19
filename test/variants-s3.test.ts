// Lazy variants of storages that serve their own URLs (an S3 bucket, here s3rver): a miss never reaches the
// app there, so their URL is the app's `variants.url` route, which makes the variant once and redirects.
import t from 'tap'
import sharp from 'sharp'
import { ImageField, S3Storage } from '../lib/index.js'
import { fixture, makeApp, postForm, type Tap } from './helpers.js'
import { s3Bucket } from './s3-server.js'
import { storedMessages } from './variants-lazy-helpers.js'

const VARIANTS = { thumb: { width: 50, height: 50, format: 'webp', generation: 'lazy' }, card: { width: 100 } } as const

async function setup (t: Tap, isPublic: boolean) {
  const { client, bucket, endpoint } = await s3Bucket(t)
  const storage = new S3Storage({ bucket, client, prefix: 'media/', public: isPublic })
  const { app } = await makeApp(t, { storages: { bucket: storage }, signingKey: 'k'.repeat(32) })
  const Profile = app.media.model('profile', { avatar: ImageField({ uploadTo: 'avatars/', storage: 'bucket', variants: VARIANTS }) })
  app.post('/p', { upload: Profile }, async (req, reply) => reply.code(201).send(req.uploads))
  // a request that holds its upload uncommitted until the test lets it go
  const slow = { asked: (url: string) => {}, held: Promise.resolve() }
  app.post('/slow', { upload: Profile }, async (req, reply) => {
    slow.asked((req.uploads.avatar as { variants: { thumb: { url: string } } }).variants.thumb.url)
    await slow.held
    return reply.code(201).send(req.uploads)
  })
  const res = await postForm(app, '/p', [{ name: 'avatar', filename: 'me.png', content: fixture('fixture.png') }])
  t.equal(res.statusCode, 201, res.body)
  return { app, avatar: res.json().avatar, endpoint, bucket, storage, Profile, slow }
}

t.test('a public bucket\'s lazy variant: the app route makes it once, then redirects to the bucket', async (t) => {
  const { app, avatar, endpoint, bucket, Profile } = await setup(t, true)
  t.equal(avatar.variants.thumb.url, `/media-variants/bucket/${avatar.name}@thumb.webp`, 'an app URL, known at upload')
  t.equal(avatar.variants.card.url, `${endpoint}/${bucket}/media/${avatar.name}@card.png`, 'an upload variant keeps the bucket URL')
  t.equal(Profile.load({ avatar: avatar.name }).avatar.variants.thumb.url, avatar.variants.thumb.url, 'load() gives the same URL')
  const stored = storedMessages(t)
  const first = await app.inject(avatar.variants.thumb.url)
  t.equal(first.statusCode, 302)
  t.equal(first.headers.location, `${endpoint}/${bucket}/media/${avatar.name}@thumb.webp`)
  const object = await fetch(first.headers.location as string)
  t.equal(object.status, 200)
  t.match(await sharp(Buffer.from(await object.arrayBuffer())).metadata(), { format: 'webp', width: 50, height: 50 })
  const again = await app.inject({ method: 'HEAD', url: avatar.variants.thumb.url })
  t.equal(again.statusCode, 302)
  t.equal(stored.messages.length, 1, 'made once')
  for (const url of [`/media-variants/bucket/${avatar.name}@nope.webp`, `/media-variants/elsewhere/${avatar.name}@thumb.webp`, '/media-variants/bucket/', '/media-variants/bucket', `/media-variants/bucket/${avatar.name}`]) {
    t.equal((await app.inject(url)).statusCode, 404, url)
  }
})

t.test('a private bucket\'s lazy variant URL is signed by the app: a bad signature is 403, a good one redirects to a presigned GET', async (t) => {
  const { app, avatar } = await setup(t, false)
  const url = new URL(avatar.variants.thumb.url, 'http://x')
  t.match(url.search, /^\?expires=\d+&signature=/)
  t.equal((await app.inject(url.pathname)).statusCode, 403)
  const res = await app.inject(avatar.variants.thumb.url)
  t.equal(res.statusCode, 302)
  t.match(res.headers.location, /X-Amz-Signature=/)
  t.equal((await fetch(res.headers.location as string)).status, 200)
})

t.test('a bucket variant of an original whose request has not committed is 404', async (t) => {
  const { app, slow } = await setup(t, true)
  const url = new Promise<string>((resolve) => { slow.asked = resolve })
  let release: (() => void) | undefined
  slow.held = new Promise<void>((resolve) => { release = resolve })
  const posting = postForm(app, '/slow', [{ name: 'avatar', filename: 'other.png', content: fixture('fixture.png') }])
  t.equal((await app.inject(await url)).statusCode, 404)
  release!()
  t.equal((await posting).statusCode, 201)
  t.equal((await app.inject(await url)).statusCode, 302, 'made once committed')
})
