import t from 'tap'
import { FileField, ImageField, MemoryStorage } from '../lib/index.js'
import { fixture, makeApp, postForm } from './helpers.js'

t.test('a memory storage behind an upload route: checks, rollback, records', async (t) => {
  const memory = new MemoryStorage({ baseUrl: '/files/' })
  const { app } = await makeApp(t, { media: false, storages: { default: memory } })
  const Profile = app.media.model('profile', {
    avatar: ImageField({ uploadTo: 'avatars/' }),
    document: FileField({ accept: ['application/pdf'], required: false })
  })
  app.post('/p', { upload: Profile }, async (req, reply) => reply.code(201).send(req.uploads))
  const ok = await postForm(app, '/p', [{ name: 'avatar', filename: 'me.png', content: fixture('fixture.png') }])
  t.equal(ok.statusCode, 201, ok.body)
  t.match(ok.json().avatar, { name: 'avatars/me.png', url: '/files/avatars/me.png', width: 200, height: 133 })
  const refused = await postForm(app, '/p', [{ name: 'avatar', filename: 'x.png', content: fixture('fixture.png') }, { name: 'document', filename: 'd.pdf', content: fixture('fixture.exe') }])
  t.equal(refused.json().code, 'FST_MEDIA_INVALID_TYPE')
  t.same(await memory.list(), ['avatars/me.png'], 'the refused request left nothing')
  t.match(await memory.stat('avatars/me.png'), { size: fixture('fixture.png').length, contentType: 'image/png' })
  const loaded = await Profile.load({ avatar: 'avatars/me.png' }).avatar!.stat()
  t.match(loaded, { width: 200, height: 133 })
})

t.test('a private memory storage signs its URLs with the plugin\'s key', async (t) => {
  const memory = new MemoryStorage({ baseUrl: '/secret/', public: false, expiresIn: 60 })
  t.throws(() => memory.url('a.pdf'), { code: 'FST_MEDIA_INVALID_OPTION', message: /signingKey/ })
  await makeApp(t, { media: false, signingKey: 'k'.repeat(32), storages: { secret: memory } })
  t.match(memory.url('a b.pdf'), /^\/secret\/a%20b\.pdf\?expires=\d+&signature=[\w-]{43}$/)
  const soon = Number(new URLSearchParams(memory.url('a.pdf', { expiresIn: 5 }).split('?')[1]).get('expires'))
  t.ok(Math.abs(soon - (Date.now() / 1000 + 5)) < 3)
})

t.test('memory storage options and edges', async (t) => {
  t.throws(() => new MemoryStorage({ baseUrl: 'files' }), { code: 'FST_MEDIA_INVALID_OPTION', message: /baseUrl/ })
  const memory = new MemoryStorage()
  t.equal(memory.url('x.txt'), '/media/x.txt', 'default baseUrl')
  await memory.save('abcdefghij/a.pdf', Buffer.from('1'), { maxLength: 16 })
  await t.rejects(memory.save('abcdefghij/a.pdf', Buffer.from('2'), { maxLength: 16 }), { code: 'FST_MEDIA_INVALID_NAME', message: /no room/ })
  await t.rejects(memory.getAvailableName('abcdefghij/a.pdf', 16), { code: 'FST_MEDIA_INVALID_NAME' })
  await t.rejects(memory.save('d'.repeat(120) + '/a.txt', Buffer.from('x'), { maxLength: 100 }), { code: 'FST_MEDIA_INVALID_NAME', message: /longer than 100/ })
  await t.rejects(memory.size('none'), { code: 'FST_MEDIA_FILE_NOT_FOUND', message: 'none: no such file in the storage' })
  await memory.save('plain.txt', Buffer.from('x'))
  t.equal((await memory.stat('plain.txt')).contentType, 'text/plain', 'from the name when saved without a type')
})
