// Behind a real nginx (Debian's), with the config `fastify-media nginx` prints for the app of
// test/fixtures/cli-apps/nginx-app.mjs: what nginx sends itself, with which headers, what it refuses, and
// what it hands to the app.
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pathToFileURL } from 'node:url'
import sharp from 'sharp'
import { request } from 'undici'
import { filesUnder, FIXTURES, tempDir, type Tap } from './helpers.js'
import { body, BOUNDARY, CLOSING, listen, MULTIPART, PART_END, partHead, within } from './http-helpers.js'
import { cli } from './cli-run.js'
import { nginxHere, startNginx, testConfig } from './nginx-server.js'

const APP = join('test', 'fixtures', 'cli-apps', 'nginx-app.mjs')
const PDF = readFileSync(join(FIXTURES, 'fixture-minimal.pdf'))
const PNG = readFileSync(join(FIXTURES, 'fixture.png'))
// the headers that make a stored file safe to serve, and what it is served as
const SAFE = ['content-type', 'x-content-type-options', 'content-security-policy', 'cross-origin-resource-policy', 'cache-control', 'content-disposition']
// what each server says of itself, the connection and the validators (their formats differ: send's ETag is not nginx's)
const TRANSPORT = ['date', 'server', 'connection', 'keep-alive', 'content-length', 'transfer-encoding', 'etag', 'last-modified', 'accept-ranges']

// a file of each kind of answer: inline (PDF, PNG, UTF-8 text, JPEG) and attachment (SVG)
const FILES = [
  { filename: 'r.pdf', content: PDF },
  { filename: 'p.png', content: PNG },
  { filename: 'notes.txt', content: 'plain text, UTF-8: é\n' },
  { filename: 'd.svg', content: '<svg xmlns="http://www.w3.org/2000/svg"/>' },
  // stored as SCAN.jpg: an alias of the extension, canonicalised
  { filename: 'SCAN.JPEG', content: readFileSync(join(FIXTURES, 'fixture.jpg')) }
]

const headerNames = (headers: Record<string, string>): string[] => Object.keys(headers).filter((header) => !TRANSPORT.includes(header)).sort()

interface Setup {
  dir: string
  app: FastifyInstance
  /** Straight to the app, past nginx. */
  appOrigin: string
  /** Through nginx. */
  origin: string
  /** Requests the app has seen. */
  seen: string[]
  fragment: string
  stderr: string
}

/** The app on its own port, collected; its config from the CLI; nginx in front of it. Undefined without nginx. */
async function setup (t: Tap, { staged = true, server = '' }: { staged?: boolean, server?: string } = {}): Promise<Setup | undefined> {
  if (!nginxHere(t)) return undefined
  const dir = tempDir(t)
  mkdirSync(join(dir, 'static', 'css'), { recursive: true })
  // large enough for a .gz beside it
  writeFileSync(join(dir, 'static', 'css', 'app.css'), '.a { color: red }\n'.repeat(200))
  const env = { CLI_APP_DIR: dir, NGINX_APP_STAGED: String(staged) }
  Object.assign(process.env, env)
  t.teardown(() => { for (const name of Object.keys(env)) Reflect.deleteProperty(process.env, name) })
  const { default: buildApp } = await import(pathToFileURL(join(FIXTURES, 'cli-apps', 'nginx-app.mjs')).href) as { default: () => FastifyInstance }
  const app = buildApp()
  const seen: string[] = []
  t.teardown(async () => await app.close())
  await app.ready()
  // every request the app's server receives, however the app answers it
  app.server.on('request', (request: { method: string, url: string }) => { seen.push(`${request.method} ${request.url}`) })
  await app.media.collectstatic()
  const { origin: appOrigin, port } = await listen(app)
  const generated = await cli(['nginx', APP, '--upstream', `127.0.0.1:${port}`], env)
  t.equal(generated.code, 0, generated.stderr)
  // `server`: lines of the including server block, before the include
  const { origin } = await startNginx(t, server + generated.stdout)
  return { dir, app, appOrigin, origin, seen, fragment: generated.stdout, stderr: generated.stderr }
}

