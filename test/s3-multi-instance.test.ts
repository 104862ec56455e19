// Two app processes share one S3 bucket (and a signing key) and nothing else: a file uploaded through one is listed, loaded,
// served and deleted through the other, and the same client file name uploaded through both at once ends up
// under two names. A direct upload presigned through one is committed through the other, its token then spent
// for both (the single-use record is in the bucket), and a token signed with another key is refused by both.
// The apps are separate processes (the built package: run `npm run build` first), so
// nothing held in memory (the names being written) is shared; only the bucket (s3rver on 127.0.0.1) is.
//
// The apps reach s3rver through a gate (a proxy in this process, on 127.0.0.1) for two reasons. s3rver
// ignores `If-None-Match: *` on PUT, which S3Storage relies on between processes; AWS (and MinIO, R2) honour
// it atomically, and so does the gate. And the gate can hold the uploads' PUTs until both are there, so both
// apps have checked the name before either writes: the race happens every time instead of by luck.
import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import type { PresignedForm } from '../lib/index.js'
import { commitForm, keysUnder, mp4, postToBucket } from './direct-helpers.js'
import { fixture, multipart, type Tap } from './helpers.js'
import { s3Bucket } from './s3-server.js'

const SERVER = join(import.meta.dirname, 's3-instance-server.mjs')
const DIST = join(import.meta.dirname, '..', 'dist', 'index.js')
const PNG = fixture('fixture.png')
const TIMEOUT = 15_000
/** The signing key both instances share; a third instance signs with OTHER_KEY. */
const KEY = 'shared-key-'.padEnd(32, 'k')
const OTHER_KEY = 'other-key-'.padEnd(32, 'o')

interface Stat { name: string, url: string, size: number, width: number, height: number }

interface Gate {
  port: number
  /** Holds the next `count` conditional PUTs of `path` until all have arrived; resolves how many met there. */
  hold: (path: string, count: number) => Promise<number>
}

/**
 * How long a hold waits for the rest of its PUTs before it lets the ones there go, and reports fewer than it
 * waited for: a guard against a hang, that fails the test. Below the apps' S3 request timeout (15 s).
 */
const HOLD_GUARD = 10_000

/**
 * A proxy in front of s3rver that honours `If-None-Match: *` on PUT as AWS does (atomically, one write per key
 * at a time: 412 PreconditionFailed when the key exists), and can hold the first `count` conditional PUTs of a
 * key until all have arrived (HOLD_GUARD at most: fewer met, which the test asserts against).
 */
async function s3Gate (t: Tap, endpoint: string): Promise<Gate> {
  const upstream = { host: '127.0.0.1', port: Number(new URL(endpoint).port) }
  const locks = new Map<string, Promise<void>>()
  const holds = new Map<string, { count: number, waiting: Array<() => void>, release: () => void }>()

  const forward = (req: IncomingMessage, res: ServerResponse): Promise<void> => new Promise((resolve) => {
    const up = httpRequest({ ...upstream, method: req.method, path: req.url, headers: req.headers, timeout: TIMEOUT }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers)
      upRes.pipe(res)
      upRes.once('end', resolve)
      upRes.once('error', () => { res.destroy(); resolve() })
    })
    up.once('timeout', () => up.destroy(new Error('s3rver did not answer in time')))
    up.once('error', () => { res.destroy(); resolve() })
    req.pipe(up)
  })

  const exists = (path: string): Promise<boolean> => new Promise((resolve, reject) => {
    const head = httpRequest({ ...upstream, method: 'HEAD', path, timeout: TIMEOUT }, (res) => {
      res.resume()
      resolve(res.statusCode === 200)
    })
    head.once('timeout', () => head.destroy(new Error('s3rver did not answer in time')))
    head.once('error', reject)
    head.end()
  })

  const held = (path: string): Promise<void> => new Promise((resolve) => {
    const entry = holds.get(path)
    if (entry === undefined) return resolve()
    entry.waiting.push(resolve)
    if (entry.waiting.length >= entry.count) entry.release()
  })

  const hold = async (path: string, count: number): Promise<number> => await new Promise((resolve) => {
    const release = () => {
      if (holds.get(path) !== entry) return
      holds.delete(path)
      clearTimeout(guard)
      resolve(entry.waiting.length)
      for (const waiting of entry.waiting.splice(0)) waiting()
    }
    const entry = { count, waiting: [] as Array<() => void>, release }
    const guard = setTimeout(release, HOLD_GUARD)
    holds.set(path, entry)
  })

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname
    // PutObject and CopyObject are both PUTs: either may carry the condition
    if (req.method !== 'PUT' || req.headers['if-none-match'] !== '*') {
      forward(req, res).catch(() => { res.destroy() })
      return
    }
    const previous = locks.get(path) ?? Promise.resolve()
    const turn = held(path).then(() => previous).then(async () => {
      if (await exists(path)) {
        req.resume()
        res.writeHead(412, { 'content-type': 'application/xml' })
        res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code>' +
          '<Message>At least one of the pre-conditions you specified did not hold</Message><Condition>If-None-Match</Condition></Error>')
      } else {
        await forward(req, res)
      }
    }).catch(() => { res.destroy() })
    locks.set(path, turn)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  return { port: address.port, hold }
}

