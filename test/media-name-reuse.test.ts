// A deleted file's name is free again (Django's storages do the same), so a media URL can get new bytes:
// media is served with `no-cache`, and a cache revalidating its old copy gets the new bytes.
import t from 'tap'
import { FileField } from '../lib/index.js'
import { fixture, makeApp, postForm } from './helpers.js'

t.test('after deleting docs/r.pdf and uploading another r.pdf, /media/docs/r.pdf serves the new bytes to a revalidating cache', async (t) => {
  const { app } = await makeApp(t)
  const Doc = app.media.model('doc', { document: FileField({ uploadTo: 'docs/', accept: ['application/pdf'] }) })
  app.post('/docs', { upload: Doc }, async (req, reply) => await reply.code(201).send(req.uploads))
  app.delete<{ Querystring: { name: string } }>('/docs', async (req, reply) => {
    await Doc.delete({ document: req.query.name })
    return await reply.code(204).send()
  })

  const first = await postForm(app, '/docs', [{ name: 'document', filename: 'r.pdf', content: fixture('fixture.pdf') }])
  t.equal(first.json().document.name, 'docs/r.pdf')
  const before = await app.inject('/media/docs/r.pdf')
  t.equal(before.statusCode, 200)
  t.equal(before.headers['cache-control'], 'public, no-cache', 'caches keep a copy and ask before each use')
  t.ok(before.headers.etag, 'with an ETag to ask with')

  t.equal((await app.inject({ method: 'DELETE', url: '/docs?name=docs/r.pdf' })).statusCode, 204)
  const second = await postForm(app, '/docs', [{ name: 'document', filename: 'r.pdf', content: fixture('fixture-minimal.pdf') }])
  t.equal(second.json().document.name, 'docs/r.pdf', 'the freed name is given again')

  const revalidated = await app.inject({ url: '/media/docs/r.pdf', headers: { 'if-none-match': before.headers.etag as string } })
  t.equal(revalidated.statusCode, 200, 'the old copy is not confirmed')
  t.same(revalidated.rawPayload, fixture('fixture-minimal.pdf'), 'the new bytes')
  t.not(revalidated.headers.etag, before.headers.etag)
})
