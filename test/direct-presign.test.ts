import t from 'tap'
import { FileField, FileSystemStorage, S3Storage, type PresignedForm, type PresignedMultipart } from '../lib/index.js'
import { makeApp } from './helpers.js'
import { s3Bucket } from './s3-server.js'
import { directApp, KEY } from './direct-app.js'

t.test('the POST policy pins the key in quarantine, the exact type, the size range and the expiry', async (t) => {
  const { app, Clip } = await directApp(t, { direct: { expiresIn: 600 } })
  const before = Date.now()
  const form = await app.media.presign(Clip.fields.video, { filename: 'clip.mp4', size: 5000, contentType: 'video/mp4' }) as PresignedForm
  const policy = JSON.parse(Buffer.from(form.fields.Policy!, 'base64').toString()) as { expiration: string, conditions: unknown[] }
  const expiration = Date.parse(policy.expiration)
  t.ok(expiration >= before + 599_000 && expiration <= Date.now() + 601_000, `expires in 600 s (${policy.expiration})`)
  t.equal(Date.parse(form.expires), Math.floor(expiration / 1000) * 1000, 'the result says when')
  t.match(form.fields.key, /^\.direct\/q\/[0-9a-f-]{36}$/, 'a key under the quarantine prefix, with nothing of the client in it')
  t.equal(form.fields['Content-Type'], 'video/mp4')
  t.same(policy.conditions.filter((c) => Array.isArray(c)), [['content-length-range', 100, 20_000_000], ['eq', '$Content-Type', 'video/mp4']])
  t.ok(policy.conditions.some((c) => (c as Record<string, string>).key === form.fields.key), 'the exact key')
  t.ok(policy.conditions.some((c) => (c as Record<string, string>).bucket !== undefined), 'the bucket')
  const other = await app.media.presign(Clip.fields.video, { filename: 'clip.mp4', size: 5000 }) as PresignedForm
  t.not(other.fields.key, form.fields.key, 'each presign its own key')
  t.equal(other.fields['Content-Type'], 'application/octet-stream', 'no type given: octet-stream, pinned too')
})

t.test('presign refuses what the field would refuse by its size or name, before anything is signed', async (t) => {
  const { app, Clip, Doc } = await directApp(t)
  const video = Clip.fields.video
  await t.rejects(app.media.presign(video, { filename: 'clip.mp4', size: 20_000_001 }), { code: 'FST_MEDIA_FILE_TOO_LARGE', statusCode: 413, field: 'video', limit: 20_000_000 })
  await t.rejects(app.media.presign(video, { filename: 'clip.mp4', size: 99 }), { code: 'FST_MEDIA_FILE_TOO_SMALL', field: 'video', limit: 100 })
  await t.rejects(app.media.presign(Doc.fields.text, { filename: 'a.txt', size: 0 }), { code: 'FST_MEDIA_FILE_TOO_SMALL', field: 'text', limit: 1 })
  await t.rejects(app.media.presign(video, { filename: '..', size: 10 }), { code: 'FST_MEDIA_INVALID_NAME', field: 'video' })
  await t.rejects(app.media.presign(video, { filename: 42 as unknown as string, size: 10 }), { code: 'FST_MEDIA_INVALID_NAME' })
  await t.rejects(app.media.presign(video, { filename: 'a.mp4', size: 1.5 }), { code: 'FST_MEDIA_INVALID_OPTION', message: /size/ })
  const Plain = app.media.model('plain', { file: FileField({ storage: 'bucket' }) })
  await t.rejects(app.media.presign(Plain.fields.file, { filename: 'a.mp4', size: 10 }), { code: 'FST_MEDIA_INVALID_OPTION', message: /plain\.file.*direct: true/ })
  t.ok(Doc, 'other models declared alongside')
})

