// busboy (inside @fastify/multipart) raises its errors without a code. fastify-media never reads their
// text: whatever the parser throws without a code is a body it cannot parse (lib/upload/map-error.ts).
// These tests pin what each malformed body gives today, cause included, so that a dependency update that
// changes an error (or gives it a code) shows up here first.
import t from 'tap'
import { Readable } from 'node:stream'
import { FileField } from '../lib/index.js'
import { fixture, makeApp, multipart } from './helpers.js'

const pdf = { name: 'doc', filename: 'a.pdf', content: fixture('fixture.pdf') }
const { payload: full, headers } = multipart([pdf])

const CASES: Array<{ what: string, headers: Record<string, string>, payload: string | Buffer | (() => Readable), cause: string }> = [
  { what: 'no boundary in the Content-Type', headers: { 'content-type': 'multipart/form-data' }, payload: 'x', cause: 'Multipart: Boundary not found' },
  { what: 'an empty boundary', headers: { 'content-type': 'multipart/form-data; boundary=""' }, payload: 'x', cause: 'Unexpected end of multipart data' },
  { what: 'a boundary of 300 characters', headers: { 'content-type': `multipart/form-data; boundary=${'b'.repeat(300)}` }, payload: 'x', cause: 'The needle cannot have a length bigger than 256.' },
  { what: 'no closing boundary', headers, payload: full.subarray(0, full.length - 30), cause: 'Unexpected end of multipart data' },
  { what: 'no boundary in the body', headers, payload: 'garbage', cause: 'Unexpected end of multipart data' },
  // @fastify/multipart destroys the file stream being read with the same error
  { what: 'a body that ends inside a file, in chunks', headers, payload: () => Readable.from([full.subarray(0, 300), full.subarray(300, 2000)]), cause: 'Unexpected end of multipart data' }
]

t.test('each code-less busboy error is FST_MEDIA_BAD_MULTIPART with the parser\'s error as its cause', async (t) => {
  const { app } = await makeApp(t)
  const M = app.media.model('m', { doc: FileField({ required: false }) })
  const failed: Array<{ cause?: unknown }> = []
  app.addHook('onError', async (_req, _reply, err) => { failed.push(err) })
  app.post('/p', { upload: M }, async () => 'ok')
  for (const c of CASES) {
    const res = await app.inject({ method: 'POST', url: '/p', headers: c.headers, payload: typeof c.payload === 'function' ? c.payload() : c.payload })
    t.match(res.json(), { statusCode: 400, code: 'FST_MEDIA_BAD_MULTIPART', field: null, message: `request: malformed multipart body (${c.cause})` }, c.what)
    const cause = failed.pop()?.cause as { message?: string, code?: unknown } | undefined
    t.equal(cause?.message, c.cause, `${c.what}: busboy's message`)
    t.equal(cause?.code, undefined, `${c.what}: busboy gives no code`)
  }
})
