// fastify-media (the built package in dist/) on a FileSystemStorage under `dir`: a FileField taking MP4s up
// to 512 MiB, its upload route /upload (a file, or a finished tus upload's URL as the form value), and a tus
// endpoint for the field at /files (@tus/server over @tus/file-store, uploads waiting in media/.resumable/).
import Fastify from 'fastify'
import fastifyMedia, { FileField } from '../../dist/index.js'
import { config, serve } from './ipc.js'

const { dir } = config()
const app = Fastify()
await app.register(fastifyMedia, { baseDir: dir, media: { url: '/media/', root: 'media' }, static: false })
// {uuid} names: no upload pays for a name collision
const Clip = app.media.model('clip', { file: FileField({ uploadTo: 'up/{uuid}.{ext}', accept: ['video/mp4'], maxSize: 512 * 2 ** 20 }) })
app.post('/upload', { upload: Clip }, async (req, reply) => reply.code(201).send(Clip.toRecord(req.uploads)))
await app.register(app.media.resumable('/files', { fields: [Clip.fields.file] }))
await app.listen({ host: '127.0.0.1', port: 0 })
serve({ port: app.server.address().port, close: () => app.close() })
