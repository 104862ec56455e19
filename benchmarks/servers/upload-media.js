// fastify-media (the built package in dist/): one upload route with a FileField (random names, or the
// client's name, which collides), an ImageField, or an ImageField with a thumbnail variant.
import Fastify from 'fastify'
import fastifyMedia, { FileField, ImageField } from '../../dist/index.js'
import { config, serve } from './ipc.js'

const { dir, field } = config()
// {uuid} names, as the baselines use random names: no upload pays for a name collision
const uploadTo = 'up/{uuid}.{ext}'
const fields = {
  file: () => FileField({ uploadTo }),
  // the client's name kept: every upload after the first finds photo.png taken and gets a suffixed name
  collide: () => FileField({ uploadTo: 'up/' }),
  image: () => ImageField({ uploadTo }),
  variants: () => ImageField({ uploadTo, variants: { thumb: { width: 200, height: 200, fit: 'cover', format: 'webp' } } })
}
const app = Fastify()
await app.register(fastifyMedia, { baseDir: dir, media: { url: '/media/', root: 'media' }, static: false })
const model = app.media.model('bench', { file: fields[field]() })
app.post('/upload', { upload: model }, async (req, reply) => reply.code(201).send(req.uploads))
await app.listen({ host: '127.0.0.1', port: 0 })
serve({ port: app.server.address().port, close: () => app.close() })
