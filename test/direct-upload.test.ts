import t from 'tap'
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { FileField, type PresignedForm } from '../lib/index.js'
import type { BoundField } from '../lib/fields/model.js'
import { fixture } from './helpers.js'
import { signToken, type TokenClaims } from '../lib/direct/token.js'
import { directApp, KEY } from './direct-app.js'
import { commitForm, keysUnder, mp4, postToBucket } from './direct-helpers.js'

const read = async (client: S3Client, bucket: string, key: string): Promise<Buffer> =>
  Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray())

const toClaims = ([field, id, expires, filename]: unknown[]): TokenClaims => ({ field: field as string, id: id as string, expires: expires as number, filename: filename as string })

t.test('a good file: 201, the object at its uploadTo name, quarantine empty, url/name/size right', async (t) => {
  const { app, Clip, client, bucket, storage, url } = await directApp(t)
  const bytes = mp4(100_000)
  const form = await app.media.presign(Clip.fields.video, { filename: 'clip.mp4', size: bytes.length, contentType: 'video/mp4' }) as PresignedForm
  t.equal(form.method, 'POST')
  t.equal(await postToBucket(form, bytes), 204, 'the bucket took the file')
  const res = await commitForm(url, { video: form.token })
  t.equal(res.statusCode, 201, JSON.stringify(res.json))
  t.match(res.json.video, { name: 'videos/clip.mp4', size: bytes.length, contentType: 'video/mp4', url: storage.url('videos/clip.mp4') })
  t.same(await keysUnder(client, bucket, 'videos/'), ['videos/clip.mp4'])
  t.same(await keysUnder(client, bucket, '.direct/q/'), [], 'quarantine empty')
  const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'videos/clip.mp4' }))
  t.equal(object.ContentType, 'video/mp4', 'the detected type, not the client\'s')
  t.same(Buffer.from(await object.Body!.transformToByteArray()), bytes, 'byte-identical')
})

t.test('an ELF named clip.mp4: 400 FST_MEDIA_INVALID_TYPE, nothing left under either prefix', async (t) => {
  const { app, Clip, client, bucket, url } = await directApp(t)
  const elf = fixture('fixture.elf')
  const form = await app.media.presign(Clip.fields.video, { filename: 'clip.mp4', size: elf.length, contentType: 'video/mp4' }) as PresignedForm
  await postToBucket(form, elf)
  const res = await commitForm(url, { video: form.token })
  t.equal(res.statusCode, 400)
  t.match(res.json, { code: 'FST_MEDIA_INVALID_TYPE', field: 'video' })
  t.same(await keysUnder(client, bucket), [], 'no copy, no quarantined file, no used-token record')
})

t.test('a file over maxSize (the client ignored the policy): 413, nothing left', async (t) => {
  const { app, Clip, client, bucket, url } = await directApp(t)
  const form = await app.media.presign(Clip.fields.video, { filename: 'clip.mp4', size: 1000, contentType: 'video/mp4' }) as PresignedForm
  // s3rver does not enforce the policy's content-length-range: AWS would refuse this POST
  await postToBucket(form, mp4(20_000_001))
  const res = await commitForm(url, { video: form.token })
  t.equal(res.statusCode, 413)
  t.match(res.json, { code: 'FST_MEDIA_FILE_TOO_LARGE', field: 'video', limit: 20_000_000 })
  t.same(await keysUnder(client, bucket), [])
})

t.test('a replayed token is refused, even after the client uploaded again with the same form', async (t) => {
  const { app, Clip, client, bucket, url } = await directApp(t)
  const first = mp4(5000, 1)
  const form = await app.media.presign(Clip.fields.video, { filename: 'clip.mp4', size: 5000, contentType: 'video/mp4' }) as PresignedForm
  await postToBucket(form, first)
  t.equal((await commitForm(url, { video: form.token })).statusCode, 201)
  const again = await commitForm(url, { video: form.token })
  t.equal(again.statusCode, 400)
  t.match(again.json, { code: 'FST_MEDIA_INVALID_TOKEN', field: 'video', message: /used already/ })
  // the policy is still valid: a client can write into quarantine again, never onto the committed name.
  // Same length, other bytes: only the bytes tell the two apart
  const second = mp4(5000, 2)
  t.equal(await postToBucket(form, second), 204, 'the bucket took the second upload')
  t.same(await read(client, bucket, form.fields.key!), second, 'it went into quarantine')
  const replay = await commitForm(url, { video: form.token })
  t.match(replay.json, { code: 'FST_MEDIA_INVALID_TOKEN', message: /used already/ })
  t.same(await keysUnder(client, bucket, 'videos/'), ['videos/clip.mp4'], 'one committed file')
  t.same(await read(client, bucket, 'videos/clip.mp4'), first, 'the committed object holds the first upload\'s bytes')
})

