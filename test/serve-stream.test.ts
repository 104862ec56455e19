import { Readable } from 'node:stream'
import t from 'tap'
import { request } from 'undici'
import { signQuery, verifyQuery } from '../lib/storage/signing.js'
import { listen } from './http-helpers.js'
import { mapSource, streamApp } from './serve-stream-source.js'

const TEN = '0123456789'
const MODIFIED = new Date('2026-01-02T03:04:05.678Z')
const ETAG = `W/"a-${MODIFIED.getTime().toString(16)}"`
const LAST_MODIFIED = 'Fri, 02 Jan 2026 03:04:05 GMT'
const KEY = Buffer.from('a-signing-key-of-32-bytes-length')

t.test('a GET answers the bytes with the media headers, length, accept-ranges, last-modified and a weak size-mtime etag', async (t) => {
  const source = mapSource({ 'd/ten.png': TEN, 'n.txt': 'notes', 'logo.svg': '<svg/>', 'page.html': '<p>', 'a.zip': 'PK' }, MODIFIED)
  const app = await streamApp(t, source)
  const res = await app.inject('/media/d/ten.png')
  t.equal(res.statusCode, 200)
  t.equal(res.body, TEN)
  t.match(res.headers, {
    'content-type': 'image/png',
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; sandbox",
    'cross-origin-resource-policy': 'same-site',
    'cache-control': 'public, no-cache',
    'content-length': '10',
    'accept-ranges': 'bytes',
    'last-modified': LAST_MODIFIED,
    etag: ETAG
  })
  t.notOk('content-disposition' in res.headers, 'a raster image displays inline')
  t.same(source.reads, [{ name: 'd/ten.png' }], 'the whole file is read, no range asked')
  const cases: Array<[string, string, boolean]> = [
    ['n.txt', 'text/plain; charset=utf-8', false],
    ['logo.svg', 'image/svg+xml', true],
    ['page.html', 'application/octet-stream', true],
    ['a.zip', 'application/zip', true]
  ]
  for (const [name, type, attachment] of cases) {
    const res = await app.inject(`/media/${name}`)
    t.equal(res.headers['content-type'], type, name)
    t.equal(res.headers['content-disposition'], attachment ? 'attachment' : undefined, name)
  }
})

t.test('HEAD sends the headers and no body, without reading the file', async (t) => {
  const source = mapSource({ 'ten.png': TEN }, MODIFIED)
  const app = await streamApp(t, source)
  const whole = await app.inject({ method: 'HEAD', url: '/media/ten.png' })
  t.equal(whole.statusCode, 200)
  t.equal(whole.headers['content-length'], '10')
  t.equal(whole.headers.etag, ETAG)
  t.equal(whole.body, '')
  const part = await app.inject({ method: 'HEAD', url: '/media/ten.png', headers: { range: 'bytes=2-4' } })
  t.equal(part.statusCode, 206)
  t.equal(part.headers['content-range'], 'bytes 2-4/10')
  t.equal(part.headers['content-length'], '3')
  t.equal(part.body, '')
  t.same(source.reads, [], 'read never called')
})

t.test('each Range form answers 206 with its bytes; ranges apart or another unit answer the whole file', async (t) => {
  const source = mapSource({ 'ten.png': TEN }, MODIFIED)
  const app = await streamApp(t, source)
  const cases: Array<[string, number, string | undefined, string]> = [
    ['bytes=0-3', 206, 'bytes 0-3/10', '0123'],
    ['bytes=4-', 206, 'bytes 4-9/10', '456789'],
    ['bytes=-3', 206, 'bytes 7-9/10', '789'],
    // RFC 9110 14.1.2: a suffix longer than the representation selects all of it (send answers 416)
    ['bytes=-100', 206, 'bytes 0-9/10', TEN],
    ['bytes=2-100', 206, 'bytes 2-9/10', '23456789'],
    ['bytes=0-1, 2-3', 206, 'bytes 0-3/10', '0123'],
    ['bytes=5-6,0-3,2-5', 206, 'bytes 0-6/10', '0123456'],
    ['bytes=0-1,5-6', 200, undefined, TEN],
    ['bytes=x-y,1-2', 206, 'bytes 1-2/10', '12'],
    ['items=0-1', 200, undefined, TEN]
  ]
  for (const [range, status, contentRange, body] of cases) {
    const res = await app.inject({ url: '/media/ten.png', headers: { range } })
    t.equal(res.statusCode, status, range)
    t.equal(res.headers['content-range'], contentRange, range)
    t.equal(res.headers['content-length'], String(body.length), range)
    t.equal(res.body, body, range)
  }
  t.same(source.reads[0], { name: 'ten.png', range: { start: 0, end: 3 } }, 'the driver is asked for the range only')
  t.same(source.reads.at(-1), { name: 'ten.png' }, 'no range asked for the whole file')
})

