// The same files served by serveMedia (@fastify/static from a directory) and by serveStream (a driver's
// head/read, here over a Map) look the same to a client: status, every header, and the body of a success.
import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify'
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import t from 'tap'
import { Client } from 'undici'
import { serveMedia } from '../lib/media/serve.js'
import { signQuery, verifyQuery } from '../lib/storage/signing.js'
import { tempDir, type Tap } from './helpers.js'
import { listen } from './http-helpers.js'
import { mapSource, streamApp } from './serve-stream-source.js'

// whole seconds: a file system keeps them exactly, so both sides make the same etag
const MODIFIED = new Date('2026-01-02T03:04:05.000Z')
const KEY = Buffer.from('a-signing-key-of-32-bytes-length')
const FILES: Record<string, string> = {
  'ten.png': '0123456789',
  'd/n.txt': 'notes',
  'd/logo.svg': '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
  'd/page.html': '<script>alert(1)</script>',
  'pending.png': 'not yet',
  '.env': 'SECRET=1',
  '.tmp/partial': 'half'
}
const isPending = (name: string): boolean => name === 'pending.png'
const verify = (name: string, query: Record<string, unknown>): boolean => verifyQuery([KEY], 'private', name, query)
// what differs per connection or per moment, not per serving path
const TRANSPORT = ['date', 'connection', 'keep-alive']

async function bothApps (t: Tap, signed: boolean): Promise<{ disk: FastifyInstance, stream: FastifyInstance }> {
  const root = tempDir(t)
  for (const [name, content] of Object.entries(FILES)) {
    mkdirSync(dirname(join(root, name)), { recursive: true })
    writeFileSync(join(root, name), content)
    utimesSync(join(root, name), MODIFIED, MODIFIED)
  }
  const disk = Fastify()
  t.teardown(() => disk.close())
  await serveMedia(disk, { root, prefix: '/media/', isPending, ...(signed ? { verify } : {}) })
  const stream = await streamApp(t, mapSource(FILES, MODIFIED), { isPending, ...(signed ? { verify } : {}) })
  return { disk, stream }
}

async function answers (app: FastifyInstance, request: InjectOptions): Promise<{ status: number, headers: Record<string, unknown>, body?: string }> {
  const res = await app.inject(request)
  const headers: Record<string, unknown> = { ...res.headers }
  for (const name of TRANSPORT) delete headers[name]
  // error bodies are each path's own JSON (send's http-errors has no code): compare them by status only
  if (res.statusCode >= 400) delete headers['content-length']
  return res.statusCode >= 400 ? { status: res.statusCode, headers } : { status: res.statusCode, headers, body: res.body }
}

