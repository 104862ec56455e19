import t from 'tap'
import type { FastifyMediaOptions, PresignedForm } from '../lib/index.js'
import { FileField, FileSystemStorage } from '../lib/index.js'
import { directApp } from './direct-app.js'
import { commitForm, keysUnder, mp4, postToBucket } from './direct-helpers.js'
import { fixture, makeApp, tempDir, type Tap } from './helpers.js'
import { s3Bucket } from './s3-server.js'

const OLD = 'the-old-signing-key-of-32-bytes!'
const NEW = 'the-new-signing-key-of-32-bytes!'

/** An app on `dir` with a private disk storage under `signingKey`: its contract field, and the app. */
async function privateApp (t: Tap, dir: string, signingKey: FastifyMediaOptions['signingKey']) {
  const storage = new FileSystemStorage({ location: 'private', baseUrl: '/private/', public: false })
  const { app } = await makeApp(t, { baseDir: dir, signingKey, storages: { private: storage } })
  const Deal = app.media.model('deal', { contract: FileField({ storage: 'private', uploadTo: 'c/' }) })
  return { app, contract: Deal.fields.contract }
}

t.test('a private URL signed under [old] opens under [new, old] and is 403 FST_MEDIA_BAD_SIGNATURE under [new]', async (t) => {
  const dir = tempDir(t)
  const before = await privateApp(t, dir, OLD)
  const url = (await before.contract.save('deal.pdf', fixture('fixture.pdf'))).url as string
  const rotating = await privateApp(t, dir, [NEW, OLD])
  const opened = await rotating.app.inject(url)
  t.equal(opened.statusCode, 200, 'the old key still verifies')
  t.same(opened.rawPayload, fixture('fixture.pdf'))
  const after = await privateApp(t, dir, [NEW])
  const refused = await after.app.inject(url)
  t.equal(refused.statusCode, 403, 'the old key dropped')
  t.equal(refused.json().code, 'FST_MEDIA_BAD_SIGNATURE')
})

t.test('while rotating, the first key signs: new URLs open once the old key is dropped, and not under the old key alone', async (t) => {
  const dir = tempDir(t)
  const rotating = await privateApp(t, dir, [NEW, OLD])
  const url = (await rotating.contract.save('deal.pdf', fixture('fixture.pdf'))).url as string
  t.equal((await rotating.app.inject(url)).statusCode, 200)
  t.equal((await (await privateApp(t, dir, NEW)).app.inject(url)).statusCode, 200, 'signed with the new key')
  t.equal((await (await privateApp(t, dir, OLD)).app.inject(url)).statusCode, 403, 'not with the old one')
})

t.test('a direct-upload token made under [old] commits under [new, old] and is 400 FST_MEDIA_INVALID_TOKEN under [new]', async (t) => {
  const s3 = await s3Bucket(t)
  const before = await directApp(t, { signingKey: OLD, s3 })
  const bytes = mp4(5000)
  const form = await before.app.media.presign(before.Clip.fields.video, { filename: 'clip.mp4', size: bytes.length, contentType: 'video/mp4' }) as PresignedForm
  t.equal(await postToBucket(form, bytes), 204)

  const after = await directApp(t, { signingKey: [NEW], s3 })
  const refused = await commitForm(after.url, { video: form.token })
  t.equal(refused.statusCode, 400, 'the old key dropped')
  t.match(refused.json, { code: 'FST_MEDIA_INVALID_TOKEN', field: 'video', message: /forged/ })

  const rotating = await directApp(t, { signingKey: [NEW, OLD], s3 })
  const committed = await commitForm(rotating.url, { video: form.token })
  t.equal(committed.statusCode, 201, `the old key still verifies: ${JSON.stringify(committed.json)}`)
  t.same(await keysUnder(s3.client, s3.bucket, 'videos/'), ['videos/clip.mp4'])

  // and the token the rotating app makes is the new key's
  const next = await rotating.app.media.presign(rotating.Clip.fields.video, { filename: 'next.mp4', size: 5000 })
  await t.rejects(before.app.media.signPart(next.token, 1), { code: 'FST_MEDIA_INVALID_TOKEN', message: /forged/ }, 'not the old key\'s')
  await t.rejects(after.app.media.signPart(next.token, 1), { code: 'FST_MEDIA_INVALID_TOKEN', message: /not a token of a multipart upload/ }, 'the new key\'s')
})

t.test('signingKey shapes: a string, a Buffer or a non-empty list of them, each >= 16 bytes; anything else FST_MEDIA_INVALID_OPTION', async (t) => {
  const refused: Array<[string, unknown, RegExp]> = [
    ['{ current, previous }', { current: NEW, previous: OLD }, /^signingKey: must be a string or a Buffer, or a list of them/],
    ['a number', 42, /^signingKey: must be a string or a Buffer/],
    ['an empty list', [], /^signingKey: must list at least one key/],
    ['a short key in the list', [NEW, 'short'], /^signingKey\[1\]: must be at least 16 bytes$/],
    ['a number in the list', [NEW, 42], /^signingKey\[1\]: must be a string or a Buffer/],
    ['a list in the list', [[NEW]], /^signingKey\[0\]: must be a string or a Buffer/],
    ['a short key', 'short', /^signingKey: must be at least 16 bytes$/]
  ]
  for (const [label, signingKey, message] of refused) {
    await t.rejects(makeApp(t, { signingKey: signingKey as string }), { code: 'FST_MEDIA_INVALID_OPTION', message }, label)
  }
  const accepted: Array<[string, FastifyMediaOptions['signingKey']]> = [
    ['a string', NEW],
    ['a Buffer', Buffer.from(NEW)],
    ['a list of strings and Buffers', [NEW, Buffer.from(OLD)]]
  ]
  for (const [label, signingKey] of accepted) {
    const { app } = await privateApp(t, tempDir(t), signingKey)
    t.ok(app.media.storage('private'), label)
  }
})
