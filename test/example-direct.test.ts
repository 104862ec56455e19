// The demo's video field in-process (buildApp with a bucket): what a page without script, a failing bucket,
// a missing video and an AWS bucket (no endpoint) give. The browser flow is test/e2e/direct-upload.test.ts.
import { DeleteObjectCommand } from '@aws-sdk/client-s3'
import { join } from 'node:path'
import t from 'tap'
import { buildApp } from '../example/server.js'
import type { PresignedForm } from '../lib/index.js'
import { fixture, postForm, tempDir, type Tap } from './helpers.js'
import { mp4, postToBucket } from './direct-helpers.js'
import { s3Bucket } from './s3-server.js'

async function demo (t: Tap, s3: { bucket: string, endpoint?: string }) {
  const dir = tempDir(t)
  const app = await buildApp({ mediaRoot: join(dir, 'media'), dataDir: join(dir, 'data'), staticRoot: join(dir, 'staticfiles'), mode: 'development', signingKey: 'k'.repeat(32), s3 })
  t.teardown(() => app.close())
  return app
}

const env = { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' }
function withEnv (t: Tap, vars: Record<string, string>): void {
  const saved = Object.fromEntries(Object.keys(vars).map((key) => [key, process.env[key]]))
  Object.assign(process.env, vars)
  t.teardown(() => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key]
      else process.env[key] = value
    }
  })
}

t.test('a form sent without script with a bad video token: the page again, the video field marked with the demo\'s words', async (t) => {
  withEnv(t, env)
  const { bucket, endpoint } = await s3Bucket(t)
  const app = await demo(t, { bucket, endpoint })
  const res = await postForm(app, '/profiles', [{ name: 'name', content: 'Ada' }, { name: 'video', content: 'not.a-token' }])
  t.equal(res.statusCode, 400)
  t.match(res.body, /data-field="video"[^>]*/)
  t.match(res.body, 'class="field has-error" data-field="video"')
  t.match(res.body, 'aria-invalid="true"')
  t.match(res.body, 'The file sent to the bucket expired or was already used. Please send it again.')
})

t.test('a bucket failing behind the direct routes: 500 in the page\'s JSON shape, logged', async (t) => {
  withEnv(t, env)
  const { bucket, endpoint } = await s3Bucket(t)
  const app = await demo(t, { bucket, endpoint })
  const presigned = await app.inject({ method: 'POST', url: '/direct/presign', payload: { field: 'profile.video', filename: 'big.mp4', size: 40 * 2 ** 20 } })
  t.equal(presigned.json().method, 'multipart')
  // parts that were never uploaded: the bucket refuses to join them
  const res = await app.inject({ method: 'POST', url: '/direct/complete', payload: { token: presigned.json().token, parts: [{ PartNumber: 1, ETag: '"none"' }] } })
  t.equal(res.statusCode, 500)
  t.match(res.json(), { statusCode: 500, code: 'FST_MEDIA_STORAGE' })
})

t.test('a video gone from the bucket shows as missing; the page still works', async (t) => {
  withEnv(t, env)
  const { bucket, endpoint, client } = await s3Bucket(t)
  const app = await demo(t, { bucket, endpoint })
  const form = (await app.inject({ method: 'POST', url: '/direct/presign', payload: { field: 'profile.video', filename: 'clip.mp4', size: 5000, contentType: 'video/mp4' } })).json() as PresignedForm
  t.equal(await postToBucket(form, mp4(5000)), 204)
  const avatar = { name: 'avatar', filename: 'ada.png', content: fixture('fixture.png'), contentType: 'image/png' }
  const saved = await postForm(app, '/profiles', [{ name: 'name', content: 'Ada' }, avatar, { name: 'video', content: form.token }])
  t.equal(saved.statusCode, 303, saved.body)
  const withVideo = await app.inject('/')
  t.match(withVideo.body, /<li>Video: <a class="video-link" href="[^"]+">clip\.mp4<\/a>/)
  const key = /href="[^"]*\/(videos\/[^"]+)"/.exec(withVideo.body)![1]!
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }))
  const res = await app.inject('/')
  t.equal(res.statusCode, 200)
  t.match(res.body, '<li>Video: file missing</li>')
})

t.test('a bucket on AWS (no MEDIA_S3_ENDPOINT): the page may connect to any S3 host', async (t) => {
  const { bucket, endpoint } = await s3Bucket(t)
  // the SDK's own variable sends the requests to the local S3 (an IP endpoint is path style): no request leaves the machine
  withEnv(t, { ...env, AWS_ENDPOINT_URL_S3: endpoint })
  const app = await demo(t, { bucket })
  const res = await app.inject('/')
  t.match(res.headers['content-security-policy'], "connect-src 'self' https://*.amazonaws.com;")
})
