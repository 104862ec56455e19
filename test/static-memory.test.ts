import t from 'tap'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type LightMyRequestResponse } from 'fastify'
import fastifyStatic from '@fastify/static'
import { cpSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import fastifyMedia, { type FastifyMediaOptions } from '../lib/index.js'
import { MemoryFiles } from '../lib/static/memory-files.js'
import { rememberedChoices } from '../lib/static/serve-memory.js'
import { FIXTURES, tempDir, type Tap } from './helpers.js'

// Production answers the manifest's hashed files from memory. Two ways to see that it does, without
// timing anything: a hashed file deleted from disk is still served, and the answers are the ones
// @fastify/static gives for the same files (a differential check, header by header).

const HEADERS = ['accept-ranges', 'cache-control', 'content-encoding', 'content-length', 'content-type', 'etag', 'last-modified', 'vary'] as const

/** The fixture project collected into static.root; a fresh production app registered on it afterwards. */
async function collected (t: Tap): Promise<{ dir: string, root: string, app: FastifyInstance, manifest: Record<string, string> }> {
  const dir = tempDir(t)
  cpSync(join(FIXTURES, 'static-project'), dir, { recursive: true })
  const options: FastifyMediaOptions = { baseDir: dir, static: { dirs: ['static-a', 'static-b'] }, media: false, mode: 'production' }
  const collector = Fastify()
  await collector.register(fastifyMedia, options)
  const { manifest } = await collector.media.collectstatic()
  await collector.close()
  // registered after collectstatic: the hashed files are loaded at startup
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyMedia, options)
  return { dir, root: join(dir, 'staticfiles'), app, manifest }
}

/** @fastify/static with preCompressed on the same root and prefix: what the disk path answers. */
async function reference (t: Tap, root: string): Promise<FastifyInstance> {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyStatic, { root, prefix: '/static/', preCompressed: true, index: false, list: false, cacheControl: false, setHeaders: (reply) => reply.header('cache-control', 'public, max-age=31536000, immutable') })
  return app
}

const pick = (res: LightMyRequestResponse): Record<string, unknown> => Object.fromEntries(HEADERS.map((name) => [name, res.headers[name]]))

t.test('a hashed file is answered from memory: still served after its file is deleted, not its original name', async (t) => {
  const { root, app, manifest } = await collected(t)
  const hashed = manifest['css/app.css']!
  const before = await app.inject({ url: `/static/${hashed}`, headers: { 'accept-encoding': 'br' } })
  for (const name of [hashed, `${hashed}.br`, `${hashed}.gz`, 'css/app.css']) rmSync(join(root, name))
  const after = await app.inject({ url: `/static/${hashed}`, headers: { 'accept-encoding': 'br' } })
  t.equal(after.statusCode, 200, 'served from memory')
  t.same(after.rawPayload, before.rawPayload, 'the same bytes')
  t.same(pick(after), pick(before), 'the same headers')
  t.equal((await app.inject({ url: `/static/${hashed}`, headers: { 'accept-encoding': 'gzip' } })).headers['content-encoding'], 'gzip', 'the gzip body too')
  t.equal((await app.inject('/static/css/app.css')).statusCode, 404, 'original names (which may change) stay on disk')
  // what memory leaves to @fastify/static goes to the disk, where the file is gone
  t.equal((await app.inject({ url: `/static/${hashed}`, headers: { range: 'bytes=0-9' } })).statusCode, 404, 'Range goes to disk')
  t.equal((await app.inject({ url: `/static/${hashed}`, headers: { 'if-match': '*' } })).statusCode, 404, 'If-Match goes to disk')
  t.equal((await app.inject({ url: `/static/${hashed}`, headers: { 'if-unmodified-since': new Date().toUTCString() } })).statusCode, 404, 'If-Unmodified-Since goes to disk')
})

