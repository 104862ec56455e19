// Direct uploads in a real browser: the demo started against a bucket (s3rver, with the CORS rule of
// example/s3-cors.xml, as README's "Direct uploads" starts it), a video chosen in chromium, sent to the bucket
// by the page's script through the routes app.media.directRoutes mounts, then committed by the form.
import { GetObjectCommand, ListObjectsCommand, PutBucketCorsCommand, type CORSConfiguration } from '@aws-sdk/client-s3'
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createWriteStream, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import sharp from 'sharp'
import t from 'tap'
import { filesUnder, fixture, tempDir, type Tap } from '../helpers.js'
import { s3Bucket } from '../s3-server.js'
import { launchChromium, newPage } from './browser.js'
import { startDemo, type Demo } from './demo-server.js'

const CORS = join(import.meta.dirname, '..', '..', 'example', 's3-cors.xml')

// what main.js's S3Storage reads from the environment, as README's command line sets it for s3rver
process.env.AWS_REGION = 'us-east-1'
process.env.AWS_ACCESS_KEY_ID = 'S3RVER'
process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER'

const month = (): string => {
  const now = new Date()
  return `${now.getUTCFullYear()}/${String(now.getUTCMonth() + 1).padStart(2, '0')}`
}

/** An MP4 as file-type reads it (an `ftyp` box, then one `mdat` box holding random bytes), and its sha256. */
async function writeMp4 (path: string, size: number): Promise<string> {
  const ftyp = Buffer.from('000000186674797069736f6d0000020069736f6d69736f32', 'hex')
  const mdat = Buffer.alloc(8)
  mdat.writeUInt32BE(size - ftyp.length)
  mdat.write('mdat', 4)
  const hash = createHash('sha256')
  const out = createWriteStream(path)
  const write = async (chunk: Buffer): Promise<void> => {
    hash.update(chunk)
    if (!out.write(chunk)) await once(out, 'drain')
  }
  await write(Buffer.concat([ftyp, mdat]))
  for (let left = size - ftyp.length - mdat.length; left > 0; left -= 2 ** 20) await write(randomBytes(Math.min(left, 2 ** 20)))
  out.end()
  await once(out, 'close')
  return hash.digest('hex')
}

