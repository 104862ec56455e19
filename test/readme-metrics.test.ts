// Runs README's prom-client example as written (the ```ts block after `<!-- metrics-example -->`), then
// checks what it counted for kept files, variants and refusals.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { register } from 'prom-client'
import t from 'tap'
import { FileField, ImageField } from '../lib/index.js'
import { fixture, makeApp, postForm } from './helpers.js'

const README = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8')
const block = /<!-- metrics-example -->\n```ts\n([\s\S]*?)\n```/.exec(README)?.[1]

t.test('README\'s prom-client example counts kept uploads, their bytes and refusals by code', async (t) => {
  t.ok(block, 'README has the example block')
  // inside the repository, so that prom-client resolves as it would in an app
  const dir = mkdtempSync(join(import.meta.dirname, '.readme-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'metrics.ts')
  writeFileSync(file, block!)
  await import(pathToFileURL(file).href)

  const { app } = await makeApp(t)
  const Profile = app.media.model('profile', {
    avatar: ImageField({ uploadTo: 'a/', required: false, variants: { thumb: { width: 20, height: 20, format: 'webp' } } }),
    document: FileField({ uploadTo: 'd/', accept: ['application/pdf'] })
  })
  app.post('/p', { upload: Profile }, async (req, reply) => await reply.code(201).send(req.uploads))
  const png = { name: 'avatar', filename: 'me.png', content: fixture('fixture.png') }
  const pdf = { name: 'document', filename: 'r.pdf', content: fixture('fixture.pdf') }

  const ok = await postForm(app, '/p', [png, pdf])
  t.equal(ok.statusCode, 201)
  t.equal((await postForm(app, '/p', [png])).statusCode, 400)
  t.equal((await postForm(app, '/p', [{ ...pdf, content: png.content, filename: 'r.png' }])).statusCode, 400)
  t.equal((await postForm(app, '/p', [{ ...pdf, content: png.content, filename: 'x.png' }])).statusCode, 400)

  const metrics = Object.fromEntries((await register.getMetricsAsJSON()).map((metric) => [metric.name, metric.values]))
  t.same(metrics.media_uploads_total, [
    { value: 1, labels: { model: 'profile', field: 'avatar' } },
    { value: 1, labels: { model: 'profile', field: 'document' } }
  ], 'one upload per kept file, not per variant')
  const thumb = ok.json().avatar.variants.thumb.size as number
  t.same(metrics.media_stored_bytes_total, [{ value: png.content.length + thumb + pdf.content.length, labels: { storage: 'default' } }])
  t.same(metrics.media_refused_total, [
    { value: 1, labels: { model: 'profile', code: 'FST_MEDIA_FIELD_REQUIRED' } },
    { value: 2, labels: { model: 'profile', code: 'FST_MEDIA_INVALID_TYPE' } }
  ])
})