t.test('forged, altered, expired and other-field tokens: 400 FST_MEDIA_INVALID_TOKEN, nothing stored', async (t) => {
  const { app, Clip, client, bucket, url } = await directApp(t)
  const form = await app.media.presign(Clip.fields.video, { filename: 'clip.mp4', size: 5000, contentType: 'video/mp4' }) as PresignedForm
  await postToBucket(form, mp4(5000))
  const [payload, mac] = form.token.split('.') as [string, string]
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as unknown[]
  const resigned = (key: string, edit: (claims: unknown[]) => unknown[]) => signToken(Buffer.from(key), toClaims(edit([...claims])))
  const cases: Array<[string, string, RegExp]> = [
    ['forged (another key)', resigned('x'.repeat(32), (c) => c), /forged/],
    ['altered (another upload id, same signature)', `${Buffer.from(JSON.stringify(claims.with(1, 'other'))).toString('base64url')}.${mac}`, /forged/],
    ['no signature', payload, /forged/],
    ['expired', resigned(KEY, (c) => c.with(2, Math.floor(Date.now() / 1000) - 1)), /expired/],
    ['made for another field', resigned(KEY, (c) => c.with(0, 'clip.extra')), /another field/],
    ['made for a field of no model here', resigned(KEY, (c) => c.with(0, 'gone.video')), /another field/]
  ]
  for (const [what, token, message] of cases) {
    const res = await commitForm(url, { video: token })
    t.equal(res.statusCode, 400, what)
    t.match(res.json, { code: 'FST_MEDIA_INVALID_TOKEN', field: 'video', message }, what)
  }
  t.same(await keysUnder(client, bucket, 'videos/'), [], 'nothing committed')
  t.same(await keysUnder(client, bucket, '.direct/used/'), [], 'no token spent')
  t.equal((await commitForm(url, { video: form.token })).statusCode, 201, 'the real token still works')
})

t.test('a token nothing was uploaded with: 400, and its record is gone again', async (t) => {
  const { app, Clip, client, bucket, url } = await directApp(t)
  const form = await app.media.presign(Clip.fields.video, { filename: 'clip.mp4', size: 5000, contentType: 'video/mp4' }) as PresignedForm
  const res = await commitForm(url, { video: form.token })
  t.equal(res.statusCode, 400)
  t.match(res.json, { code: 'FST_MEDIA_INVALID_TOKEN', message: /nothing was uploaded/ })
  t.same(await keysUnder(client, bucket), [])
})

t.test('a handler that throws after the copy: 500, nothing left', async (t) => {
  let seen: any
  const { app, Clip, client, bucket, url } = await directApp(t, {
    handler: async (uploads) => {
      seen = uploads
      t.same(await keysUnder(client, bucket, 'videos/'), ['videos/clip.mp4'], 'the copy exists while the handler runs')
      throw new Error('database down')
    }
  })
  const form = await app.media.presign(Clip.fields.video, { filename: 'clip.mp4', size: 5000, contentType: 'video/mp4' }) as PresignedForm
  await postToBucket(form, mp4(5000))
  const res = await commitForm(url, { video: form.token })
  t.equal(res.statusCode, 500)
  t.equal(seen.video.name, 'videos/clip.mp4')
  t.same(await keysUnder(client, bucket), [], 'no copy, no quarantined file, no used-token record')
})

