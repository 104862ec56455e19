// One app of resumable-kill.test.ts, in its own process so the test can SIGKILL it mid-upload: the built
// package (run `npm run build` first) on a media root the test gives, with the tus endpoint at /files and
// the upload route /clips. Sends { port } over IPC once listening; exits when the parent goes away.
import Fastify from 'fastify'
import fastifyMedia, { FileField } from '../dist/index.js'

const [baseDir, port = '0'] = process.argv.slice(2)
if (baseDir === undefined || process.send === undefined) throw new Error('usage: fork(resumable-server.mjs, [baseDir, port?]) with IPC')

const app = Fastify()
await app.register(fastifyMedia, { baseDir, static: false })
const Clip = app.media.model('clip', {
  video: FileField({ uploadTo: 'videos/', accept: ['video/mp4'], maxSize: 200 * 2 ** 20 })
})
await app.register(app.media.resumable('/files', { fields: [Clip.fields.video] }))
app.post('/clips', { upload: Clip }, async (req, reply) => reply.code(201).send(req.uploads))
// the bytes the server has stored of an upload: what the test waits on before it kills the process
app.get('/received/:id', async (req) => (await app.media.storage().stat(`.resumable/${req.params.id}`).catch(() => ({ size: 0 }))).size)

await app.listen({ host: '127.0.0.1', port: Number(port) })
process.send({ port: app.server.address().port })
process.on('disconnect', () => process.exit(0))
