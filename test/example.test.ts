// The demo app in example/, through its real routes with inject() (the browser tests are in test/e2e/).
// It imports the plugin from dist/: build first.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createServer } from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { crc32 } from 'node:zlib'
import t from 'tap'
import { describeError, SERVER_TROUBLE } from '../example/messages.js'
import { ProfileStore } from '../example/profile-store.js'
import { avatarSrc, buildApp, humanSize } from '../example/server.js'
import { filesUnder, fixture, multipart, postForm, tempDir, type Part, type Tap } from './helpers.js'
import { START_IGNORE } from './e2e/demo-server.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SERVER = join(ROOT, 'example', 'server.js')
const MAIN = join(ROOT, 'example', 'main.js')

/** Temp directories for one demo: its uploads, its records and private files, its collected statics. */
function demoDirs (t: Tap) {
  const dir = tempDir(t)
  return { mediaRoot: join(dir, 'media'), dataDir: join(dir, 'data'), staticRoot: join(dir, 'staticfiles') }
}

async function demo (t: Tap, dirs = demoDirs(t)) {
  const app = await buildApp({ ...dirs, mode: 'development' })
  t.teardown(() => app.close())
  return { app, ...dirs, privateRoot: join(dirs.dataDir, 'private') }
}

const name = (content: string): Part => ({ name: 'name', content })
const png: Part = { name: 'avatar', filename: 'ada.png', content: fixture('fixture.png'), contentType: 'image/png' }
const pdf: Part = { name: 'document', filename: 'notes.pdf', content: fixture('fixture.pdf'), contentType: 'application/pdf' }
const contract: Part = { name: 'contract', filename: 'contract.pdf', content: fixture('fixture-minimal.pdf'), contentType: 'application/pdf' }

/** The fixture PNG claiming other dimensions in its header (with a valid CRC). */
function pngClaiming (width: number, height: number): Buffer {
  const original = fixture('fixture.png')
  const ihdr = Buffer.concat([Buffer.from('IHDR'), original.subarray(16, 29)])
  ihdr.writeUInt32BE(width, 4)
  ihdr.writeUInt32BE(height, 8)
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(ihdr))
  return Buffer.concat([original.subarray(0, 12), ihdr, crc, original.subarray(33)])
}

const month = (): string => {
  const now = new Date()
  return `${now.getUTCFullYear()}/${String(now.getUTCMonth() + 1).padStart(2, '0')}`
}

/** The text of the element with this id (no nested tags in the ones we look at). */
const textOf = (html: string, id: string): string | undefined =>
  new RegExp(`id="${id}"[^>]*>([^<]*)<`).exec(html)?.[1]

const records = (dataDir: string): Array<Record<string, unknown>> =>
  (JSON.parse(readFileSync(join(dataDir, 'profiles.json'), 'utf8')) as { profiles: Array<Record<string, unknown>> }).profiles

t.test('GET / is the form and the (empty) list, with labels, a strict CSP and development static URLs', async (t) => {
  const { app } = await demo(t)
  const res = await app.inject('/')
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/html; charset=utf-8/)
  t.match(res.headers['content-security-policy'], /default-src 'none'; script-src 'self'; style-src 'self'/)
  t.equal(res.headers['x-content-type-options'], 'nosniff')
  const html = res.body
  t.match(html, /<meta name="viewport"/)
  t.match(html, /<form id="profile-form" action="\/profiles" method="post" enctype="multipart\/form-data">/)
  for (const [id, type] of [['name', 'text'], ['avatar', 'file'], ['document', 'file'], ['contract', 'file']]) {
    t.match(html, new RegExp(`<label for="${id}">`), `a label for ${id}`)
    t.match(html, new RegExp(`<input type="${type}" name="${id}" id="${id}" aria-describedby="${id}-hint ${id}-error"`), `an input for ${id}`)
  }
  t.match(html, /data-max-size="2000000" data-max-size-text="2 MB"/, 'the browser check gets the field\'s limit')
  t.match(html, '<link rel="stylesheet" href="/static/css/app.css">')
  t.match(html, '<script type="module" src="/static/js/upload.js"></script>')
  t.match(html, 'No profiles yet.')

  const css = await app.inject('/static/css/app.css')
  t.equal(css.statusCode, 200)
  t.equal(css.headers['cache-control'], 'no-cache', 'development: always revalidated')
})

