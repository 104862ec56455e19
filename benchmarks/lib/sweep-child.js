// One `app.media.sweep()` in a fresh process, as `fastify-media sweep` would run it: the built plugin, an
// S3Storage on s3rver, records that reference every name whose number is even. Sends { type: 'result', ... }
// with the sweep's result, its time, and the process's peak RSS before and after the sweep (the kernel's
// high-water mark: what the sweep added over the app is the difference).
import Fastify from 'fastify'
import fastifyMedia, { S3Storage } from '../../dist/index.js'

const { endpoint, bucket, prefix, dryRun, batchSize } = JSON.parse(process.argv[2])
const peak = () => process.resourceUsage().maxRSS * 1024
const app = Fastify()
const storage = new S3Storage({ bucket, prefix, clientConfig: { endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } } })
await app.register(fastifyMedia, { media: false, static: false, storages: { default: storage } })
await app.ready()
// the database's answer: a name is referenced when its number is even (`000/000002.bin`)
const isReferenced = (names) => names.filter((name) => Number(/(\d+)\.bin$/.exec(name)?.[1]) % 2 === 0)
const rssBefore = peak()
const started = process.hrtime.bigint()
const result = await app.media.sweep({ isReferenced, olderThan: 0, dryRun, batchSize })
const seconds = Number(process.hrtime.bigint() - started) / 1e9
const rssAfter = peak()
await app.close()
process.send({ type: 'result', result, seconds, rssBefore, rssAfter }, () => process.exit(0))