const ETAG = `W/"a-${MODIFIED.getTime().toString(16)}"`
const PUBLIC: Array<[string, InjectOptions]> = [
  ['plain GET', { url: '/media/ten.png' }],
  ['HEAD', { method: 'HEAD', url: '/media/ten.png' }],
  ['HEAD with a Range', { method: 'HEAD', url: '/media/ten.png', headers: { range: 'bytes=2-4' } }],
  ['Range a-b', { url: '/media/ten.png', headers: { range: 'bytes=0-3' } }],
  ['Range a-', { url: '/media/ten.png', headers: { range: 'bytes=4-' } }],
  ['Range -n', { url: '/media/ten.png', headers: { range: 'bytes=-3' } }],
  ['Range -n longer than the file: all of it', { url: '/media/ten.png', headers: { range: 'bytes=-100' } }],
  ['HEAD with a Range -n longer than the file', { method: 'HEAD', url: '/media/ten.png', headers: { range: 'bytes=-100' } }],
  ['Range past the end', { url: '/media/ten.png', headers: { range: 'bytes=2-100' } }],
  ['overlapping ranges merge', { url: '/media/ten.png', headers: { range: 'bytes=0-1,2-3' } }],
  ['ranges apart: the whole file', { url: '/media/ten.png', headers: { range: 'bytes=0-1,5-6' } }],
  ['another unit: the whole file', { url: '/media/ten.png', headers: { range: 'items=0-1' } }],
  ['416', { url: '/media/ten.png', headers: { range: 'bytes=10-' } }],
  ['416 for a reversed range', { url: '/media/ten.png', headers: { range: 'bytes=5-2' } }],
  ['If-Range with another etag: 200', { url: '/media/ten.png', headers: { range: 'bytes=0-1', 'if-range': 'W/"a-1"' } }],
  ['If-Range with the etag: 206', { url: '/media/ten.png', headers: { range: 'bytes=0-1', 'if-range': ETAG } }],
  ['304 by If-None-Match', { url: '/media/ten.png', headers: { 'if-none-match': ETAG } }],
  ['304 by If-Modified-Since', { url: '/media/ten.png', headers: { 'if-modified-since': MODIFIED.toUTCString() } }],
  ['no-cache reload: 200', { url: '/media/ten.png', headers: { 'if-none-match': ETAG, 'cache-control': 'no-cache' } }],
  ['412 by If-Match', { url: '/media/ten.png', headers: { 'if-match': '"other"' } }],
  ['412 by If-Unmodified-Since', { url: '/media/ten.png', headers: { 'if-unmodified-since': 'Thu, 01 Jan 2026 00:00:00 GMT' } }],
  ['a text file', { url: '/media/d/n.txt' }],
  ['an SVG downloads', { url: '/media/d/logo.svg' }],
  ['an HTML file downloads', { url: '/media/d/page.html' }],
  ['a dotfile', { url: '/media/.env' }],
  ['a file in a dot-directory', { url: '/media/.tmp/partial' }],
  ['.. encoded as one segment', { url: '/media/..%2f.env' }],
  ['a missing file', { url: '/media/missing.png' }],
  ['a pending file', { url: '/media/pending.png' }]
]

t.test('a public storage answers the same from a directory and from head/read', async (t) => {
  const { disk, stream } = await bothApps(t, false)
  for (const [title, request] of PUBLIC) {
    t.same(await answers(stream, request), await answers(disk, request), title)
  }
})

t.test('a private storage answers the same signed URLs the same way, good or bad', async (t) => {
  const { disk, stream } = await bothApps(t, true)
  const cases: Array<[string, InjectOptions]> = [
    ['a good signature', { url: `/media/ten.png?${signQuery(KEY, 'private', 'ten.png', 60)}` }],
    ['a good signature with a Range', { url: `/media/ten.png?${signQuery(KEY, 'private', 'ten.png', 60)}`, headers: { range: 'bytes=1-2' } }],
    ['no signature', { url: '/media/ten.png' }],
    ['another file\'s signature', { url: `/media/ten.png?${signQuery(KEY, 'private', 'd/n.txt', 60)}` }],
    ['a bad signature on a missing file', { url: `/media/missing.png?${signQuery(KEY, 'private', 'ten.png', 60)}` }],
    ['a good signature on a missing file', { url: `/media/missing.png?${signQuery(KEY, 'private', 'missing.png', 60)}` }]
  ]
  for (const [title, request] of cases) {
    t.same(await answers(stream, request), await answers(disk, request), title)
  }
})

t.test('differences: a directory URL and a raw .. segment are 404 from head/read, where @fastify/static answers 403', async (t) => {
  const { disk, stream } = await bothApps(t, false)
  // send refuses to list a directory (403); a driver has no directories, only names that are not there
  for (const url of ['/media/', '/media/d/']) {
    t.equal((await disk.inject(url)).statusCode, 403, `${url} from a directory`)
    t.equal((await stream.inject(url)).statusCode, 404, `${url} from head/read`)
  }
  // inject resolves a raw `..` before routing: only a real request carries it to the route
  for (const [app, status] of [[disk, 403], [stream, 404]] as const) {
    const { origin } = await listen(app)
    const client = new Client(origin)
    t.teardown(() => client.close())
    const res = await client.request({ method: 'GET', path: '/media/d/../../.env' })
    t.equal(res.statusCode, status, `a raw .. segment: ${status}`)
    t.notMatch(await res.body.text(), /SECRET/)
  }
})
