// One app instance of s3-multi-instance.test.ts, in its own process: the built package (run `npm run build`
// first) with an S3Storage on a bucket the test process serves (s3rver on 127.0.0.1), so two of these
// share nothing but the bucket (and the signing key the test gives them: direct-upload tokens made by one are
// committed by the other). Talks over IPC: sends { type: 'ready', port }; exits on 'close', and when
// the parent goes away.
import { S3Client } from '@aws-sdk/client-s3'
import Fastify from 'fastify'
import fastifyMedia, { FileField, ImageField, S3Storage } from '../dist/index.js'

const [endpoint, bucket, signingKey] = process.argv.slice(2)
if (endpoint === undefined || bucket === undefined || signingKey === undefined || process.send === undefined) {
  throw new Error('usage: fork(s3-instance-server.mjs, [endpoint, bucket, signingKey]) with IPC')
}
const { hostname } = new URL(endpoint)
if (hostname !== '127.0.0.1') throw new Error(`the S3 endpoint must be on 127.0.0.1, not ${hostname}`)

const client = new S3Client({
  endpoint,
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  // bounded: a stuck S3 call fails the request instead of hanging it
  requestHandler: { connectionTimeout: 5_000, requestTimeout: 15_000 }
})

const app = Fastify({ connectionTimeout: 30_000, requestTimeout: 30_000 })
await app.register(fastifyMedia, {
  media: false,
  static: false,
  signingKey,
  storages: { default: new S3Storage({ bucket, client, prefix: 'media/' }) }
})
const Profile = app.media.model('profile', {
  avatar: ImageField({ uploadTo: 'avatars/' })
})
const Clip = app.media.model('clip', {
  video: FileField({ uploadTo: 'videos/', accept: ['video/mp4'], maxSize: 20_000_000, direct: true })
})

// POST /direct/presign { field: 'clip.video', filename, size, contentType }; the token commits on POST /clips
await app.register(app.media.directRoutes, { prefix: '/direct', fields: [Clip.fields.video] })
app.post('/clips', { upload: Clip }, async (req, reply) => reply.code(201).send(Clip.toRecord(req.uploads)))

app.post('/profiles', { upload: Profile }, async (req, reply) => reply.code(201).send(Profile.toRecord(req.uploads)))

app.get('/files', async () => await app.media.storage().list())

// a missing file is not caught here: the storage's error goes out as it is (FST_MEDIA_FILE_NOT_FOUND, 404)
app.get('/profiles/load', async (req) => {
  const file = await Profile.load({ avatar: req.query.avatar }).avatar.stat()
  return { name: file.name, url: await file.url, size: file.size, width: file.width, height: file.height }
})

app.get('/media-redirect', async (req, reply) => reply.redirect(await app.media.storage().url(req.query.name), 302))

app.delete('/profiles', async (req, reply) => {
  await Profile.delete({ avatar: req.query.avatar })
  return reply.code(204).send()
})

await app.listen({ host: '127.0.0.1', port: 0 })

const close = (code) => {
  const force = setTimeout(() => process.exit(1), 5_000)
  force.unref()
  app.close().then(() => client.destroy()).then(() => process.exit(code), () => process.exit(1))
}
process.on('message', (message) => { if (message === 'close') close(0) })
process.on('disconnect', () => close(0))

process.send({ type: 'ready', port: app.server.address().port })
