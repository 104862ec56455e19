import t from 'tap'
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import sharp from 'sharp'
import { request } from 'undici'
import { FileField, ImageField, S3Storage, type Model, type PresignedForm } from '../lib/index.js'
import { fixture, makeApp, multipart, postForm, type Part, type Tap } from './helpers.js'
import { keysUnder, mp4, postToBucket } from './direct-helpers.js'
import { s3Bucket } from './s3-server.js'

const pdf = fixture('fixture.pdf')
const png = fixture('fixture.png')

/** What a browser gets for a public URL: an anonymous GET on the bucket (s3rver answers those). */
async function fetchPublic (url: string): Promise<{ status: number, bytes: Buffer }> {
  const res = await request(url)
  return { status: res.statusCode, bytes: Buffer.from(await res.body.arrayBuffer()) }
}

type Handler = (req: FastifyRequest & { uploads: any }, app: FastifyInstance) => unknown

/** An app over a fresh s3rver bucket (an S3Storage with `staged` as given); /docs, /photos and /clips store into it. */
async function stagedApp (t: Tap, { staged = true, handler }: { staged?: boolean, handler?: Handler } = {}) {
  const { client, bucket, endpoint } = await s3Bucket(t)
  const storage = new S3Storage({ bucket, client, staged })
  const { app } = await makeApp(t, { storages: { bucket: storage }, signingKey: 'k'.repeat(32) })
  const Doc = app.media.model('doc', {
    file: FileField({ storage: 'bucket', uploadTo: 'docs/', accept: ['application/pdf'], maxSize: 200_000 }),
    other: FileField({ storage: 'bucket', uploadTo: 'docs/', accept: ['application/pdf'], required: false })
  })
  const Photo = app.media.model('photo', {
    image: ImageField({ storage: 'bucket', uploadTo: 'photos/', variants: { thumb: { width: 20, format: 'webp' } } })
  })
  const Clip = app.media.model('clip', {
    video: FileField({ storage: 'bucket', uploadTo: 'videos/', accept: ['video/mp4'], direct: true })
  })
  for (const [url, model] of [['/docs', Doc], ['/photos', Photo], ['/clips', Clip]] as Array<[string, Model]>) {
    app.post(url, { upload: model }, async (req, reply) => {
      await handler?.(req as any, app)
      return await reply.code(201).send(req.uploads)
    })
  }
  return { app, client, bucket, endpoint, storage, Doc, Clip }
}

const docPart = (name = 'file', filename = 'report.pdf', content: Buffer = pdf): Part => ({ name, filename, content, contentType: 'application/pdf' })

t.test('staged: an upload whose handler still runs is not in the bucket under its name; after the 201 it is', async (t) => {
  let during: { status: number, exists: boolean, size: number, keys: string[] } | undefined
  const { app, client, bucket, storage } = await stagedApp(t, {
    handler: async (req) => {
      const { name, url } = req.uploads.file
      during = { status: (await fetchPublic(url)).status, exists: await storage.exists(name), size: await storage.size(name), keys: await keysUnder(client, bucket) }
    }
  })
  const res = await postForm(app, '/docs', [docPart()])
  t.equal(res.statusCode, 201, res.body)
  const { name, url } = res.json().file
  t.equal(name, 'docs/report.pdf')
  t.equal(during?.status, 404, 'a GET on the bucket from the handler finds nothing under the final key')
  t.equal(during?.exists, true, 'the storage itself finds the staged bytes by name')
  t.equal(during?.size, pdf.length)
  t.match(during?.keys, [/^\.direct\/names\/docs\/report\.pdf$/, /^\.tmp\/[\w-]{36}$/], 'a reservation and the scratch bytes')
  const after = await fetchPublic(url)
  t.equal(after.status, 200, 'public once the request committed')
  t.same(after.bytes, pdf, 'byte for byte')
  t.same(await keysUnder(client, bucket), ['docs/report.pdf'], 'no scratch copy, no reservation left')
})

t.test('not staged (the default): the same handler finds the file public already', async (t) => {
  let status: number | undefined
  const { app } = await stagedApp(t, { staged: false, handler: async (req) => { status = (await fetchPublic(req.uploads.file.url)).status } })
  t.equal((await postForm(app, '/docs', [docPart()])).statusCode, 201)
  t.equal(status, 200, 'what staging prevents')
})

