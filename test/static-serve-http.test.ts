import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { cpSync, symlinkSync, writeFileSync } from 'node:fs'
import { request, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib'
import fastifyMedia from '../lib/index.js'
import { FIXTURES, tempDir } from './helpers.js'

// Real HTTP: app.inject() (light-my-request) normalises some URLs, so these paths go on the wire as written.

const SECRET = 'SECRET-NEXT-TO-STATIC-ROOT'

interface RawResponse { status: number, headers: IncomingMessage['headers'], body: Buffer }

/** One GET with the request target exactly as given, on a fresh connection to 127.0.0.1. */
async function rawGet (port: number, path: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return await new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

/** True when the body, as is or decompressed, holds the secret. */
function leaks (body: Buffer): boolean {
  const candidates = [body]
  try { candidates.push(gunzipSync(body)) } catch {}
  try { candidates.push(brotliDecompressSync(body)) } catch {}
  return candidates.some((b) => b.toString('latin1').includes(SECRET))
}

const TRAVERSALS = [
  '/static/../x',
  '/static/%2e%2e/x',
  '/static/%2E%2E/x',
  '/static/%252e%252e%252fx',
  '/static/..%2fx',
  '/static/..%5cx',
  '/static/x%00.css',
  '/static/%99',
  // more of the same
  '/static/..\\x',
  '/static/%2e%2e%2fx',
  '/static/%2e%2e%5cx',
  '/static/.%2e/x',
  '/static/%2e./x',
  '/static/css/../../x',
  '/static/css/%2e%2e/%2e%2e/x',
  '/static/css/..%2f..%2fx',
  '/static/%252e%252e/x',
  '/static/%c0%ae%c0%ae/x',
  '/static/x%00',
  '/static/%2fx',
  '/static//x'
]

async function listen (t: { teardown: (fn: () => unknown) => void }, mode: 'production' | 'development'): Promise<{ app: FastifyInstance, port: number, seen: string[], dir: string }> {
  const dir = tempDir(t)
  cpSync(join(FIXTURES, 'static-project'), dir, { recursive: true })
  // next to static.root (dir/staticfiles) and to the static dirs
  writeFileSync(join(dir, 'x'), SECRET)
  writeFileSync(join(dir, 'x.gz'), gzipSync(Buffer.from(SECRET)))
  writeFileSync(join(dir, 'x.css'), SECRET)
  // a symlink in a static dir that leads out of it
  symlinkSync(join(dir, 'x'), join(dir, 'static-a', 'leak.txt'))
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyMedia, { baseDir: dir, static: { dirs: ['static-a', 'static-b'] }, media: false, mode })
  if (mode === 'production') await app.media.collectstatic()
  await app.listen({ host: '127.0.0.1', port: 0 })
  const seen: string[] = []
  app.server.prependListener('request', (req: IncomingMessage) => { seen.push(req.url ?? '') })
  return { app, port: (app.server.address() as AddressInfo).port, seen, dir }
}

for (const mode of ['production', 'development'] as const) {
  t.test(`${mode}: traversal in any encoding is 4xx and never leaks a file outside`, async (t) => {
    const { port, seen } = await listen(t, mode)

    // the server works over this path at all
    const ok = await rawGet(port, '/static/css/app.css')
    t.equal(ok.status, 200, 'a real file is served')

    for (const path of TRAVERSALS) {
      for (const acceptEncoding of ['identity', 'gzip, br']) {
        const res = await rawGet(port, path, { 'accept-encoding': acceptEncoding })
        t.equal(seen.at(-1), path, `${path}: sent as written`)
        t.ok(res.status >= 400 && res.status < 500, `${path} (${acceptEncoding}): 4xx, got ${res.status}`)
        t.notOk(leaks(res.body), `${path} (${acceptEncoding}): nothing of the file outside`)
      }
    }

    const link = await rawGet(port, '/static/leak.txt')
    t.equal(link.status, 404, 'a symlink leading out of a static dir is not followed')
    t.notOk(leaks(link.body))
  })
}

t.test('production: Vary, encodings and Range over real HTTP', async (t) => {
  const { app, port } = await listen(t, 'production')
  const url = app.media.static('css/app.css')
  const br = await rawGet(port, url, { 'accept-encoding': 'br, gzip' })
  t.equal(br.status, 200)
  t.equal(br.headers['content-encoding'], 'br')
  t.match(br.headers.vary, /accept-encoding/i)
  t.match(br.headers['content-type'], /^text\/css/)
  const identity = await rawGet(port, url)
  t.equal(identity.headers['content-encoding'], undefined)
  t.match(identity.headers.vary, /accept-encoding/i, 'Vary on identity responses too')
  t.same(brotliDecompressSync(br.body), identity.body)
  const range = await rawGet(port, url, { range: 'bytes=0-9' })
  t.equal(range.status, 206)
  t.same(range.body, identity.body.subarray(0, 10))
})
