// The demo's server module, in the usual shape (as in the README's Quick start): build the app, listen.
// `npm start` first runs `fastify-media collectstatic example/main.js`: under the CLI, listen() opens no
// port and resolves once the app is ready, and process.env.FASTIFY_MEDIA_CLI names the command.
import { buildApp } from './server.js'

const { PORT = '3000', MEDIA_ROOT, DATA_DIR, STATIC_ROOT, MEDIA_S3_BUCKET, MEDIA_S3_ENDPOINT, FASTIFY_MEDIA_CLI } = process.env
const app = await buildApp({
  mediaRoot: MEDIA_ROOT,
  dataDir: DATA_DIR,
  staticRoot: STATIC_ROOT,
  // videos go straight to this bucket (MEDIA_S3_ENDPOINT: a local S3 or MinIO; unset for AWS)
  s3: MEDIA_S3_BUCKET === undefined ? undefined : { bucket: MEDIA_S3_BUCKET, endpoint: MEDIA_S3_ENDPOINT },
  // under the CLI nothing is served: no request log on its output
  logger: FASTIFY_MEDIA_CLI === undefined
})
const address = await app.listen({ host: '127.0.0.1', port: Number(PORT) })
app.log.info(`fastify-media demo (${app.media.config.mode} mode): open ${address}/ in a browser`)
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => app.close())
