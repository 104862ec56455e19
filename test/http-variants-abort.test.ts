// A client that leaves while its image's variants are still queued: the request rolls back, but its
// original's name stays taken until that work has stopped, so a retry of the same file can never have its
// committed variants deleted by the aborted request (a variant name belongs to its original's name).
import t from 'tap'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import Fastify from 'fastify'
import fastifyMedia, { errors, ImageField } from '../lib/index.js'
import { imageSlots } from '../lib/image/slots.js'
import { filesUnder, makeApp, postForm, tempDir } from './helpers.js'
import { body, listen, RawConnection, requestHead, waitFor, within } from './http-helpers.js'
import { WatchedStorage } from './watched-storage.js'

t.test('an aborted upload with queued variants never touches a retried upload\'s files', async (t) => {
  const storage = new WatchedStorage()
  const { app, dir } = await makeApp(t, { storages: { default: storage } })
  const Profile = app.media.model('profile', { avatar: ImageField({ uploadTo: 'avatars/', variants: { thumb: { width: 20, format: 'webp' } } }) })
  app.post('/p', { upload: Profile }, async (req, reply) => reply.code(201).send(req.uploads))
  // counts the connections the server saw close, once every listener of that 'close' (the rollback's) has run
  let closed = 0
  let counted: (() => void) | undefined
  app.addHook('onRequest', async (_request, reply) => {
    reply.raw.once('close', () => setImmediate(() => {
      closed++
      counted?.()
    }))
  })
  const closedAtLeast = async (n: number): Promise<void> => {
    for (;;) {
      if (closed >= n) return
      await within(new Promise<void>((resolve) => { counted = resolve }), `${n} closed connections`)
    }
  }
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
    const stored = storage.next('saved', `avatars/${filename}`)
    await a.write(Buffer.concat([Buffer.from(requestHead('/p', port, payload.length)), payload]))
    await stored
    t.ok(existsSync(join(root, 'avatars', filename)), 'A stored its original')
    // the image queue has no event of its own: polled (bounded)
    t.ok(await waitFor(() => imageSlots.waiting > 0), 'A\'s variants wait for a slot')
    a.destroy()
    await closedAtLeast(2 * i + 1)
    t.pass('the server saw A leave and began its rollback')
    t.ok(existsSync(join(root, 'avatars', filename)), 'A\'s original keeps its name while A\'s image work is queued')

    const b = postForm(app, '/p', [{ name: 'avatar', filename, content: png }])
    t.ok(await waitFor(() => imageSlots.waiting >= 2), 'B stored its original, and its variants wait behind A\'s')
    const aGone = storage.next('deleted', `avatars/${filename}`)
    free()
    await Promise.all(holders)
    const res = await b
    t.equal(res.statusCode, 201)
    const { avatar } = res.json()
    t.not(avatar.name, `avatars/${filename}`, 'B got a name of its own')
    await aGone
    t.notOk(existsSync(join(root, 'avatars', filename)), 'A\'s original went once its work stopped')
    t.same(filesUnder(root).filter((name) => name.includes(`me${i}`)), [avatar.name, avatar.variants.thumb.name].sort(), 'B\'s files only')
    t.equal((await app.inject(avatar.variants.thumb.url)).statusCode, 200)
  }
})

t.test('the queued image work of an aborted upload stops with the declared FST_MEDIA_CANCELLED, and leaves no file', async (t) => {
  const dir = tempDir(t)
  let loggedCancel!: () => void
  const cancelLogged = new Promise<void>((resolve) => { loggedCancel = resolve })
  const write = (line: string): void => {
    const entry = JSON.parse(line) as { level: number, err?: { code?: string } }
    if (entry.level === 50 && entry.err?.code === 'FST_MEDIA_CANCELLED') loggedCancel()
  }
  const app = Fastify({ logger: { level: 'error', stream: { write } } })
  t.teardown(() => app.close())
  await app.register(fastifyMedia, { baseDir: dir, static: false })
  const Profile = app.media.model('profile', { avatar: ImageField({ uploadTo: 'avatars/', variants: { thumb: { width: 20, format: 'webp' } } }) })
  app.post('/p', { upload: Profile }, async (req, reply) => reply.code(201).send(req.uploads))
  let failed!: (err: Error) => void
  const failure = new Promise<Error>((resolve) => { failed = resolve })
  app.addHook('onError', async (_request, _reply, err) => { failed(err) })
  let left!: () => void
  const gone = new Promise<void>((resolve) => { left = resolve })
  app.addHook('onRequest', async (_request, reply) => { reply.raw.once('close', () => setImmediate(left)) })
  const { port } = await listen(app)
  const root = join(dir, 'media')
  const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#3c3' } }).png().toBuffer()

  let free!: () => void
  const held = new Promise<void>((resolve) => { free = resolve })
  const holders = Array.from({ length: imageSlots.size }, async () => await imageSlots.run(async () => await held))
  const a = await RawConnection.open(port)
  const payload = body([{ name: 'avatar', filename: 'gone.png', content: png }])
  await a.write(Buffer.concat([Buffer.from(requestHead('/p', port, payload.length)), payload]))
  // the image queue has no event of its own: polled (bounded)
  t.ok(await waitFor(() => imageSlots.waiting > 0), 'the variants wait for a slot')
  a.destroy()
  await gone
  free()
  await Promise.all(holders)

  const err = await within(failure, 'the cancelled image work\'s error')
  t.ok(err instanceof errors.FST_MEDIA_CANCELLED, 'a declared error')
  t.equal((err as { code?: string }).code, 'FST_MEDIA_CANCELLED')
  t.match(err.message, /^avatar: the request failed, so its image work stopped$/, 'names the field and says what happened')
  // onError runs once the rollback the error caused has ended
  t.same(filesUnder(root), [], 'the original is gone, and no variant was made')
  await within(cancelLogged, 'the error log line')
  t.pass('logged as an error')
})