t.test('the same status, headers and bytes as @fastify/static, for every Accept-Encoding', async (t) => {
  const { root, app, manifest } = await collected(t)
  const disk = await reference(t, root)
  const encodings = [undefined, 'br', 'gzip', 'br, gzip', 'gzip, br', 'BR', 'br;q=0.5, gzip', 'gzip;q=0.5, br;q=0.9', 'br;q=0.9, gzip;q=0.9', 'br;q=0, gzip;q=0', 'gzip;q=0', '*', '*;q=0', 'identity', 'identity;q=1, *;q=0', 'deflate', 'deflate, br;q=0.1', '', 'compress, x-gzip']
  // css and js have .br and .gz; a png has none; the svg's variants depend on what compresses
  for (const original of ['css/app.css', 'js/app.js', 'img/logo.png', 'img/icons.svg']) {
    const url = `/static/${manifest[original]!}`
    // twice: the second answer comes from the remembered choice
    for (const round of [1, 2]) {
      for (const acceptEncoding of encodings) {
        const headers = acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding }
        const [ours, theirs] = await Promise.all([app.inject({ url, headers }), disk.inject({ url, headers })])
        const label = `${original} with Accept-Encoding ${JSON.stringify(acceptEncoding)} (${round})`
        t.equal(ours.statusCode, theirs.statusCode, `${label}: status`)
        t.same(pick(ours), pick(theirs), `${label}: headers`)
        t.same(ours.rawPayload, theirs.rawPayload, `${label}: body`)
      }
    }
  }
})

t.test('conditional GET and HEAD follow send\'s rules', async (t) => {
  const { root, app, manifest } = await collected(t)
  const disk = await reference(t, root)
  const url = `/static/${manifest['js/app.js']!}`
  const first = await app.inject({ url, headers: { 'accept-encoding': 'br' } })
  const etag = first.headers.etag as string
  const lastModified = first.headers['last-modified'] as string
  const earlier = new Date(Date.parse(lastModified) - 60_000).toUTCString()
  const cases: Array<[string, Record<string, string>]> = [
    ['If-None-Match, the ETag', { 'if-none-match': etag }],
    ['If-None-Match, the ETag without W/', { 'if-none-match': etag.slice(2) }],
    ['If-None-Match, in a list', { 'if-none-match': `"nope", ${etag}` }],
    ['If-None-Match: *', { 'if-none-match': '*' }],
    ['If-None-Match, another ETag', { 'if-none-match': '"nope"' }],
    ['If-None-Match of the identity body on a br request', { 'if-none-match': (await app.inject(url)).headers.etag as string }],
    ['If-Modified-Since, the same time', { 'if-modified-since': lastModified }],
    ['If-Modified-Since, earlier', { 'if-modified-since': earlier }],
    ['If-Modified-Since, garbage', { 'if-modified-since': 'yesterday' }],
    ['If-None-Match wins over If-Modified-Since', { 'if-none-match': '"nope"', 'if-modified-since': lastModified }],
    ['Cache-Control: no-cache refetches', { 'if-none-match': etag, 'cache-control': 'no-cache' }],
    ['Cache-Control without no-cache', { 'if-none-match': etag, 'cache-control': 'max-age=0' }]
  ]
  for (const [label, conditions] of cases) {
    const headers = { 'accept-encoding': 'br', ...conditions }
    const [ours, theirs] = await Promise.all([app.inject({ url, headers }), disk.inject({ url, headers })])
    t.equal(ours.statusCode, theirs.statusCode, `${label}: ${theirs.statusCode}`)
    t.same(ours.rawPayload, theirs.rawPayload, `${label}: body`)
    t.equal(ours.headers.etag, theirs.headers.etag, `${label}: ETag`)
    t.equal(ours.headers['cache-control'], 'public, max-age=31536000, immutable', `${label}: Cache-Control`)
    t.equal(ours.headers.vary, 'accept-encoding', `${label}: Vary`)
  }

  for (const acceptEncoding of ['br', 'gzip', 'identity']) {
    const headers = { 'accept-encoding': acceptEncoding }
    const [ours, theirs] = await Promise.all([app.inject({ method: 'HEAD', url, headers }), disk.inject({ method: 'HEAD', url, headers })])
    t.equal(ours.statusCode, 200, `HEAD ${acceptEncoding}`)
    t.equal(ours.rawPayload.length, 0, `HEAD ${acceptEncoding}: no body`)
    t.same(pick(ours), pick(theirs), `HEAD ${acceptEncoding}: the headers of GET`)
  }
})