t.test('without a bucket the video field is an explanation: no input, no direct routes, connect-src \'self\' only', async (t) => {
  const { app } = await demo(t)
  const res = await app.inject('/')
  t.match(res.body, /<p class="label">Video<\/p>\s*<p class="hint" id="video-hint">Videos go from the browser straight to an S3 bucket: start the demo with\s*<code>MEDIA_S3_BUCKET<\/code>/)
  t.notMatch(res.body, /id="video"/, 'nothing to choose a video with')
  t.match(res.headers['content-security-policy'], "connect-src 'self';")
  t.equal((await app.inject({ method: 'POST', url: '/direct/presign', payload: {} })).statusCode, 404)
})

t.test('a profile is saved from a plain form post: files stored, the record names them, the page lists them', async (t) => {
  const { app, mediaRoot, dataDir, privateRoot } = await demo(t)
  const res = await postForm(app, '/profiles', [name(' Ada '), png, pdf, contract])
  t.equal(res.statusCode, 303, res.body)
  const [record] = records(dataDir)
  t.equal(res.headers.location, `/?saved=${record!.id}#profile-${record!.id}`)
  t.match(record, { name: 'Ada', avatar: 'avatars/ada.png', document: `docs/${month()}/notes.pdf`, contract: 'contracts/contract.pdf', created: String })
  t.same(filesUnder(mediaRoot), ['avatars/ada.png', 'avatars/ada.png@thumb.webp', `docs/${month()}/notes.pdf`])
  t.same(filesUnder(privateRoot), ['contracts/contract.pdf'])

  const html = (await app.inject(res.headers.location as string)).body
  t.match(html, '<p class="notice" role="status">Profile saved.</p>')
  t.match(html, `<li class="profile" id="profile-${record!.id}">`)
  t.match(html, '<img class="avatar" src="/media/avatars/ada.png@thumb.webp" alt="Avatar of Ada" width="96" height="96">')
  t.match(html, 'Avatar: 200 × 133 px, 54.3 kB')
  t.match(html, `<a class="document-link" href="/media/docs/${month()}/notes.pdf" download="notes.pdf">notes.pdf</a> (PDF, 7.9 kB)`)
  const contractUrl = /class="contract-link" href="([^"]+)"/.exec(html)?.[1]?.replaceAll('&amp;', '&')
  t.match(contractUrl, /^\/private\/contracts\/contract\.pdf\?expires=\d+&signature=[\w-]{43}$/)
  const signed = await app.inject(contractUrl!)
  t.equal(signed.statusCode, 200)
  t.same(signed.rawPayload, fixture('fixture-minimal.pdf'))
  t.equal((await app.inject('/private/contracts/contract.pdf')).statusCode, 403)
})

t.test('the page\'s script gets JSON: 201 with where to go, or the field and a message in plain words', async (t) => {
  const { app, dataDir } = await demo(t)
  const post = async (parts: Part[]) => {
    const { payload, headers } = multipart(parts)
    return await app.inject({ method: 'POST', url: '/profiles', payload, headers: { ...headers, accept: 'application/json' } })
  }
  const ok = await post([name('Ada'), png])
  t.equal(ok.statusCode, 201)
  const id = records(dataDir)[0]!.id
  t.same(ok.json(), { id, location: `/?saved=${id}#profile-${id}` })
  t.equal(ok.headers.location, `/?saved=${id}#profile-${id}`)

  const bad = await post([name('Ada'), { ...png, content: fixture('fixture.exe') }])
  t.equal(bad.statusCode, 400)
  t.same(bad.json(), { statusCode: 400, code: 'FST_MEDIA_INVALID_TYPE', field: 'avatar', message: 'This file is not a JPEG, PNG, WebP, GIF or AVIF image, whatever its name says.' })

  const notForm = await app.inject({ method: 'POST', url: '/profiles', payload: '{}', headers: { 'content-type': 'application/json', accept: 'application/json' } })
  t.equal(notForm.statusCode, 415)
  t.same(notForm.json(), { statusCode: 415, code: 'FST_MEDIA_NOT_MULTIPART', message: 'The form must be sent as multipart/form-data.' })
})

