// The app of tmp-sweep.test.ts, in its own process so the test can SIGKILL it mid-upload: the built package
// (run `npm run build` first) on a media root the test gives, with the upload route /docs and the given
// limits.uploadTimeout. Sends { port } over IPC once listening; exits when the parent goes away.
// With `ready-only`, it only readies the app and neither listens nor closes: the process must end by itself.
import Fastify from 'fastify'
import fastifyMedia, { FileField } from '../../dist/index.js'

const [baseDir, uploadTimeout, mode] = process.argv.slice(2)
if (baseDir === undefined || uploadTimeout === undefined) throw new Error('usage: fork(tmp-sweep-server.mjs, [baseDir, uploadTimeout, ready-only?])')

const app = Fastify()
await app.register(fastifyMedia, { baseDir, static: false, limits: { uploadTimeout: Number(uploadTimeout) } })
const Doc = app.media.model('doc', { doc: FileField({ uploadTo: 'docs/', accept: ['application/pdf'], maxSize: '100 MB' }) })
app.post('/docs', { upload: Doc }, async (req, reply) => reply.code(201).send(req.uploads))

if (mode === 'ready-only') {
  await app.ready()
} else {
  await app.listen({ host: '127.0.0.1', port: 0 })
  process.send({ port: app.server.address().port })
  process.on('disconnect', () => process.exit(0))
}