t.test('the app\'s own hooks still see answers from memory', async (t) => {
  const { app, manifest } = await collected(t)
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-seen', 'yes')
    return payload
  })
  const res = await app.inject(`/static/${manifest['css/app.css']!}`)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['x-seen'], 'yes')
})

t.test('a Vary set before (by CORS, say) is kept, with Accept-Encoding added as @fastify/static adds it', async (t) => {
  const { dir, root, manifest } = await collected(t)
  // a hook registered before the plugins, as @fastify/cors would be
  const varyFromRequest = async (request: FastifyRequest, reply: FastifyReply) => {
    const vary = request.headers['x-test-vary']
    if (typeof vary === 'string') reply.header('vary', vary)
  }
  const app = Fastify()
  t.teardown(() => app.close())
  app.addHook('onRequest', varyFromRequest)
  await app.register(fastifyMedia, { baseDir: dir, static: { dirs: ['static-a', 'static-b'] }, media: false, mode: 'production' })
  const disk = Fastify()
  t.teardown(() => disk.close())
  disk.addHook('onRequest', varyFromRequest)
  await disk.register(fastifyStatic, { root, prefix: '/static/', preCompressed: true, index: false, list: false })

  const url = `/static/${manifest['css/app.css']!}`
  const etag = (await app.inject(url)).headers.etag as string
  for (const earlier of ['Origin', 'Origin, Accept-Encoding', 'accept-encoding', '*', 'Origin,Cookie']) {
    for (const headers of [{ 'accept-encoding': 'br' }, { 'if-none-match': etag }]) {
      const request = { url, headers: { ...headers, 'x-test-vary': earlier } }
      const [ours, theirs] = await Promise.all([app.inject(request), disk.inject(request)])
      t.equal(ours.headers.vary, theirs.headers.vary, `Vary: ${earlier} (${ours.statusCode}) -> ${String(ours.headers.vary)}`)
    }
  }
  const head = await app.inject({ method: 'HEAD', url, headers: { 'x-test-vary': 'Origin' } })
  t.equal(head.headers.vary, 'Origin, accept-encoding', 'HEAD too')
})

t.test('Accept-Encoding values are remembered within a bound of 500, and answers stay right past it', async (t) => {
  const { app, manifest } = await collected(t)
  const url = `/static/${manifest['css/app.css']!}`
  // more distinct values than are remembered: the memory starts over instead of growing, answers stay right
  let most = 0
  for (let i = 0; i < 600; i++) {
    const res = await app.inject({ url, headers: { 'accept-encoding': `gzip;q=0.${(i % 9) + 1}, x-${i}` } })
    if (res.headers['content-encoding'] !== 'gzip') t.fail(`value ${i}: ${String(res.headers['content-encoding'])}`)
    most = Math.max(most, rememberedChoices())
  }
  t.equal(most, 500, 'never more than 500 values remembered, and the bound was reached')
  t.ok(rememberedChoices() < 500, 'the memory started over')
  t.pass('600 distinct values, each answered with gzip')
})

t.test('collectstatic in the same process loads what it wrote; another process\'s is served from disk', async (t) => {
  const dir = tempDir(t)
  cpSync(join(FIXTURES, 'static-project'), dir, { recursive: true })
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyMedia, { baseDir: dir, static: { dirs: ['static-a', 'static-b'] }, media: false, mode: 'production' })
  const root = join(dir, 'staticfiles')
  await app.media.collectstatic()
  const url = app.media.static('css/app.css')
  rmSync(join(root, url.slice('/static/'.length)))
  t.equal((await app.inject(url)).statusCode, 200, 'held since collectstatic() ran')

  // a second run with a changed file: the new hashed name is loaded too
  writeFileSync(join(dir, 'static-a', 'css', 'base.css'), 'body { color: red }\n')
  await app.media.collectstatic()
  const base = app.media.static('css/base.css')
  rmSync(join(root, base.slice('/static/'.length)))
  t.equal((await app.inject(base)).statusCode, 200, 'the new name is held as well')
})

