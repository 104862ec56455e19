// S3 failing under a running app, over real HTTP: S3 (s3rver, a child process) killed in the middle of a
// multipart upload, and an S3 that accepts connections and never answers. A TCP proxy (s3-proxy.ts) in
// front of s3rver is what breaks; the test's own S3 client talks to s3rver directly to see what is left.
import t from 'tap'
import { ListMultipartUploadsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3'
import { request } from 'undici'
import { FileField, S3Storage } from '../../lib/index.js'
import { fixture, makeApp, type Tap } from '../helpers.js'
import { body, listen, MULTIPART, within } from '../http-helpers.js'
import { s3Bucket } from '../s3-server.js'
import { s3Proxy, type S3Proxy } from './s3-proxy.js'
import { ABORT_ON_CLOSE_TIMEOUT } from '../../lib/storage/s3-abort.js'

const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }

/** A PDF of `size` bytes: detected as application/pdf, so the field takes it. */
const pdf = (size: number): Buffer => Buffer.concat([fixture('fixture.pdf'), Buffer.alloc(size - fixture('fixture.pdf').length)])

/** An app whose default storage reaches s3rver through `proxy`, listening on 127.0.0.1. */
async function appThrough (t: Tap, proxy: S3Proxy, bucket: string, { uploadTimeout = 300_000, storage = {} }: { uploadTimeout?: number, storage?: object } = {}) {
  const clientConfig = { endpoint: proxy.endpoint, region: 'us-east-1', forcePathStyle: true, credentials }
  const { app } = await makeApp(t, { storages: { default: new S3Storage({ bucket, clientConfig, ...storage }) }, limits: { uploadTimeout } })
  const Doc = app.media.model('doc', { file: FileField({ uploadTo: 'docs/', maxSize: '64 MB' }) })
  app.post('/docs', { upload: Doc }, async (req, reply) => await reply.code(201).send(req.uploads))
  const { origin } = await listen(app)
  const upload = async (content: Buffer) => {
    const res = await request(`${origin}/docs`, { method: 'POST', headers: { 'content-type': MULTIPART }, body: body([{ name: 'file', filename: 'a.pdf', content }]) })
    return { status: res.statusCode, json: await res.body.json() as Record<string, unknown> }
  }
  return { app, upload }
}

/** Every object and every unfinished multipart upload in the bucket, asked of s3rver itself. */
async function leftIn (client: S3Client, bucket: string): Promise<{ objects: string[], uploads: string[] }> {
  const objects = await client.send(new ListObjectsV2Command({ Bucket: bucket }))
  const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))
  return { objects: (objects.Contents ?? []).map((o) => o.Key!), uploads: (uploads.Uploads ?? []).map((u) => u.Key!) }
}

