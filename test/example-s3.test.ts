// The demo against a bucket, as README's "Direct uploads" starts it: main.js with MEDIA_S3_BUCKET and
// MEDIA_S3_ENDPOINT (and the SDK's AWS_* variables), against s3rver. The browser flow itself is in
// test/e2e/direct-upload.test.ts; this file checks the wiring and that README's browser code is the demo's.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { tempDir } from './helpers.js'
import { s3Bucket } from './s3-server.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

t.test('README\'s browser code is the demo\'s direct-upload.js, byte for byte', async (t) => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const marker = '<!-- test/example-s3.test.ts checks that this block is example/static/js/direct-upload.js -->'
  const at = readme.indexOf(marker)
  t.ok(at > 0, 'README marks the block')
  const block = /^```js\n([\s\S]*?)```/.exec(readme.slice(at + marker.length).trimStart())?.[1]
  t.equal(block, readFileSync(join(ROOT, 'example', 'static', 'js', 'direct-upload.js'), 'utf8'))
})

t.test('main.js with MEDIA_S3_BUCKET and MEDIA_S3_ENDPOINT: the video field, the bucket in connect-src, the direct routes', async (t) => {
  const { bucket, endpoint } = await s3Bucket(t, { configs: [join(ROOT, 'example', 's3-cors.xml')] })
  const dir = tempDir(t)
  const env = {
    MEDIA_ROOT: join(dir, 'media'),
    DATA_DIR: join(dir, 'data'),
    STATIC_ROOT: join(dir, 'staticfiles'),
    PORT: '0',
    NODE_ENV: 'development',
    MEDIA_S3_BUCKET: bucket,
    MEDIA_S3_ENDPOINT: endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER'
  }
  const child = spawn(process.execPath, [join(ROOT, 'example', 'main.js')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const exited = once(child, 'exit')
  let url: string | undefined
  for await (const line of createInterface({ input: child.stdout })) {
    url = /open (http:\/\/127\.0\.0\.1:\d+\/) in a browser/.exec(line)?.[1]
    if (url !== undefined) break
  }
  t.ok(url, 'the URL is logged')

  const page = await fetch(url!)
  const html = await page.text()
  t.match(html, /<input type="file" id="video" aria-describedby="video-hint video-error"/, 'a video input, with no name')
  t.match(html, 'data-direct-field="profile.video" data-direct-prefix="/direct"')
  t.match(html, 'data-direct-module="/static/js/direct-upload.js"')
  t.match(page.headers.get('content-security-policy'), `connect-src 'self' ${endpoint};`)

  const presign = async (size: number) => {
    const res = await fetch(new URL('/direct/presign', url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ field: 'profile.video', filename: 'clip.mp4', size, contentType: 'video/mp4' })
    })
    return { status: res.status, body: await res.json() as Record<string, unknown> }
  }
  t.match(await presign(1_000_000), { status: 200, body: { method: 'POST', url: `${endpoint}/${bucket}`, token: String } }, 'a form POST to the bucket under 16 MiB')
  t.match(await presign(50_000_000), { status: 200, body: { method: 'multipart', partSize: Number, token: String } }, 'parts above')
  t.match(await presign(600_000_000), { status: 413, body: { code: 'FST_MEDIA_FILE_TOO_LARGE', field: 'video', message: 'This file is larger than 500 MB. Choose a smaller one.' } }, 'over the field\'s maxSize: the page\'s words')

  child.kill('SIGTERM')
  t.same(await exited, [0, null], 'a clean exit')
})