t.test('a manifest edited by hand cannot put an ignored name in memory', async (t) => {
  const { dir, root } = await collected(t)
  writeFileSync(join(root, '.secret'), 'TOP-SECRET')
  writeFileSync(join(root, 'notes.txt~'), 'EDITOR-BACKUP')
  const manifestPath = join(root, 'staticfiles.json')
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { version: string, paths: Record<string, string> }
  manifest.paths.secret = '.secret'
  manifest.paths['notes.txt'] = 'notes.txt~'
  writeFileSync(manifestPath, JSON.stringify(manifest))
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyMedia, { baseDir: dir, static: { dirs: ['static-a', 'static-b'] }, media: false, mode: 'production' })
  for (const url of ['/static/.secret', '/static/notes.txt~']) {
    const res = await app.inject(url)
    t.equal(res.statusCode, 404, url)
    t.notMatch(res.body, /TOP-SECRET|EDITOR-BACKUP/)
  }
})

t.test('MemoryFiles: clean names only, files only, within the size limits, smallest first', async (t) => {
  const root = tempDir(t)
  const write = (name: string, bytes: number) => {
    mkdirSync(join(root, name, '..'), { recursive: true })
    writeFileSync(join(root, name), Buffer.alloc(bytes, 'a'))
  }
  write('a.css', 100)
  write('b.css', 100)
  write('c.css', 300)
  write('big.js', 2000)
  write('d.txt', 250)
  writeFileSync(join(root, 'd.txt.gz'), Buffer.alloc(200))
  mkdirSync(join(root, 'dir.css'))
  writeFileSync(join(root, '..', `outside-${process.pid}.css`), 'secret')
  t.teardown(() => rmSync(join(root, '..', `outside-${process.pid}.css`), { force: true }))

  const memory = new MemoryFiles({ maxFileSize: 1000, maxTotal: 450 })
  await memory.load(root, ['c.css', 'b.css', 'a.css', 'a.css', 'big.js', 'missing.css', 'dir.css', `../outside-${process.pid}.css`, 'sub/../a.css', 'a.css/x', 'd.txt'])
  // a and b (200 bytes); d with its .gz (450 more) does not fit; c (300) does not either, and nothing after it
  t.same(['a.css', 'b.css', 'c.css', 'd.txt', 'big.js'].filter((name) => memory.get(name) !== undefined), ['a.css', 'b.css'])
  t.equal(memory.size, 2)
  t.equal(memory.bytes, 200)
  t.equal(memory.get(`../outside-${process.pid}.css`), undefined, 'nothing outside root')
  t.equal(memory.get('sub/../a.css'), undefined, 'no unclean name')
  t.equal(memory.get('a.css/x'), undefined, 'no path through a file')

  const roomy = new MemoryFiles({ maxFileSize: 1000, maxTotal: 10_000 })
  write('e.unknown-type', 10)
  await roomy.load(root, ['a.css', 'd.txt', 'big.js', 'e.unknown-type'])
  t.equal(roomy.get('e.unknown-type')?.identity.headers['content-type'], 'application/octet-stream', 'what Fastify calls a Buffer of no known type')
  t.equal(roomy.get('d.txt')?.gzip?.headers['content-encoding'], 'gzip', 'the .gz body')
  t.same(roomy.get('d.txt')?.encodings, ['gzip'])
  t.equal(roomy.get('big.js'), undefined, 'over maxFileSize')
  t.equal(roomy.bytes, 100 + 250 + 200 + 10)

  // loaded again: what is held is kept as it is (a hashed name's bytes never change)
  const held = roomy.get('a.css')
  writeFileSync(join(root, 'a.css'), 'changed')
  utimesSync(join(root, 'a.css'), new Date(0), new Date(0))
  await roomy.load(root, ['a.css', 'c.css'])
  t.equal(roomy.get('a.css'), held, 'not read again')
  t.ok(roomy.get('c.css'), 'a new name is read')
  t.equal(roomy.get('d.txt'), undefined, 'a name no longer listed is dropped')
})
