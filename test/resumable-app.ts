import { ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import type { FastifyInstance } from 'fastify'
import { EventEmitter, once } from 'node:events'
import { join } from 'node:path'
import { buffer } from 'node:stream/consumers'
import { Upload, type UploadOptions } from 'tus-js-client'
import { FileField, FileSystemStorage, ImageField, S3Storage, type FastifyMediaOptions, type FileSystemStorageOptions, type ResumableOptions, type Storage } from '../lib/index.js'
import { filesUnder, makeApp, tempDir, type Tap } from './helpers.js'
import { listen, within } from './http-helpers.js'
import { s3Bucket } from './s3-server.js'

export type Where = 'disk' | 's3'

/** A PATCH the server answered: the offset it started at, and the one it ended at. */
export interface Patch {
  from: number
  to: number
}

export interface ResumableAppOptions {
  /** 'disk' (a FileSystemStorage under the test's temp dir) or 's3' (a fresh s3rver bucket). */
  on?: Where
  resumable?: Omit<ResumableOptions, 'fields'>
  /** Adds to the app before the endpoint (hooks). */
  setup?: (app: FastifyInstance) => Promise<void> | void
  handler?: (uploads: any) => unknown
  /** More options of the plugin. */
  plugin?: FastifyMediaOptions
  /** Options of the disk storage (the media root). */
  storage?: Omit<FileSystemStorageOptions, 'location'>
}

/**
 * An app with a tus endpoint at /files for clip.video (MP4, up to 200 MiB) and clip.photo (an image), and
 * the upload route /clips that commits them; listening on 127.0.0.1.
 */
export async function resumableApp (t: Tap, { on = 'disk', resumable = {}, setup, handler, storage: disk, plugin = {} }: ResumableAppOptions = {}) {
  const s3 = on === 's3' ? await s3Bucket(t) : undefined
  const dir = tempDir(t)
  const storages: Record<string, Storage> = s3 === undefined
    ? (disk === undefined ? {} : { default: new FileSystemStorage({ location: join(dir, 'media'), baseUrl: '/media/', ...disk }) })
    : { files: new S3Storage({ bucket: s3.bucket, client: s3.client }) }
  const { app } = await makeApp(t, { storages, baseDir: dir, ...plugin })
  const storage = s3 === undefined ? 'default' : 'files'
  const Clip = app.media.model('clip', {
    video: FileField({ storage, uploadTo: 'videos/', accept: ['video/mp4'], maxSize: 200 * 2 ** 20, minSize: 100, required: false }),
    photo: ImageField({ storage, uploadTo: 'photos/', maxSize: 5_000_000, required: false })
  })
  // the PATCH requests the server answered, in order (an aborted one too: its reply is made, then lost)
  const patches: Patch[] = []
  const answered = new EventEmitter()
  app.addHook('onSend', async (req, reply, payload) => {
    if (req.method !== 'PATCH') return payload
    const patch = { from: Number(req.headers['upload-offset']), to: Number(reply.getHeader('upload-offset') ?? NaN) }
    patches.push(patch)
    answered.emit('patch', patch)
    return payload
  })
  await setup?.(app)
  await app.register(app.media.resumable('/files', { fields: [Clip.fields.video, Clip.fields.photo], ...resumable }))
  app.post('/clips', { upload: Clip }, async (req, reply) => {
    await handler?.(req.uploads)
    return await reply.code(201).send(req.uploads)
  })
  const { origin } = await listen(app)
  const files = app.media.storage(storage)
  return {
    app,
    Clip,
    dir,
    s3,
    origin,
    storage: files,
    patches,
    answered,
    read: async (name: string) => await buffer(files.open(name)),
    /** What the storage holds of uploads: files or objects under .resumable/, and S3's open multipart uploads. */
    leftovers: async (): Promise<string[]> => {
      if (s3 === undefined) return filesUnder(join(dir, 'media', '.resumable'))
      const { client, bucket } = s3
      const objects = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: '.resumable/' }))
      const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))
      return [...(objects.Contents ?? []).map((object) => object.Key!), ...(uploads.Uploads ?? []).map((upload) => `multipart ${upload.Key!}`)].sort()
    }
  }
}

