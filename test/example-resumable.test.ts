// The demo's recording field in-process (buildApp on temp directories, inject()): the tus endpoint it mounts,
// its refusals in the page's words, the form committing an upload's URL, and the field without script. The
// browser flow (a cut, a resume) is test/e2e/resumable-upload.test.ts.
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { buildApp } from '../example/server.js'
import { mp4 } from './direct-helpers.js'
import { filesUnder, fixture, postForm, tempDir, type Part, type Tap } from './helpers.js'

async function demo (t: Tap) {
  const dir = tempDir(t)
  const dirs = { mediaRoot: join(dir, 'media'), dataDir: join(dir, 'data'), staticRoot: join(dir, 'staticfiles') }
  const app = await buildApp({ ...dirs, mode: 'development' })
  t.teardown(() => app.close())
  return { app, ...dirs }
}

const month = (): string => {
  const now = new Date()
  return `${now.getUTCFullYear()}/${String(now.getUTCMonth() + 1).padStart(2, '0')}`
}

const b64 = (text: string): string => Buffer.from(text).toString('base64')
const TUS = { 'tus-resumable': '1.0.0' }
const avatar: Part = { name: 'avatar', filename: 'ada.png', content: fixture('fixture.png'), contentType: 'image/png' }

/** Creates an upload as tus-js-client does; the reply (its Location is the upload's URL). */
async function create (app: FastifyInstance, length: number, metadata: Record<string, string>) {
  const headers = { ...TUS, 'upload-length': String(length), 'upload-metadata': Object.entries(metadata).map(([key, value]) => `${key} ${b64(value)}`).join(',') }
  return await app.inject({ method: 'POST', url: '/uploads', headers })
}