t.test('staged: a refused upload leaves nothing, the file staged before the refused one included', async (t) => {
  const { app, client, bucket } = await stagedApp(t)
  const res = await postForm(app, '/docs', [docPart(), docPart('other', 'clip.pdf', fixture('fixture.elf'))])
  t.equal(res.statusCode, 400)
  t.match(res.json(), { code: 'FST_MEDIA_INVALID_TYPE', field: 'other' })
  t.same(await keysUnder(client, bucket), [], 'no scratch object, no reservation, no final key')

  // refused mid-stream, past the sniffing window: the scratch upload is cut off
  const big = Buffer.concat([pdf, Buffer.alloc(300_000, 0x20)])
  const tooLarge = await postForm(app, '/docs', [docPart('file', 'big.pdf', big)], { chunkSize: 16 * 1024 })
  t.equal(tooLarge.statusCode, 413)
  t.same(await keysUnder(client, bucket), [])
})

t.test('staged: a failing handler leaves nothing', async (t) => {
  let staged: string[] = []
  const { app, client, bucket } = await stagedApp(t, {
    handler: async () => {
      staged = await keysUnder(client, bucket)
      throw new Error('database down')
    }
  })
  const res = await postForm(app, '/docs', [docPart(), docPart('other', 'second.pdf')])
  t.equal(res.statusCode, 500)
  t.equal(staged.length, 4, 'two files were staged: two scratch objects, two reservations')
  t.same(await keysUnder(client, bucket), [], 'no scratch, no reservation, no final key')
})

t.test('staged: two concurrent uploads of one name get two names; a reserved name is not handed out', async (t) => {
  let entered!: () => void
  const inHandler = new Promise<void>((resolve) => { entered = resolve })
  let release!: () => void
  const released = new Promise<void>((resolve) => { release = resolve })
  const { app, client, bucket } = await stagedApp(t, {
    handler: async (req) => {
      if (req.headers['x-hold'] === undefined) return
      entered()
      await released
    }
  })
  const second = Buffer.concat([pdf, Buffer.from('\n% the second one\n')])
  const { payload, headers } = multipart([docPart()])
  const first = app.inject({ method: 'POST', url: '/docs', payload, headers: { ...headers, 'x-hold': '1' } })
  await inHandler
  const other = await postForm(app, '/docs', [docPart('file', 'report.pdf', second)])
  release()
  const held = await first
  t.equal(held.statusCode, 201)
  t.equal(other.statusCode, 201)
  t.equal(held.json().file.name, 'docs/report.pdf')
  t.match(other.json().file.name, /^docs\/report_[A-Za-z0-9]{7}\.pdf$/, 'the reserved name was not handed to the other request')
  t.same((await fetchPublic(held.json().file.url)).bytes, pdf)
  t.same((await fetchPublic(other.json().file.url)).bytes, second)
  t.same(await keysUnder(client, bucket), [held.json().file.name, other.json().file.name].sort())

  // a reservation made by another process (another instance's request still running) counts as well
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: '.direct/names/docs/other.pdf', Body: Buffer.alloc(0) }))
  const elsewhere = await postForm(app, '/docs', [docPart('file', 'other.pdf')])
  t.match(elsewhere.json().file.name, /^docs\/other_[A-Za-z0-9]{7}\.pdf$/)
})

t.test('staged: an image and its variant are made from the staged bytes and committed together', async (t) => {
  let during: number[] = []
  const { app, client, bucket } = await stagedApp(t, {
    handler: async (req) => {
      const { url, variants } = req.uploads.image
      during = [(await fetchPublic(url)).status, (await fetchPublic(variants.thumb.url)).status]
    }
  })
  const res = await postForm(app, '/photos', [{ name: 'image', filename: 'photo.png', content: png, contentType: 'image/png' }])
  t.equal(res.statusCode, 201, res.body)
  const { image } = res.json()
  t.same(during, [404, 404], 'neither is public while the handler runs')
  t.same((await fetchPublic(image.url)).bytes, png)
  const thumb = await fetchPublic(image.variants.thumb.url)
  t.equal(thumb.status, 200)
  t.match(await sharp(thumb.bytes).metadata(), { format: 'webp', width: 20 })
  t.same(await keysUnder(client, bucket), ['photos/photo.png', 'photos/photo.png@thumb.webp'])
})

