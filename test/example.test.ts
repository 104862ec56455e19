// The example app in example/, through its real routes. It imports the plugin from dist/: build first.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath, pathToFileURL } from 'node:url'
import t from 'tap'
import { buildApp, humanSize } from '../example/server.js'
import { filesUnder, fixture, postForm, tempDir, type Part } from './helpers.js'

/** The example app on a temp media root, both gone when the test ends. */
async function exampleApp (t: Parameters<typeof tempDir>[0]) {
  const mediaRoot = tempDir(t)
  const app = await buildApp({ mediaRoot })
  t.teardown(() => app.close())
  return { app, mediaRoot }
}

const png: Part = { name: 'avatar', filename: 'fixture.png', content: fixture('fixture.png'), contentType: 'image/png' }
const pdf: Part = { name: 'document', filename: 'fixture.pdf', content: fixture('fixture.pdf'), contentType: 'application/pdf' }
const exeAsPng: Part = { name: 'avatar', filename: 'fixture.png', content: fixture('fixture.exe'), contentType: 'image/png' }

/** The text of the element with this id (no nested tags in the ones we look at). */
const textOf = (html: string, id: string): string | undefined =>
  new RegExp(`id="${id}"[^>]*>([^<]*)<`).exec(html)?.[1]

t.test('GET / is a page with the upload form and no files yet', async (t) => {
  const { app } = await exampleApp(t)
  const res = await app.inject('/')
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/html; charset=utf-8/)
  const html = res.body
  t.match(html, /<!doctype html>/i)
  t.match(html, /<meta name="viewport"/)
  t.match(html, /<form[^>]+action="\/upload"[^>]+method="post"[^>]+enctype="multipart\/form-data"/)
  for (const [id, type] of [['name', 'text'], ['avatar', 'file'], ['document', 'file']]) {
    t.match(html, new RegExp(`<label for="${id}">`), `a label for ${id}`)
    t.match(html, new RegExp(`<input type="${type}" name="${id}" id="${id}"`), `an input for ${id}`)
  }
  t.match(html, /<button type="submit">/)
  t.match(html, /No files uploaded yet/)
  t.notMatch(html, /class="error"/)
})

t.test('a PNG and a PDF are stored, then listed with links, sizes and a thumbnail', async (t) => {
  const { app, mediaRoot } = await exampleApp(t)
  const res = await postForm(app, '/upload', [{ name: 'name', content: 'Ada' }, png, pdf])
  t.equal(res.statusCode, 303, res.body)
  t.equal(res.headers.location, '/')

  const now = new Date()
  const month = `${now.getUTCFullYear()}/${String(now.getUTCMonth() + 1).padStart(2, '0')}`
  t.same(filesUnder(mediaRoot), ['avatars/fixture.png', `docs/${month}/fixture.pdf`])

  const html = (await app.inject('/')).body
  t.notMatch(html, /No files uploaded yet/)
  t.match(html, '<a href="/media/avatars/fixture.png">avatars/fixture.png</a>')
  t.match(html, `<a href="/media/docs/${month}/fixture.pdf">docs/${month}/fixture.pdf</a>`)
  t.match(html, '<img src="/media/avatars/fixture.png" alt=""')
  t.notMatch(html, /<img src="[^"]*\.pdf"/, 'no thumbnail for the PDF')
  t.match(html, humanSize(fixture('fixture.png').length))
  t.match(html, humanSize(fixture('fixture.pdf').length))
  t.equal(humanSize(54318), '54.3 kB')

  // the links work
  const image = await app.inject('/media/avatars/fixture.png')
  t.equal(image.statusCode, 200)
  t.equal(image.headers['content-type'], 'image/png')
  t.same(image.rawPayload, fixture('fixture.png'))
  const doc = await app.inject(`/media/docs/${month}/fixture.pdf`)
  t.equal(doc.statusCode, 200)
  t.equal(doc.headers['content-type'], 'application/pdf')
})

t.test('an .exe named .png is refused next to the avatar field, and nothing is stored', async (t) => {
  const { app, mediaRoot } = await exampleApp(t)
  // the valid PDF comes first and is stored, then removed when the avatar fails: all or nothing
  const res = await postForm(app, '/upload', [{ name: 'name', content: 'Ada' }, pdf, exeAsPng])
  t.equal(res.statusCode, 400)
  t.match(res.headers['content-type'], /^text\/html/)
  const html = res.body
  t.match(textOf(html, 'avatar-error'), /^avatar: /, 'the message is next to the avatar field')
  t.match(html, /<p class="error" id="avatar-error" data-code="FST_MEDIA_INVALID_TYPE">/)
  t.match(html, /<input type="file" name="avatar" id="avatar" aria-describedby="avatar-hint avatar-error" aria-invalid="true"/)
  t.notMatch(html, /id="document-error"/)
  t.match(html, /<input type="text" name="name" [^>]*value="Ada"/, 'the name typed before the bad file is kept')
  t.match(html, /role="alert"/)
  t.match(html, /No files uploaded yet/)
  t.same(filesUnder(mediaRoot).filter((name) => !name.startsWith('.tmp/')), [])
  t.same(filesUnder(mediaRoot), [], 'no temp file left either')
})