t.test('each refusal is a message in plain words next to its field, and nothing is stored', async (t) => {
  const jpg = fixture('fixture.jpg')
  const cases: Array<{ what: string, parts: Part[], field: string, status: number, code: string, message: string }> = [
    { what: 'an .exe named .png', parts: [name('Ada'), pdf, { ...png, content: fixture('fixture.exe') }], field: 'avatar', status: 400, code: 'FST_MEDIA_INVALID_TYPE', message: 'This file is not a JPEG, PNG, WebP, GIF or AVIF image, whatever its name says.' },
    { what: 'a JPEG named .png', parts: [name('Ada'), { ...png, content: jpg }], field: 'avatar', status: 400, code: 'FST_MEDIA_EXTENSION_MISMATCH', message: 'The file&#39;s name does not match its content. Give a JPEG, PNG, WebP, GIF or AVIF image its usual extension (.jpg, .jpeg, .png, .webp, .gif, .avif).' },
    { what: 'an avatar over 2 MB', parts: [name('Ada'), { ...png, content: Buffer.concat([fixture('fixture.png'), Buffer.alloc(2_000_000)]) }], field: 'avatar', status: 413, code: 'FST_MEDIA_FILE_TOO_LARGE', message: 'This file is larger than 2 MB. Choose a smaller one.' },
    { what: 'no avatar', parts: [name('Ada'), pdf], field: 'avatar', status: 400, code: 'FST_MEDIA_FIELD_REQUIRED', message: 'Choose a JPEG, PNG, WebP, GIF or AVIF image.' },
    { what: 'a PNG of 10000 x 10000 pixels', parts: [name('Ada'), { ...png, content: pngClaiming(10_000, 10_000) }], field: 'avatar', status: 400, code: 'FST_MEDIA_INVALID_IMAGE', message: 'This image cannot be read, or it has too many pixels.' },
    { what: 'an image as the document', parts: [name('Ada'), png, { ...pdf, filename: 'scan.jpg', content: jpg }], field: 'document', status: 400, code: 'FST_MEDIA_INVALID_TYPE', message: 'This file is not a PDF, whatever its name says.' },
    { what: 'an empty contract', parts: [name('Ada'), png, { ...contract, content: '', filename: 'empty.pdf' }], field: 'contract', status: 400, code: 'FST_MEDIA_FILE_TOO_SMALL', message: 'This file is empty.' },
    { what: 'a name of dots', parts: [name('Ada'), { ...png, filename: '...' }], field: 'avatar', status: 400, code: 'FST_MEDIA_INVALID_NAME', message: 'Rename the file: its name has no letters or digits.' },
    { what: 'two avatars', parts: [name('Ada'), png, png], field: 'avatar', status: 400, code: 'FST_MEDIA_TOO_MANY_FILES', message: 'Choose one file only.' },
    { what: 'no name', parts: [png], field: 'name', status: 400, code: 'FST_ERR_VALIDATION', message: 'Enter a name of 1 to 100 characters.' },
    { what: 'a blank name', parts: [name('   '), png], field: 'name', status: 400, code: 'FST_ERR_VALIDATION', message: 'Enter a name of 1 to 100 characters.' }
  ]
  for (const { what, parts, field, status, code, message } of cases) {
    t.test(what, async (t) => {
      const { app, mediaRoot, privateRoot } = await demo(t)
      const res = await postForm(app, '/profiles', parts)
      t.equal(res.statusCode, status)
      t.match(res.headers['content-type'], /^text\/html/)
      t.match(res.body, `<p class="error" id="${field}-error" data-code="${code}">${message}</p>`)
      t.match(res.body, new RegExp(`id="${field}" aria-describedby="${field}-hint ${field}-error" aria-invalid="true"`))
      t.match(res.body, '<div class="form-error" id="form-error" role="alert" hidden></div>', 'no message above the form')
      t.match(res.body, /<title>Error: /)
      t.same(filesUnder(mediaRoot), [], 'nothing stored, not even a temp file')
      t.same(filesUnder(privateRoot), [])
    })
  }
})

t.test('a refused form keeps the name typed, escaped', async (t) => {
  const { app } = await demo(t)
  const typed = '<script>alert("x")</script>'
  const res = await postForm(app, '/profiles', [name(typed), { ...png, content: fixture('fixture.exe') }])
  t.equal(res.statusCode, 400)
  t.notMatch(res.body, '<script>alert')
  t.match(res.body, 'value="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"')
  const long = await postForm(app, '/profiles', [name('a'.repeat(101)), png])
  t.equal(textOf(long.body, 'name-error'), 'Enter a name of 1 to 100 characters.')
})

