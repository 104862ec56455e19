// Two app processes behind one store (a shared media root, or one s3rver bucket), locking uploads with
// redisLocker on one real redis-server: a PATCH on one waits for the other's, and a process that dies holding
// a lock lets it lapse. Separate processes (the built package: `npm run build` first), so nothing held in
// memory is shared; with @tus/server's default MemoryLocker each would write the upload as if alone.
import t from 'tap'
import { fork, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { buffer } from 'node:stream/consumers'
import { GetObjectCommand } from '@aws-sdk/client-s3'
import { Upload } from 'tus-js-client'
import { commitForm } from './direct-helpers.js'
import { tempDir, type Tap } from './helpers.js'
import { waitFor, within } from './http-helpers.js'
import { startRedis } from './redis-server.js'
import { mp4 } from './resumable-app.js'
import { s3Bucket } from './s3-server.js'

const SERVER = join(import.meta.dirname, 'resumable-server.mjs')
const TUS = { 'tus-resumable': '1.0.0' }
const b64 = (text: string): string => Buffer.from(text).toString('base64')
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')

interface Instance { child: ChildProcess, origin: string }

async function start (t: Tap, baseDir: string, options: object): Promise<Instance> {
  const child = fork(SERVER, [baseDir, '0', JSON.stringify(options)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  t.teardown(() => { child.kill('SIGKILL') })
  const [message] = await within(once(child, 'message'), 'the server listening', 60_000) as [{ port: number }]
  return { child, origin: `http://127.0.0.1:${message.port}` }
}

/** Two instances on one store (disk: one media root; s3: one bucket) and one Redis, or undefined without redis-server. */
async function pair (t: Tap, on: 'disk' | 's3') {
  const redis = await startRedis(t)
  if (redis === undefined) return undefined
  const s3 = on === 's3' ? await s3Bucket(t) : undefined
  const dir = tempDir(t)
  const options = { redis: redis.path, ttl: 1500, s3: s3 === undefined ? undefined : { endpoint: s3.endpoint, bucket: s3.bucket } }
  const [a, b] = await Promise.all([start(t, dir, options), start(t, dir, options)])
  const admin = redis.client()
  return {
    a,
    b,
    /** Whether some upload's lock is held, as Redis has it. */
    locked: async (): Promise<boolean> => (await admin.keys('fastify-media:tus:lock:*')).length > 0,
    /** The committed file's bytes. */
    read: async (name: string): Promise<Buffer> => s3 === undefined
      ? readFileSync(join(dir, 'media', name))
      : await buffer((await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: name }))).Body as NodeJS.ReadableStream)
  }
}

const create = async (origin: string, length: number): Promise<string> => {
  const res = await fetch(`${origin}/files`, { method: 'POST', headers: { ...TUS, 'upload-length': String(length), 'upload-metadata': `filename ${b64('a.mp4')}` } })
  return res.headers.get('location')!
}
const patch = async (url: string, body: RequestInit['body']): Promise<Response> => await fetch(url, {
  method: 'PATCH', headers: { ...TUS, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }, body, duplex: 'half'
} as RequestInit)
/** A PATCH that sends `bytes` and then holds its request (and the upload's lock) open. */
const held = (url: string, bytes: Buffer): Promise<Response> => patch(url, new ReadableStream({ start: (controller) => { controller.enqueue(new Uint8Array(bytes)) } }))
const offsetOf = async (url: string): Promise<string | null> => (await fetch(url, { method: 'HEAD', headers: TUS })).headers.get('upload-offset')

for (const on of ['disk', 's3'] as const) {
  t.test(`${on}: a PATCH to one process waits for another process's PATCH of the same upload to stop, then is refused for its stale offset`, async (t) => {
    const ctx = await pair(t, on)
    if (ctx === undefined) return
    const url = await create(ctx.a.origin, 1_000_000)
    const first = held(url, mp4(100_000))
    t.ok(await waitFor(ctx.locked, 10_000), 'the first PATCH holds the upload\'s lock')

    // the same upload, through the other process
    const second = await patch(`${ctx.b.origin}${new URL(url).pathname}`, mp4(1_000_000).subarray(0, 200_000))
    t.equal(second.status, 409, 'the second waited for the lock, then found the offset moved')
    const answered = await within(first, 'the first PATCH answered once the other process asked it to let go')
    t.equal(answered.status, 204)
    t.equal(answered.headers.get('upload-offset'), '100000', 'it kept what it had received')
    t.equal(await offsetOf(`${ctx.b.origin}${new URL(url).pathname}`), '100000', 'no byte of the second was written')
  })

  t.test(`${on}: a process killed holding an upload's lock lets it lapse; the upload completes through the other, byte-identical`, async (t) => {
    const ctx = await pair(t, on)
    if (ctx === undefined) return
    const bytes = mp4(300_000, 7)
    const url = await create(ctx.a.origin, bytes.length)
    held(url, bytes.subarray(0, 100_000)).catch(() => {})
    t.ok(await waitFor(ctx.locked, 10_000), 'the first PATCH holds the upload\'s lock')
    const exited = once(ctx.a.child, 'exit')
    ctx.a.child.kill('SIGKILL')
    await within(exited, 'the first process gone')
    t.ok(await ctx.locked(), 'its lock outlives it, until the ttl')

    const resumed = `${ctx.b.origin}${new URL(url).pathname}`
    await within(new Promise<void>((resolve, reject) => {
      new Upload(bytes, { endpoint: `${ctx.b.origin}/files`, uploadUrl: resumed, retryDelays: [], onError: reject, onSuccess: () => resolve() }).start()
    }), 'the upload finished through the second process', 30_000)
    const res = await commitForm(`${ctx.b.origin}/clips`, { video: resumed })
    t.equal(res.statusCode, 201, JSON.stringify(res.json))
    t.equal(sha256(await ctx.read('videos/a.mp4')), sha256(bytes), 'byte-identical')
  })
}

t.test('the built package is there', async (t) => {
  t.ok(existsSync(join(import.meta.dirname, '..', 'dist', 'index.js')), 'dist/index.js: run `npm run build` first (npm test does)')
})
