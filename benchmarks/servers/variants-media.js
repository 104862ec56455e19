// fastify-media (the built package in dist/) with variants made after the upload: an upload route for an
// ImageField without variants, or one whose variants are all `generation: 'lazy'`; the media route makes a
// lazy variant on its first request. The server time of each media request (onRequest to onResponse) is
// kept and reported with the process stats, so the client's own latency does not count.
import Fastify from 'fastify'
import fastifyMedia, { ImageField } from '../../dist/index.js'
import { config, serve } from './ipc.js'

const { dir, field } = config()
const uploadTo = 'up/{uuid}.{ext}'
const fields = {
  image: () => ImageField({ uploadTo }),
  lazy: () => ImageField({
    uploadTo,
    variants: {
      thumb: { width: 200, height: 200, fit: 'cover', format: 'webp', generation: 'lazy' },
      card: { width: 400, format: 'webp', generation: 'lazy' }
    }
  })
}
const app = Fastify()
// milliseconds per media request, taken (and cleared) by each stats call; hooked before the plugin, so
// that they wrap its own hooks (a hook added after the plugin's routes runs after theirs)
let timings = []
const started = new WeakMap()
app.addHook('onRequest', async (request) => { if (request.url.startsWith('/media/')) started.set(request, process.hrtime.bigint()) })
app.addHook('onResponse', async (request) => {
  const start = started.get(request)
  if (start !== undefined) timings.push(Number(process.hrtime.bigint() - start) / 1e6)
})

await app.register(fastifyMedia, { baseDir: dir, media: { url: '/media/', root: 'media' }, static: false })
const model = app.media.model('bench', { file: fields[field]() })
app.post('/upload', { upload: model }, async (req, reply) => reply.code(201).send(req.uploads))

await app.listen({ host: '127.0.0.1', port: 0 })
serve({
  port: app.server.address().port,
  close: () => app.close(),
  stats: () => {
    const taken = timings
    timings = []
    return { timings: taken }
  }
})
