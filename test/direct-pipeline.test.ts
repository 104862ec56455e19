import t from 'tap'
import { createHash } from 'node:crypto'
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import sharp from 'sharp'
import type { PresignedForm } from '../lib/index.js'
import { fixture, type Tap } from './helpers.js'
import { directApp } from './direct-app.js'
import { answer, commitForm, keysUnder, mp4, postToBucket } from './direct-helpers.js'

type App = Awaited<ReturnType<typeof directApp>>

/** Presigns for a field, posts the bytes to the bucket, and commits the token on `path`. */
async function direct (app: App, field: keyof App['Doc']['fields'] | 'video', filename: string, bytes: Buffer, path = '/docs') {
  const bound = field === 'video' ? app.Clip.fields.video : app.Doc.fields[field]
  const form = await app.app.media.presign(bound, { filename, size: bytes.length }) as PresignedForm
  await postToBucket(form, bytes)
  const extra: Record<string, string> = path === '/docs' && field !== 'text' ? { text: await textToken(app) } : {}
  return await commitForm(`${app.origin}${path}`, { [field]: form.token, ...extra })
}

// /docs requires its text field: a committed text file to go with the image fields
async function textToken (app: App): Promise<string> {
  const form = await app.app.media.presign(app.Doc.fields.text, { filename: 'note.txt', size: 5 }) as PresignedForm
  await postToBucket(form, Buffer.from('hello'))
  return form.token
}

/** A clip presigned and posted to the bucket, waiting for its commit. */
async function uploadedClip (t: Tap) {
  const app = await directApp(t)
  const form = await app.app.media.presign(app.Clip.fields.video, { filename: 'clip.mp4', size: 5000 }) as PresignedForm
  await postToBucket(form, mp4(5000))
  return { app, form }
}

/** What S3 answers when a conditional header (IfMatch, CopySourceIfMatch, IfNoneMatch) does not hold. */
const preconditionFailed = (): Error =>
  Object.assign(new Error('At least one of the pre-conditions you specified did not hold'), { name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } })

const read = async ({ client, bucket }: App, key: string): Promise<Buffer> =>
  Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray())

t.test('an image: header checked from the first bytes, variants made from the committed original', async (t) => {
  const app = await directApp(t)
  const res = await direct(app, 'photo', 'p.png', fixture('fixture.png'))
  t.equal(res.statusCode, 201, JSON.stringify(res.json))
  const { photo } = res.json
  t.match(photo, { name: 'photos/p.png', width: 200, height: 133, contentType: 'image/png' })
  t.match(photo.variants.thumb, { name: 'photos/p.png@thumb.webp', width: 20 })
  t.equal((await sharp(await read(app, 'photos/p.png@thumb.webp')).metadata()).format, 'webp')
  t.same(await keysUnder(app.client, app.bucket, '.direct/q/'), [])
})

t.test('an image whose header lies beyond the first 64 KiB is read on until it is found', async (t) => {
  const app = await directApp(t)
  const jpg = fixture('fixture.jpg')
  const comment = Buffer.alloc(65_000, 'c')
  const header = Buffer.from([0xff, 0xfe, 0, 0])
  header.writeUInt16BE(comment.length + 2, 2)
  const late = Buffer.concat([jpg.subarray(0, 2), header, comment, header, comment, jpg.subarray(2)])
  const res = await direct(app, 'photo', 'late.jpg', late)
  t.equal(res.statusCode, 201, JSON.stringify(res.json))
  t.match(res.json.photo, { name: 'photos/late.jpg', size: late.length })
  t.same(await read(app, 'photos/late.jpg'), late)
})

t.test('a sanitized image: the re-encoded original is stored, the quarantined bytes are gone', async (t) => {
  const app = await directApp(t)
  const res = await direct(app, 'clean', 'c.jpg', fixture('fixture.jpg'))
  t.equal(res.statusCode, 201, JSON.stringify(res.json))
  const stored = await read(app, res.json.clean.name)
  t.not(stored.length, fixture('fixture.jpg').length, 're-encoded')
  t.equal(res.json.clean.size, stored.length)
  t.same(await keysUnder(app.client, app.bucket, '.direct/q/'), [])
})

