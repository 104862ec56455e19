// One app instance of bullmq-multi-instance.test.ts, in its own process: the built package (run `npm run
// build` first) on a media root the test gives, its background variants queued with bullmqVariantQueue on
// the test's redis-server (a unix socket). Arguments: baseDir, then JSON { redis, hold?, lockDuration?,
// stalledInterval? }. Talks over IPC: { type: 'ready', port } once listening; { type: 'making', name } as a
// variant's save begins (the count of makes); { type: 'made', name } once it is stored; with `hold`, a
// variant's save writes half its bytes, says { type: 'holding', name, bytes } and waits for ever (the test
// kills it there). POST /profiles uploads an avatar; POST /enqueue?name= queues that variant's job again.
// Exits on 'close' (after app.close(), which waits for the jobs it took), and when the parent goes away.
import Fastify from 'fastify'
import fastifyMedia, { bullmqVariantQueue, FileSystemStorage, ImageField } from '../dist/index.js'

const [baseDir, json = '{}'] = process.argv.slice(2)
if (baseDir === undefined || process.send === undefined) throw new Error('usage: fork(bullmq-server.mjs, [baseDir, options]) with IPC')
const { redis, hold = false, lockDuration, stalledInterval } = JSON.parse(json)

/** A disk storage that reports each variant it is asked to save, and can stop in the middle of writing one. */
class ReportingStorage extends FileSystemStorage {
  async save (name, content, opts) {
    if (typeof name !== 'string' || !name.includes('@')) return await super.save(name, content, opts)
    process.send({ type: 'making', name })
    const stored = await super.save(name, hold ? halfThenNothing(name, content) : content, opts)
    process.send({ type: 'made', name: stored })
    return stored
  }
}

async function * halfThenNothing (name, content) {
  const half = content.subarray(0, Math.floor(content.length / 2))
  yield half
  process.send({ type: 'holding', name, bytes: half.length })
  await new Promise(() => {})
}

const queue = bullmqVariantQueue({ connection: { path: redis }, lockDuration, stalledInterval, backoff: 10 })
const app = Fastify()
await app.register(fastifyMedia, {
  baseDir,
  static: false,
  storages: { default: new ReportingStorage({ location: 'media', baseUrl: '/media/' }) },
  variants: { queue }
})
const Profile = app.media.model('profile', {
  avatar: ImageField({ uploadTo: 'avatars/', variants: { thumb: { width: 50, height: 50, format: 'webp', generation: 'background' } } })
})
app.post('/profiles', { upload: Profile }, async (req, reply) => reply.code(201).send(req.uploads))
app.post('/enqueue', async (req, reply) => {
  await queue.enqueue({ storage: 'default', name: req.query.name })
  return reply.code(204).send()
})

await app.listen({ host: '127.0.0.1', port: 0 })

const close = (code) => {
  const force = setTimeout(() => process.exit(1), 10_000)
  force.unref()
  app.close().then(() => process.exit(code), () => process.exit(1))
}
process.on('message', (message) => { if (message === 'close') close(0) })
process.on('disconnect', () => close(0))

process.send({ type: 'ready', port: app.server.address().port })
