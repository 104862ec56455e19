// A client that leaves while its image's variants are still queued: the request rolls back, but its
// original's name stays taken until that work has stopped, so a retry of the same file can never have its
// committed variants deleted by the aborted request (a variant name belongs to its original's name).
import t from 'tap'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { ImageField } from '../lib/index.js'
import { imageSlots } from '../lib/image/slots.js'
import { filesUnder, makeApp, postForm } from './helpers.js'
import { body, listen, RawConnection, requestHead, waitFor } from './http-helpers.js'

t.test('an aborted upload with queued variants never touches a retried upload\'s files', async (t) => {
  const { app, dir } = await makeApp(t)
  const Profile = app.media.model('profile', { avatar: ImageField({ uploadTo: 'avatars/', variants: { thumb: { width: 20, format: 'webp' } } }) })
  app.post('/p', { upload: Profile }, async (req, reply) => reply.code(201).send(req.uploads))
  // counts the connections the server saw close, once every listener of that 'close' (the rollback's) has run
  let closed = 0
  app.addHook('onRequest', async (_request, reply) => { reply.raw.once('close', () => setImmediate(() => { closed++ })) })
  const { port } = await listen(app)
  const root = join(dir, 'media')
  const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#c33' } }).png().toBuffer()

  for (let i = 0; i < 5; i++) {
    const filename = `me${i}.png`
    // a busy server: every image slot taken, so A's variants wait in the queue
    let free!: () => void
    const held = new Promise<void>((resolve) => { free = resolve })
    const holders = Array.from({ length: imageSlots.size }, async () => await imageSlots.run(async () => await held))

    const a = await RawConnection.open(port)
    const payload = body([{ name: 'avatar', filename, content: png }])
    await a.write(Buffer.concat([Buffer.from(requestHead('/p', port, payload.length)), payload]))
    t.ok(await waitFor(() => existsSync(join(root, 'avatars', filename))), 'A stored its original')
    t.ok(await waitFor(() => imageSlots.waiting > 0), 'A\'s variants wait for a slot')
    a.destroy()
    t.ok(await waitFor(() => closed >= 2 * i + 1), 'the server saw A leave and began its rollback')
    t.ok(existsSync(join(root, 'avatars', filename)), 'A\'s original keeps its name while A\'s image work is queued')

    const b = postForm(app, '/p', [{ name: 'avatar', filename, content: png }])
    t.ok(await waitFor(() => imageSlots.waiting >= 2), 'B stored its original, and its variants wait behind A\'s')
    free()
    await Promise.all(holders)
    const res = await b
    t.equal(res.statusCode, 201)
    const { avatar } = res.json()
    t.not(avatar.name, `avatars/${filename}`, 'B got a name of its own')
    t.ok(await waitFor(() => !existsSync(join(root, 'avatars', filename))), 'A\'s original went once its work stopped')
    t.same(filesUnder(root).filter((name) => name.includes(`me${i}`)), [avatar.name, avatar.variants.thumb.name].sort(), 'B\'s files only')
    t.equal((await app.inject(avatar.variants.thumb.url)).statusCode, 200)
  }
})