async function get (url: string, headers: Record<string, string> = {}): Promise<{ status: number, headers: Record<string, string>, body: Buffer }> {
  const res = await request(url, { headers })
  const bytes = Buffer.from(await res.body.arrayBuffer())
  return { status: res.statusCode, headers: res.headers as Record<string, string>, body: bytes }
}

async function upload (origin: string, path: string, parts: Array<{ name: string, filename?: string, content: Buffer | string }>): Promise<{ status: number, json: Record<string, unknown> }> {
  const res = await request(`${origin}${path}`, { method: 'POST', headers: { 'content-type': MULTIPART }, body: body(parts) })
  return { status: res.statusCode, json: await res.body.json() as Record<string, unknown> }
}

/** A request line sent as it is, so no client normalises `..` or `%2e` first; the status and the body. */
async function raw (origin: string, path: string): Promise<{ status: number, text: string }> {
  const { port } = new URL(origin)
  const socket = connect(Number(port), '127.0.0.1')
  // not end(): a Node server drops a request whose client half-closed before the answer; Connection: close ends it
  socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`)
  const chunks: Buffer[] = []
  for await (const chunk of socket) chunks.push(chunk as Buffer)
  const text = Buffer.concat(chunks).toString('latin1')
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]), text }
}

t.test('the generated config passes nginx -t, and a staged setup gets no warning', async (t) => {
  const s = await setup(t)
  if (s === undefined) return
  const checked = testConfig(t, s.fragment)
  t.equal(checked.status, 0, checked.output)
  t.match(checked.output, /test is successful/)
  t.notMatch(checked.output, /\[warn\]/, 'not even a warning')
  t.equal(s.stderr, '', 'no warning on stderr')
})

t.test('a hashed static file is sent by nginx, immutable; the original name is kept 60 s; no request reaches the app', async (t) => {
  const s = await setup(t)
  if (s === undefined) return
  const manifest = JSON.parse(readFileSync(join(s.dir, 'staticfiles', 'staticfiles.json'), 'utf8')) as { paths: Record<string, string> }
  const hashed = manifest.paths['css/app.css'] as string
  const before = s.seen.length
  const res = await get(`${s.origin}/static/${hashed}`)
  t.equal(res.status, 200)
  t.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable')
  t.equal(res.headers['access-control-allow-origin'], '*')
  t.ok(res.body.equals(readFileSync(join(s.dir, 'staticfiles', hashed))), 'the collected file')
  const gz = await get(`${s.origin}/static/${hashed}`, { 'accept-encoding': 'gzip' })
  t.equal(gz.headers['content-encoding'], 'gzip', 'its .gz to a gzip client')
  t.ok(gz.body.equals(readFileSync(join(s.dir, 'staticfiles', `${hashed}.gz`))), 'the .gz collectstatic wrote')
  t.match(gz.headers.vary, /accept-encoding/i)
  const original = await get(`${s.origin}/static/css/app.css`)
  t.equal(original.status, 200)
  t.equal(original.headers['cache-control'], 'public, max-age=60', 'a name that is not hashed: short')
  const ours = await get(`${s.appOrigin}/static/${hashed}`)
  t.equal(res.headers['content-type'], ours.headers['content-type'], `the Content-Type the app sends (${String(ours.headers['content-type'])})`)
  t.same(s.seen.slice(before), [`GET /static/${hashed}`], 'the only request the app saw is the one sent to it directly')
  t.equal((await get(`${s.origin}/static/.collectstatic.lock`)).status, 404, 'no dotfile')
})

t.test('a server block\'s own add_header (HSTS) reaches the app\'s answers but not the files nginx sends: nginx drops it where a location adds headers', async (t) => {
  const s = await setup(t, { server: 'add_header Strict-Transport-Security "max-age=63072000" always;\n' })
  if (s === undefined) return
  const stored = await upload(s.origin, '/upload', [{ name: 'doc', filename: 'r.pdf', content: PDF }])
  t.equal(stored.status, 201, JSON.stringify(stored.json))
  const hsts = 'strict-transport-security'
  t.equal((await get(`${s.origin}/upload`)).headers[hsts], 'max-age=63072000', 'on an answer of the app (its 404)')
  t.notOk(hsts in (await get(`${s.origin}/media/docs/r.pdf`)).headers, 'not on public media')
  t.notOk(hsts in (await get(`${s.origin}/static/css/app.css`)).headers, 'not on static files')
})

t.test('an HTML file named x.png is refused at upload through nginx, as without it', async (t) => {
  const s = await setup(t)
  if (s === undefined) return
  const html = [{ name: 'doc', filename: 'x.png', content: '<html><script>alert(1)</script></html>' }]
  const res = await upload(s.origin, '/upload', html)
  const direct = await upload(s.appOrigin, '/upload', html)
  t.equal(res.json.code, 'FST_MEDIA_EXTENSION_MISMATCH', JSON.stringify(res.json))
  t.equal(res.status, 400)
  t.same(res, direct, 'the same answer as from the app alone')
  t.same(filesUnder(join(s.dir, 'media')).filter((path) => !path.startsWith('.')), [], 'nothing stored')
})

t.test('an upload over nginx\'s default 1 MiB limit reaches the app: its own maxSize refuses with its own code', async (t) => {
  const s = await setup(t)
  if (s === undefined) return
  const fits = await upload(s.origin, '/upload', [{ name: 'big', filename: 'fits.txt', content: 'x'.repeat(1_500_000) }])
  t.equal(fits.status, 201, `1.5 MB under a 2 MB maxSize: ${JSON.stringify(fits.json)}`)
  const over = [{ name: 'big', filename: 'over.txt', content: 'x'.repeat(3_000_000) }]
  const refused = await upload(s.origin, '/upload', over)
  t.equal(refused.json.code, 'FST_MEDIA_FILE_TOO_LARGE', JSON.stringify(refused.json))
  const direct = await upload(s.appOrigin, '/upload', over)
  // all but `bytes`: how far the count got before the cut depends on how the bytes arrived
  const { bytes: _, ...answer } = refused.json
  const { bytes: __, ...directAnswer } = direct.json
  t.same({ status: refused.status, ...answer }, { status: direct.status, ...directAnswer }, `the answer the app gives without nginx (${direct.status})`)
  t.same(filesUnder(join(s.dir, 'media', 'big')), ['fits.txt'], 'the refused file left nothing')
})

t.test('uploaded files are sent by nginx with the headers of the app\'s media route, header by header', async (t) => {
  const s = await setup(t)
  if (s === undefined) return
  const stored: string[] = []
  for (const file of FILES) {
    const res = await upload(s.origin, '/upload', [{ name: 'doc', ...file }])
    t.equal(res.status, 201, JSON.stringify(res.json))
    stored.push((res.json.doc as { name: string }).name)
  }
  // names the app saves itself keep their case: nginx's types and its inline rule must not care
  stored.push(await s.app.media.storage().save('docs/UPPER.PDF', PDF), await s.app.media.storage().save('docs/UPPER.SVG', Buffer.from('<svg/>')))
  for (const name of stored) {
    const before = s.seen.length
    const viaNginx = await get(`${s.origin}/media/${name}`)
    t.equal(s.seen.length, before, `${name}: nginx sent it, the app saw no request`)
    const fromApp = await get(`${s.appOrigin}/media/${name}`)
    t.equal(viaNginx.status, 200)
    t.ok(viaNginx.body.equals(readFileSync(join(s.dir, 'media', name))), `${name}: the bytes stored`)
    for (const header of SAFE) t.equal(viaNginx.headers[header], fromApp.headers[header], `${name}: ${header} ${String(fromApp.headers[header])}`)
    // and no header of either answer is missing from the other, but the connection's and the validators'
    t.same(headerNames(viaNginx.headers), headerNames(fromApp.headers), `${name}: the same headers`)
    for (const validator of ['etag', 'last-modified', 'accept-ranges']) t.ok(validator in viaNginx.headers, `${name}: nginx sends ${validator} too`)
  }
})

t.test('a public storage with serve: \'x-accel\': each request reaches the app, nginx sends the bytes with the headers of the media route it serves itself', async (t) => {
  const s = await setup(t)
  if (s === undefined) return
  for (const file of FILES) {
    const direct = await upload(s.origin, '/upload', [{ name: 'doc', ...file }])
    const checked = await upload(s.origin, '/upload', [{ name: 'shared', ...file }])
    t.equal(checked.status, 201, JSON.stringify(checked.json))
    const name = (checked.json.shared as { name: string }).name
    t.equal(name, (direct.json.doc as { name: string }).name, 'the same name in both storages')
    const before = s.seen.length
    const viaApp = await get(`${s.origin}/shared/${name}`)
    t.same(s.seen.slice(before), [`GET /shared/${name}`], `${name}: the app decided`)
    const fromApp = await get(`${s.appOrigin}/shared/${name}`)
    t.equal(fromApp.headers['x-accel-redirect'], `/_fastify-media/shared/${name}`, `${name}: the app hands it to nginx`)
    t.equal(fromApp.body.length, 0, `${name}: without a byte of it`)
    const bySelf = await get(`${s.origin}/media/${name}`)
    t.equal(viaApp.status, 200)
    t.ok(viaApp.body.equals(Buffer.from(file.content)), `${name}: the bytes uploaded, sent by nginx`)
    for (const header of SAFE) t.equal(viaApp.headers[header], bySelf.headers[header], `${name}: ${header} ${String(bySelf.headers[header])}`)
    t.same(headerNames(viaApp.headers), headerNames(bySelf.headers), `${name}: the same headers`)
  }
})

t.test('a lazy variant of a storage nginx serves itself: its first request reaches the app, which makes it; later ones are nginx\'s alone', async (t) => {
  const s = await setup(t)
  if (s === undefined) return
  const stored = await upload(s.origin, '/upload', [{ name: 'photo', filename: 'dot.png', content: PNG }])
  t.equal(stored.status, 201, JSON.stringify(stored.json))
  const url = (stored.json.photo as { variants: { thumb: { url: string } } }).variants.thumb.url
  t.match(url, /^\/media\/photos\/dot\.png@thumb\.webp$/)
  let before = s.seen.length
  const first = await get(`${s.origin}${url}`)
  t.equal(first.status, 200, 'made on its first request, through nginx')
  t.equal(first.headers['content-type'], 'image/webp')
  t.same(await sharp(first.body).metadata().then(({ format, width, height }) => ({ format, width, height })), { format: 'webp', width: 16, height: 16 })
  t.same(s.seen.slice(before), [`GET ${url}`], 'nginx did not have it: the app was asked')
  before = s.seen.length
  const later = await get(`${s.origin}${url}`)
  t.equal(later.status, 200)
  t.ok(later.body.equals(first.body), 'the stored variant')
  t.same(s.seen.slice(before), [], 'sent by nginx alone')
  const missing = await get(`${s.origin}/media/photos/none.png`)
  t.equal(missing.status, 404, 'any other missing file: the app\'s 404')
  t.same(s.seen.slice(before), ['GET /media/photos/none.png'])
})

t.test('traversal, encoded traversal, dot paths and a planted symlink never reach a file outside the media root nor under a dot path', async (t) => {
  const s = await setup(t)
  if (s === undefined) return
  const media = join(s.dir, 'media')
  const outside = join(tempDir(t), 'secret.txt')
  writeFileSync(outside, 'TOP SECRET outside the root\n')
  mkdirSync(join(media, 'docs'), { recursive: true })
  symlinkSync(outside, join(media, 'docs', 'link.txt'))
  symlinkSync(join(outside, '..'), join(media, 'linkdir'))
  mkdirSync(join(media, '.tmp'), { recursive: true })
  writeFileSync(join(media, '.tmp', 'scratch.txt'), 'TOP SECRET scratch\n')
  mkdirSync(join(media, '.direct'), { recursive: true })
  writeFileSync(join(media, '.direct', 'browser.txt'), 'TOP SECRET direct upload\n')
  const paths = [
    '/media/../etc/passwd',
    '/media/../../../../etc/passwd',
    '/media/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    '/media/..%2f..%2f..%2f..%2fetc%2fpasswd',
    '/media/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    '/media/docs/link.txt',
    '/media/linkdir/secret.txt',
    '/media/.tmp/scratch.txt',
    '/media/%2etmp/scratch.txt',
    '/media/docs/..%2f.tmp/scratch.txt',
    '/media/.direct/browser.txt',
    '/media/%2Edirect/browser.txt'
  ]
  for (const path of paths) {
    const res = await raw(s.origin, path)
    t.not(res.status, 200, `${path}: ${res.status}`)
    t.notMatch(res.text, /TOP SECRET|root:x:0/, `${path}: no byte of it`)
  }
})

t.test('a directory\'s URL gets the app\'s answer through nginx: no listing, no index file', async (t) => {
  const s = await setup(t)
  if (s === undefined) return
  const stored = await upload(s.origin, '/upload', [{ name: 'doc', filename: 'r.pdf', content: PDF }])
  t.equal(stored.status, 201, JSON.stringify(stored.json))
  // an index file the app itself saved (uploads are never named .html): nginx's `index` would send it for docs/
  await s.app.media.storage().save('docs/index.html', Buffer.from('<h1>an index</h1>'))
  for (const path of ['/media/', '/media/docs/', '/static/', '/static/css/']) {
    const fromApp = await raw(s.appOrigin, path)
    const viaNginx = await raw(s.origin, path)
    t.ok(fromApp.status === 403 || fromApp.status === 404, `${path}: the app refuses it (${fromApp.status})`)
    t.equal(viaNginx.status, fromApp.status, `${path}: nginx answers ${fromApp.status} too`)
    t.notMatch(viaNginx.text, /an index|r\.pdf/, `${path}: nothing of what the directory holds`)
  }
})

t.test('a private file: the app checks the signature and answers X-Accel-Redirect; nginx sends it; a forged signature is the app\'s 403; a planted link is not followed', async (t) => {
  const s = await setup(t)
  if (s === undefined) return
  const stored = await upload(s.origin, '/secret', [{ name: 'file', filename: 'contract.pdf', content: PDF }])
  t.equal(stored.status, 201, JSON.stringify(stored.json))
  const url = stored.json.url as string
  const viaNginx = await get(`${s.origin}${url}`)
  t.equal(viaNginx.status, 200)
  t.ok(viaNginx.body.equals(PDF), 'the file, sent by nginx')
  t.equal(viaNginx.headers['content-type'], 'application/pdf')
  t.equal(viaNginx.headers['cache-control'], 'private, no-store', 'the app\'s Cache-Control, once')
  t.equal(viaNginx.headers['x-content-type-options'], 'nosniff')
  t.equal(viaNginx.headers['content-security-policy'], "default-src 'none'; sandbox")
  t.notOk('x-accel-redirect' in viaNginx.headers, 'nginx does not pass the header on')
  const range = await get(`${s.origin}${url}`, { range: 'bytes=0-3' })
  t.equal(range.status, 206, 'nginx answers a Range itself')
  t.equal(range.body.toString(), '%PDF')

  const fromApp = await get(`${s.appOrigin}${url}`)
  t.equal(fromApp.status, 200)
  t.equal(fromApp.headers['x-accel-redirect'], `/_fastify-media/private/${stored.json.file as string}`)
  t.equal(fromApp.body.length, 0, 'the app sends no byte of the file')

  const forgedUrl = url.replace(/signature=[^&]+/, 'signature=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')
  t.not(forgedUrl, url)
  const forged = await get(`${s.origin}${forgedUrl}`)
  t.equal(forged.status, 403)
  t.equal(JSON.parse(forged.body.toString()).code, 'FST_MEDIA_BAD_SIGNATURE')
  const svg = await upload(s.origin, '/secret', [{ name: 'file', filename: 'plan.svg', content: '<svg xmlns="http://www.w3.org/2000/svg"/>' }])
  const svgViaNginx = await get(`${s.origin}${svg.json.url as string}`)
  t.equal(svgViaNginx.status, 200)
  t.equal(svgViaNginx.headers['content-type'], 'image/svg+xml', 'an SVG: its type, from the app\'s answer')
  t.equal(svgViaNginx.headers['content-disposition'], 'attachment', 'downloaded, as from the app')

  // a link planted under the private root, behind a valid signature: the app hands it over, nginx refuses it
  const outside = join(tempDir(t), 'outside.pdf')
  writeFileSync(outside, 'TOP SECRET outside the private root\n')
  symlinkSync(outside, join(s.dir, 'private', 'secret', 'link.pdf'))
  const linked = await get(`${s.origin}${await s.app.media.storage('private').url('secret/link.pdf')}`)
  t.not(linked.status, 200, `a signed URL of a planted link: ${linked.status}`)
  t.notOk(linked.body.includes('TOP SECRET'), 'no byte of what the link points at')

  const internal = await get(`${s.origin}/_fastify-media/private/${stored.json.file as string}`)
  t.equal(internal.status, 404, 'the internal location is not reachable from outside')
  t.notOk(internal.body.includes(PDF), 'not a byte of it')
})

/** A request whose first file has been stored, while its last part is still on its way; `finish` sends the rest. */
async function heldUpload (t: Tap, s: Setup, last: { name: string, filename: string, content: Buffer | string }): Promise<{ finish: () => Promise<{ status: number, json: Record<string, unknown> }> }> {
  const storage = s.app.media.config.storages.get('default')!
  const save = storage.save.bind(storage)
  let stored!: () => void
  const firstStored = new Promise<void>((resolve) => { stored = resolve })
  storage.save = async (...args: Parameters<typeof save>) => {
    const name = await save(...args)
    if (name === 'held/first.pdf') stored()
    return name
  }
  t.teardown(() => { storage.save = save })
  const head = Buffer.concat([partHead('held', 'first.pdf', 'application/pdf'), PDF, PART_END, partHead(last.name, last.filename)])
  let release!: () => void
  const rest = new Promise<void>((resolve) => { release = resolve })
  async function * stream (): AsyncGenerator<Buffer> {
    yield head
    await rest
    yield Buffer.concat([Buffer.from(last.content), PART_END, CLOSING])
  }
  const pending = request(`${s.origin}/upload`, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` }, body: Readable.from(stream()) })
  await within(firstStored, 'the first file stored')
  return {
    finish: async () => {
      release()
      const res = await pending
      return { status: res.statusCode, json: await res.body.json() as Record<string, unknown> }
    }
  }
}