/** README's CORS rule for AWS (the JSON after its marker), with `origin` in place of its example origin. */
function readmeCorsRule (origin: string): CORSConfiguration {
  const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8')
  const marker = '<!-- test/e2e/direct-upload.test.ts applies this rule to its bucket -->'
  const json = /^```json\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf(marker) + marker.length).trimStart())?.[1]
  if (readme.indexOf(marker) < 0 || json === undefined) throw new Error('README lost the CORS rule\'s marker or its json block')
  const rule = JSON.parse(json) as CORSConfiguration
  for (const entry of rule.CORSRules!) entry.AllowedOrigins = [origin]
  return rule
}

/**
 * The demo against a fresh bucket, with a count of every byte its server reads from its sockets. The bucket's
 * CORS rule: example/s3-cors.xml (what README's s3rver command gives it), or README's JSON rule for AWS.
 */
async function demoWithBucket (t: Tap, { cors = 'xml' }: { cors?: 'xml' | 'readme-json' } = {}): Promise<Demo & { bucketUrl: string, received: () => number, keys: () => Promise<string[]>, sha256Of: (key: string) => Promise<string> }> {
  const { client, bucket, endpoint } = await s3Bucket(t, { configs: cors === 'xml' ? [CORS] : [] })
  const demo = await startDemo(t, { s3: { bucket, endpoint } })
  if (cors === 'readme-json') await client.send(new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: readmeCorsRule(new URL(demo.url).origin) }))
  let received = 0
  demo.app.server.on('connection', (socket) => socket.on('data', (chunk: Buffer) => { received += chunk.length }))
  return {
    ...demo,
    bucketUrl: `${endpoint}/${bucket}`,
    received: () => received,
    keys: async () => ((await client.send(new ListObjectsCommand({ Bucket: bucket }))).Contents ?? []).map((object) => object.Key!).sort(),
    sha256Of: async (key) => {
      const { Body } = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
      return createHash('sha256').update(await Body!.transformToByteArray()).digest('hex')
    }
  }
}

/** Every text the video's progress bar shows, in order. */
async function watchProgress (page: Page): Promise<string[]> {
  const seen: string[] = []
  await page.exposeFunction('reportProgress', (text: string) => { seen.push(text) })
  await page.evaluate(`new MutationObserver(() => reportProgress(document.getElementById('video-progress-text').textContent))
    .observe(document.getElementById('video-progress-text'), { childList: true, characterData: true, subtree: true })`)
  return seen
}

/**
 * Clicks "Save profile" and waits for the page the script goes to once the server has saved it; fails with
 * the message the page shows instead (the bucket's or the app's refusal), rather than with a timeout.
 */
async function save (page: Page): Promise<void> {
  const shown = page.locator('.error:not([hidden]), .form-error:not([hidden])').first()
  await page.click('#submit')
  // the upload itself may take a while on a busy machine: a longer wait than the context's default
  const message = await Promise.race([
    page.waitForURL(/[?&]saved=/, { timeout: 60_000 }).then(() => undefined),
    shown.waitFor({ state: 'visible', timeout: 60_000 }).then(async () => await shown.textContent())
  ])
  if (message !== undefined) throw new Error(`the page shows: ${message}`)
}

const browser = await launchChromium(t)
if (browser !== undefined) {
  // a tiny avatar (the field is required): the bytes the app receives are then the form's and the JSON calls'
  const avatar = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#0b57d0' } }).png().toBuffer()

  t.test('a 50 MB video goes from the page to the bucket in parts; the app receives under 64 KiB and commits the same bytes', async (t) => {
    const demo = await demoWithBucket(t)
    const video = join(tempDir(t), 'clip.mp4')
    const size = 50_000_000
    const sha256 = await writeMp4(video, size)
    const { page } = await newPage(t, browser)
    const requests: string[] = []
    page.on('request', (request) => { requests.push(`${request.method()} ${new URL(request.url()).pathname}${new URL(request.url()).searchParams.has('partNumber') ? '?partNumber' : ''}`) })
    const presigned = page.waitForResponse((response) => response.url().endsWith('/direct/presign')).then(async (response) => await response.json() as { method: string, partSize: number })

    await page.goto(demo.url)
    const seen = await watchProgress(page)
    await page.fill('#name', 'Ada Lovelace')
    await page.setInputFiles('#avatar', { name: 'ada.png', mimeType: 'image/png', buffer: avatar })
    await page.setInputFiles('#video', video)
    const before = demo.received()
    await save(page)
    const received = demo.received() - before

    t.ok(received < 64 * 1024, `the app read ${received} bytes from its sockets for the upload, headers included`)
    const { method, partSize } = await presigned
    t.equal(method, 'multipart', 'above the field\'s multipartAbove (16 MiB)')
    const parts = Math.ceil(size / partSize)
    t.ok(parts > 1, `${parts} parts of ${partSize} bytes`)
    t.same(requests.filter((line) => line.startsWith('POST /direct/')), [
      'POST /direct/presign', ...Array<string>(parts).fill('POST /direct/parts'), 'POST /direct/complete'
    ], 'one presign, a signature per part, one completion')
    t.equal(requests.filter((line) => line.startsWith('PUT ') && line.endsWith('?partNumber')).length, parts, 'each part PUT to the bucket')
    t.notOk(requests.some((line) => line === `POST ${new URL(demo.bucketUrl).pathname}`), 'no form POST to the bucket')

    const percents = seen.map((text) => Number.parseInt(text, 10))
    t.equal(percents.at(-1), 100, `the video's progress bar ends at 100% (seen: ${seen.join(' ')})`)
    t.same(percents, [...percents].sort((a, b) => a - b), 'it never goes back')

    const key = `videos/${month()}/clip.mp4`
    const records = JSON.parse(readFileSync(join(demo.dataDir, 'profiles.json'), 'utf8')) as { profiles: unknown[] }
    t.match(records.profiles, [{ name: 'Ada Lovelace', video: key }])
    t.equal(await demo.sha256Of(key), sha256, 'the committed object is the file, byte for byte')
    t.same((await demo.keys()).filter((name) => name.startsWith('.direct/q/')), [], 'nothing left in quarantine')
    t.match(await page.textContent('.profile .facts'), 'Video: clip.mp4 (in the bucket, 50 MB)')
    t.equal(await page.getAttribute('.video-link', 'href'), `${demo.bucketUrl}/${key}`, 'the link is the object\'s URL in the bucket')
  })

  t.test('a video under the multipart threshold goes as one POST of the signed form, allowed by README\'s CORS rule for AWS', async (t) => {
    const demo = await demoWithBucket(t, { cors: 'readme-json' })
    const video = join(tempDir(t), 'short.mp4')
    const sha256 = await writeMp4(video, 1_000_000)
    const { page } = await newPage(t, browser)
    const posts: string[] = []
    page.on('request', (request) => { if (request.method() === 'POST') posts.push(request.url()) })
    await page.goto(demo.url)
    await page.fill('#name', 'Grace Hopper')
    await page.setInputFiles('#avatar', { name: 'grace.png', mimeType: 'image/png', buffer: avatar })
    await page.setInputFiles('#video', video)
    await save(page)

    const origin = new URL(demo.url).origin
    t.same(posts.map((url) => url.startsWith(origin) ? new URL(url).pathname : 'the bucket'), ['/direct/presign', 'the bucket', '/profiles'])
    t.equal(await demo.sha256Of(`videos/${month()}/short.mp4`), sha256)
    t.same((await demo.keys()).filter((name) => name.startsWith('.direct/q/')), [])

    await Promise.all([page.waitForURL(/[?&]deleted=/), page.click('.profile button.delete')])
    t.same((await demo.keys()).filter((name) => name.startsWith('videos/')), [], 'Delete removes the video from the bucket')
  })

  t.test('an ELF named clip.mp4 reaches the bucket but not the profile: the video field says so, and nothing is left', async (t) => {
    const demo = await demoWithBucket(t)
    const { page } = await newPage(t, browser)
    await page.goto(demo.url)
    await page.fill('#name', 'Mallory')
    await page.setInputFiles('#avatar', { name: 'm.png', mimeType: 'image/png', buffer: avatar })
    // the browser believes the name, so its own check lets it through: the commit reads the bytes
    await page.setInputFiles('#video', { name: 'clip.mp4', mimeType: 'video/mp4', buffer: fixture('fixture.elf') })
    await page.click('#submit')

    const error = page.locator('#video-error')
    await error.waitFor({ state: 'visible' })
    t.equal(await error.textContent(), 'This file is not an MP4 or WebM video, whatever its name says.')
    t.equal(await error.getAttribute('data-code'), 'FST_MEDIA_INVALID_TYPE')
    t.ok(await page.isHidden('#video-progress'), 'the bar that reached 100% goes away with the refusal')
    t.notOk(await page.isDisabled('#submit'), 'the form can be sent again')
    t.same(await demo.keys(), [], 'neither the copy nor the quarantine object nor the token\'s record')
    t.same(filesUnder(demo.mediaRoot), [], 'nor the avatar, stored before the video was refused')
    await page.reload()
    t.equal(await page.textContent('.empty'), 'No profiles yet.')
  })
}
