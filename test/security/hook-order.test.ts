import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify'
import t from 'tap'
import { request } from 'undici'
import { FileField } from '../../lib/index.js'
import { filesUnder, fixture, makeApp } from '../helpers.js'
import { body, listen, MULTIPART } from '../http-helpers.js'

t.test('an onRequest or preParsing hook that refuses: nothing of the body is parsed or written', async (t) => {
  for (const hook of ['onRequest', 'preParsing'] as const) {
    const { app, dir } = await makeApp(t)
    const Doc = app.media.model(`doc_${hook}`, { file: FileField({ uploadTo: 'docs/' }) })
    let parsed = false
    app.addHook('preValidation', async () => { parsed = true })
    const refuse = async (_req: FastifyRequest, reply: FastifyReply) => { await reply.code(401).send({ error: 'sign in' }) }
    if (hook === 'onRequest') app.addHook('onRequest', refuse)
    else app.addHook('preParsing', refuse)
    app.post('/docs', { upload: Doc }, async () => 'stored')
    const { origin } = await listen(app)
    const res = await request(`${origin}/docs`, { method: 'POST', headers: { 'content-type': MULTIPART }, body: body([{ name: 'file', filename: 'a.pdf', content: fixture('fixture.pdf') }]) })
    t.equal(res.statusCode, 401, hook)
    await res.body.dump()
    t.notOk(parsed, `${hook}: the body never reached parsing`)
    t.same(filesUnder(dir), [], `${hook}: nothing written, not even a temp file`)
  }
})

t.test('Fastify({ requestTimeout: 3000 }) leaves Node\'s headersTimeout at 60 s: the cause SECURITY.md gives', async (t) => {
  const app = Fastify({ requestTimeout: 3000 })
  t.teardown(() => app.close())
  await app.ready()
  t.equal(app.server.requestTimeout, 3000)
  t.equal(app.server.headersTimeout, 60_000, 'Node cuts a slow client only once headersTimeout has passed')
  const tuned = Fastify({ requestTimeout: 120_000, http: { headersTimeout: 60_000, connectionsCheckingInterval: 5_000 } } as never)
  t.teardown(() => tuned.close())
  await tuned.ready()
  const server = tuned.server as unknown as { headersTimeout: number, requestTimeout: number }
  t.equal(server.headersTimeout, 60_000)
  t.equal(server.requestTimeout, 120_000, 'the configuration SECURITY.md recommends keeps both')
})
