// fastify-media (the built package in dist/) on an S3Storage (s3rver): a plain FileField upload route, and
// two fields with direct uploads (the browser sends the file to the bucket, a form commits the token): one
// whose files go up as one POST form, one whose files go up in parts (S3 multipart, 8 MiB parts).
// Besides the usual stats it reports the bytes it has read off its sockets and the request bodies'
// declared lengths: what the app received.
import { S3Client } from '@aws-sdk/client-s3'
import Fastify from 'fastify'
import fastifyMedia, { FileField, S3Storage } from '../../dist/index.js'
import { config, serve } from './ipc.js'

const { endpoint, bucket } = config()
const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } })
const maxSize = '1 GiB'
const app = Fastify()
// every byte read off a client socket, headers included (closed sockets' totals plus the open ones' so far),
// and the request bodies' declared lengths
let closedBytes = 0
const open = new Set()
app.server.on('connection', (socket) => {
  open.add(socket)
  socket.once('close', () => {
    open.delete(socket)
    closedBytes += socket.bytesRead
  })
})
let bodies = 0
app.addHook('onRequest', async (req) => { bodies += Number(req.headers['content-length'] ?? 0) })
await app.register(fastifyMedia, { media: false, static: false, signingKey: 'bench-signing-key-'.padEnd(32, 'k'), storages: { default: new S3Storage({ bucket, client }) } })
// {uuid} names: no upload pays for a name collision
const Plain = app.media.model('plain', { file: FileField({ uploadTo: 'plain/{uuid}.{ext}', maxSize }) })
// S3's largest single POST is 5 GiB: this field never goes multipart
const Post = app.media.model('post', { file: FileField({ uploadTo: 'post/{uuid}.{ext}', maxSize, direct: { multipartAbove: '5 GiB' } }) })
// the smallest threshold S3 allows: every file of the scenario (16 MiB quick, 256 MiB) goes up in parts
const Parts = app.media.model('parts', { file: FileField({ uploadTo: 'parts/{uuid}.{ext}', maxSize, direct: { multipartAbove: '5 MiB' } }) })

app.post('/upload', { upload: Plain }, async (req, reply) => reply.code(201).send(Plain.toRecord(req.uploads)))
app.post('/commit/post', { upload: Post }, async (req, reply) => reply.code(201).send(Post.toRecord(req.uploads)))
app.post('/commit/parts', { upload: Parts }, async (req, reply) => reply.code(201).send(Parts.toRecord(req.uploads)))
await app.register(app.media.directRoutes, { prefix: '/direct', fields: [Post.fields.file, Parts.fields.file] })

await app.listen({ host: '127.0.0.1', port: 0 })

const received = () => ({ bytesRead: [...open].reduce((sum, socket) => sum + socket.bytesRead, closedBytes), bodies })

serve({ port: app.server.address().port, stats: received, close: async () => { await app.close(); client.destroy() } })
