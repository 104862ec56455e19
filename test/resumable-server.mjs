// One app of resumable-kill.test.ts and resumable-locker.test.ts, in its own process so a test can SIGKILL it
// mid-upload or run two side by side: the built package (run `npm run build` first) on a media root the test
// gives, with the tus endpoint at /files and the upload route /clips. The optional third argument, JSON:
// `redis` (a redis-server's unix socket: the endpoint then locks with redisLocker, `ttl` ms) and `s3`
// ({ endpoint, bucket } of an s3rver on 127.0.0.1: the files go there instead of the media root).
// Sends { port } over IPC once listening; exits when the parent goes away.
import { S3Client } from '@aws-sdk/client-s3'
import Fastify from 'fastify'
import { Redis } from 'ioredis'
import fastifyMedia, { FileField, redisLocker, S3Storage } from '../dist/index.js'

const [baseDir, port = '0', json = '{}'] = process.argv.slice(2)
if (baseDir === undefined || process.send === undefined) throw new Error('usage: fork(resumable-server.mjs, [baseDir, port?, options?]) with IPC')
const { redis, ttl, s3 } = JSON.parse(json)

const storages = {}
if (s3 !== undefined) {
  if (new URL(s3.endpoint).hostname !== '127.0.0.1') throw new Error('the S3 endpoint must be on 127.0.0.1')
  const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } })
  storages.default = new S3Storage({ bucket: s3.bucket, client })
}
const app = Fastify()
await app.register(fastifyMedia, { baseDir, static: false, storages })
const Clip = app.media.model('clip', {
  video: FileField({ uploadTo: 'videos/', accept: ['video/mp4'], maxSize: 200 * 2 ** 20 })
})
const locker = redis === undefined ? undefined : redisLocker(new Redis({ path: redis }), { ttl })
await app.register(app.media.resumable('/files', { fields: [Clip.fields.video], locker }))
app.post('/clips', { upload: Clip }, async (req, reply) => reply.code(201).send(req.uploads))
// the bytes the server has stored of an upload on disk: what the test waits on before it kills the process
app.get('/received/:id', async (req) => (await app.media.storage().stat(`.resumable/${req.params.id}`).catch(() => ({ size: 0 }))).size)

await app.listen({ host: '127.0.0.1', port: Number(port) })
process.send({ port: app.server.address().port })
process.on('disconnect', () => process.exit(0))
