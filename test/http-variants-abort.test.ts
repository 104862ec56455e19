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
import { body, listen, RawConnection, requestHead, waitFor, waitForNoFiles } from './http-helpers.js'

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

t.test('the queued image work of an aborted upload stops with the declared FST_MEDIA_CANCELLED, and leaves no file', async (t) => {
  const dir = tempDir(t)
  const logged: Array<{ level: number, err?: { code?: string } }> = []
  const app = Fastify({ logger: { level: 'error', stream: { write: (line: string) => { logged.push(JSON.parse(line)) } } } })
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
  t.ok(await waitFor(() => imageSlots.waiting > 0), 'the variants wait for a slot')
  a.destroy()
  await gone
  free()
  await Promise.all(holders)

  const err = await failure
  t.ok(err instanceof errors.FST_MEDIA_CANCELLED, 'a declared error')
  t.equal((err as { code?: string }).code, 'FST_MEDIA_CANCELLED')
  t.match(err.message, /^avatar: the request failed, so its image work stopped$/, 'names the field and says what happened')
  t.same(await waitForNoFiles(root), [], 'the original is gone, and no variant was made')
  t.ok(await waitFor(() => logged.some((line) => line.level === 50 && line.err?.code === 'FST_MEDIA_CANCELLED')), 'logged as an error')
})