/** The child's port once it listens, or a rejection if it dies or takes too long first. */
function ready (child: ChildProcess, timeout = 30_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error, port?: number) => {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
      if (err === undefined) resolve(port as number)
      else reject(err)
    }
    const onMessage = (message: { type?: string, port?: number }) => { if (message?.type === 'ready') done(undefined, message.port) }
    const onExit = (code: number | null, signal: string | null) => done(new Error(`the server exited (${code ?? signal}) before listening`))
    const timer = setTimeout(() => done(new Error(`the server did not listen within ${timeout} ms`)), timeout)
    child.on('message', onMessage)
    child.once('exit', onExit)
  })
}

/** Ends a child: 'close' over IPC, SIGKILL if it is still there after a bound. */
async function stop (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  if (child.connected) child.send('close')
  else child.kill()
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
  await exited
  clearTimeout(timer)
}

/** One app instance in its own process, on the shared bucket; stopped when the test ends. */
async function instance (t: Tap, endpoint: string, bucket: string, signingKey = KEY): Promise<string> {
  // a clean child: no TypeScript loader, no coverage, none of tap's NODE_OPTIONS
  const env = { ...process.env }
  delete env.NODE_OPTIONS
  delete env.NODE_V8_COVERAGE
  const child = fork(SERVER, [endpoint, bucket, signingKey], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  t.teardown(() => stop(child))
  return `http://127.0.0.1:${await ready(child)}`
}

const timeouts = { headersTimeout: TIMEOUT, bodyTimeout: TIMEOUT }

async function upload (origin: string, filename: string): Promise<{ statusCode: number, json: { avatar: string } }> {
  const { payload, headers } = multipart([{ name: 'avatar', filename, content: PNG, contentType: 'image/png' }])
  const res = await request(`${origin}/profiles`, { method: 'POST', headers, body: payload, ...timeouts })
  return { statusCode: res.statusCode, json: await res.body.json() as { avatar: string } }
}

async function get<T> (origin: string, path: string): Promise<{ statusCode: number, json: T }> {
  const res = await request(`${origin}${path}`, timeouts)
  return { statusCode: res.statusCode, json: await res.body.json() as T }
}

const listed = async (origin: string): Promise<string[]> => {
  const { statusCode, json } = await get<string[]>(origin, '/files')
  if (statusCode !== 200) throw new Error(`GET /files answered ${statusCode}`)
  return json
}

const q = encodeURIComponent

/** The bytes at a name's public URL, fetched by following the instance's redirect by hand. */
async function bytesVia (t: Tap, origin: string, name: string, bucketUrl: string): Promise<Buffer> {
  const redirect = await request(`${origin}/media-redirect?name=${q(name)}`, timeouts)
  await redirect.body.dump()
  t.equal(redirect.statusCode, 302, 'a redirect')
  const location = redirect.headers.location as string
  t.equal(location, `${bucketUrl}media/${name.split('/').map(q).join('/')}`, 'to the public object URL, on 127.0.0.1')
  const object = await request(location, timeouts)
  t.equal(object.statusCode, 200, 'the object is there')
  t.equal(object.headers['content-type'], 'image/png', 'served as image/png')
  return Buffer.from(await object.body.arrayBuffer())
}

/** Asks an instance's presign route (app.media.directRoutes) for a form that sends an MP4 to the bucket. */
async function presign (origin: string, filename: string, size: number): Promise<{ statusCode: number, json: PresignedForm }> {
  const body = JSON.stringify({ field: 'clip.video', filename, size, contentType: 'video/mp4' })
  const res = await request(`${origin}/direct/presign`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, ...timeouts })
  return { statusCode: res.statusCode, json: await res.body.json() as PresignedForm }
}