t.test('a text file is read whole (UTF-8 checked) and named by its hash', async (t) => {
  const app = await directApp(t)
  const text = Buffer.from('hello, direct world\n'.repeat(4000))
  const res = await direct(app, 'text', 'notes.txt', text)
  t.equal(res.statusCode, 201, JSON.stringify(res.json))
  const hash = createHash('sha256').update(text).digest('hex')
  t.match(res.json.text.name, new RegExp(`^docs/${hash.slice(0, 12)}`))
  t.same(await read(app, res.json.text.name), text)
  const binary = Buffer.concat([text, Buffer.from([0xff, 0xfe, 0])])
  const refused = await direct(app, 'text', 'bad.txt', binary)
  t.equal(refused.statusCode, 400)
  t.match(refused.json, { code: 'FST_MEDIA_INVALID_TYPE', field: 'text' })
  t.same(await keysUnder(app.client, app.bucket, 'docs/'), [res.json.text.name], 'nothing of the refused file')
  t.same(await keysUnder(app.client, app.bucket, '.direct/q/'), [])
})

t.test('an upload rewritten while it is committed is refused, not swapped', async (t) => {
  const { app, form } = await uploadedClip(t)
  const { ETag } = await app.client.send(new GetObjectCommand({ Bucket: app.bucket, Key: form.fields.key }))
  const reads: unknown[] = []
  // the client posts again between the checks and the copy. s3rver ignores CopySourceIfMatch: the copy
  // answers what S3 answers when the source no longer has that ETag (412)
  const copies = answer(app.client, 'CopyObjectCommand', async () => {
    await app.client.send(new PutObjectCommand({ Bucket: app.bucket, Key: form.fields.key, Body: fixture('fixture.elf') }))
    throw preconditionFailed()
  })
  app.client.middlewareStack.add((next, context) => async (args) => {
    if (context.commandName === 'GetObjectCommand') reads.push(args.input)
    return await next(args)
  }, { step: 'initialize', name: 'record-reads' })
  const res = await commitForm(app.url, { video: form.token })
  t.match(reads, [{ Range: 'bytes=0-4999', IfMatch: ETag }], 'the sniffing read is pinned to the ETag the size came with')
  t.match(copies, [{ CopySourceIfMatch: ETag, MetadataDirective: 'REPLACE', ContentType: 'video/mp4' }], 'so is the copy')
  t.equal(res.statusCode, 400, JSON.stringify(res.json))
  t.match(res.json, { code: 'FST_MEDIA_INVALID_TOKEN', message: /changed while it was being committed/ })
  t.same(await keysUnder(app.client, app.bucket), [])
})

t.test('S3 failing during a commit: 500 FST_MEDIA_STORAGE, nothing left', async (t) => {
  const { app, form } = await uploadedClip(t)
  answer(app.client, 'HeadObjectCommand', () => {
    throw Object.assign(new Error('slow down'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 } })
  })
  const res = await commitForm(app.url, { video: form.token })
  t.equal(res.statusCode, 500)
  t.match(res.json, { code: 'FST_MEDIA_STORAGE', message: /commit.*SlowDown/ })
  t.same(await keysUnder(app.client, app.bucket, 'videos/'), [])
  t.same(await keysUnder(app.client, app.bucket, '.direct/used/'), [], 'the token is not spent')
})

t.test('an upload rewritten before its first bytes are read is refused as well', async (t) => {
  const { app, form } = await uploadedClip(t)
  // what S3 answers a GetObject whose IfMatch no longer holds
  answer(app.client, 'GetObjectCommand', () => {
    throw preconditionFailed()
  })
  const res = await commitForm(app.url, { video: form.token })
  t.equal(res.statusCode, 400)
  t.match(res.json, { code: 'FST_MEDIA_INVALID_TOKEN', message: /changed while it was being committed/ })
  t.same(await keysUnder(app.client, app.bucket), [])
})

