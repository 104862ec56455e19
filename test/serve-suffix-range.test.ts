// RFC 9110 14.1.2: a suffix range longer than the file selects all of it (206, the whole file), on every
// path that serves a file: media (public and signed), static files from memory, from disk (a compressed
// sibling included) and in development. @fastify/send 4 answers those with 416 on its own.
import t from 'tap'
import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import fastifyMedia, { FileSystemStorage } from '../lib/index.js'
import { signQuery } from '../lib/storage/signing.js'
import { tempDir, type Tap } from './helpers.js'

const BYTES = Buffer.from('thirty-five bytes of a static file.')
const KEY = 'a-signing-key-of-32-bytes-length'
const HASHED = 'f.0123456789ab.txt'

async function app (t: Tap, build: (dir: string) => Parameters<typeof fastifyMedia>[1]): Promise<FastifyInstance> {
  const dir = tempDir(t)
  for (const sub of ['media', 'private', 'staticfiles', 'assets']) mkdirSync(join(dir, sub))
  writeFileSync(join(dir, 'media/f.txt'), BYTES)
  writeFileSync(join(dir, 'private/f.txt'), BYTES)
  writeFileSync(join(dir, 'assets/f.txt'), BYTES)
  writeFileSync(join(dir, 'assets/empty.txt'), '')
  // static.root as collectstatic leaves it: the hashed name (held in memory) and the original (on disk)
  for (const name of ['f.txt', HASHED]) writeFileSync(join(dir, 'staticfiles', name), BYTES)
  writeFileSync(join(dir, 'staticfiles/f.txt.br'), 'twenty bytes of br..')
  writeFileSync(join(dir, 'staticfiles/staticfiles.json'), JSON.stringify({ version: '1.1', paths: { 'f.txt': HASHED } }))
  const fastify = Fastify()
  t.teardown(() => fastify.close())
  await fastify.register(fastifyMedia, { baseDir: dir, ...build(dir) })
  return fastify
}

const production = async (t: Tap): Promise<FastifyInstance> => await app(t, () => ({
  mode: 'production',
  signingKey: KEY,
  storages: { private: new FileSystemStorage({ location: 'private', baseUrl: '/private/', public: false }) }
}))

const signed = (): string => `/private/f.txt?${signQuery(Buffer.from(KEY), 'private', 'f.txt', 60)}`

const PATHS: Array<[string, (t: Tap) => Promise<FastifyInstance>, () => string]> = [
  ['media', production, () => '/media/f.txt'],
  ['a signed private file', production, signed],
  ['a static file held in memory', production, () => `/static/${HASHED}`],
  ['a static file from disk', production, () => '/static/f.txt'],
  ['a static file in development', async (t) => await app(t, () => ({ mode: 'development', static: { dirs: ['assets'] } })), () => '/static/f.txt']
]

for (const [label, make, url] of PATHS) {
  t.test(`${label}: a suffix range as long as the file or longer is the whole file, 206`, async (t) => {
    const fastify = await make(t)
    for (const range of ['bytes=-100000', 'bytes=-36', 'bytes=-35', 'bytes=-100000, 0-1']) {
      const res = await fastify.inject({ url: url(), headers: { range } })
      t.equal(res.statusCode, 206, range)
      t.equal(res.headers['content-range'], 'bytes 0-34/35', range)
      t.equal(res.headers['content-length'], '35', range)
      t.same(res.rawPayload, BYTES, range)
    }
    const tail = await fastify.inject({ url: url(), headers: { range: 'bytes=-5' } })
    t.equal(tail.statusCode, 206, 'a shorter suffix is the end of the file')
    t.equal(tail.headers['content-range'], 'bytes 30-34/35')
    t.equal(tail.body, 'file.')
    const head = await fastify.inject({ method: 'HEAD', url: url(), headers: { range: 'bytes=-100000' } })
    t.equal(head.statusCode, 206, 'HEAD')
    t.equal(head.headers['content-range'], 'bytes 0-34/35')
    t.equal(head.headers['content-length'], '35')
    t.equal(head.body, '')
    t.equal((await fastify.inject({ url: url(), headers: { range: 'bytes=-0' } })).statusCode, 416, 'a suffix of no byte selects nothing')
  })
}

t.test('a held suffix range follows the other rules of Range: If-Range, ranges apart, 304, an empty file', async (t) => {
  const fastify = await production(t)
  const plain = await fastify.inject('/static/f.txt')
  const etag = plain.headers.etag as string
  const requests: Array<[string, InjectOptions, number, string | undefined]> = [
    ['If-Range with another version: the whole file', { url: '/static/f.txt', headers: { range: 'bytes=-100', 'if-range': 'W/"1-1"' } }, 200, BYTES.toString()],
    ['If-Range with this version: the range', { url: '/static/f.txt', headers: { range: 'bytes=-100', 'if-range': etag } }, 206, BYTES.toString()],
    ['ranges apart: the whole file', { url: '/static/f.txt', headers: { range: 'bytes=-2, 0-1' } }, 200, BYTES.toString()],
    ['If-None-Match of the current version: 304', { url: '/static/f.txt', headers: { range: 'bytes=-100', 'if-none-match': etag } }, 304, ''],
    ['a compressed sibling: its own size', { url: '/static/f.txt', headers: { range: 'bytes=-30', 'accept-encoding': 'br' } }, 206, 'twenty bytes of br..']
  ]
  for (const [label, request, status, body] of requests) {
    const res = await fastify.inject(request)
    t.equal(res.statusCode, status, label)
    t.equal(res.body, body, label)
  }
  const br = await fastify.inject({ url: '/static/f.txt', headers: { range: 'bytes=-30', 'accept-encoding': 'br' } })
  t.equal(br.headers['content-range'], 'bytes 0-19/20')
  t.equal(br.headers['content-encoding'], 'br')

  const development = await app(t, () => ({ mode: 'development', static: { dirs: ['assets'] } }))
  const empty = await development.inject({ url: '/static/empty.txt', headers: { range: 'bytes=-5' } })
  t.equal(empty.statusCode, 200, 'an empty file has no byte to select: answered whole, Range ignored')
  t.equal(empty.body, '')
})