t.test('two concurrent commits of one name: two names', async (t) => {
  const { app, Clip, client, bucket, url } = await directApp(t)
  const forms = await Promise.all([1, 2].map(async () => await app.media.presign(Clip.fields.video, { filename: 'clip.mp4', size: 5000, contentType: 'video/mp4' }) as PresignedForm))
  await Promise.all(forms.map(async (form, i) => await postToBucket(form, mp4(5000, i + 1))))
  const results = await Promise.all(forms.map(async (form) => await commitForm(url, { video: form.token })))
  t.same(results.map((res) => res.statusCode), [201, 201])
  const names = results.map((res) => res.json.video.name as string)
  t.not(names[0], names[1], 'each got its own name')
  t.same(await keysUnder(client, bucket, 'videos/'), [...names].sort())
  for (const [i, name] of names.entries()) {
    const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: name }))
    t.same(Buffer.from(await object.Body!.transformToByteArray()), mp4(5000, i + 1), `${name} holds its own bytes`)
  }
})

t.test('one token in two fields of one form, or twice in a multiple field: the second is refused', async (t) => {
  const { app, Clip, client, bucket, url } = await directApp(t)
  const form = await app.media.presign(Clip.fields.video, { filename: 'clip.mp4', size: 5000, contentType: 'video/mp4' }) as PresignedForm
  await postToBucket(form, mp4(5000))
  const extra = await app.media.presign(Clip.fields.extra, { filename: 'x.mp4', size: 5000, contentType: 'video/mp4' }) as PresignedForm
  await postToBucket(extra, mp4(5000))
  const twice = await commitForm(url, { video: form.token, extra: [extra.token, extra.token] })
  t.equal(twice.statusCode, 400)
  t.match(twice.json, { code: 'FST_MEDIA_INVALID_TOKEN', field: 'extra' })
  t.same(await keysUnder(client, bucket, 'videos/'), [], 'the request rolled back as a whole')
  const tooMany = await commitForm(url, { video: form.token, extra: [extra.token, extra.token, extra.token] })
  t.equal(tooMany.statusCode, 400)
})

t.test('a handler that replies 422 without throwing: nothing left, the copy, the quarantined file and the used-token record all gone', async (t) => {
  let during: string[] = []
  const { app, Clip, client, bucket, origin } = await directApp(t, {
    setup: (app, { Clip }) => {
      app.post('/refused', { upload: Clip }, async (req, reply) => {
        during = await keysUnder(client, bucket)
        return await reply.code(422).send({ refused: req.uploads.video.name })
      })
    }
  })
  const form = await app.media.presign(Clip.fields.video, { filename: 'clip.mp4', size: 5000, contentType: 'video/mp4' }) as PresignedForm
  await postToBucket(form, mp4(5000))
  const res = await commitForm(`${origin}/refused`, { video: form.token })
  t.equal(res.statusCode, 422)
  t.same(res.json, { refused: 'videos/clip.mp4' }, 'the handler\'s own reply')
  const id = form.fields.key!.slice('.direct/q/'.length)
  t.same(during, [`.direct/used/${id}`, 'videos/clip.mp4'], 'while the handler ran: the copy and the used-token record, the quarantined file deleted')
  t.same(await keysUnder(client, bucket), [], 'after the reply: nothing')
})

t.test('presign takes no request: uploadTo sees the request that commits (its params), not the one that presigned', async (t) => {
  let reel: BoundField | undefined
  const { app, client, bucket, origin } = await directApp(t, {
    setup: (app) => {
      const Reel = app.media.model('reel', {
        video: FileField({ storage: 'bucket', uploadTo: ({ request }) => `users/${request?.params.user ?? 'none'}/`, accept: ['video/mp4'], direct: true })
      })
      reel = Reel.fields.video
      app.post('/users/:user/reels', { upload: Reel }, async (req, reply) => await reply.code(201).send(req.uploads))
    }
  })
  const form = await app.media.presign(reel!, { filename: 'r.mp4', size: 5000 }) as PresignedForm
  t.match(form.fields.key, /^\.direct\/q\//, 'the key the client writes to names no user')
  await postToBucket(form, mp4(5000))
  const res = await commitForm(`${origin}/users/42/reels`, { video: form.token })
  t.equal(res.statusCode, 201, JSON.stringify(res.json))
  t.equal(res.json.video.name, 'users/42/r.mp4')
  t.same(await keysUnder(client, bucket, 'users/'), ['users/42/r.mp4'])
})