export type ResumableContext = Awaited<ReturnType<typeof resumableApp>>

/** A tus upload the server refuses: its status, its JSON body, and how many PATCH requests it took. */
export async function tusRefusal (origin: string, bytes: Buffer, metadata: Record<string, string>, options: Partial<UploadOptions> = {}): Promise<{ status: number, json: any, patches: number }> {
  let patches = 0
  const err = await tusUpload(origin, bytes, metadata, { ...options, onBeforeRequest: (req) => { if (req.getMethod() === 'PATCH') patches++ } })
    .then(() => { throw new Error('the upload was not refused') }, (err: unknown) => err as { originalResponse?: { getStatus: () => number, getBody: () => string } })
  const response = err.originalResponse
  if (response === undefined) throw new Error('no response', { cause: err })
  const body = response.getBody()
  return { status: response.getStatus(), json: body.startsWith('{') ? JSON.parse(body) : body, patches }
}

/**
 * Uploads `bytes` in one PATCH per run, cut by the client when `fractions` of it have gone; each cut waits
 * for the server to answer the cut PATCH, then a new run resumes from the server's offset (a HEAD).
 */
export async function interruptedUpload (ctx: ResumableContext, bytes: Buffer, metadata: Record<string, string>, fractions: number[]): Promise<{ url: string, offsets: number[], received: number }> {
  let url: string | undefined
  const offsets: number[] = []
  const first = ctx.patches.length
  for (let run = 0; run <= fractions.length; run++) {
    const before = ctx.patches.length
    const cut = fractions[run]
    const answered = cut === undefined ? undefined : once(ctx.answered, 'patch')
    await within(new Promise<void>((resolve, reject) => {
      const upload: Upload = new Upload(bytes, {
        endpoint: `${ctx.origin}/files`,
        uploadUrl: url,
        metadata,
        retryDelays: [],
        onUploadUrlAvailable: () => { url = upload.url! },
        onProgress: (sent) => {
          if (cut === undefined || sent < cut * bytes.length) return
          upload.abort().then(resolve, reject)
        },
        onError: reject,
        onSuccess: () => resolve()
      })
      upload.start()
    }), `run ${run}`, 60_000)
    if (answered !== undefined) await within(answered, `the server's answer to the PATCH cut in run ${run}`)
    offsets.push(ctx.patches[before]!.from)
  }
  // a cut PATCH is answered without an offset (tus: the request was aborted): the next one starts where it ended
  const patches = ctx.patches.slice(first)
  const received = patches.reduce((sum, { from, to }, i) => sum + ((Number.isNaN(to) ? patches[i + 1]!.from : to) - from), 0)
  return { url: url!, offsets, received }
}

/** Uploads `bytes` with tus-js-client; resolves the upload's URL. */
export async function tusUpload (origin: string, bytes: Buffer, metadata: Record<string, string>, options: Partial<UploadOptions> = {}): Promise<string> {
  return await new Promise((resolve, reject) => {
    const upload = new Upload(bytes, {
      endpoint: `${origin}/files`,
      metadata,
      retryDelays: [],
      ...options,
      onError: reject,
      onSuccess: () => resolve(upload.url!)
    })
    upload.start()
  })
}

/** The first bytes of an MP4 (an `ftyp` box, what file-type reads), then `size` bytes in all. */
export function mp4 (size: number, fill = 1): Buffer {
  const box = Buffer.from('000000186674797069736f6d0000020069736f6d69736f32', 'hex')
  return Buffer.concat([box, Buffer.alloc(Math.max(0, size - box.length), fill)])
}