t.test('staged: a file of a request still running is not on disk under its name, and nginx does not send it', async (t) => {
  const s = await setup(t)
  if (s === undefined) return
  const held = await heldUpload(t, s, { name: 'more', filename: 'm.pdf', content: PDF })
  t.equal((await get(`${s.origin}/media/held/first.pdf`)).status, 404, 'not served while the request runs')
  t.notOk(filesUnder(join(s.dir, 'media')).includes('held/first.pdf'), 'not under its name on disk')
  const done = await held.finish()
  t.equal(done.status, 201, JSON.stringify(done.json))
  const served = await get(`${s.origin}/media/held/first.pdf`)
  t.equal(served.status, 200, 'served once the request committed')
  t.ok(served.body.equals(PDF))
})

t.test('staged: the files of a refused request are never sent, and nothing of it is left', async (t) => {
  const s = await setup(t)
  if (s === undefined) return
  const held = await heldUpload(t, s, { name: 'more', filename: 'm.pdf', content: '<html>not a pdf</html>' })
  t.equal((await get(`${s.origin}/media/held/first.pdf`)).status, 404)
  const done = await held.finish()
  t.equal(done.status, 400, JSON.stringify(done.json))
  t.equal(done.json.code, 'FST_MEDIA_INVALID_TYPE')
  t.equal((await get(`${s.origin}/media/held/first.pdf`)).status, 404, 'never served')
  t.same(filesUnder(join(s.dir, 'media')).filter((path) => !path.startsWith('.')), [], 'nothing under a name')
})

t.test('not staged (the window the generator warns of): a file of a request still running is sent by nginx before its request commits', async (t) => {
  const s = await setup(t, { staged: false })
  if (s === undefined) return
  t.match(s.stderr, /warning: media \(the default storage\) is not staged/, 'the CLI warned')
  const held = await heldUpload(t, s, { name: 'more', filename: 'm.pdf', content: '<html>not a pdf</html>' })
  t.equal((await get(`${s.appOrigin}/media/held/first.pdf`)).status, 404, 'the app\'s own route hides it')
  const early = await get(`${s.origin}/media/held/first.pdf`)
  t.equal(early.status, 200, 'nginx sends it: it is on disk under its name')
  t.ok(early.body.equals(PDF))
  const done = await held.finish()
  t.equal(done.json.code, 'FST_MEDIA_INVALID_TYPE', 'the request is refused after all')
  t.equal((await get(`${s.origin}/media/held/first.pdf`)).status, 404, 'and its file removed')
})