t.test('a range that selects nothing is 416 with content-range bytes */size and the file is not read', async (t) => {
  const source = mapSource({ 'ten.png': TEN, 'empty.png': '' }, MODIFIED)
  const app = await streamApp(t, source)
  for (const [url, range, size] of [['ten.png', 'bytes=10-', 10], ['ten.png', 'bytes=5-2', 10], ['ten.png', 'bytes=-0', 10],
    ['ten.png', 'bytes=abc', 10], ['ten.png', 'bytes=', 10], ['empty.png', 'bytes=0-', 0], ['empty.png', 'bytes=-5', 0]] as const) {
    const res = await app.inject({ url: `/media/${url}`, headers: { range } })
    t.equal(res.statusCode, 416, range)
    t.equal(res.headers['content-range'], `bytes */${size}`, range)
    t.equal(res.json().code, 'FST_MEDIA_RANGE_NOT_SATISFIABLE', range)
    t.notOk('etag' in res.headers, 'an error carries no validators of the file')
  }
  t.same(source.reads, [])
})

t.test('If-Range: a Range applies only to the version named by etag or date, else the whole file is 200', async (t) => {
  const app = await streamApp(t, mapSource({ 'ten.png': TEN }, MODIFIED))
  const cases: Array<[string, number]> = [
    [ETAG, 206],
    ['W/"a-1"', 200],
    [LAST_MODIFIED, 206],
    ['Fri, 02 Jan 2026 03:04:06 GMT', 206],
    ['Fri, 02 Jan 2026 03:04:04 GMT', 200],
    ['not a date', 200]
  ]
  for (const [ifRange, status] of cases) {
    const res = await app.inject({ url: '/media/ten.png', headers: { range: 'bytes=0-1', 'if-range': ifRange } })
    t.equal(res.statusCode, status, ifRange)
    t.equal(res.body, status === 206 ? '01' : TEN, ifRange)
  }
})

t.test('If-None-Match and If-Modified-Since answer 304 without reading; a no-cache reload gets the body', async (t) => {
  const source = mapSource({ 'ten.png': TEN }, MODIFIED)
  const app = await streamApp(t, source)
  const cases: Array<[Record<string, string>, number]> = [
    [{ 'if-none-match': ETAG }, 304],
    [{ 'if-none-match': ETAG.slice(2) }, 304],
    [{ 'if-none-match': `"other", ${ETAG}` }, 304],
    [{ 'if-none-match': '*' }, 304],
    [{ 'if-none-match': '"other"' }, 200],
    [{ 'if-modified-since': LAST_MODIFIED }, 304],
    [{ 'if-modified-since': 'Fri, 02 Jan 2026 03:04:04 GMT' }, 200],
    [{ 'if-modified-since': 'not a date' }, 200],
    // If-None-Match alone decides when both are sent
    [{ 'if-none-match': '"other"', 'if-modified-since': LAST_MODIFIED }, 200],
    [{ 'if-none-match': ETAG, 'cache-control': 'no-cache' }, 200]
  ]
  for (const [headers, status] of cases) {
    const res = await app.inject({ url: '/media/ten.png', headers })
    t.equal(res.statusCode, status, JSON.stringify(headers))
    t.equal(res.body, status === 304 ? '' : TEN)
  }
  const notModified = await app.inject({ url: '/media/ten.png', headers: { 'if-none-match': ETAG } })
  t.equal(notModified.headers.etag, ETAG)
  t.equal(notModified.headers['cache-control'], 'public, no-cache')
  t.notOk('content-length' in notModified.headers)
  t.equal(source.reads.length, 5, 'only the 200s read the file')
})

t.test('If-Match and If-Unmodified-Since that do not hold are 412 FST_MEDIA_PRECONDITION_FAILED', async (t) => {
  const source = mapSource({ 'ten.png': TEN }, MODIFIED)
  const app = await streamApp(t, source)
  const cases: Array<[Record<string, string>, number]> = [
    [{ 'if-match': '"other"' }, 412],
    [{ 'if-match': ETAG }, 200],
    [{ 'if-match': `"other", ${ETAG.slice(2)}` }, 200],
    [{ 'if-match': '*' }, 200],
    [{ 'if-unmodified-since': 'Fri, 02 Jan 2026 03:04:04 GMT' }, 412],
    [{ 'if-unmodified-since': LAST_MODIFIED }, 200],
    [{ 'if-unmodified-since': 'not a date' }, 200]
  ]
  for (const [headers, status] of cases) {
    const res = await app.inject({ url: '/media/ten.png', headers })
    t.equal(res.statusCode, status, JSON.stringify(headers))
    if (status === 412) t.equal(res.json().code, 'FST_MEDIA_PRECONDITION_FAILED')
  }
})