t.test('a field declares direct uploads only on a storage that presigns, with a signingKey, and valid options', async (t) => {
  const { client, bucket } = await s3Bucket(t)
  const { app } = await makeApp(t, { storages: { bucket: new S3Storage({ bucket, client }), disk: new FileSystemStorage({ location: 'disk', baseUrl: '/disk/' }) }, signingKey: KEY })
  t.throws(() => app.media.model('a', { f: FileField({ storage: 'disk', direct: true }) }), { code: 'FST_MEDIA_INVALID_OPTION', message: /a\.f\.direct.*storage "disk" cannot presign/ })
  t.throws(() => FileField({ direct: { expiresIn: 0 } }), { message: /direct\.expiresIn/ })
  t.throws(() => FileField({ direct: { expiresIn: 8 * 24 * 3600 } }), { message: /7 days/ })
  t.throws(() => FileField({ direct: { multipartAbove: '1 MiB' } }), { message: /direct\.multipartAbove.*5 MiB/ })
  t.throws(() => FileField({ direct: { multipartAbove: 'lots' } }), { message: /direct\.multipartAbove/ })
  t.throws(() => FileField({ direct: { expiresln: 60 } as never }), { code: 'FST_MEDIA_INVALID_OPTION', message: /FileField\.direct\.expiresln/ })
  t.throws(() => FileField({ direct: 'yes' as never }), { message: /direct: must be true, false or an object/ })
  t.equal(FileField({ direct: false }).options.direct, undefined, 'false: no direct uploads')
  t.same(FileField({ direct: { multipartAbove: '64 MiB' } }).options.direct, { expiresIn: 3600, multipartAbove: 64 * 2 ** 20 })

  const { client: c2, bucket: b2 } = await s3Bucket(t)
  const { app: keyless } = await makeApp(t, { storages: { bucket: new S3Storage({ bucket: b2, client: c2 }) } })
  t.throws(() => keyless.media.model('a', { f: FileField({ storage: 'bucket', direct: true }) }), { message: /signingKey/ })
})