t.test('S3 killed mid-upload: 500 FST_MEDIA_STORAGE naming the storage and the operation; the multipart upload is aborted once S3 is back; the next upload works', async (t) => {
  const { client, bucket, endpoint } = await s3Bucket(t)
  const proxy = await s3Proxy(t, endpoint)
  const { upload } = await appThrough(t, proxy, bucket)
  // 10.5 MiB: a multipart upload of three parts, two in flight
  const partSent = proxy.request(({ method, path }) => method === 'PUT' && path.includes('partNumber=2'))
  const reply = upload(pdf(30 * 1024 * 1024))
  await within(partSent, 'the first UploadPart')
  await proxy.kill()
  const res = await within(reply, 'the reply')
  t.equal(res.status, 500)
  t.match(res.json, { code: 'FST_MEDIA_STORAGE', message: /^storages\.default: storage failed \(save: / }, 'the storage\'s failure, not the upload library\'s teardown')
  t.notMatch(res.json, { code: 'ABORT_ERR' })

  const aborted = proxy.exchange(({ method, path }) => method === 'DELETE' && path.includes('uploadId='))
  await proxy.listen()
  t.equal((await within(aborted, 'AbortMultipartUpload retried once S3 is back', 15_000)).status, 204)
  t.same(await leftIn(client, bucket), { objects: [], uploads: [] }, 'no object, no unfinished multipart upload')
  t.equal((await upload(pdf(64 * 1024))).status, 201, 'the next upload is stored')
})

t.test('S3 silent: the save is cancelled at limits.uploadTimeout, 408 FST_MEDIA_UPLOAD_TIMEOUT within a bounded time, nothing left, the next upload works', async (t) => {
  const { client, bucket, endpoint } = await s3Bucket(t)
  const proxy = await s3Proxy(t, endpoint)
  const uploadTimeout = 1000
  const { upload } = await appThrough(t, proxy, bucket, { uploadTimeout })
  proxy.blackHole()
  const hangup = proxy.hangup()
  const started = Date.now()
  const res = await within(upload(pdf(256 * 1024)), 'the reply')
  const took = Date.now() - started
  t.equal(res.status, 408)
  t.match(res.json, { code: 'FST_MEDIA_UPLOAD_TIMEOUT', field: null, option: 'limits.uploadTimeout' })
  t.ok(took < uploadTimeout + 1500, `answered ${took} ms after the upload began (uploadTimeout ${uploadTimeout})`)
  await within(hangup, 'the S3 request cancelled (its connection closed by the app)', 1000)
  proxy.pass()
  t.same(await leftIn(client, bucket), { objects: [], uploads: [] }, 'nothing in the bucket')
  t.equal((await upload(pdf(64 * 1024))).status, 201, 'the next upload is stored')
})

t.test('S3 silent in the middle of a multipart upload: 408 at limits.uploadTimeout, and the unfinished upload is aborted once S3 answers again', async (t) => {
  const { client, bucket, endpoint } = await s3Bucket(t)
  const proxy = await s3Proxy(t, endpoint)
  const { upload } = await appThrough(t, proxy, bucket, { uploadTimeout: 3000 })
  const partSent = proxy.request(({ method, path }) => method === 'PUT' && path.includes('partNumber='))
  const reply = upload(pdf(10.5 * 1024 * 1024))
  await within(partSent, 'the first UploadPart')
  proxy.blackHole()
  const res = await within(reply, 'the reply')
  t.equal(res.status, 408)
  t.match(res.json, { code: 'FST_MEDIA_UPLOAD_TIMEOUT' })
  // the abort tried at once went into the silence; S3 answering again cuts it, and the SDK sends it again
  const aborted = proxy.exchange(({ method, path }) => method === 'DELETE' && path.includes('uploadId='))
  proxy.pass()
  t.equal((await within(aborted, 'AbortMultipartUpload once S3 answers', 15_000)).status, 204)
  t.same(await leftIn(client, bucket), { objects: [], uploads: [] }, 'no object, no unfinished multipart upload')
  t.equal((await upload(pdf(64 * 1024))).status, 201, 'the next upload is stored')
})

t.test('storage.save() outside a request, S3 killed mid multipart upload: FST_MEDIA_STORAGE once the abort was tried; it is tried again once S3 is back', async (t) => {
  const { client, bucket, endpoint } = await s3Bucket(t)
  const proxy = await s3Proxy(t, endpoint)
  const storage = new S3Storage({ bucket, clientConfig: { endpoint: proxy.endpoint, region: 'us-east-1', forcePathStyle: true, credentials } })
  await storage.ready()
  const partSent = proxy.request(({ method, path }) => method === 'PUT' && path.includes('partNumber='))
  const saving = storage.save('big.pdf', pdf(10.5 * 1024 * 1024)).catch((err: unknown) => err)
  await within(partSent, 'the first UploadPart')
  await proxy.kill()
  t.match(await within(saving, 'the failure'), { code: 'FST_MEDIA_STORAGE', message: /^save: storage failed \(/ })
  const aborted = proxy.exchange(({ method, path }) => method === 'DELETE' && path.includes('uploadId='))
  await proxy.listen()
  t.equal((await within(aborted, 'AbortMultipartUpload retried', 15_000)).status, 204)
  t.same(await leftIn(client, bucket), { objects: [], uploads: [] })
})

/**
 * S3 killed during a multipart upload through the app: the upload answered 500 and its abort failed, so
 * a retry of it waits (1 s). The proxy is down.
 */
async function abortLeftPending (t: Tap) {
  const { client, bucket, endpoint } = await s3Bucket(t)
  const proxy = await s3Proxy(t, endpoint)
  const { app, upload } = await appThrough(t, proxy, bucket)
  const partSent = proxy.request(({ method, path }) => method === 'PUT' && path.includes('partNumber='))
  const reply = upload(pdf(10.5 * 1024 * 1024))
  await within(partSent, 'the first UploadPart')
  await proxy.kill()
  // the reply comes once the first abort has failed: its retry waits 1 s
  t.equal((await within(reply, 'the reply')).status, 500)
  return { client, bucket, proxy, app }
}

t.test('app.close() tries a pending multipart abort once more: S3 back before the next retry is due, the upload is aborted before close resolves', async (t) => {
  const { client, bucket, proxy, app } = await abortLeftPending(t)
  let aborted = false
  proxy.exchange(({ method, path }) => method === 'DELETE' && path.includes('uploadId=')).then(() => { aborted = true }, () => {})
  await proxy.listen()
  await app.close()
  t.ok(aborted, 'AbortMultipartUpload answered before app.close() resolved')
  t.same(await leftIn(client, bucket), { objects: [], uploads: [] })
})

t.test('app.close() with S3 still silent: the last try at a pending abort is bounded (ABORT_ON_CLOSE_TIMEOUT) and cancelled', async (t) => {
  const { proxy, app } = await abortLeftPending(t)
  await proxy.listen()
  proxy.blackHole()
  const hangup = proxy.hangup()
  const started = Date.now()
  await within(app.close(), 'app.close()', ABORT_ON_CLOSE_TIMEOUT + 5000)
  const took = Date.now() - started
  t.ok(took >= ABORT_ON_CLOSE_TIMEOUT - 100 && took < ABORT_ON_CLOSE_TIMEOUT + 2000, `close took ${took} ms (bound ${ABORT_ON_CLOSE_TIMEOUT})`)
  await within(hangup, 'the abort\'s request cancelled', 1000)
})