t.test('invalid names, dotfiles, dot-directories and pending names are 404 before any lookup; a missing file is 404', async (t) => {
  const source = mapSource({ '.env': 'SECRET=1', '.tmp/partial': 'half', 'pending.png': 'not yet', 'a/.hidden.png': 'x' }, MODIFIED)
  const app = await streamApp(t, source, { isPending: (name) => name === 'pending.png' })
  for (const url of ['/media/', '/media/.env', '/media/.tmp/partial', '/media/a/.hidden.png', '/media/pending.png',
    '/media/..%2f.env', '/media/a%2f..%2f..%2fx.png', '/media/%2e%2e%2f.env', '/media/...', '/media/x%00.png', '/media/a/']) {
    const res = await app.inject(url)
    t.equal(res.statusCode, 404, url)
    t.notMatch(res.body, /SECRET|half|not yet/)
  }
  t.same(source.heads, [], 'nothing looked up')
  const missing = await app.inject('/media/missing.png')
  t.equal(missing.statusCode, 404)
  t.same(source.heads, ['missing.png'])
})

t.test('with verify, the signature is checked first: 403 FST_MEDIA_BAD_SIGNATURE before anything is looked up', async (t) => {
  const source = mapSource({ 'secret/contract.pdf': 'private bytes' }, MODIFIED)
  const app = await streamApp(t, source, { verify: (name, query) => verifyQuery([KEY], 'private', name, query) })
  const good = await app.inject(`/media/secret/contract.pdf?${signQuery(KEY, 'private', 'secret/contract.pdf', 60)}`)
  t.equal(good.statusCode, 200)
  t.equal(good.body, 'private bytes')
  t.equal(good.headers['cache-control'], 'private, no-store', 'a signed URL is never in a shared cache')
  const lookups = source.heads.length
  for (const url of ['/media/secret/contract.pdf', `/media/secret/contract.pdf?${signQuery(KEY, 'private', 'other.pdf', 60)}`,
    `/media/missing.pdf?${signQuery(KEY, 'private', 'other.pdf', 60)}`, '/media/..%2fx.pdf']) {
    const res = await app.inject(url)
    t.equal(res.statusCode, 403, url)
    t.equal(res.json().code, 'FST_MEDIA_BAD_SIGNATURE')
  }
  t.equal(source.heads.length, lookups, 'no lookup after a bad signature')
})

t.test('a file gone between head and read is 404; an empty file is an empty 200', async (t) => {
  const source = mapSource({ 'gone.png': TEN, 'failing.png': TEN, 'empty.png': '' }, MODIFIED)
  const app = await streamApp(t, source, {
    read (name) {
      if (name === 'gone.png') throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' })
      if (name === 'failing.png') return new Readable({ read () { this.destroy(new Error('vanished')) } })
      return Readable.from([])
    }
  })
  for (const name of ['gone.png', 'failing.png']) {
    const res = await app.inject(`/media/${name}`)
    t.equal(res.statusCode, 404, name)
    t.notOk('etag' in res.headers, `${name}: no file headers on the 404`)
  }
  const empty = await app.inject('/media/empty.png')
  t.equal(empty.statusCode, 200)
  t.equal(empty.headers['content-length'], '0')
  t.equal(empty.body, '')
})

t.test('over HTTP, a read stream failing mid-body destroys the response: the client sees an error, not a hang', async (t) => {
  const source = mapSource({ 'big.bin': Buffer.alloc(64 * 1024, 1) }, MODIFIED)
  let sent = false
  const app = await streamApp(t, source, {
    read: () => new Readable({
      read () {
        if (!sent) {
          sent = true
          this.push(Buffer.alloc(1024, 1))
        } else {
          this.destroy(new Error('disk failed'))
        }
      }
    })
  })
  const { origin } = await listen(app)
  const res = await request(`${origin}/media/big.bin`)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-length'], String(64 * 1024))
  await t.rejects(res.body.arrayBuffer(), 'the body ends short with an error')
  sent = false
  const next = await request(`${origin}/media/big.bin`, { method: 'HEAD' })
  t.equal(next.statusCode, 200, 'the server still answers')
  await next.body.dump()
})

t.test('over HTTP, a client that goes away destroys the driver\'s read stream', async (t) => {
  const source = mapSource({ 'endless.bin': Buffer.alloc(1024 * 1024) }, MODIFIED)
  let stream: Readable | undefined
  const app = await streamApp(t, source, {
    read: () => {
      stream = new Readable({ read () { this.push(Buffer.alloc(16 * 1024)) } })
      return stream
    }
  })
  const { origin } = await listen(app)
  const controller = new AbortController()
  const res = await request(`${origin}/media/endless.bin`, { signal: controller.signal })
  t.equal(res.statusCode, 200)
  // the source ends destroyed with the abort as its error, which its own iterator consumes
  const closed = new Promise((resolve) => stream?.once('close', resolve))
  controller.abort()
  await t.rejects(res.body.arrayBuffer())
  await closed
  t.ok(stream?.destroyed, 'the source is destroyed')
})
