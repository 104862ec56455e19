import t from 'tap'
import { request } from 'undici'
import type { FastifyInstance } from 'fastify'
import type { PresignedMultipart } from '../lib/index.js'
import type { Tap } from './helpers.js'
import { directApp } from './direct-app.js'
import { answer, commitForm, keysUnder, mp4, postToBucket } from './direct-helpers.js'

const AUTH = { authorization: 'Bearer ok' }

/** The direct routes under /direct, in a scope whose onRequest hook wants a bearer token. */
async function routedApp (t: Tap) {
  return await directApp(t, {
    direct: { multipartAbove: '5 MiB' },
    setup: async (app: FastifyInstance, { Clip }) => {
      await app.register(async (scope) => {
        scope.addHook('onRequest', async (req, reply) => {
          if (req.headers.authorization !== AUTH.authorization) await reply.code(401).send({ error: 'who are you' })
        })
        await scope.register(app.media.directRoutes, { prefix: '/direct', fields: [Clip.fields.video] })
      })
    }
  })
}

const post = async (origin: string, path: string, body: unknown, headers: Record<string, string> = AUTH) => {
  const res = await request(`${origin}/direct${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
  const text = await res.body.text()
  return { statusCode: res.statusCode, json: text === '' ? undefined : JSON.parse(text) }
}

t.test('the presign route: the scope\'s auth hook applies, the body is validated, refusals carry their details', async (t) => {
  const { origin, url, client, bucket } = await routedApp(t)
  const file = { field: 'clip.video', filename: 'clip.mp4', size: 5000, contentType: 'video/mp4' }
  t.equal((await post(origin, '/presign', file, {})).statusCode, 401, 'no token, no presign')
  const presigned = await post(origin, '/presign', file)
  t.equal(presigned.statusCode, 200)
  t.match(presigned.json, { method: 'POST', url: String, fields: { key: /^\.direct\/q\// }, token: String, expires: String })
  t.equal(await postToBucket(presigned.json, mp4(5000)), 204)
  t.equal((await commitForm(url, { video: presigned.json.token })).statusCode, 201)
  t.same(await keysUnder(client, bucket, 'videos/'), ['videos/clip.mp4'])

  const unknown = await post(origin, '/presign', { ...file, field: 'clip.extra' })
  t.equal(unknown.statusCode, 400, 'a field not listed for these routes')
  t.equal(unknown.json.code, 'FST_ERR_VALIDATION')
  t.equal((await post(origin, '/presign', { ...file, size: -1 })).statusCode, 400)
  const large = await post(origin, '/presign', { ...file, size: 20_000_001 })
  t.equal(large.statusCode, 413)
  t.match(large.json, { code: 'FST_MEDIA_FILE_TOO_LARGE', field: 'video', limit: 20_000_000, option: 'maxSize' })
})

t.test('the multipart routes: sign each part, list, complete, abort, each behind the auth hook', async (t) => {
  const { origin, url, client, bucket } = await routedApp(t)
  const bytes = mp4(9 * 2 ** 20)
  const upload = (await post(origin, '/presign', { field: 'clip.video', filename: 'big.mp4', size: bytes.length })).json as PresignedMultipart
  t.equal(upload.method, 'multipart')
  t.equal((await post(origin, '/parts', { token: upload.token, partNumber: 1 }, {})).statusCode, 401)
  t.equal((await post(origin, '/parts', { token: upload.token, partNumber: 0 })).statusCode, 400)
  const parts: Array<{ PartNumber: number, ETag: string }> = []
  for (let part = 1, at = 0; at < bytes.length; part++, at += upload.partSize) {
    const signed = await post(origin, '/parts', { token: upload.token, partNumber: part })
    const res = await request(signed.json.url, { method: 'PUT', body: bytes.subarray(at, at + upload.partSize) })
    await res.body.dump()
    parts.push({ PartNumber: part, ETag: res.headers.etag as string })
  }
  answer(client, 'ListPartsCommand', () => ({ Parts: parts.map((part) => ({ ...part, Size: 1 })), IsTruncated: false }))
  t.same((await post(origin, '/parts/list', { token: upload.token })).json, parts.map((part) => ({ ...part, Size: 1 })))
  t.equal((await post(origin, '/complete', { token: upload.token, parts: [] })).statusCode, 400, 'at least one part')
  const complete = await post(origin, '/complete', { token: upload.token, parts })
  t.equal(complete.statusCode, 200)
  t.same(complete.json, {})
  t.equal((await commitForm(url, { video: upload.token })).statusCode, 201)
  t.same(await keysUnder(client, bucket, 'videos/'), ['videos/big.mp4'])

  const dropped = (await post(origin, '/presign', { field: 'clip.video', filename: 'big.mp4', size: bytes.length })).json as PresignedMultipart
  const aborts = answer(client, 'AbortMultipartUploadCommand', () => ({}))
  const abort = await post(origin, '/abort', { token: dropped.token })
  t.equal(abort.statusCode, 204)
  t.equal(aborts.length, 1)
  t.match((await post(origin, '/abort', { token: 'forged.token' })).json, { code: 'FST_MEDIA_INVALID_TOKEN' })
})

t.test('directRoutes needs fields declared with direct: true', async (t) => {
  const { app, Clip } = await directApp(t)
  const Plain = app.media.model('plain', { file: (await import('../lib/index.js')).FileField({ storage: 'bucket' }) })
  const { default: Fastify } = await import('fastify')
  for (const [fields, message] of [[[], /at least one field/], [[Plain.fields.file], /plain\.file is not declared with direct/], [[undefined], /undefined\.undefined/]] as const) {
    const other = Fastify()
    t.teardown(() => other.close())
    await t.rejects(async () => { await other.register(app.media.directRoutes, { fields: fields as never }).ready() }, { code: 'FST_MEDIA_INVALID_OPTION', message })
  }
  t.ok(Clip)
})
