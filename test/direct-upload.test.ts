import t from 'tap'
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3'
import { FileField, S3Storage, type PresignedForm } from '../lib/index.js'
import { fixture, makeApp, type Tap } from './helpers.js'
import { listen } from './http-helpers.js'
import { s3Bucket } from './s3-server.js'
import { commitForm, keysUnder, mp4, postToBucket } from './direct-helpers.js'

const KEY = 'k'.repeat(32)

/** An app over a fresh s3rver bucket with a `clip` model whose `video` field uploads directly. */
async function directApp (t: Tap, handler?: (uploads: any) => unknown) {
  const { client, bucket } = await s3Bucket(t)
  const storage = new S3Storage({ bucket, client })
  const { app } = await makeApp(t, { storages: { bucket: storage }, signingKey: KEY })
  const Clip = app.media.model('clip', {
    video: FileField({ storage: 'bucket', uploadTo: 'videos/', accept: ['video/mp4'], maxSize: 200_000, direct: true })
  })
  app.post('/clips', { upload: Clip }, async (req, reply) => {
    await handler?.(req.uploads)
    return await reply.code(201).send(req.uploads)
  })
  const { origin } = await listen(app)
  return { app, Clip, client, bucket, storage, url: `${origin}/clips` }
}

t.test('a good file: 201, the object at its uploadTo name, quarantine empty, url/name/size right', async (t) => {
  const { app, Clip, client, bucket, storage, url } = await directApp(t)
  const bytes = mp4(100_000)
  const form = await app.media.presign(Clip.fields.video, { filename: 'clip.mp4', size: bytes.length, contentType: 'video/mp4' }) as PresignedForm
  t.equal(form.method, 'POST')
  t.equal(await postToBucket(form, bytes), 204, 'the bucket took the file')
  const res = await commitForm(url, { video: form.token })
  t.equal(res.statusCode, 201, JSON.stringify(res.json))
  t.match(res.json.video, { name: 'videos/clip.mp4', size: bytes.length, contentType: 'video/mp4', url: storage.url('videos/clip.mp4') })
  t.same(await keysUnder(client, bucket, 'videos/'), ['videos/clip.mp4'])
  t.same(await keysUnder(client, bucket, '.direct/q/'), [], 'quarantine empty')
  const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'videos/clip.mp4' }))
  t.equal(object.ContentType, 'video/mp4', 'the detected type, not the client\'s')
  t.same(Buffer.from(await object.Body!.transformToByteArray()), bytes, 'byte-identical')
})

t.test('an ELF named clip.mp4: 400 FST_MEDIA_INVALID_TYPE, nothing left under either prefix', async (t) => {
  const { app, Clip, client, bucket, url } = await directApp(t)
  const elf = fixture('fixture.elf')
  const form = await app.media.presign(Clip.fields.video, { filename: 'clip.mp4', size: elf.length, contentType: 'video/mp4' }) as PresignedForm
  await postToBucket(form, elf)
  const res = await commitForm(url, { video: form.token })
  t.equal(res.statusCode, 400)
  t.match(res.json, { code: 'FST_MEDIA_INVALID_TYPE', field: 'video' })
  t.same(await keysUnder(client, bucket), [], 'no copy, no quarantined file, no used-token record')
})

t.test('a file over maxSize (the client ignored the policy): 413, nothing left', async (t) => {
  const { app, Clip, client, bucket, url } = await directApp(t)
  const form = await app.media.presign(Clip.fields.video, { filename: 'clip.mp4', size: 1000, contentType: 'video/mp4' }) as PresignedForm
  // s3rver does not enforce the policy's content-length-range: AWS would refuse this POST
  await postToBucket(form, mp4(200_001))
  const res = await commitForm(url, { video: form.token })
  t.equal(res.statusCode, 413)
  t.match(res.json, { code: 'FST_MEDIA_FILE_TOO_LARGE', field: 'video', limit: 200_000 })
  t.same(await keysUnder(client, bucket), [])
})

t.test('a replayed token is refused, even after the client uploaded again with the same form', async (t) => {
  const { app, Clip, client, bucket, url } = await directApp(t)
  const form = await app.media.presign(Clip.fields.video, { filename: 'clip.mp4', size: 5000, contentType: 'video/mp4' }) as PresignedForm
  await postToBucket(form, mp4(5000))
  t.equal((await commitForm(url, { video: form.token })).statusCode, 201)
  const again = await commitForm(url, { video: form.token })
  t.equal(again.statusCode, 400)
  t.match(again.json, { code: 'FST_MEDIA_INVALID_TOKEN', field: 'video', message: /used already/ })
  // the policy is still valid: a client can write into quarantine again, never onto the committed name
  await postToBucket(form, mp4(5000, 2))
  const replay = await commitForm(url, { video: form.token })
  t.match(replay.json, { code: 'FST_MEDIA_INVALID_TOKEN', message: /used already/ })
  t.same(await keysUnder(client, bucket, 'videos/'), ['videos/clip.mp4'], 'one committed file')
  const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'videos/clip.mp4' }))
  t.equal(head.ContentLength, 5000)
})
