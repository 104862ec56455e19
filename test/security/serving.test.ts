// Hostile URLs against the media route (and static files in production): never a byte from outside the
// root, never a dotfile, a temp file or a private file, never a redirect to another host.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { assertAlive, get, startServer, type Server } from './harness.js'

const SECRETS = /SECRET|outside the root|half-written|private bytes/

async function plant (t: Test): Promise<Server> {
  const server = await startServer(t, { media: { mode: 'production', static: { url: '/static/', root: 'staticfiles' } } })
  const media = server.roots.media
  writeFileSync(join(server.dir, 'secret.txt'), 'outside the root')
  writeFileSync(join(media, '.env'), 'SECRET=1')
  writeFileSync(join(media, '.env.gz'), gzipSync('SECRET=1'))
  writeFileSync(join(media, 'notes.txt'), 'public notes')
  writeFileSync(join(media, 'notes.txt.gz'), gzipSync('SECRET gz sibling'))
  mkdirSync(join(media, '.tmp'))
  writeFileSync(join(media, '.tmp/partial'), 'half-written')
  mkdirSync(join(server.roots.private, 'secret'))
  writeFileSync(join(server.roots.private, 'secret/contract.pdf'), 'private bytes')
  const staticRoot = join(server.dir, 'staticfiles')
  mkdirSync(staticRoot)
  writeFileSync(join(staticRoot, 'staticfiles.json'), JSON.stringify({ version: '1.1', paths: {} }))
  writeFileSync(join(staticRoot, '.env'), 'SECRET=static')
  writeFileSync(join(staticRoot, '.env.gz'), gzipSync('SECRET=static'))
  return server
}

// [path as written on the wire, status]: 403 where @fastify/send sees a path leave the root, 404 for what
// is not there (or hidden), 400 for a URL that does not decode or holds a NUL byte (@fastify/send's answer,
// which @fastify/static 10.1.3 passes on)
const HOSTILE: Array<[string, number]> = [
  ['/media/../secret.txt', 403],
  ['/media/%2e%2e/secret.txt', 403],
  ['/media/%2E%2E/secret.txt', 403],
  ['/media/%252e%252e%252fsecret.txt', 404],
  ['/media/..%2fsecret.txt', 404],
  ['/media/..%5csecret.txt', 403],
  ['/media/x%00.png', 400],
  ['/media/%99', 400],
  ['//evil.com/%2e%2e', 404],
  ['/media//evil.com/%2e%2e', 403],
  ['/media/.env', 404],
  ['/media/.env.gz', 404],
  ['/media/.tmp/partial', 404],
  ['/media/.tmp/', 404],
  ['/media/', 403],
  ['/media/../private/secret/contract.pdf', 403],
  ['/media/%2e%2e/private/secret/contract.pdf', 403],
  ['/private/secret/contract.pdf', 403],
  ['/private/%2e%2e/media/notes.txt', 403],
  ['/static/.env', 404],
  ['/static/%2e%2e/secret.txt', 404],
  ['/static/..%2f..%2fsecret.txt', 404]
]

t.test('hostile paths: the documented status, no secret byte, no redirect', async (t) => {
  const server = await plant(t)
  for (const [path, status] of HOSTILE) {
    const res = await get(server, path, { 'accept-encoding': 'gzip, br' })
    t.equal(res.status, status, `${path}: ${res.status} ${res.body.slice(0, 120)}`)
    t.notMatch(res.body, SECRETS, `${path}: nothing secret`)
    t.equal(res.headers.location, undefined, `${path}: no Location header`)
  }
  await assertAlive(t, server)
})

t.test('a .gz sibling is never chosen for a media file (no precompressed media), nor for a denied one', async (t) => {
  const server = await plant(t)
  const res = await get(server, '/media/notes.txt', { 'accept-encoding': 'gzip' })
  t.equal(res.status, 200)
  t.equal(res.body, 'public notes')
  t.equal(res.headers['content-encoding'], undefined)
})

t.test('every media response carries nosniff, the sandbox CSP, CORP same-site, and attachment for active or unknown types', async (t) => {
  const server = await plant(t)
  const media = server.roots.media
  const cases: Array<[string, string, boolean]> = [
    ['a.png', 'image/png', false],
    ['a.pdf', 'application/pdf', false],
    ['a.txt', 'text/plain; charset=utf-8', false],
    ['a.svg', 'image/svg+xml', true],
    ['a.html', 'application/octet-stream', true],
    ['a.xml', 'application/xml', true],
    ['a.json', 'application/json', true],
    ['a.js', 'text/javascript; charset=utf-8', true],
    ['a.unknownext', 'application/octet-stream', true],
    ['noext', 'application/octet-stream', true]
  ]
  for (const [name, type, attachment] of cases) {
    writeFileSync(join(media, name), 'x')
    const res = await get(server, `/media/${name}`)
    t.equal(res.status, 200, name)
    t.equal(res.headers['content-type'], type, name)
    t.equal(res.headers['x-content-type-options'], 'nosniff', name)
    t.equal(res.headers['content-security-policy'], "default-src 'none'; sandbox", name)
    t.equal(res.headers['cross-origin-resource-policy'], 'same-site', name)
    t.equal(res.headers['content-disposition'], attachment ? 'attachment' : undefined, name)
  }
})

t.test('a symlink planted under the media root is not followed out of it (file or directory)', async (t) => {
  const server = await plant(t)
  const media = server.roots.media
  mkdirSync(join(media, 'docs'))
  symlinkSync(join(server.dir, 'secret.txt'), join(media, 'docs/link.txt'))
  symlinkSync(server.roots.private, join(media, 'linked-dir'))
  symlinkSync('/etc/passwd', join(media, 'docs/passwd.txt'))
  writeFileSync(join(media, 'docs/real.txt'), 'public notes')
  symlinkSync(join(media, 'docs/real.txt'), join(media, 'docs/inside-link.txt'))
  for (const path of ['/media/docs/link.txt', '/media/linked-dir/secret/contract.pdf', '/media/docs/passwd.txt']) {
    const res = await get(server, path)
    t.equal(res.status, 404, path)
    t.notMatch(res.body, /SECRET|outside the root|private bytes|root:/, path)
  }
  const inside = await get(server, '/media/docs/inside-link.txt')
  t.equal(inside.status, 200, 'a link that stays inside the root is served')
  t.equal(inside.body, 'public notes')
})