/** Sends `bytes` from `offset`; the reply. */
async function patch (app: FastifyInstance, url: string, offset: number, bytes: Buffer) {
  return await app.inject({ method: 'PATCH', url: new URL(url).pathname, headers: { ...TUS, 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' }, payload: bytes })
}

t.test('the page: the recording field names the tus endpoint and tus-js-client\'s browser build, served as a static file', async (t) => {
  const { app } = await demo(t)
  const res = await app.inject('/')
  t.match(res.headers['content-security-policy'], "script-src 'self';")
  t.match(res.headers['content-security-policy'], "connect-src 'self';", 'the endpoint is on the page\'s origin')
  // without script the file goes in the form, under the field's name
  t.match(res.body, /<input type="file" name="recording" id="recording" aria-describedby="recording-hint recording-error"/)
  t.match(res.body, 'data-tus-endpoint="/uploads" data-tus-field="profile.recording"')
  t.match(res.body, 'data-tus-script="/static/vendor/tus/tus.min.js" data-tus-module="/static/js/resumable-upload.js"')
  t.match(res.body, 'Optional. An MP4 or WebM video, up to 500 MB, sent ahead of the form: a cut connection resumes where it stopped.')
  t.match(res.body, '<noscript><p class="hint">Without JavaScript it goes with the form, which takes 40 MB in all, and a cut connection starts it over.</p></noscript>')
  t.match(res.body, '<p class="hint" id="recording-status" role="status" hidden></p>')
  const tus = await app.inject('/static/vendor/tus/tus.min.js')
  t.equal(tus.statusCode, 200)
  t.match(tus.headers['content-type'], /^application\/javascript/)
  t.match(tus.body, /\.tus=/, 'the UMD build that sets window.tus')
  t.equal((await app.inject('/static/js/resumable-upload.js')).statusCode, 200)
})

t.test('an upload sent to /uploads, then its URL in the form: the recording is saved under recordings/, listed, and nothing waits', async (t) => {
  const { app, mediaRoot, dataDir } = await demo(t)
  const bytes = mp4(300_000, 3)
  const created = await create(app, bytes.length, { field: 'profile.recording', filename: 'talk.mp4', filetype: 'video/mp4' })
  t.equal(created.statusCode, 201, created.body)
  const url = created.headers.location as string
  t.match(url, /^http:\/\/localhost(:80)?\/uploads\/[0-9a-f]{32}$/)
  // in two PATCH requests, as a client resuming after a cut
  t.equal((await patch(app, url, 0, bytes.subarray(0, 100_000))).statusCode, 204)
  const head = await app.inject({ method: 'HEAD', url: new URL(url).pathname, headers: TUS })
  t.equal(head.headers['upload-offset'], '100000')
  t.equal((await patch(app, url, 100_000, bytes.subarray(100_000))).statusCode, 204)

  const saved = await postForm(app, '/profiles', [{ name: 'name', content: 'Ada' }, avatar, { name: 'recording', content: url }])
  t.equal(saved.statusCode, 303, saved.body)
  const page = await app.inject('/')
  const link = `/media/recordings/${month()}/talk.mp4`
  t.match(page.body, `<li>Recording: <a class="recording-link" href="${link}">talk.mp4</a> (300 kB)</li>`)
  t.same((await app.inject(link)).rawPayload, bytes)
  t.same(filesUnder(join(mediaRoot, '.resumable')), [], 'the upload is gone once committed')
  t.match(JSON.parse(readFileSync(join(dataDir, 'profiles.json'), 'utf8')), { profiles: [{ name: 'Ada', recording: `recordings/${month()}/talk.mp4` }] })

  rmSync(join(mediaRoot, 'recordings', month(), 'talk.mp4'))
  t.match((await app.inject('/')).body, '<li>Recording: file missing</li>')
})

t.test('the endpoint\'s refusals come in the page\'s words, next to the field, with the plugin\'s details', async (t) => {
  const { app, mediaRoot } = await demo(t)
  const tooLarge = await create(app, 500_000_001, { field: 'profile.recording', filename: 'long.mp4' })
  t.equal(tooLarge.statusCode, 413)
  t.match(tooLarge.json(), { statusCode: 413, code: 'FST_MEDIA_FILE_TOO_LARGE', field: 'recording', message: 'This file is larger than 500 MB. Choose a smaller one.', limit: 500_000_000 })

  const elf = await create(app, fixture('fixture.elf').length, { field: 'profile.recording', filename: 'clip.mp4' })
  t.equal(elf.statusCode, 201)
  const refused = await patch(app, elf.headers.location as string, 0, fixture('fixture.elf'))
  t.equal(refused.statusCode, 400)
  t.match(refused.headers['content-type'], /^application\/json/)
  t.match(refused.json(), { code: 'FST_MEDIA_INVALID_TYPE', field: 'recording', message: 'This file is not an MP4 or WebM video, whatever its name says.', detected: 'application/x-elf' })

  // a field the page does not have: the message goes above the form
  const unknown = await create(app, 1000, { field: 'profile.avatar', filename: 'a.png' })
  t.equal(unknown.statusCode, 400)
  const answer = unknown.json()
  t.match(answer, { code: 'FST_MEDIA_UNKNOWN_FIELD', message: 'The form sent a file this page does not ask for.' })
  t.notOk('field' in answer, 'no field of the page to show it next to')

  // what is no refusal passes as tus made it
  const missing = await app.inject({ method: 'HEAD', url: `/uploads/${'0'.repeat(32)}`, headers: TUS })
  t.equal(missing.statusCode, 404)
  t.same(filesUnder(mediaRoot), [], 'nothing is kept of a refused upload')
})

t.test('the form: a recording without script is a file part; an upload\'s URL that is gone is refused in the page\'s words', async (t) => {
  const { app, mediaRoot } = await demo(t)
  const bytes = mp4(50_000, 9)
  const plain = await postForm(app, '/profiles', [{ name: 'name', content: 'Grace' }, avatar, { name: 'recording', filename: 'plain.mp4', content: bytes, contentType: 'video/mp4' }])
  t.equal(plain.statusCode, 303, plain.body)
  t.same(filesUnder(mediaRoot).filter((name) => name.startsWith('recordings/')), [`recordings/${month()}/plain.mp4`])

  const gone = await postForm(app, '/profiles', [{ name: 'name', content: 'Grace' }, avatar, { name: 'recording', content: `http://localhost/uploads/${'a'.repeat(32)}` }])
  t.equal(gone.statusCode, 400)
  t.match(gone.body, 'class="field has-error" data-field="recording"')
  t.match(gone.body, '<p class="error" id="recording-error" data-code="FST_MEDIA_INVALID_TOKEN">The upload of this file expired or was already used. Please send it again.</p>')
})
