import t from 'tap'
import Fastify from 'fastify'
import { writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import fastifyMedia, { Disk, FileField, FileSystemStorage } from '../lib/index.js'
import { signQuery, verifyQuery } from '../lib/storage/signing.js'
import { MapDriver } from './drivers/map-driver.js'
import { fixture, makeApp, tempDir } from './helpers.js'

const KEY = 'a-signing-key-of-32-bytes-length'

t.test('media is served with safe headers', async (t) => {
  const { app, dir } = await makeApp(t)
  const media = join(dir, 'media')
  mkdirSync(join(media, 'd'), { recursive: true })
  writeFileSync(join(media, 'd/a.png'), fixture('fixture.png'))
  writeFileSync(join(media, 'd/r.pdf'), fixture('fixture.pdf'))
  writeFileSync(join(media, 'd/logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
  writeFileSync(join(media, 'd/a.zip'), fixture('fixture.zip'))
  writeFileSync(join(media, 'd/n.txt'), 'notes')
  writeFileSync(join(media, 'd/page.html'), '<script>alert(1)</script>')
  const cases: Array<[string, string, boolean]> = [
    ['d/a.png', 'image/png', false],
    ['d/r.pdf', 'application/pdf', false],
    ['d/n.txt', 'text/plain; charset=utf-8', false],
    ['d/logo.svg', 'image/svg+xml', true],
    ['d/a.zip', 'application/zip', true],
    ['d/page.html', 'application/octet-stream', true]
  ]
  for (const [name, type, attachment] of cases) {
    const res = await app.inject(`/media/${name}`)
    t.equal(res.statusCode, 200, name)
    t.equal(res.headers['content-type'], type, name)
    t.equal(res.headers['x-content-type-options'], 'nosniff')
    t.equal(res.headers['content-security-policy'], "default-src 'none'; sandbox")
    t.equal(res.headers['cross-origin-resource-policy'], 'same-site')
    t.equal(res.headers['cache-control'], 'public, no-cache')
    t.equal(res.headers['content-disposition'], attachment ? 'attachment' : undefined, name)
  }
  const png = await app.inject('/media/d/a.png')
  t.same(png.rawPayload, fixture('fixture.png'))
  const cached = await app.inject({ url: '/media/d/a.png', headers: { 'if-none-match': png.headers.etag as string } })
  t.equal(cached.statusCode, 304, 'conditional GET')
  const range = await app.inject({ url: '/media/d/a.png', headers: { range: 'bytes=0-7' } })
  t.equal(range.statusCode, 206)
  t.same(range.rawPayload, fixture('fixture.png').subarray(0, 8))
})

t.test('no listing, no dotfiles, no temp files, no escape', async (t) => {
  const { app, dir } = await makeApp(t)
  const media = join(dir, 'media')
  mkdirSync(join(media, '.tmp'), { recursive: true })
  writeFileSync(join(media, '.tmp/partial'), 'half')
  writeFileSync(join(media, '.env'), 'SECRET=1')
  writeFileSync(join(dir, 'secret.txt'), 'outside the root')
  for (const url of ['/media/', '/media/.tmp/partial', '/media/.env', '/media/../secret.txt', '/media/%2e%2e/secret.txt', '/media/..%2fsecret.txt', '/media/%2e%2e%2fsecret.txt', '/media/x%00.png']) {
    const res = await app.inject(url)
    t.ok(res.statusCode >= 400 && res.statusCode < 500, `${url}: ${res.statusCode}`)
    t.notMatch(res.body, /half|SECRET|outside the root/)
  }
})

t.test('private files: only a valid, unexpired signature for that file opens them', async (t) => {
  const storage = new FileSystemStorage({ location: 'private', baseUrl: '/private/', public: false })
  const { app } = await makeApp(t, { signingKey: KEY, storages: { private: storage } })
  const M = app.media.model('m', { contract: FileField({ storage: 'private', uploadTo: 'c/' }) })
  const file = await M.fields.contract.save('deal.pdf', fixture('fixture.pdf'))
  const other = await M.fields.contract.save('other.pdf', fixture('fixture-minimal.pdf'))
  const url = file.url as string
  t.match(url, /^\/private\/c\/deal\.pdf\?expires=\d+&signature=[\w-]{43}$/)

  const ok = await app.inject(url)
  t.equal(ok.statusCode, 200)
  t.same(ok.rawPayload, fixture('fixture.pdf'))
  t.equal(ok.headers['cache-control'], 'private, no-store')
  t.equal(ok.headers['x-content-type-options'], 'nosniff')

  const [path, query] = url.split('?') as [string, string]
  const params = new URLSearchParams(query)
  const signature = params.get('signature')!
  const flipped = (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1)
  const bad: Array<[string, string]> = [
    ['missing', path],
    ['no signature', `${path}?expires=${params.get('expires')}`],
    ['malformed', `${path}?expires=${params.get('expires')}&signature=abc`],
    ['altered signature', `${path}?expires=${params.get('expires')}&signature=${flipped}`],
    ['altered expiry', `${path}?expires=${Number(params.get('expires')) + 1000}&signature=${signature}`],
    ['another file', `${(other.url as string).split('?')[0]}?${query}`],
    ['expired', `/private/c/deal.pdf?${signQuery(Buffer.from(KEY), 'private', 'c/deal.pdf', 10, Date.now() - 3_600_000)}`],
    ['missing file, good signature', `/private/c/none.pdf?${signQuery(Buffer.from(KEY), 'private', 'c/none.pdf', 60)}`],
    ['another storage\'s signature', `${path}?${signQuery(Buffer.from(KEY), 'default', 'c/deal.pdf', 60)}`]
  ]
  for (const [label, badUrl] of bad) {
    const res = await app.inject(badUrl as string)
    if (label === 'missing file, good signature') {
      t.equal(res.statusCode, 404, label)
      continue
    }
    t.equal(res.statusCode, 403, label)
    t.equal(res.json().code, 'FST_MEDIA_BAD_SIGNATURE', label)
  }
  const bare = await app.inject('/private/')
  t.match(bare.json(), { statusCode: 403, code: 'FST_MEDIA_BAD_SIGNATURE', message: /^url: / })
  const notPublic = await app.inject('/media/c/deal.pdf')
  t.equal(notPublic.statusCode, 404, 'private files are not on the public media route')

  const short = storage.url('c/deal.pdf', { expiresIn: 30 })
  const expires = Number(new URLSearchParams(short.split('?')[1]).get('expires'))
  t.ok(Math.abs(expires - (Date.now() / 1000 + 30)) < 5, 'expiresIn sets the lifetime')
  const defaultLife = Number(new URLSearchParams(url.split('?')[1]).get('expires'))
  t.ok(Math.abs(defaultLife - (Date.now() / 1000 + 3600)) < 5, 'one hour by default')
})

t.test('the signer on its own', async (t) => {
  const key = Buffer.from(KEY)
  const now = 1_800_000_000_000
  const query = Object.fromEntries(new URLSearchParams(signQuery(key, 's', 'a.pdf', 60, now)))
  t.equal(query.expires, String(1_800_000_060))
  t.equal(verifyQuery([key], 's', 'a.pdf', query, now), true)
  t.equal(verifyQuery([key], 's', 'a.pdf', query, now + 60_000), true, 'valid through its last second')
  t.equal(verifyQuery([key], 's', 'a.pdf', query, now + 61_000), false, 'expired')
  t.equal(verifyQuery([key], 's', 'b.pdf', query, now), false, 'another file')
  t.equal(verifyQuery([key], 't', 'a.pdf', query, now), false, 'another storage')
  const next = Buffer.from('another-key-of-32-bytes-length!!')
  t.equal(verifyQuery([next], 's', 'a.pdf', query, now), false, 'another key')
  t.equal(verifyQuery([next, key], 's', 'a.pdf', query, now), true, 'any key of the list verifies')
  t.equal(verifyQuery([next, key], 's', 'a.pdf', query, now + 61_000), false, 'expired under any key')
  t.equal(verifyQuery([key], 's', 'a.pdf', { ...query, signature: query.signature + 'A' }, now), false, 'longer signature')
  t.equal(verifyQuery([key], 's', 'a.pdf', { ...query, expires: ['1'] }, now), false, 'repeated parameter')
  t.equal(verifyQuery([key], 's', 'a.pdf', { ...query, expires: '0' + query.expires }, now), false, 'a leading zero')
  t.equal(verifyQuery([key], 's', 'a.pdf', { ...query, signature: 'é'.repeat(43) }, now), false, 'non-ASCII of the right length')
  t.equal(verifyQuery([key], 's', 'a.pdf', { ...query, signature: 5 }, now), false, 'not a string')
  // base64url's last character carries two spare bits: its siblings decode to the same bytes
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const last = alphabet.indexOf(query.signature!.slice(-1))
  for (let spare = 1; spare < 4; spare++) {
    const sibling = query.signature!.slice(0, -1) + alphabet[(last & ~3) | ((last + spare) & 3)]
    t.same(Buffer.from(sibling, 'base64url'), Buffer.from(query.signature!, 'base64url'), 'the same bytes')
    t.equal(verifyQuery([key], 's', 'a.pdf', { ...query, signature: sibling }, now), false, `sibling spelling ${sibling.slice(-1)} refused`)
  }
})

t.test('a bad signature is logged once per request, on both the disk and the driver path', async (t) => {
  for (const storage of [new FileSystemStorage({ location: 'private', baseUrl: '/private/', public: false }), new Disk(new MapDriver(), { baseUrl: '/private/', public: false })]) {
    const lines: Array<{ reqId?: string, err?: { code?: string }, msg?: string }> = []
    const app = Fastify({ logger: { level: 'info', stream: { write: (line: string) => lines.push(JSON.parse(line)) } } })
    t.teardown(() => app.close())
    await app.register(fastifyMedia, { baseDir: tempDir(t), static: false, signingKey: KEY, storages: { private: storage } })
    const res = await app.inject('/private/c/deal.pdf?expires=1&signature=abc')
    t.equal(res.statusCode, 403)
    const reqIds = new Set(lines.map((line) => line.reqId).filter((id) => id !== undefined))
    t.equal(reqIds.size, 1, 'one request')
    const refusals = lines.filter((line) => line.err?.code === 'FST_MEDIA_BAD_SIGNATURE')
    t.equal(refusals.length, 1, `${storage.constructor.name}: one line for the refusal`)
    t.match(refusals[0], { msg: /the signed URL is forged, altered or expired/ })
  }
})
