// fastify-media in production mode (the built package in dist/), serving the collected static.root.
import Fastify from 'fastify'
import fastifyMedia from '../../dist/index.js'
import { config, serve } from './ipc.js'

const { baseDir, dirs, root } = config()
const app = Fastify()
await app.register(fastifyMedia, { baseDir, static: { url: '/static/', dirs, root }, media: false, mode: 'production' })
await app.listen({ host: '127.0.0.1', port: 0 })
serve({ port: app.server.address().port, close: () => app.close() })