t.test('above multipartAbove: a multipart upload, its parts signed one by one, joined, then committed', async (t) => {
  const { app, Clip, client, bucket, url } = await directApp(t, { direct: { multipartAbove: '5 MiB' } })
  const { mp4 } = await import('./direct-helpers.js')
  const bytes = mp4(11 * 2 ** 20)
  const upload = await app.media.presign(Clip.fields.video, { filename: 'big.mp4', size: bytes.length, contentType: 'video/mp4' }) as PresignedMultipart
  t.equal(upload.method, 'multipart')
  t.match(upload, { uploadId: String, key: /^\.direct\/q\//, partSize: 8 * 2 ** 20 })
  const { request } = await import('undici')
  const parts = []
  for (let part = 1, at = 0; at < bytes.length; part++, at += upload.partSize) {
    const { url: partUrl } = await app.media.signPart(upload.token, part)
    const res = await request(partUrl, { method: 'PUT', body: bytes.subarray(at, at + upload.partSize) })
    await res.body.dump()
    t.equal(res.statusCode, 200, `part ${part}`)
    parts.push({ PartNumber: part, ETag: res.headers.etag as string })
  }
  await app.media.completeMultipart(upload.token, parts.reverse())
  const { commitForm, keysUnder } = await import('./direct-helpers.js')
  const res = await commitForm(url, { video: upload.token })
  t.equal(res.statusCode, 201, JSON.stringify(res.json))
  t.match(res.json.video, { name: 'videos/big.mp4', size: bytes.length })
  t.same(await keysUnder(client, bucket, '.direct/q/'), [])
})

t.test('multipart: parts adding up past maxSize are refused at completion and removed; abort drops the upload', async (t) => {
  const { app, Clip, client, bucket } = await directApp(t, { direct: { multipartAbove: '5 MiB' } })
  const { request } = await import('undici')
  const { mp4, keysUnder, answer } = await import('./direct-helpers.js')
  const putPart = async (token: string, part: number, bytes: Buffer) => {
    const res = await request((await app.media.signPart(token, part)).url, { method: 'PUT', body: bytes })
    await res.body.dump()
    return { statusCode: res.statusCode, part: { PartNumber: part, ETag: res.headers.etag as string } }
  }
  // the client said 19 MB, then sent 6 + 14 MiB: the field takes 20,000,000 bytes
  const big = await app.media.presign(Clip.fields.video, { filename: 'big.mp4', size: 19_000_000 }) as PresignedMultipart
  const parts = [(await putPart(big.token, 1, mp4(6 * 2 ** 20))).part, (await putPart(big.token, 2, mp4(14 * 2 ** 20))).part]
  await t.rejects(app.media.completeMultipart(big.token, parts), { code: 'FST_MEDIA_FILE_TOO_LARGE', statusCode: 413, field: 'video' })
  t.same(await keysUnder(client, bucket), [], 'the joined file is gone')

  // s3rver implements neither AbortMultipartUpload nor ListParts: the client answers them, as S3 would
  const dropped = await app.media.presign(Clip.fields.video, { filename: 'big.mp4', size: 19_000_000 }) as PresignedMultipart
  let gone = false
  const aborts = answer(client, 'AbortMultipartUploadCommand', () => {
    if (gone) throw Object.assign(new Error('NoSuchUpload'), { name: 'NoSuchUpload', $metadata: { httpStatusCode: 404 } })
    gone = true
    return {}
  })
  await app.media.abortMultipart(dropped.token)
  t.match(aborts, [{ Bucket: bucket, Key: dropped.key, UploadId: dropped.uploadId }], 'the upload was aborted at the bucket')
  await app.media.abortMultipart(dropped.token)
  t.pass('aborting one already gone is fine')
  const listed = answer(client, 'ListPartsCommand', ({ PartNumberMarker }) => PartNumberMarker === undefined
    ? { Parts: [{ PartNumber: 1, ETag: '"a"', Size: 5 }], IsTruncated: true, NextPartNumberMarker: '1' }
    : { Parts: [{ PartNumber: 2, ETag: '"b"', Size: 3 }], IsTruncated: false })
  t.same(await app.media.listParts(dropped.token), [{ PartNumber: 1, ETag: '"a"', Size: 5 }, { PartNumber: 2, ETag: '"b"', Size: 3 }], 'every page of parts')
  t.equal(listed.length, 2)

  const form = await app.media.presign(Clip.fields.video, { filename: 'small.mp4', size: 1000 })
  await t.rejects(app.media.signPart(form.token, 1), { code: 'FST_MEDIA_INVALID_TOKEN', message: /not a token of a multipart upload/ })
  await t.rejects(app.media.signPart(big.token, 0), { code: 'FST_MEDIA_INVALID_OPTION', message: /partNumber/ })
  await t.rejects(app.media.signPart(big.token, 10_001), { code: 'FST_MEDIA_INVALID_OPTION' })
  await t.rejects(app.media.signPart('nope', 1), { code: 'FST_MEDIA_INVALID_TOKEN', field: null, message: /forged/ })
  const { signToken } = await import('../lib/direct/token.js')
  const elsewhere = signToken(Buffer.from(KEY), { field: 'gone.video', id: 'x', expires: Math.floor(Date.now() / 1000) + 60, filename: 'a.mp4', uploadId: 'u' })
  await t.rejects(app.media.signPart(elsewhere, 1), { code: 'FST_MEDIA_INVALID_TOKEN', message: /forged/ }, 'signed with our key for a field this app does not have')

  answer(client, 'ListPartsCommand', () => ({ IsTruncated: false }))
  t.same(await app.media.listParts(big.token), [], 'an upload with no parts yet')
  answer(client, 'AbortMultipartUploadCommand', () => {
    throw Object.assign(new Error('internal'), { name: 'InternalError', $metadata: { httpStatusCode: 500 } })
  })
  await t.rejects(app.media.abortMultipart(big.token), { code: 'FST_MEDIA_STORAGE', message: /abortMultipart.*InternalError/ })
})
