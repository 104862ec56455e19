// What the upload pipeline returns and what a loaded file becomes once stat()ed, where the types promise
// it: an upload's `url` is a string and its size known; a loaded file's are once `stat()` has run.
import t from 'tap'
import { FileField, ImageField, MemoryStorage, S3Storage, type Content, type SaveOptions } from '../lib/index.js'
import { fixture, makeApp, postForm } from './helpers.js'
import { s3Bucket } from './s3-server.js'

const KEY = 'a-signing-key-of-32-bytes-at-least!!'

t.test('stat() of an image loaded from a private S3 storage awaits its signed URLs: its JSON and srcset are an upload\'s', async (t) => {
  const { client, bucket } = await s3Bucket(t)
  const storage = new S3Storage({ bucket, client, public: false })
  const { app } = await makeApp(t, { media: false, signingKey: KEY, storages: { default: storage } })
  const Profile = app.media.model('profile', { avatar: ImageField({ uploadTo: 'avatars/', variants: { thumb: { width: 50, format: 'webp' } } }) })
  app.post('/p', { upload: Profile }, async (req, reply) => await reply.code(201).send(Profile.toRecord(req.uploads)))
  const res = await postForm(app, '/p', [{ name: 'avatar', filename: 'me.png', content: fixture('fixture.png') }])
  t.equal(res.statusCode, 201)

  const loaded = Profile.load(res.json())
  t.ok(loaded.avatar.url instanceof Promise, 'a loaded private S3 file\'s url is a Promise')
  t.ok(loaded.avatar.variants.thumb.url instanceof Promise)
  const measured = await loaded.avatar.stat()
  t.equal(measured, loaded.avatar, 'stat() measures the loaded file itself')
  t.match(measured, { size: fixture('fixture.png').length, width: 200, height: 133, url: /X-Amz-Signature=/ })
  t.match(measured.variants.thumb, { width: 50, url: /thumb\.webp\?.*X-Amz-Signature=/ })
  t.match(JSON.parse(JSON.stringify(measured)), { url: /X-Amz-Signature=/, variants: { thumb: { url: /X-Amz-Signature=/ } } }, 'its JSON has string URLs')
  t.match(app.media.srcset(measured), /^http\S+X-Amz-Signature=\S+ 50w$/, 'srcset() takes it')
})

/** A storage of someone else's making that answers before it has read the content it was given. */
class HastyStorage extends MemoryStorage {
  override async save (name: string | (() => string), _content: Content, opts?: SaveOptions): Promise<string> {
    return await super.save(typeof name === 'function' ? name() : name, Buffer.from('not the upload'), opts)
  }
}

t.test('a storage that does not read the whole content fails the upload with a storage error, leaving nothing', async (t) => {
  const storage = new HastyStorage()
  const { app } = await makeApp(t, { media: false, storages: { default: storage } })
  const Doc = app.media.model('doc', {
    plain: FileField({ uploadTo: 'd/', required: false }),
    hashed: FileField({ uploadTo: 'h/{hash}.{ext}', required: false })
  })
  app.post('/d', { upload: Doc }, async (req, reply) => await reply.code(201).send(req.uploads))
  for (const field of ['plain', 'hashed']) {
    const res = await postForm(app, '/d', [{ name: field, filename: 'r.pdf', content: fixture('fixture.pdf') }])
    t.match(res.json(), { statusCode: 500, code: 'FST_MEDIA_STORAGE', message: new RegExp(`${field}: storage failed \\(the storage did not read the whole content\\)`) }, field)
    t.same(await storage.list(), [], `${field}: nothing left`)
  }
})
