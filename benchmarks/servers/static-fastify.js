// Baseline: @fastify/static on the collected static.root, plain or with preCompressed .br/.gz.
import fastifyStatic from '@fastify/static'
import Fastify from 'fastify'
import { config, serve } from './ipc.js'

const { root, preCompressed } = config()
const app = Fastify()
await app.register(fastifyStatic, { root, prefix: '/static/', preCompressed, index: false, list: false })
await app.listen({ host: '127.0.0.1', port: 0 })
serve({ port: app.server.address().port, close: () => app.close() })