t.test('staged: a copy that fails at commit answers 500 FST_MEDIA_STORAGE and removes what was copied', async (t) => {
  const { app, client, bucket, endpoint } = await stagedApp(t, {
    // a writer that ignores reservations takes the second file's name while the handler runs
    handler: async (req) => await client.send(new PutObjectCommand({ Bucket: bucket, Key: req.uploads.other.name, Body: 'not ours' }))
  })
  // where an app undoes what its handler wrote
  const seen: string[] = []
  app.addHook('onError', async (_req, _reply, err) => { seen.push(String(err.code)) })
  const res = await postForm(app, '/docs', [docPart(), docPart('other', 'second.pdf')])
  t.equal(res.statusCode, 500)
  t.match(res.json(), { code: 'FST_MEDIA_STORAGE', message: /docs\/second\.pdf/ })
  t.same(seen, ['FST_MEDIA_STORAGE'], 'the onError hook is told')
  t.same(await keysUnder(client, bucket), ['docs/second.pdf'], 'the first file\'s copy is gone; the other writer\'s object is untouched')
  t.equal((await fetchPublic(`${endpoint}/${bucket}/docs/second.pdf`)).bytes.toString(), 'not ours')
})

t.test('staged: field.save() outside HTTP publishes before it resolves; saves of your own code are not staged', async (t) => {
  const { Doc, client, bucket, storage } = await stagedApp(t)
  const file = await Doc.fields.file.save('saved.pdf', pdf)
  t.equal(file.name, 'docs/saved.pdf')
  t.same((await fetchPublic(file.url)).bytes, pdf)
  const own = await storage.save('notes/own.pdf', pdf)
  t.same(await keysUnder(client, bucket), ['docs/saved.pdf', own])
})

t.test('staged: a direct upload is copied out of quarantine at commit, not while the handler runs', async (t) => {
  let status: number | undefined
  const { app, Clip, client, bucket } = await stagedApp(t, { handler: async (req) => { status = (await fetchPublic(req.uploads.video.url)).status } })
  const bytes = mp4(50_000)
  const form = await app.media.presign(Clip.fields.video, { filename: 'clip.mp4', size: bytes.length, contentType: 'video/mp4' }) as PresignedForm
  t.equal(await postToBucket(form, bytes), 204)
  const res = await postForm(app, '/clips', [{ name: 'video', content: form.token }])
  t.equal(res.statusCode, 201, res.body)
  t.equal(status, 404)
  t.same((await fetchPublic(res.json().video.url)).bytes, bytes)
  t.same((await keysUnder(client, bucket)).filter((key) => !key.startsWith('.direct/used/')), ['videos/clip.mp4'], 'quarantine, scratch and reservation are gone')
})

t.test('S3Storage.staged must be a boolean', async (t) => {
  t.throws(() => new S3Storage({ bucket: 'b', staged: 'yes' as unknown as boolean }), { code: 'FST_MEDIA_INVALID_OPTION', message: /S3Storage\.staged/ })
})

/** Makes the bucket fail the commands `when` picks, as a storage outage would; the others pass. */
function failWhen (client: S3Client, when: (command: string, input: any) => boolean): void {
  client.middlewareStack.add((next, context) => async (args) => {
    if (when(String(context.commandName), args.input)) throw Object.assign(new Error('injected'), { name: 'InternalError' })
    return await next(args)
  }, { step: 'initialize', name: 'fail-when' })
}

t.test('staged: a storage failure at any step answers 500 FST_MEDIA_STORAGE and leaves nothing', async (t) => {
  const steps: Array<[string, (command: string, input: any) => boolean]> = [
    ['the reservation', (command, input) => command === 'PutObjectCommand' && input.Key.startsWith('.direct/names/')],
    ['the copy at commit', (command, input) => command === 'CopyObjectCommand' && input.Key === 'docs/report.pdf']
  ]
  for (const [step, when] of steps) {
    const { app, client, bucket } = await stagedApp(t)
    failWhen(client, when)
    const res = await postForm(app, '/docs', [docPart()])
    t.equal(res.statusCode, 500, step)
    t.equal(res.json().code, 'FST_MEDIA_STORAGE', step)
    t.same(await keysUnder(client, bucket), [], `${step}: nothing left`)
  }
})

t.test('staged: a direct upload whose copy into scratch fails leaves nothing', async (t) => {
  const { app, Clip, client, bucket } = await stagedApp(t)
  const bytes = mp4(50_000)
  const form = await app.media.presign(Clip.fields.video, { filename: 'clip.mp4', size: bytes.length, contentType: 'video/mp4' }) as PresignedForm
  await postToBucket(form, bytes)
  failWhen(client, (command, input) => command === 'CopyObjectCommand' && input.Key.startsWith('.tmp/'))
  const res = await postForm(app, '/clips', [{ name: 'video', content: form.token }])
  t.equal(res.statusCode, 500)
  t.equal(res.json().code, 'FST_MEDIA_STORAGE')
  t.same(await keysUnder(client, bucket), [], 'no scratch, no quarantined file, no used-token record')
})