t.test('two app processes share one S3 bucket', async (t) => {
  if (!existsSync(DIST)) {
    t.fail('dist/index.js is missing: run `npm run build` first (npm test does)')
    return
  }
  const s3 = await s3Bucket(t)
  const bucket = s3.bucket
  const gate = await s3Gate(t, s3.endpoint)
  const endpoint = `http://127.0.0.1:${gate.port}`
  const bucketUrl = `${endpoint}/${bucket}/`
  const [a, b] = await Promise.all([instance(t, endpoint, bucket), instance(t, endpoint, bucket)]) as [string, string]
  t.not(a, b, 'two servers')

  await t.test('uploaded through A: listed, loaded, served and deleted through B', async (t) => {
    const up = await upload(a, 'me.png')
    t.equal(up.statusCode, 201, 'A stores the upload')
    t.equal(up.json.avatar, 'avatars/me.png', 'the record names the file')
    const name = up.json.avatar

    t.ok((await listed(b)).includes(name), 'B lists it')

    const loaded = await get<Stat>(b, `/profiles/load?avatar=${q(name)}`)
    t.equal(loaded.statusCode, 200, 'B loads it')
    t.same(loaded.json, { name, url: `${bucketUrl}media/${name}`, size: PNG.length, width: 200, height: 133 }, 'with its size and dimensions, read from the bucket')

    t.same(await bytesVia(t, b, name, bucketUrl), PNG, 'B\'s redirect leads to the same bytes')

    const del = await request(`${b}/profiles?avatar=${q(name)}`, { method: 'DELETE', ...timeouts })
    await del.body.dump()
    t.equal(del.statusCode, 204, 'B deletes it')

    t.notOk((await listed(a)).includes(name), 'A no longer lists it')
    const gone = await get<{ code: string, message: string }>(a, `/profiles/load?avatar=${q(name)}`)
    t.equal(gone.statusCode, 404, 'A cannot load it: stat() fails, and the error goes out as it is')
    t.match(gone.json, { code: 'FST_MEDIA_FILE_NOT_FOUND', message: `${name}: no such file in the storage` })
    t.same(await listed(b), [], 'nothing is left in the bucket, no temporary key either')
  })

  await t.test('the same client file name through A and B at once: two files, two names', async (t) => {
    // both PUTs wait for each other: each app has found the name free before either writes
    const met = gate.hold(`/${bucket}/media/avatars/same.png`, 2)
    const [fromA, fromB] = await Promise.all([upload(a, 'same.png'), upload(b, 'same.png')])
    t.equal(await met, 2, 'both PUTs of the name met at the gate: each app had found it free before either wrote')
    t.comment(`A answered ${fromA.statusCode} ${JSON.stringify(fromA.json)}; B answered ${fromB.statusCode} ${JSON.stringify(fromB.json)}`)
    t.equal(fromA.statusCode, 201, 'A stores its upload')
    t.equal(fromB.statusCode, 201, 'B stores its upload')
    t.ok(fromA.statusCode === 201 || fromB.statusCode === 201, 'one of them at least')
    const names = [fromA.json.avatar, fromB.json.avatar].filter((name) => typeof name === 'string')
    for (const name of names) t.match(name, /^avatars\/same(_[a-zA-Z0-9]{7})?\.png$/, `${name} comes from the client's name`)
    t.equal(names.length, new Set(names).size, 'no name is given twice: nothing was overwritten')
    t.equal(new Set(names).size, 2, 'two distinct names: the name lost to the other process at the last moment (412) is tried again under a new one')
    const stored = [...new Set(names)].sort()
    t.same(await listed(a), stored, 'A lists every stored name, and nothing else')
    t.same(await listed(b), stored, 'B lists every stored name, and nothing else')
    // each file through the instance that did not store it
    for (const [name, other] of [[fromA.json.avatar, b], [fromB.json.avatar, a]] as const) {
      if (typeof name !== 'string') continue
      const loaded = await get<Stat>(other, `/profiles/load?avatar=${q(name)}`)
      t.match(loaded, { statusCode: 200, json: { name, size: PNG.length, width: 200, height: 133 } }, `${name} loads through the other instance`)
      t.same(await bytesVia(t, other, name, bucketUrl), PNG, `${name} holds the uploaded bytes`)
    }
  })

  await t.test('a direct upload presigned through A is committed through B, and its token is spent for A too', async (t) => {
    const bytes = mp4(300_000)
    const presigned = await presign(a, 'clip.mp4', bytes.length)
    t.equal(presigned.statusCode, 200, 'A presigns')
    t.equal(presigned.json.method, 'POST', 'a form to post to the bucket')
    const quarantined = presigned.json.fields.key
    t.match(quarantined, /^media\/\.direct\/q\/[0-9a-f-]{36}$/, 'to a key under the quarantine prefix')
    t.equal(await postToBucket(presigned.json, bytes), 204, 'the bytes go to the bucket')
    t.same(await keysUnder(s3.client, bucket, 'media/.direct/q/'), [quarantined], 'and wait in quarantine')

    const committed = await commitForm(`${b}/clips`, { video: presigned.json.token })
    t.equal(committed.statusCode, 201, 'B commits the token A signed')
    t.same(committed.json, { video: 'videos/clip.mp4' }, 'under the field\'s uploadTo name')
    const object = await request(`${bucketUrl}media/videos/clip.mp4`, timeouts)
    t.equal(object.statusCode, 200, 'the object is at its name')
    t.equal(object.headers['content-type'], 'video/mp4', 'with the type read from its bytes')
    t.same(Buffer.from(await object.body.arrayBuffer()), bytes, 'holding the uploaded bytes')
    t.same(await keysUnder(s3.client, bucket, 'media/.direct/q/'), [], 'quarantine is empty')

    const replay = await commitForm(`${a}/clips`, { video: presigned.json.token })
    t.equal(replay.statusCode, 400, 'the same token through A is refused')
    t.match(replay.json, { code: 'FST_MEDIA_INVALID_TOKEN', field: 'video', message: /used already/ }, 'A knows it was spent through B: the record is in the bucket')
    t.same(await keysUnder(s3.client, bucket, 'media/videos/'), ['media/videos/clip.mp4'], 'the replay stored nothing')
  })

  await t.test('a token signed by an instance with another key is refused by both', async (t) => {
    const c = await instance(t, endpoint, bucket, OTHER_KEY)
    const bytes = mp4(300_000)
    const presigned = await presign(c, 'other.mp4', bytes.length)
    t.equal(presigned.statusCode, 200, 'the third instance presigns')
    // its bytes are in the bucket: a refusal can only come from the token
    t.equal(await postToBucket(presigned.json, bytes), 204, 'the bytes go to the bucket')
    for (const [origin, label] of [[a, 'A'], [b, 'B']] as const) {
      const res = await commitForm(`${origin}/clips`, { video: presigned.json.token })
      t.equal(res.statusCode, 400, `${label} refuses it`)
      t.match(res.json, { code: 'FST_MEDIA_INVALID_TOKEN', field: 'video', message: /forged or altered/ }, `${label} finds the signature wrong`)
    }
    t.same(await keysUnder(s3.client, bucket, 'media/videos/'), ['media/videos/clip.mp4'], 'nothing was committed')
    t.same(await keysUnder(s3.client, bucket, 'media/.direct/q/'), [presigned.json.fields.key], 'the upload stays in quarantine, where the lifecycle rule expires it')
  })
})
