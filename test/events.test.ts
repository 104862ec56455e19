// What fastify-media publishes on node:diagnostics_channel, for each way a file is kept, refused or deleted.
import { channel, subscribe, unsubscribe } from 'node:diagnostics_channel'
import t from 'tap'
import { FileField, ImageField, type DeletedMessage, type RefusedMessage, type StoredMessage } from '../lib/index.js'
import { fixture, makeApp, postForm, type Tap } from './helpers.js'

const png = { name: 'avatar', filename: 'me.png', content: fixture('fixture.png') }
const pdf = { name: 'document', filename: 'report.pdf', content: fixture('fixture.pdf') }

/** Everything published on the three channels while the test runs. */
function listen (t: Tap) {
  const seen = { stored: [] as StoredMessage[], refused: [] as RefusedMessage[], deleted: [] as DeletedMessage[] }
  for (const name of ['stored', 'refused', 'deleted'] as const) {
    const onMessage = (message: unknown): void => { (seen[name] as unknown[]).push(message) }
    subscribe(`fastify-media:${name}`, onMessage)
    t.teardown(() => { unsubscribe(`fastify-media:${name}`, onMessage) })
  }
  return seen
}

async function profileApp (t: Tap) {
  const { app } = await makeApp(t)
  const Profile = app.media.model('profile', {
    avatar: ImageField({ uploadTo: 'a/', required: false, variants: { thumb: { width: 50, height: 50, fit: 'cover', format: 'webp' } } }),
    document: FileField({ uploadTo: 'd/', accept: ['application/pdf'] })
  })
  return { app, Profile }
}

t.test('a successful upload publishes stored once per kept file, its variants included, when the request commits', async (t) => {
  const { app, Profile } = await profileApp(t)
  const seen = listen(t)
  let storedBeforeHandlerEnded = -1
  app.post('/p', { upload: Profile }, async (req, reply) => {
    storedBeforeHandlerEnded = seen.stored.length
    return await reply.code(201).send(req.uploads)
  })
  const res = await postForm(app, '/p', [png, pdf])
  t.equal(res.statusCode, 201)
  t.equal(storedBeforeHandlerEnded, 0, 'nothing is published before the request has succeeded')
  t.match(seen.stored, [
    { storage: 'default', name: 'a/me.png', model: 'profile', field: 'avatar', variant: undefined, size: png.content.length, contentType: 'image/png', request: { url: '/p' } },
    { storage: 'default', name: 'a/me.png@thumb.webp', model: 'profile', field: 'avatar', variant: 'thumb', size: Number, contentType: 'image/webp' },
    { storage: 'default', name: 'd/report.pdf', model: 'profile', field: 'document', variant: undefined, size: pdf.content.length, contentType: 'application/pdf' }
  ])
  t.equal(seen.stored.length, 3)
  t.same(seen.refused, [])
  t.same(seen.deleted, [])

  seen.stored.length = 0
  t.equal((await postForm(app, '/p', [pdf])).statusCode, 201)
  t.match(seen.stored, [{ name: 'd/report_', field: 'document' }], 'an optional field left empty publishes nothing')
  t.equal(seen.stored.length, 1)
})

t.test('a refusal publishes refused once, with its details, and nothing on stored or deleted', async (t) => {
  const { app, Profile } = await profileApp(t)
  const seen = listen(t)
  app.post('/p', { upload: Profile }, async () => 'ok')
  const res = await postForm(app, '/p', [png, { ...pdf, filename: 'x.pdf', content: png.content }])
  t.equal(res.statusCode, 400)
  t.equal(seen.refused.length, 1)
  t.match(seen.refused[0], {
    code: 'FST_MEDIA_INVALID_TYPE',
    statusCode: 400,
    message: 'document: image/png is not accepted',
    model: 'profile',
    field: 'document',
    detected: 'image/png',
    accepted: ['application/pdf'],
    bytes: png.content.length,
    request: { url: '/p' }
  })
  t.same(seen.stored, [], 'the avatar stored before the refusal was rolled back: never kept, never published')
  t.same(seen.deleted, [])
})

t.test('a request rolled back by its handler publishes nothing: its files were never kept', async (t) => {
  const { app, Profile } = await profileApp(t)
  const seen = listen(t)
  app.post('/p', { upload: Profile }, async (_req, reply) => await reply.code(409).send({ taken: true }))
  const res = await postForm(app, '/p', [png, pdf])
  t.equal(res.statusCode, 409)
  t.same(seen, { stored: [], refused: [], deleted: [] })
})

