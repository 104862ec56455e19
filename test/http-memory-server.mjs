// The server of http-memory.test.ts, in its own process so its memory is its own: the built package
// (run `npm run build` first), a FileField route and an ImageField-with-variants route, RSS sampled while
// it works. Talks over IPC:
// sends { type: 'ready', port }; answers 'baseline' with { type: 'baseline', rss } (and starts tracking the
// peak from there), 'report' with { type: 'report', baseline, peak, samples, maxRSS, maxSharpTasks }; exits on
// 'close'. maxSharpTasks is the most sharp operations seen in flight (queued in libvips' pool or running) at once.
import Fastify from 'fastify'
import sharp from 'sharp'
import fastifyMedia, { FileField, ImageField } from '../dist/index.js'

const dir = process.argv[2]
if (dir === undefined || process.send === undefined) throw new Error('usage: fork(http-memory-server.mjs, [dir]) with IPC')

const app = Fastify()
await app.register(fastifyMedia, { baseDir: dir, static: false })
const Doc = app.media.model('doc', {
  doc: FileField({ uploadTo: 'big/', accept: ['application/pdf'] })
})
app.post('/upload', { upload: Doc }, async (req, reply) => reply.code(201).send(req.uploads))
const Photo = app.media.model('photo', {
  photo: ImageField({
    uploadTo: 'photos/',
    maxSize: '10 MB',
    variants: { thumb: { width: 200, height: 200, format: 'webp' }, card: { width: 800 }, wide: { width: 1200, format: 'webp' } }
  })
})
app.post('/photo', { upload: Photo }, async (req, reply) => reply.code(201).send(req.uploads))
await app.listen({ host: '127.0.0.1', port: 0 })

let baseline = 0
let peak = 0
let samples = 0
let maxSharpTasks = 0
let timer
const sample = () => {
  const { rss } = process.memoryUsage()
  samples++
  if (rss > peak) peak = rss
  const { queue, process: running } = sharp.counters()
  if (queue + running > maxSharpTasks) maxSharpTasks = queue + running
}

process.on('message', (message) => {
  if (message === 'baseline') {
    globalThis.gc?.()
    baseline = process.memoryUsage().rss
    peak = baseline
    timer ??= setInterval(sample, 10)
    process.send({ type: 'baseline', rss: baseline })
  } else if (message === 'report') {
    sample()
    // maxRSS is the kernel's high-water mark over the whole life of the process, startup included
    process.send({ type: 'report', baseline, peak, samples, maxRSS: process.resourceUsage().maxRSS * 1024, maxSharpTasks })
  } else if (message === 'close') {
    clearInterval(timer)
    app.close().then(() => process.exit(0), () => process.exit(1))
  }
})

process.send({ type: 'ready', port: app.server.address().port })
