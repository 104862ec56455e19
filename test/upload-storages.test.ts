import t from 'tap'
import { FileField, ImageField } from '../lib/index.js'
import { fixture, makeApp, postForm } from './helpers.js'
import { STORAGES } from './storages.js'

// The upload behaviours of the media contract, once per storage: whatever holds the files, a refused or
// failing upload leaves nothing and names never collide.
for (const [label, make] of STORAGES) {
  t.test(`${label}: uploads`, async (t) => {
    const storage = await make(t)
    const { app } = await makeApp(t, { media: false, storages: { default: storage } })
    const Profile = app.media.model('profile', {
      avatar: ImageField({ uploadTo: 'avatars/', maxSize: '100 kB' }),
      document: FileField({ uploadTo: 'docs/', accept: ['application/pdf'], required: false })
    })
    app.post('/p', { upload: Profile }, async (req, reply) => reply.code(201).send(req.uploads))
    app.post('/conflict', { upload: Profile }, async (req, reply) => reply.code(409).send({ taken: true }))
    const avatar = { name: 'avatar', filename: 'me.png', content: fixture('fixture.png') }

    t.test('sniffing: an executable named .png is refused, nothing stored', async (t) => {
      const res = await postForm(app, '/p', [{ ...avatar, content: fixture('fixture.exe') }])
      t.equal(res.json().code, 'FST_MEDIA_INVALID_TYPE')
      t.same(await storage.list(), [])
    })

    t.test('size: passing maxSize while streaming aborts, nothing stored', async (t) => {
      const big = Buffer.concat([fixture('fixture.png'), Buffer.alloc(300_000)])
      const res = await postForm(app, '/p', [{ ...avatar, content: big }], { chunkSize: 65_536 })
      t.match(res.json(), { statusCode: 413, code: 'FST_MEDIA_FILE_TOO_LARGE' })
      t.same(await storage.list(), [])
    })

    t.test('all or nothing: a later part fails, or the handler answers 409', async (t) => {
      const later = await postForm(app, '/p', [avatar, { name: 'document', filename: 'd.pdf', content: fixture('fixture.exe') }])
      t.equal(later.json().code, 'FST_MEDIA_INVALID_TYPE')
      const conflict = await postForm(app, '/conflict', [avatar, { name: 'document', filename: 'd.pdf', content: fixture('fixture.pdf') }])
      t.equal(conflict.statusCode, 409)
      t.same(await storage.list(), [])
    })

    t.test('names: sanitised, inside the upload dir, never shared', async (t) => {
      const results = await Promise.all(Array.from({ length: 5 }, async () => await postForm(app, '/p', [{ ...avatar, filename: '../../me.png' }])))
      const names = results.map((res) => res.json().avatar.name as string)
      t.ok(names.every((name) => /^avatars\/me(_[a-zA-Z0-9]{7})?\.png$/.test(name)), names.join(', '))
      t.equal(new Set(names).size, 5)
      t.same((await storage.list()).sort(), [...names].sort())
      for (const name of names) t.equal(await storage.size(name), fixture('fixture.png').length)
    })
  })
}