t.test('field.save() publishes stored, or refused, without a request', async (t) => {
  const { Profile } = await profileApp(t)
  const seen = listen(t)
  await Profile.fields.document.save('saved.pdf', pdf.content)
  t.same(seen.stored, [{ storage: 'default', name: 'd/saved.pdf', model: 'profile', field: 'document', variant: undefined, size: pdf.content.length, contentType: 'application/pdf', request: undefined }])
  await t.rejects(Profile.fields.document.save('no.pdf', png.content), { code: 'FST_MEDIA_INVALID_TYPE' })
  await t.rejects(Profile.fields.document.save('', pdf.content), { code: 'FST_MEDIA_INVALID_NAME' })
  t.match(seen.refused, [
    { code: 'FST_MEDIA_INVALID_TYPE', model: 'profile', field: 'document', detected: 'image/png', request: undefined },
    { code: 'FST_MEDIA_INVALID_NAME', model: 'profile', field: 'document', request: undefined }
  ])
  t.equal(seen.stored.length, 1)
})

t.test('FieldFile.delete() and Model.delete() publish deleted with their reason, variants first', async (t) => {
  const { Profile } = await profileApp(t)
  const avatar = await Profile.fields.avatar.save('me.png', png.content)
  const document = await Profile.fields.document.save('r.pdf', pdf.content)
  const seen = listen(t)
  await document.delete()
  t.same(seen.deleted, [{ storage: 'default', name: 'd/r.pdf', reason: 'FieldFile.delete', model: undefined, field: undefined, variant: undefined, size: pdf.content.length }])

  seen.deleted.length = 0
  await Profile.delete(Profile.toRecord({ avatar, document: null as never }))
  t.same(seen.deleted, [
    { storage: 'default', name: 'a/me.png@thumb.webp', reason: 'Model.delete', model: 'profile', field: 'avatar', variant: 'thumb', size: undefined },
    { storage: 'default', name: 'a/me.png', reason: 'Model.delete', model: 'profile', field: 'avatar', variant: undefined, size: undefined }
  ], 'a record\'s files are loaded by name: their size is unknown')
  t.same(seen.stored, [])
})

t.test('Model.replace() publishes deleted with its reason: the new files after a failing commit, the old ones after a good one', async (t) => {
  const { Profile } = await profileApp(t)
  const old = Profile.toRecord({ avatar: await Profile.fields.avatar.save('old.png', png.content), document: await Profile.fields.document.save('r.pdf', pdf.content) })
  const seen = listen(t)
  const failed = await Profile.fields.avatar.save('new.png', png.content)
  await t.rejects(Profile.replace(old, { avatar: failed }, { commit: () => { throw new Error('database down') } }))
  t.match(seen.deleted, [
    { name: 'a/new.png@thumb.webp', reason: 'Model.replace', model: 'profile', field: 'avatar', variant: 'thumb' },
    { name: 'a/new.png', reason: 'Model.replace', model: 'profile', field: 'avatar', variant: undefined }
  ])
  t.equal(seen.deleted.length, 2)

  seen.deleted.length = 0
  await Profile.replace(old, { avatar: await Profile.fields.avatar.save('new.png', png.content) }, { commit: () => {} })
  t.same(seen.deleted, [
    { storage: 'default', name: 'a/old.png@thumb.webp', reason: 'Model.replace', model: 'profile', field: 'avatar', variant: 'thumb', size: undefined },
    { storage: 'default', name: 'a/old.png', reason: 'Model.replace', model: 'profile', field: 'avatar', variant: undefined, size: undefined }
  ])
})

t.test('Model.replace() on an upload route with a failing commit publishes nothing: the request\'s files were never kept', async (t) => {
  const { app, Profile } = await profileApp(t)
  const old = Profile.toRecord({ avatar: await Profile.fields.avatar.save('old.png', png.content), document: await Profile.fields.document.save('r.pdf', pdf.content) })
  const seen = listen(t)
  app.post('/p', { upload: Profile }, async (req) => await Profile.replace(old, req.uploads, { commit: () => { throw new Error('database down') } }))
  t.equal((await postForm(app, '/p', [png, pdf])).statusCode, 500)
  t.same(seen, { stored: [], refused: [], deleted: [] })
})

t.test('without subscribers nothing is published', async (t) => {
  const { app, Profile } = await profileApp(t)
  const channels = ['stored', 'refused', 'deleted'].map((name) => channel(`fastify-media:${name}`))
  const publishes = channels.map((ch) => ch.publish)
  for (const ch of channels) ch.publish = () => { throw new Error('published without subscribers') }
  t.teardown(() => { channels.forEach((ch, i) => { ch.publish = publishes[i]! }) })
  app.post('/p', { upload: Profile }, async (req) => req.uploads)
  t.equal((await postForm(app, '/p', [png, pdf])).statusCode, 200)
  t.equal((await postForm(app, '/p', [png])).statusCode, 400)
  const saved = await Profile.fields.avatar.save('me.png', png.content)
  await saved.delete()
  await t.rejects(Profile.fields.document.save('x.pdf', png.content), { code: 'FST_MEDIA_INVALID_TYPE' })
})