t.test('a name taken at the last moment by another process: the copy goes to a free name', async (t) => {
  const { app, form } = await uploadedClip(t)
  // the first copy is refused as S3 refuses IfNoneMatch on a taken key (s3rver does not check it); the
  // source is unchanged, so the name was taken: the next copy tries another
  let refusedOnce = false
  app.client.middlewareStack.add((next, context) => async (args) => {
    if (context.commandName === 'CopyObjectCommand' && !refusedOnce) {
      refusedOnce = true
      throw preconditionFailed()
    }
    return await next(args)
  }, { step: 'initialize', name: 'taken-once' })
  const res = await commitForm(app.url, { video: form.token })
  t.equal(res.statusCode, 201)
  t.match(res.json.video.name, /^videos\/clip_[A-Za-z0-9]{7}\.mp4$/)
  t.same(await keysUnder(app.client, app.bucket, 'videos/'), [res.json.video.name])
})

t.test('an upload deleted while it is committed is refused', async (t) => {
  const { app, form } = await uploadedClip(t)
  const { DeleteObjectCommand } = await import('@aws-sdk/client-s3')
  answer(app.client, 'CopyObjectCommand', async () => {
    await app.client.send(new DeleteObjectCommand({ Bucket: app.bucket, Key: form.fields.key }))
    throw preconditionFailed()
  })
  const res = await commitForm(app.url, { video: form.token })
  t.match(res.json, { statusCode: 400, code: 'FST_MEDIA_INVALID_TOKEN', message: /changed/ })
  t.same(await keysUnder(app.client, app.bucket), [])
})

t.test('an uploaded file smaller than minSize, or empty, is refused for its size', async (t) => {
  const app = await directApp(t)
  for (const [size, limit] of [[50, 100], [0, 100]]) {
    const form = await app.app.media.presign(app.Clip.fields.video, { filename: 'clip.mp4', size: 5000 }) as PresignedForm
    await postToBucket(form, mp4(5000).subarray(0, size))
    const res = await commitForm(app.url, { video: form.token })
    t.equal(res.statusCode, 400, `${size} bytes`)
    t.match(res.json, { code: 'FST_MEDIA_FILE_TOO_SMALL', field: 'video', limit })
  }
  t.same(await keysUnder(app.client, app.bucket), [])
})

t.test('the same token in two requests at once in one process: one commits, the other is refused', async (t) => {
  const { app, form } = await uploadedClip(t)
  let second: Promise<{ statusCode: number, json: any }> | undefined
  // the first request is inside its commit (spending the token) when the second arrives: the second is
  // answered before the first goes on
  app.client.middlewareStack.add((next, context) => async (args) => {
    if (context.commandName === 'HeadObjectCommand' && second === undefined && String((args.input as { Key: string }).Key).startsWith('.direct/used/')) {
      second = commitForm(app.url, { video: form.token })
      await second
    }
    return await next(args)
  }, { step: 'initialize', name: 'second-arrives' })
  const first = await commitForm(app.url, { video: form.token })
  t.equal(first.statusCode, 201)
  t.match((await second!).json, { statusCode: 400, code: 'FST_MEDIA_INVALID_TOKEN', message: /being used by another request/ })
  t.same(await keysUnder(app.client, app.bucket, 'videos/'), ['videos/clip.mp4'])
})

t.test('a committed type that is not shown inline gets Content-Disposition: attachment on its object', async (t) => {
  const app = await directApp(t, {
    setup: async (app) => {
      const { FileField } = await import('../lib/index.js')
      const Archive = app.media.model('archive', { zip: FileField({ storage: 'bucket', uploadTo: 'zips/', accept: ['application/zip'], direct: true }) })
      app.post('/archives', { upload: Archive }, async (req, reply) => await reply.code(201).send(req.uploads))
      const form = await app.media.presign(Archive.fields.zip, { filename: 'a.zip', size: fixture('fixture.zip').length }) as PresignedForm
      presigned = form
    }
  })
  await postToBucket(presigned!, fixture('fixture.zip'))
  const res = await commitForm(`${app.origin}/archives`, { zip: presigned!.token })
  t.equal(res.statusCode, 201, JSON.stringify(res.json))
  const { HeadObjectCommand } = await import('@aws-sdk/client-s3')
  const head = await app.client.send(new HeadObjectCommand({ Bucket: app.bucket, Key: 'zips/a.zip' }))
  t.equal(head.ContentType, 'application/zip')
  t.equal(head.ContentDisposition, 'attachment')
})
let presigned: PresignedForm | undefined