t.test('the name is validated by the body schema, and echoed back escaped', async (t) => {
  const { app, mediaRoot } = await exampleApp(t)

  const missing = await postForm(app, '/upload', [png])
  t.equal(missing.statusCode, 400)
  t.match(textOf(missing.body, 'name-error'), /^name: /)
  t.match(missing.body, /data-code="FST_ERR_VALIDATION"/)

  const long = `<script>alert("x")</script>${'a'.repeat(100)}`
  const tooLong = await postForm(app, '/upload', [{ name: 'name', content: long }, png])
  t.equal(tooLong.statusCode, 400)
  t.match(textOf(tooLong.body, 'name-error'), /^name: /)
  t.notMatch(tooLong.body, '<script>')
  t.match(tooLong.body, 'value="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;aaa')
  t.same(filesUnder(mediaRoot), [], 'the avatar of a refused form is not kept')

  const empty = await postForm(app, '/upload', [{ name: 'name', content: '' }])
  t.equal(empty.statusCode, 400)
  t.match(textOf(empty.body, 'name-error'), /^name: /)
})

t.test('a form without files is fine: both are optional', async (t) => {
  const { app, mediaRoot } = await exampleApp(t)
  const res = await postForm(app, '/upload', [
    { name: 'name', content: 'Ada' },
    { name: 'avatar', filename: '', content: '' },
    { name: 'document', filename: '', content: '' }
  ])
  t.equal(res.statusCode, 303, res.body)
  t.same(filesUnder(mediaRoot), [])
})

t.test('errors not about a field are shown above the form, with their status', async (t) => {
  const { app } = await exampleApp(t)
  const res = await app.inject({ method: 'POST', url: '/upload', payload: 'name=Ada', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.equal(res.statusCode, 415)
  t.match(res.body, /<li><a href="#upload" data-code="FST_MEDIA_NOT_MULTIPART">/)
  t.notMatch(res.body, /class="error"/)
})

t.test('storage trouble is a 500 page that tells nothing of the cause', async (t) => {
  const { app, mediaRoot } = await exampleApp(t)
  const storage = app.media.storage()
  const save = storage.save
  storage.save = async () => { throw new Error('disk on fire at /secret/path') }
  t.teardown(() => { storage.save = save })
  const res = await postForm(app, '/upload', [{ name: 'name', content: 'Ada' }, png])
  t.equal(res.statusCode, 500)
  t.match(res.headers['content-type'], /^text\/html/)
  t.match(res.body, /Something went wrong on our side/)
  t.notMatch(res.body, /disk on fire|secret/)
  t.same(filesUnder(mediaRoot), [])
})

t.test('a file deleted while the page is built is left out of the list', async (t) => {
  const { app } = await exampleApp(t)
  t.equal((await postForm(app, '/upload', [{ name: 'name', content: 'Ada' }, png, pdf])).statusCode, 303)
  const storage = app.media.storage()
  const stat = storage.stat
  storage.stat = async (name) => name.endsWith('.pdf') ? await Promise.reject(new Error('ENOENT')) : await stat.call(storage, name)
  t.teardown(() => { storage.stat = stat })
  const html = (await app.inject('/')).body
  t.match(html, 'avatars/fixture.png')
  t.notMatch(html, 'fixture.pdf')
})

t.test('sizes read in the units of the field options', async (t) => {
  t.equal(humanSize(0), '0 B')
  t.equal(humanSize(999), '999 B')
  t.equal(humanSize(54318), '54.3 kB')
  t.equal(humanSize(2_000_000), '2 MB')
  t.equal(humanSize(1.5e12), '1.5 TB')
  t.equal(humanSize(2e15), '2000 TB')
})

const SERVER = fileURLToPath(new URL('../example/server.js', import.meta.url))

t.test('run directly, it listens on 127.0.0.1, logs the URL, serves the page and stops on SIGTERM', async (t) => {
  const child = spawn(process.execPath, [SERVER], { env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const exited = once(child, 'exit')
  let url: string | undefined
  for await (const line of createInterface({ input: child.stdout! })) {
    url = /open (http:\/\/127\.0\.0\.1:\d+\/) in a browser/.exec(line)?.[1]
    if (url !== undefined) break
  }
  t.ok(url, 'the URL is logged')
  const res = await fetch(url!)
  t.equal(res.status, 200)
  t.match(await res.text(), /<form/)
  child.kill('SIGTERM')
  t.same(await exited, [0, null], 'a clean exit')
})

t.test('imported, it does not listen, even where process.argv[1] is unset', async (t) => {
  const mediaRoot = tempDir(t)
  const code = `const { buildApp } = await import(${JSON.stringify(pathToFileURL(SERVER).href)})
const app = await buildApp({ mediaRoot: ${JSON.stringify(mediaRoot)} })
console.log(app.server.listening, (await app.inject('/')).statusCode)
await app.close()`
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout!.on('data', (chunk) => { out += chunk })
  t.same(await once(child, 'exit'), [0, null])
  t.equal(out.trim(), 'false 200')
})
