// S3 going silent while a request commits a file already in the bucket (a direct upload's quarantined
// object, a finished resumable upload): the commit's CopyObject never reaches S3 (the proxy holds it) and
// nothing answers after it. The request ends at limits.uploadTimeout with 408, as a plain upload does, the
// copy is cancelled, and once S3 answers again nothing of the request is left and the next commit works.
import t from 'tap'
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3'
import { FileField, S3Storage, type PresignedForm } from '../../lib/index.js'
import { makeApp, type Tap } from '../helpers.js'
import { listen, within } from '../http-helpers.js'
import { s3Bucket } from '../s3-server.js'
import { commitForm, mp4, postToBucket } from '../direct-helpers.js'
import { tusUpload } from '../resumable-app.js'
import { s3Proxy, type RequestLine } from './s3-proxy.js'

const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }
const UPLOAD_TIMEOUT = 1500
/** What the reply may take past uploadTimeout: the rollback's wait (ROLLBACK_WAIT, 1 s) and slack. */
const SLACK = 2500

async function keys (client: S3Client, bucket: string): Promise<string[]> {
  const page = await client.send(new ListObjectsV2Command({ Bucket: bucket }))
  return (page.Contents ?? []).map((object) => object.Key!).sort()
}

/** An app over s3rver through a proxy: clip.video takes direct and resumable uploads, /clips commits them. */
async function appThroughProxy (t: Tap) {
  const { client, bucket, endpoint } = await s3Bucket(t)
  const proxy = await s3Proxy(t, endpoint)
  const storage = new S3Storage({ bucket, clientConfig: { endpoint: proxy.endpoint, region: 'us-east-1', forcePathStyle: true, credentials } })
  const { app } = await makeApp(t, { storages: { default: storage }, limits: { uploadTimeout: UPLOAD_TIMEOUT }, signingKey: 'k'.repeat(32) })
  const Clip = app.media.model('clip', { video: FileField({ uploadTo: 'videos/', accept: ['video/mp4'], maxSize: 20_000_000, direct: true }) })
  await app.register(app.media.resumable('/files', { fields: [Clip.fields.video] }))
  app.post('/clips', { upload: Clip }, async (req, reply) => await reply.code(201).send(req.uploads))
  const { origin } = await listen(app)
  // CopyObject to the field's name: a PUT under videos/ (s3rver is path-style: /<bucket>/<key>)
  const copy = ({ method, path }: RequestLine): boolean => method === 'PUT' && path.startsWith(`/${bucket}/videos/`)
  return { app, Clip, client, bucket, proxy, origin, copy }
}

type Ctx = Awaited<ReturnType<typeof appThroughProxy>>

/** Commits `value` with S3 silent from the copy on: the reply, and how long it took. */
async function commitIntoSilence (t: Tap, { proxy, origin, copy }: Ctx, value: string) {
  const held = proxy.blackHoleAt(copy)
  const hangup = proxy.hangup()
  const started = Date.now()
  const res = await within(commitForm(`${origin}/clips`, { video: value }), 'the reply', 60_000)
  const took = Date.now() - started
  await within(held, 'the CopyObject held')
  t.equal(res.statusCode, 408, JSON.stringify(res.json))
  t.match(res.json, { code: 'FST_MEDIA_UPLOAD_TIMEOUT', option: 'limits.uploadTimeout' })
  t.ok(took < UPLOAD_TIMEOUT + SLACK, `answered ${took} ms after the commit began (uploadTimeout ${UPLOAD_TIMEOUT})`)
  await within(hangup, 'the held CopyObject cancelled (its connection closed by the app)', 5000)
}

t.test('direct upload: S3 silent during the commit\'s copy: 408 at limits.uploadTimeout, the copy cancelled, nothing left once S3 answers, the next commit works', async (t) => {
  const ctx = await appThroughProxy(t)
  const { app, Clip, client, bucket, proxy } = ctx
  const bytes = mp4(100_000)
  const presign = async () => await app.media.presign(Clip.fields.video, { filename: 'clip.mp4', size: bytes.length, contentType: 'video/mp4' }) as PresignedForm
  const form = await presign()
  t.equal(await postToBucket(form, bytes), 204)
  // the rollback deletes the spent-token record and the quarantined file once S3 answers
  const deleted = Promise.all(['.direct/used/', '.direct/q/'].map(async (prefix) => await proxy.exchange(({ method, path }) => method === 'DELETE' && path.startsWith(`/${bucket}/${prefix}`))))
  await commitIntoSilence(t, ctx, form.token)
  proxy.pass()
  await within(deleted, 'the rollback\'s deletes, once S3 answers', 30_000)
  t.same(await keys(client, bucket), [], 'no copy under videos/, no quarantined file, no token record')

  const again = await presign()
  t.equal(await postToBucket(again, bytes), 204)
  const res = await commitForm(ctx.origin + '/clips', { video: again.token })
  t.equal(res.statusCode, 201, JSON.stringify(res.json))
  // a committed token's record stays: it refuses a replay
  t.same((await keys(client, bucket)).filter((key) => !key.startsWith('.direct/used/')), ['videos/clip.mp4'])
})

t.test('resumable upload: S3 silent during the commit\'s copy: 408 at limits.uploadTimeout, the copy cancelled, nothing left once S3 answers, the next commit works', async (t) => {
  const ctx = await appThroughProxy(t)
  const { client, bucket, proxy, origin } = ctx
  const bytes = mp4(100_000)
  const url = await tusUpload(origin, bytes, { field: 'clip.video', filename: 'clip.mp4' })
  // the rollback deletes the spent-upload record once S3 answers
  const removed = proxy.exchange(({ method, path }) => method === 'DELETE' && path.startsWith(`/${bucket}/.resumable/`) && path.includes('.used'))
  await commitIntoSilence(t, ctx, url)
  proxy.pass()
  await within(removed, 'the spent-upload record deleted, once S3 answers', 30_000)
  // the upload itself (its bytes and tus record) goes by the commit's own removal, or by its expiry
  const left = async (): Promise<string[]> => (await keys(client, bucket)).filter((key) => !key.startsWith('.resumable/') || key.endsWith('.used'))
  t.same(await left(), [], 'no copy under videos/, no token record')

  const again = await tusUpload(origin, bytes, { field: 'clip.video', filename: 'clip.mp4' })
  const res = await commitForm(`${origin}/clips`, { video: again })
  t.equal(res.statusCode, 201, JSON.stringify(res.json))
  t.same((await keys(client, bucket)).filter((key) => !key.startsWith('.resumable/')), ['videos/clip.mp4'])
})
