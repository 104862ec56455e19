// A misconfigured S3Storage fails register within seconds with FST_MEDIA_STORAGE, naming the storage and the
// cause: no region, an endpoint that refuses or never answers, a missing bucket. Under the CLI collecting,
// no S3 connection is made at all.
import t from 'tap'
import Fastify from 'fastify'
import { once } from 'node:events'
import { createServer, type Socket } from 'node:net'
import { NoListen } from '../lib/cli/no-listen.js'
import fastifyMedia, { S3Storage } from '../lib/index.js'
import { makeApp, tempDir } from './helpers.js'
import { s3Bucket } from './s3-server.js'

const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }

/** A TCP server on 127.0.0.1 that accepts connections and never answers, closed when the test ends. */
async function silentServer (t: Tap): Promise<string> {
  const sockets = new Set<Socket>()
  const server = createServer((socket) => sockets.add(socket)).listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => {
    for (const socket of sockets) socket.destroy()
    server.close()
  })
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`
}

/** An endpoint on 127.0.0.1 where nothing listens (a port bound, then released). */
async function closedEndpoint (): Promise<string> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return `http://127.0.0.1:${port}`
}

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

async function registerFails (t: Tap, storage: S3Storage, message: RegExp, what: string): Promise<void> {
  const app = Fastify()
  t.teardown(() => app.close())
  const started = performance.now()
  await t.rejects(async () => await app.register(fastifyMedia, { baseDir: tempDir(t), static: false, storages: { default: storage } }), { code: 'FST_MEDIA_STORAGE', message }, what)
  t.comment(`${what}: register failed after ${Math.round(performance.now() - started)} ms`)
}

t.test('no region: FST_MEDIA_STORAGE naming the storage, not the SDK\'s bare "Region is missing"', async (t) => {
  const saved = { region: process.env.AWS_REGION, defaultRegion: process.env.AWS_DEFAULT_REGION }
  delete process.env.AWS_REGION
  delete process.env.AWS_DEFAULT_REGION
  t.teardown(() => Object.assign(process.env, JSON.parse(JSON.stringify(saved)) as Record<string, string>))
  const storage = new S3Storage({ bucket: 'media', clientConfig: { credentials } })
  await registerFails(t, storage, /^storages\.default \(S3Storage, bucket "media"\): storage failed \(no region: set clientConfig\.region, or AWS_REGION\)$/, 'no region')
  await t.rejects(new S3Storage({ bucket: 'media', clientConfig: { credentials } }).ready(), { code: 'FST_MEDIA_STORAGE', message: /^S3Storage \(bucket "media"\): storage failed \(no region/ }, 'named by its bucket when used alone')
})

t.test('an endpoint that refuses connections', async (t) => {
  const endpoint = await closedEndpoint()
  const storage = new S3Storage({ bucket: 'media', clientConfig: { endpoint, region: 'us-east-1', forcePathStyle: true, credentials } })
  await registerFails(t, storage, new RegExp(`^storages\\.default \\(S3Storage, bucket "media"\\): storage failed \\(HeadBucket failed: .*ECONNREFUSED ${endpoint.slice(7)}\\)$`), 'a refusing endpoint')
})

t.test('an endpoint that accepts and never answers: cut after 5 s', async (t) => {
  const endpoint = await silentServer(t)
  const storage = new S3Storage({ bucket: 'media', clientConfig: { endpoint, region: 'us-east-1', forcePathStyle: true, credentials } })
  await registerFails(t, storage, /^storages\.default \(S3Storage, bucket "media"\): storage failed \(no answer within 5000 ms\)$/, 'a silent endpoint')
})

t.test('a bucket that does not exist (s3rver): at register, not at the first upload', async (t) => {
  const { client } = await s3Bucket(t)
  await registerFails(t, new S3Storage({ bucket: 'no-such-bucket', client }), /^storages\.default \(S3Storage, bucket "no-such-bucket"\): storage failed \(bucket "no-such-bucket" does not exist\)$/, 'a missing bucket')
})

t.test('an existing bucket passes; a static.storage is checked too', async (t) => {
  const { client, bucket } = await s3Bucket(t)
  const { app } = await makeApp(t, { storages: { default: new S3Storage({ bucket, client }) } })
  t.ok(app.media)
  const other = Fastify()
  t.teardown(() => other.close())
  await t.rejects(async () => await other.register(fastifyMedia, { baseDir: tempDir(t), static: { storage: new S3Storage({ bucket: 'missing-static', client }) } }),
    { code: 'FST_MEDIA_STORAGE', message: /^S3Storage \(bucket "missing-static"\): storage failed \(bucket "missing-static" does not exist\)$/ })
})

t.test('under the CLI, media storages are not contacted: an unreachable S3 storage does not stop collecting', async (t) => {
  const endpoint = await closedEndpoint()
  const guard = new NoListen('collectstatic')
  t.teardown(() => guard.leave())
  const { app } = await makeApp(t, { storages: { default: new S3Storage({ bucket: 'media', clientConfig: { endpoint, region: 'us-east-1', forcePathStyle: true, credentials } }) } })
  t.ok(app.media, 'registered without a HeadBucket')
})

t.test('AWS_ENDPOINT_URL_S3 (the SDK\'s own variable) reaches a local S3; public URLs then come from publicUrl', async (t) => {
  const { bucket, endpoint } = await s3Bucket(t)
  const saved = process.env.AWS_ENDPOINT_URL_S3
  process.env.AWS_ENDPOINT_URL_S3 = endpoint
  t.teardown(() => {
    if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_S3
    else process.env.AWS_ENDPOINT_URL_S3 = saved
  })
  const storage = new S3Storage({ bucket, publicUrl: `${endpoint}/${bucket}/`, clientConfig: { region: 'us-east-1', forcePathStyle: true, credentials } })
  await storage.ready()
  const name = await storage.save('a.txt', Buffer.from('hello'), { contentType: 'text/plain' })
  t.equal(storage.url(name), `${endpoint}/${bucket}/a.txt`)
  t.equal(await (await fetch(storage.url(name) as string)).text(), 'hello')
})
