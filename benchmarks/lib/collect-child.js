// One collectstatic run in a fresh process, as `fastify-media collectstatic` would do it: the built
// plugin, a production app, `collectstatic(options)` timed on its own. Sends { type: 'result', ... }.
import Fastify from 'fastify'
import fastifyMedia from '../../dist/index.js'

const started = process.hrtime.bigint()
const { baseDir, options } = JSON.parse(process.argv[2])
const app = Fastify()
await app.register(fastifyMedia, { baseDir, static: { dirs: ['src'], root: 'staticfiles' }, media: false, mode: 'production' })
await app.ready()
const before = process.hrtime.bigint()
const result = await app.media.collectstatic(options)
const collectSeconds = Number(process.hrtime.bigint() - before) / 1e9
await app.close()
process.send({
  type: 'result',
  collectSeconds,
  processSeconds: Number(process.hrtime.bigint() - started) / 1e9,
  copied: result.copied.length,
  unmodified: result.unmodified.length,
  postProcessed: result.postProcessed.length,
  manifest: Object.keys(result.manifest).length
}, () => process.exit(0))
