import type { FastifyInstance, FastifyReply } from 'fastify'
import { FileField, ImageField, S3Storage, type DirectOptions } from '../lib/index.js'
import { makeApp, type Tap } from './helpers.js'
import { listen } from './http-helpers.js'
import { s3Bucket } from './s3-server.js'

export const KEY = 'k'.repeat(32)

export interface DirectAppOptions {
  handler?: (uploads: any) => unknown
  direct?: true | DirectOptions
  /** Adds to the app before it listens (hooks, the direct routes). */
  setup?: (app: FastifyInstance, models: ReturnType<typeof declare>) => Promise<void> | void
  /** KEY unless given. */
  signingKey?: string | string[]
  /** Another app's bucket, shared (a fresh one unless given). */
  s3?: Awaited<ReturnType<typeof s3Bucket>>
}

function declare (app: FastifyInstance, direct: true | DirectOptions) {
  return {
    Clip: app.media.model('clip', {
      video: FileField({ storage: 'bucket', uploadTo: 'videos/', accept: ['video/mp4'], maxSize: 20_000_000, minSize: 100, direct }),
      extra: FileField({ storage: 'bucket', uploadTo: 'videos/', accept: ['video/mp4'], required: false, multiple: true, maxCount: 2, direct })
    }),
    Doc: app.media.model('doc', {
      text: FileField({ storage: 'bucket', uploadTo: 'docs/{hash}.{ext}', accept: ['text/plain'], maxSize: 100_000, direct }),
      photo: ImageField({ storage: 'bucket', uploadTo: 'photos/', maxSize: 5_000_000, required: false, direct, variants: { thumb: { width: 20, format: 'webp' } } }),
      clean: ImageField({ storage: 'bucket', uploadTo: 'clean/', sanitize: true, required: false, direct })
    })
  }
}

/** An app over a fresh s3rver bucket with direct-upload fields, listening; routes /clips and /docs commit them. */
export async function directApp (t: Tap, { handler, direct = true, setup, signingKey = KEY, s3 }: DirectAppOptions = {}) {
  const { client, bucket, endpoint } = s3 ?? await s3Bucket(t)
  const storage = new S3Storage({ bucket, client })
  const { app } = await makeApp(t, { storages: { bucket: storage }, signingKey })
  const models = declare(app, direct)
  const handle = async (uploads: unknown, reply: FastifyReply) => {
    await handler?.(uploads)
    return await reply.code(201).send(uploads)
  }
  app.post('/clips', { upload: models.Clip }, async (req, reply) => await handle(req.uploads, reply))
  app.post('/docs', { upload: models.Doc }, async (req, reply) => await handle(req.uploads, reply))
  await setup?.(app, models)
  const { origin } = await listen(app)
  return { app, ...models, client, bucket, endpoint, storage, origin, url: `${origin}/clips` }
}