t.test('errors about no field go above the form', async (t) => {
  const { app } = await demo(t)
  const notForm = await app.inject({ method: 'POST', url: '/profiles', payload: 'name=Ada', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.equal(notForm.statusCode, 415)
  t.match(notForm.body, '<div class="form-error" id="form-error" role="alert" data-code="FST_MEDIA_NOT_MULTIPART">The form must be sent as multipart/form-data.</div>')
  const unknown = await postForm(app, '/profiles', [name('Ada'), png, { ...pdf, name: 'photo' }])
  t.equal(unknown.statusCode, 400)
  t.equal(textOf(unknown.body, 'form-error'), 'The form sent a file this page does not ask for.')
  const cut = multipart([name('Ada'), png])
  const truncated = await app.inject({ method: 'POST', url: '/profiles', payload: cut.payload.subarray(0, 30_000), headers: cut.headers })
  t.equal(truncated.statusCode, 400)
  t.equal(textOf(truncated.body, 'form-error'), 'The upload was cut off or garbled on the way. Please try again.')
})

t.test('storage trouble is a 500 page in plain words that tells nothing of the cause', async (t) => {
  const { app, mediaRoot } = await demo(t)
  const storage = app.media.storage()
  const save = storage.save
  storage.save = async () => { throw new Error('disk on fire at /secret/path') }
  t.teardown(() => { storage.save = save })
  const res = await postForm(app, '/profiles', [name('Ada'), png])
  t.equal(res.statusCode, 500)
  t.equal(textOf(res.body, 'form-error'), 'Something went wrong on our side. Please try again.')
  t.notMatch(res.body, /disk on fire|secret/)
  t.same(filesUnder(mediaRoot), [])
})

t.test('a record that cannot be written: a 500 in plain words, and the request\'s files are removed', async (t) => {
  const { app, dataDir, mediaRoot } = await demo(t)
  // the store writes profiles.json.<pid>.tmp and renames it: a directory in the way fails the write
  mkdirSync(join(dataDir, `profiles.json.${process.pid}.tmp`), { recursive: true })
  const res = await postForm(app, '/profiles', [name('Ada'), png, pdf])
  t.equal(res.statusCode, 500)
  t.equal(textOf(res.body, 'form-error'), SERVER_TROUBLE)
  t.same(filesUnder(mediaRoot), [])
  t.equal((await postForm(app, '/profiles', [name('Ada'), png])).statusCode, 500, 'a failed write does not wedge later ones')
  rmSync(join(dataDir, `profiles.json.${process.pid}.tmp`), { recursive: true })
  t.equal((await postForm(app, '/profiles', [name('Ada'), png])).statusCode, 303)
})

t.test('the form\'s limits are messages too; an error the page does not know gets a general one', async (t) => {
  const { app } = await demo(t)
  const parts = [name('Ada'), ...Array.from({ length: 10 }, (_, i) => name(`extra${i}`))]
  const many = await postForm(app, '/profiles', parts.map((part, i) => ({ ...part, name: i === 0 ? 'name' : `field${i}` })))
  t.equal(many.statusCode, 413)
  t.equal(textOf(many.body, 'form-error'), 'The form is too large: too many fields, a text too long, or more than 40 MB in all.')
  t.same(describeError({ statusCode: 418, code: 'FST_SOMETHING_NEW', message: 'avatar: teapot' }),
    { field: undefined, message: 'The form was refused. Please check it and try again.', code: 'FST_SOMETHING_NEW', status: 418 })
  t.same(describeError(new Error('no status')), { field: undefined, message: SERVER_TROUBLE, code: undefined, status: 500 })
})

t.test('the field a message goes next to is the error\'s `field`, never a guess from its text', async (t) => {
  t.same(describeError({ statusCode: 400, code: 'FST_MEDIA_FILE_TOO_SMALL', field: 'contract', message: 'whatever the text says' }),
    { field: 'contract', message: 'This file is empty.', code: 'FST_MEDIA_FILE_TOO_SMALL', status: 400 })
  t.same(describeError({ statusCode: 400, code: 'FST_MEDIA_TOO_MANY_FILES', field: null, message: 'avatar: too many files (at most 3)' }),
    { field: undefined, message: 'The form sent too many files.', code: 'FST_MEDIA_TOO_MANY_FILES', status: 400 }, 'a request-wide refusal goes above the form')
  t.same(describeError({ statusCode: 400, code: 'FST_MEDIA_UNKNOWN_FIELD', field: 'photo', message: 'photo: the model declares no such file field' }),
    { field: undefined, message: 'The form sent a file this page does not ask for.', code: 'FST_MEDIA_UNKNOWN_FIELD', status: 400 }, 'a field the page does not show goes above the form')
})

t.test('profiles survive a restart: the record\'s names load the files again', async (t) => {
  const dirs = demoDirs(t)
  const first = await buildApp({ ...dirs, mode: 'development' })
  t.equal((await postForm(first, '/profiles', [name('Ada'), png, pdf])).statusCode, 303)
  t.equal((await postForm(first, '/profiles', [name('Grace'), { ...png, filename: 'grace.png' }])).statusCode, 303)
  await first.close()

  const { app } = await demo(t, dirs)
  const html = (await app.inject('/')).body
  t.match(html, 'Avatar of Ada')
  t.match(html, `/media/docs/${month()}/notes.pdf`)
  t.ok(html.indexOf('Avatar of Grace') < html.indexOf('Avatar of Ada'), 'newest first')
})

t.test('the store keeps every record of concurrent saves and removals', async (t) => {
  const file = join(tempDir(t), 'data', 'profiles.json')
  const store = await new ProfileStore(file).open()
  const names = Array.from({ length: 8 }, (_, i) => `P${i}`)
  const added = await Promise.all(names.map(async (n) => await store.add({ name: n })))
  await Promise.all([store.remove(added[0]!.id), store.remove(added[1]!.id), store.add({ name: 'Q' })])
  const expected = [...names.slice(2), 'Q']
  t.same(store.all().map((record) => record.name).sort(), expected)
  t.same((await new ProfileStore(file).open()).all().map((record) => record.name).sort(), expected, 'as written to disk')
  t.equal(await store.remove('no-such-id'), undefined)
})

t.test('Delete removes the record and its files, public and private', async (t) => {
  const { app, mediaRoot, privateRoot, dataDir } = await demo(t)
  await postForm(app, '/profiles', [name('Ada'), png, pdf, contract])
  await postForm(app, '/profiles', [name('Grace'), { ...png, filename: 'grace.png' }])
  const ada = records(dataDir).find((record) => record.name === 'Ada')!
  const res = await app.inject({ method: 'POST', url: `/profiles/${ada.id}/delete`, payload: '', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.equal(res.statusCode, 303)
  t.equal(res.headers.location, '/?deleted=1#profiles')
  t.same(filesUnder(mediaRoot), ['avatars/grace.png', 'avatars/grace.png@thumb.webp'])
  t.same(filesUnder(privateRoot), [])
  t.same(records(dataDir).map((record) => record.name), ['Grace'])
  t.match((await app.inject(res.headers.location as string)).body, 'Profile deleted, with its files.')

  const again = await app.inject({ method: 'POST', url: `/profiles/${ada.id}/delete` })
  t.equal(again.statusCode, 404)
})

t.test('a file gone from its storage shows as missing; the page still works', async (t) => {
  const { app, mediaRoot, privateRoot } = await demo(t)
  await postForm(app, '/profiles', [name('Ada'), png, pdf, contract])
  rmSync(join(mediaRoot, 'avatars', 'ada.png'))
  rmSync(join(mediaRoot, 'docs', month(), 'notes.pdf'))
  rmSync(join(privateRoot, 'contracts', 'contract.pdf'))
  const res = await app.inject('/')
  t.equal(res.statusCode, 200)
  t.match(res.body, 'aria-label="Avatar file missing"')
  t.match(res.body, '<li>Document: file missing</li>')
  t.match(res.body, '<li>Contract: file missing</li>')
})

t.test('a damaged profiles.json stops the app rather than being overwritten', async (t) => {
  const dirs = demoDirs(t)
  const { app } = await demo(t, dirs)
  await app.close()
  const file = join(dirs.dataDir, 'profiles.json')
  writeFileSync(file, '[1, 2')
  await t.rejects(buildApp(dirs), SyntaxError)
  writeFileSync(file, '{"people": []}')
  await t.rejects(buildApp(dirs), { message: /not a profiles file/ })
  t.equal(readFileSync(file, 'utf8'), '{"people": []}')
  rmSync(file)
  mkdirSync(file)
  await t.rejects(buildApp(dirs), { code: 'EISDIR' })
})

t.test('sizes read in the units of the field options; avatars show their thumbnail variant', async (t) => {
  t.equal(humanSize(999), '999 B')
  t.equal(humanSize(54318), '54.3 kB')
  t.equal(humanSize(20_000_000), '20 MB')
  t.equal(avatarSrc({ url: '/media/avatars/a.png', thumb: '/media/avatars/a.png@thumb.webp' }), '/media/avatars/a.png@thumb.webp')
})

/** Runs a command from the repository root; resolves with its exit and output. */
async function run (args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (chunk) => { out += chunk })
  child.stderr.on('data', (chunk) => { out += chunk })
  const [code] = await once(child, 'exit')
  return { code, out }
}

t.test('npm start\'s steps: collectstatic through the CLI, then production on 127.0.0.1, stopped by SIGTERM', async (t) => {
  const dirs = demoDirs(t)
  const env = { MEDIA_ROOT: dirs.mediaRoot, DATA_DIR: dirs.dataDir, STATIC_ROOT: dirs.staticRoot }
  // main.js listens on PORT at its top level: under the CLI nothing binds it, so a server already there
  // (the demo running while you collect) is no trouble
  const holder = createServer().listen(0, '127.0.0.1')
  await once(holder, 'listening')
  t.teardown(() => holder.close())
  const taken = String((holder.address() as { port: number }).port)
  const ignore = START_IGNORE.flatMap((pattern) => ['--ignore', pattern])
  t.ok(ignore.length > 0, 'npm start leaves out what the page does not load of tus-js-client\'s dist')
  const collected = await run([join('dist', 'bin.js'), 'collectstatic', join('example', 'main.js'), ...ignore], { ...env, PORT: taken })
  t.equal(collected.code, 0, collected.out)
  t.same(collected.out.split('\n').filter((line) => line !== '' && !/NodeVersionSupportWarning|node >=22|^\s|trace-warnings/.test(line)), ['7 copied, 0 unmodified, 7 post-processed'], 'the summary, and no server log')
  t.same(filesUnder(join(dirs.staticRoot, 'vendor')).filter((name) => !/\.[0-9a-f]{12}\.|\.(br|gz)$/.test(name)), ['tus/tus.min.js', 'tus/tus.min.js.map'], 'of tus-js-client, the script the page loads and its source map')

  const child = spawn(process.execPath, [MAIN], { env: { ...process.env, ...env, NODE_ENV: 'production', PORT: '0' }, stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const exited = once(child, 'exit')
  let url: string | undefined
  for await (const line of createInterface({ input: child.stdout })) {
    url = /production mode\): open (http:\/\/127\.0\.0\.1:\d+\/) in a browser/.exec(line)?.[1]
    if (url !== undefined) break
  }
  t.ok(url, 'the URL is logged')
  const page = await (await fetch(url!)).text()
  const css = /<link rel="stylesheet" href="(\/static\/css\/app\.[0-9a-f]{12}\.css)">/.exec(page)?.[1]
  t.ok(css, 'the stylesheet has its hashed name')
  const res = await fetch(new URL(css!, url), { headers: { 'accept-encoding': 'br' } })
  t.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable')
  t.equal(res.headers.get('content-encoding'), 'br')
  child.kill('SIGTERM')
  t.same(await exited, [0, null], 'a clean exit')
})

t.test('server.js only builds apps: imported, nothing listens (main.js is the module that does)', async (t) => {
  const dirs = demoDirs(t)
  const code = `const { buildApp } = await import(${JSON.stringify(pathToFileURL(SERVER).href)})
const app = await buildApp(${JSON.stringify({ ...dirs, mode: 'development' })})
console.log(app.server.listening, (await app.inject('/')).statusCode)
await app.close()`
  const { code: exit, out } = await run(['--input-type=module', '-e', code], {})
  t.equal(exit, 0)
  t.equal(out.trim(), 'false 200')
})
