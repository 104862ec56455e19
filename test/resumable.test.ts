import t from 'tap'
import { createHash } from 'node:crypto'
import diagnostics from 'node:diagnostics_channel'
import { once } from 'node:events'
import { readFileSync, rmSync, statSync, watch } from 'node:fs'
import { join } from 'node:path'
import { DeleteObjectCommand } from '@aws-sdk/client-s3'
import { Upload } from 'tus-js-client'
import { fixture, filesUnder } from './helpers.js'
import { within } from './http-helpers.js'
import { commitForm } from './direct-helpers.js'
import { mp4, resumableApp, tusUpload, tusRefusal, interruptedUpload, type Where } from './resumable-app.js'

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')

// every bullet runs on disk (@tus/file-store) and on S3 (s3rver, @tus/s3-store)
for (const on of ['disk', 's3'] as Where[]) {
  t.test(`${on}: a 100 MiB upload interrupted twice resumes where it stopped and commits byte-identical`, async (t) => {
    const ctx = await resumableApp(t, { on })
    const bytes = mp4(100 * 2 ** 20, 7)
    bytes.writeUInt32BE(0xdeadbeef, bytes.length - 4)
    const { url, offsets, received } = await interruptedUpload(ctx, bytes, { field: 'clip.video', filename: 'long.mp4' }, [0.3, 0.6])
    t.equal(offsets.length, 3, 'three runs of PATCH requests: the first and two resumptions')
    t.ok(offsets[1]! > 0 && offsets[2]! > offsets[1]!, `each resumption starts where the last stopped (${offsets.join(', ')})`)
    t.ok(received < bytes.length * 1.2, `the server received ${received} bytes for ${bytes.length}: nothing started over`)
    const res = await commitForm(`${ctx.origin}/clips`, { video: url })
    t.equal(res.statusCode, 201, JSON.stringify(res.json))
    t.match(res.json.video, { name: 'videos/long.mp4', size: bytes.length, contentType: 'video/mp4' })
    t.equal(sha256(await ctx.read('videos/long.mp4')), sha256(bytes), 'byte-identical')
    t.same(await ctx.leftovers(), [], 'nothing of the upload is left under .resumable/')
  })

  t.test(`${on}: an ELF declared as video.mp4 is refused after its first chunk, and nothing of it is kept`, async (t) => {
    const ctx = await resumableApp(t, { on })
    const elf = Buffer.concat([fixture('fixture.elf'), Buffer.alloc(6 * 2 ** 20, 1)])
    const refused = await tusRefusal(ctx.origin, elf, { field: 'clip.video', filename: 'video.mp4' }, { chunkSize: 2 ** 20 })
    t.equal(refused.status, 400)
    t.match(refused.json, { code: 'FST_MEDIA_INVALID_TYPE', field: 'video', detected: 'application/x-elf', accepted: ['video/mp4'] })
    t.equal(refused.patches, 1, 'the first chunk was the last')
    t.same(await ctx.leftovers(), [], 'the server holds no part of it')
    t.same(await ctx.storage.list(), [])
  })

  t.test(`${on}: an image's header out of bounds is refused from its first bytes, as a form upload is`, async (t) => {
    const ctx = await resumableApp(t, { on })
    // a PNG claiming 60000x60000: refused from its header, before the pixels
    const png = Buffer.from(fixture('fixture.png'))
    png.writeUInt32BE(60000, 16)
    png.writeUInt32BE(60000, 20)
    const refused = await tusRefusal(ctx.origin, png, { field: 'clip.photo', filename: 'big.png' })
    t.equal(refused.status, 400)
    t.match(refused.json, { code: 'FST_MEDIA_INVALID_IMAGE', field: 'photo' })
    t.same(await ctx.leftovers(), [])
  })

  t.test(`${on}: in 16 KiB chunks, the window is checked at the PATCH that completes it, with the bytes stored before`, async (t) => {
    const ctx = await resumableApp(t, { on })
    const elf = Buffer.concat([fixture('fixture.elf'), Buffer.alloc(200_000, 1)])
    const refused = await tusRefusal(ctx.origin, elf, { field: 'clip.video', filename: 'video.mp4' }, { chunkSize: 16 * 1024 })
    t.match(refused, { status: 400, json: { code: 'FST_MEDIA_INVALID_TYPE', field: 'video' } })
    t.equal(refused.patches, 4, 'three PATCHes inside the window pass, the fourth completes it and is refused')
    t.same(await ctx.leftovers(), [], 'the three stored chunks went with it')

    const video = mp4(200_000, 5)
    const url = await tusUpload(ctx.origin, video, { field: 'video', filename: 'small-steps.mp4' }, { chunkSize: 16 * 1024 })
    const res = await commitForm(`${ctx.origin}/clips`, { video: url })
    t.equal(res.statusCode, 201, 'the field named without its model, as it is unambiguous')
    t.same(await ctx.read('videos/small-steps.mp4'), video)
  })

  t.test(`${on}: Upload-Length over maxSize is 413 at creation; a deferred length past it is 413 and removes the upload`, async (t) => {
    const ctx = await resumableApp(t, { on })
    const create = async (headers: Record<string, string>) => await fetch(`${ctx.origin}/files`, { method: 'POST', headers: { 'tus-resumable': '1.0.0', 'upload-metadata': `field ${b64('clip.video')},filename ${b64('a.mp4')}`, ...headers } })
    const tooLong = await create({ 'upload-length': String(200 * 2 ** 20 + 1) })
    t.equal(tooLong.status, 413)
    t.match(await tooLong.json(), { code: 'FST_MEDIA_FILE_TOO_LARGE', field: 'video', limit: 200 * 2 ** 20 })
    t.same(await ctx.leftovers(), [], 'no upload was created')

    const deferred = await create({ 'upload-defer-length': '1' })
    t.equal(deferred.status, 201)
    const location = deferred.headers.get('location')!
    const patch = await fetch(location, { method: 'PATCH', headers: { 'tus-resumable': '1.0.0', 'upload-offset': '0', 'upload-length': String(300 * 2 ** 20), 'content-type': 'application/offset+octet-stream' }, body: mp4(1000) })
    t.equal(patch.status, 413)
    t.match(await patch.json(), { code: 'FST_MEDIA_FILE_TOO_LARGE', field: 'video' })
    t.same(await ctx.leftovers(), [], 'the upload is gone at once')
  })

  t.test(`${on}: termination deletes the upload`, async (t) => {
    const ctx = await resumableApp(t, { on })
    // Uppy names the file `name`
    const url = await tusUpload(ctx.origin, mp4(200_000), { field: 'clip.video', name: 'a.mp4' })
    t.not(await ctx.leftovers(), [])
    t.same(await ctx.storage.list(), [], 'list() leaves .resumable/ out')
    if (on === 'disk') t.equal((await fetch(`${ctx.origin}/media/.resumable/${url.slice(-32)}`)).status, 404, 'the media route does not serve it')
    await Upload.terminate(url, {})
    t.same(await ctx.leftovers(), [])
    const commit = await commitForm(`${ctx.origin}/clips`, { video: url })
    t.equal(commit.statusCode, 400)
    t.match(commit.json, { code: 'FST_MEDIA_INVALID_TOKEN', field: 'video', message: /no upload has this URL/ })
  })

  t.test(`${on}: an expired upload, finished or not, is gone after expireUploads(); a fresh one stays`, async (t) => {
    const ctx = await resumableApp(t, { on })
    const finished = await tusUpload(ctx.origin, mp4(200_000), { field: 'clip.video', filename: 'a.mp4' })
    const partial = await fetch(`${ctx.origin}/files`, { method: 'POST', headers: { 'tus-resumable': '1.0.0', 'upload-length': '300000', 'upload-metadata': `field ${b64('clip.video')},filename ${b64('b.mp4')}`, 'content-type': 'application/offset+octet-stream' }, body: mp4(100_000) })
    t.equal(partial.status, 201)
    t.equal(await ctx.app.media.expireUploads(), 0, 'both are younger than expiresIn (1 day)')
    t.equal(await ctx.app.media.expireUploads({ olderThan: 0 }), 2)
    t.same(await ctx.leftovers(), [])
    const head = await fetch(finished, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0' } })
    t.equal(head.status, 404, 'the URL no longer answers')
  })
}

t.test('a finished upload commits into its field once: a replay, another field, or an unfinished upload is 400', async (t) => {
  const ctx = await resumableApp(t)
  const url = await tusUpload(ctx.origin, mp4(200_000), { field: 'clip.video', filename: 'a.mp4' })
  const wrong = await commitForm(`${ctx.origin}/clips`, { photo: url })
  t.equal(wrong.statusCode, 400)
  t.match(wrong.json, { code: 'FST_MEDIA_INVALID_TOKEN', field: 'photo', message: /made for clip\.video/ })
  const id = url.slice(-32)
  const ok = await commitForm(`${ctx.origin}/clips`, { video: id })
  t.equal(ok.statusCode, 201, 'the bare id works as well as the URL')
  const replay = await commitForm(`${ctx.origin}/clips`, { video: url })
  t.equal(replay.statusCode, 400)
  t.match(replay.json, { code: 'FST_MEDIA_INVALID_TOKEN', message: /no upload has this URL/ })

  const partial = await fetch(`${ctx.origin}/files`, { method: 'POST', headers: { 'tus-resumable': '1.0.0', 'upload-length': '300000', 'upload-metadata': `field ${b64('clip.video')},filename ${b64('b.mp4')}`, 'content-type': 'application/offset+octet-stream' }, body: mp4(100_000) })
  const unfinished = await commitForm(`${ctx.origin}/clips`, { video: partial.headers.get('location')! })
  t.equal(unfinished.statusCode, 400)
  t.match(unfinished.json, { code: 'FST_MEDIA_INVALID_TOKEN', message: /not finished \(100000 of 300000 bytes\)/ })
})

t.test('s3: a second commit of an upload while the first is committing it is refused; bytes gone from the bucket are 400', async (t) => {
  const ctx = await resumableApp(t, { on: 's3' })
  const url = await tusUpload(ctx.origin, mp4(200_000), { field: 'clip.video', filename: 'a.mp4' })
  let second: Promise<{ statusCode: number, json: any }> | undefined
  // the first request is writing its record of the commit when the second arrives
  ctx.s3!.client.middlewareStack.add((next, context) => async (args) => {
    if (context.commandName === 'HeadObjectCommand' && second === undefined && String((args.input as { Key: string }).Key).endsWith('.used')) {
      second = commitForm(`${ctx.origin}/clips`, { video: url })
      await second
    }
    return await next(args)
  }, { step: 'initialize', name: 'second-arrives' })
  const first = await commitForm(`${ctx.origin}/clips`, { video: url })
  t.equal(first.statusCode, 201)
  t.match((await second!).json, { statusCode: 400, code: 'FST_MEDIA_INVALID_TOKEN', message: /being committed by another request/ })

  const lost = await tusUpload(ctx.origin, mp4(200_000), { field: 'clip.video', filename: 'b.mp4' })
  await ctx.s3!.client.send(new DeleteObjectCommand({ Bucket: ctx.s3!.bucket, Key: `.resumable/${lost.slice(-32)}` }))
  const res = await commitForm(`${ctx.origin}/clips`, { video: lost })
  t.equal(res.statusCode, 400)
  t.match(res.json, { code: 'FST_MEDIA_INVALID_TOKEN', message: /bytes are gone/ })
  t.same(await ctx.leftovers(), [], 'its record went with it')
  t.same(await ctx.storage.list(), ['videos/a.mp4'])
})

t.test('a refusal is published on fastify-media:refused, and a commit\'s bytes do not count against limits.totalSize', async (t) => {
  const ctx = await resumableApp(t, { plugin: { limits: { totalSize: 1000 } } })
  const messages: any[] = []
  const listener = (message: unknown): void => { messages.push(message) }
  diagnostics.subscribe('fastify-media:refused', listener)
  t.teardown(() => diagnostics.unsubscribe('fastify-media:refused', listener))
  await tusRefusal(ctx.origin, fixture('fixture.elf'), { field: 'clip.video', filename: 'video.mp4' })
  t.match(messages, [{ code: 'FST_MEDIA_INVALID_TYPE', statusCode: 400, model: 'clip', field: 'video', detected: 'application/x-elf' }])
  const url = await tusUpload(ctx.origin, mp4(200_000), { field: 'clip.video', filename: 'a.mp4' })
  t.equal((await commitForm(`${ctx.origin}/clips`, { video: url })).statusCode, 201, '200 kB committed under a 1000-byte totalSize')
})

t.test('all or nothing: a failing handler leaves neither the committed file nor the upload', async (t) => {
  const ctx = await resumableApp(t, { handler: () => { throw new Error('the record could not be saved') } })
  const url = await tusUpload(ctx.origin, mp4(200_000), { field: 'clip.video', filename: 'a.mp4' })
  const res = await commitForm(`${ctx.origin}/clips`, { video: url })
  t.equal(res.statusCode, 500)
  t.same(filesUnder(join(ctx.dir, 'media')), [], 'no file, no upload, no record of a commit')
})

t.test('a committed upload on a FileSystemStorage with fileMode gets that mode, as a saved file does', async (t) => {
  const ctx = await resumableApp(t, { storage: { fileMode: 0o600 } })
  const url = await tusUpload(ctx.origin, mp4(200_000), { field: 'clip.video', filename: 'a.mp4' })
  t.equal((await commitForm(`${ctx.origin}/clips`, { video: url })).statusCode, 201)
  t.equal(statSync(join(ctx.dir, 'media', 'videos', 'a.mp4')).mode & 0o777, 0o600)
})

t.test('creation refuses a field not on the endpoint, a missing file name and a length under minSize, with 400', async (t) => {
  const ctx = await resumableApp(t)
  const create = async (metadata: string) => await fetch(`${ctx.origin}/files`, { method: 'POST', headers: { 'tus-resumable': '1.0.0', 'upload-length': '1000', 'upload-metadata': metadata } })
  const unknown = await create(`field ${b64('clip.audio')},filename ${b64('a.mp4')}`)
  t.equal(unknown.status, 400)
  t.match(await unknown.json(), { code: 'FST_MEDIA_UNKNOWN_FIELD', field: 'clip.audio' })
  const nameless = await create(`field ${b64('video')}`)
  t.equal(nameless.status, 400)
  t.match(await nameless.json(), { code: 'FST_MEDIA_INVALID_NAME', field: 'video' })
  const tooShort = await fetch(`${ctx.origin}/files`, { method: 'POST', headers: { 'tus-resumable': '1.0.0', 'upload-length': '50', 'upload-metadata': `field ${b64('clip.video')},filename ${b64('a.mp4')}` } })
  t.equal(tooShort.status, 400)
  t.match(await tooShort.json(), { code: 'FST_MEDIA_FILE_TOO_SMALL', field: 'video', limit: 100 })
  const fieldless = await create(`filename ${b64('a.mp4')}`)
  t.equal(fieldless.status, 400, 'two fields on the endpoint: the metadata must name one')
  t.match(await fieldless.json(), { code: 'FST_MEDIA_UNKNOWN_FIELD', message: /metadata\.field/ })
  t.same(await ctx.leftovers(), [])
  const stranger = await fetch(`${ctx.origin}/files/not-an-upload`, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0' } })
  t.equal(stranger.status, 404, 'a URL whose id we did not make is no upload')
})

t.test('the scope\'s hooks apply to every request of the protocol', async (t) => {
  const ctx = await resumableApp(t, {
    setup: (app) => {
      app.addHook('onRequest', async (req, reply) => {
        if (req.url.startsWith('/files') && req.method !== 'OPTIONS' && req.headers.authorization !== 'Bearer ok') await reply.code(401).send({ error: 'who are you?' })
      })
    }
  })
  const refused = await tusRefusal(ctx.origin, mp4(1000), { field: 'clip.video', filename: 'a.mp4' })
  t.equal(refused.status, 401)
  const url = await tusUpload(ctx.origin, mp4(200_000), { field: 'clip.video', filename: 'a.mp4' }, { headers: { authorization: 'Bearer ok' } })
  t.match(url, /\/files\/[0-9a-f]{32}$/)
  t.same(readFileSync(join(ctx.dir, 'media/.resumable', url.slice(-32))).subarray(0, 24), mp4(1000).subarray(0, 24), 'the upload went through: its bytes are kept')
})

function b64 (text: string): string {
  return Buffer.from(text).toString('base64')
}

t.test('one PATCH at a time per upload: a second one stops the first where it is and is refused for its stale offset', async (t) => {
  const ctx = await resumableApp(t)
  const created = await fetch(`${ctx.origin}/files`, { method: 'POST', headers: { 'tus-resumable': '1.0.0', 'upload-length': '1000000', 'upload-metadata': `field ${b64('clip.video')},filename ${b64('a.mp4')}` } })
  const url = created.headers.get('location')!
  const file = join(ctx.dir, 'media', '.resumable', url.slice(-32))
  const patch = async (body: RequestInit['body']) => await fetch(url, { method: 'PATCH', headers: { 'tus-resumable': '1.0.0', 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }, body, duplex: 'half' } as RequestInit)

  // the first PATCH sends 100 kB and then nothing more, holding its request (and the upload's lock) open
  const first = patch(new ReadableStream({ start: (controller) => { controller.enqueue(new Uint8Array(mp4(100_000))) } }))
  const watcher = watch(join(ctx.dir, 'media', '.resumable'))
  t.teardown(() => watcher.close())
  while (statSync(file).size < 100_000) await within(once(watcher, 'change'), 'the first PATCH\'s bytes on disk')

  const second = await patch(mp4(1_000_000).subarray(0, 200_000))
  t.equal(second.status, 409, 'the second waited for the lock, then found the offset moved')
  const answered = await within(first, 'the first PATCH answered once asked to let go')
  t.equal(answered.status, 204)
  t.equal(answered.headers.get('upload-offset'), '100000', 'it kept what it had received')
  t.equal(statSync(file).size, 100_000, 'no byte of the second was written over it')
})

t.test('a deferred length: its first bytes are checked all the same, and it cannot be committed before its length is known', async (t) => {
  const ctx = await resumableApp(t)
  const create = async () => await fetch(`${ctx.origin}/files`, { method: 'POST', headers: { 'tus-resumable': '1.0.0', 'upload-defer-length': '1', 'upload-metadata': `field ${b64('clip.video')},filename ${b64('a.mp4')}` } })
  const patch = async (url: string, body: Buffer) => await fetch(url, { method: 'PATCH', headers: { 'tus-resumable': '1.0.0', 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }, body })
  const elf = (await create()).headers.get('location')!
  const refused = await patch(elf, Buffer.concat([fixture('fixture.elf'), Buffer.alloc(100_000)]))
  t.equal(refused.status, 400)
  t.match(await refused.json(), { code: 'FST_MEDIA_INVALID_TYPE', field: 'video' })

  const open = (await create()).headers.get('location')!
  t.equal((await patch(open, mp4(100_000))).status, 204)
  const commit = await commitForm(`${ctx.origin}/clips`, { video: open })
  t.equal(commit.statusCode, 400)
  t.match(commit.json, { code: 'FST_MEDIA_INVALID_TOKEN', message: /not finished \(100000 of an unknown number of bytes\)/ })
})

t.test('an upload whose record outlived its bytes (a removal cut short) counts as expired', async (t) => {
  const ctx = await resumableApp(t)
  const url = await tusUpload(ctx.origin, mp4(200_000), { field: 'clip.video', filename: 'a.mp4' })
  rmSync(join(ctx.dir, 'media', '.resumable', url.slice(-32)))
  t.equal(await ctx.app.media.expireUploads(), 1, 'removed though younger than expiresIn')
  t.same(await ctx.leftovers(), [])
})

t.test('s3: a bucket failing under a PATCH is a 500, not a refusal: the upload is kept', async (t) => {
  const ctx = await resumableApp(t, { on: 's3' })
  let failing = true
  ctx.s3!.client.middlewareStack.add((next, context) => async (args) => {
    if (failing && context.commandName === 'PutObjectCommand' && String((args.input as { Key: string }).Key).endsWith('.part')) {
      throw Object.assign(new Error('We encountered an internal error. Please try again.'), { name: 'InternalError', $metadata: { httpStatusCode: 500 } })
    }
    return await next(args)
  }, { step: 'initialize', name: 'bucket-fails' })
  const bytes = mp4(200_000)
  const refused = await tusRefusal(ctx.origin, bytes, { field: 'clip.video', filename: 'a.mp4' }, { chunkSize: 16 * 1024 })
  t.equal(refused.status, 500)
  t.match(await ctx.leftovers(), [/\.info$/], 'the upload is kept')
  failing = false
  const url = await tusUpload(ctx.origin, bytes, { field: 'clip.video', filename: 'a.mp4' })
  t.equal((await commitForm(`${ctx.origin}/clips`, { video: url })).statusCode, 201, 'the bucket back, uploads work')
})

t.test('a JPEG whose header lies past the first 64 KiB passes the upload and is refused at its commit, leaving nothing', async (t) => {
  const ctx = await resumableApp(t)
  const jpg = Buffer.from(fixture('fixture.jpg'))
  // every SOF0 (FF C0; the EXIF thumbnails have theirs): height and width, after the length and the precision
  for (let sof = jpg.indexOf(Buffer.from([0xff, 0xc0])); sof >= 0; sof = jpg.indexOf(Buffer.from([0xff, 0xc0]), sof + 2)) {
    jpg.writeUInt16BE(60000, sof + 5)
    jpg.writeUInt16BE(60000, sof + 7)
  }
  const comment = Buffer.alloc(65_000, 'c')
  const header = Buffer.from([0xff, 0xfe, 0, 0])
  header.writeUInt16BE(comment.length + 2, 2)
  const late = Buffer.concat([jpg.subarray(0, 2), header, comment, header, comment, jpg.subarray(2)])
  const url = await tusUpload(ctx.origin, late, { field: 'clip.photo', filename: 'huge.jpg' })
  const res = await commitForm(`${ctx.origin}/clips`, { photo: url })
  t.equal(res.statusCode, 400)
  t.match(res.json, { code: 'FST_MEDIA_INVALID_IMAGE', field: 'photo' })
  t.same(filesUnder(join(ctx.dir, 'media')), [], 'neither the upload nor a copy')
})
