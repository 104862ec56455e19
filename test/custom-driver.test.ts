import Fastify from 'fastify'
import { join } from 'node:path'
import t from 'tap'
import fastifyMedia, { Disk, FileField, FileSystemStorage, MemoryStorage, type Content, type Storage, type WriteOptions } from '../lib/index.js'
import { DirDriver } from './drivers/dir-driver.js'
import { MapDriver } from './drivers/map-driver.js'
import { filesUnder, fixture, makeApp, postForm, tempDir } from './helpers.js'

const KEY = 'k'.repeat(32)
const pdf = { name: 'doc', filename: 'report.pdf', content: fixture('fixture.pdf') }

t.test('a user\'s driver over a Map is served at its baseUrl with the media headers, Range and 404s', async (t) => {
  const driver = new MapDriver()
  const { app } = await makeApp(t, { storages: { files: new Disk(driver, { baseUrl: '/files/' }) } })
  const Doc = app.media.model('doc', { doc: FileField({ uploadTo: 'docs/', storage: 'files' }) })
  app.post('/docs', { upload: Doc }, async (req, reply) => await reply.code(201).send(req.uploads))
  const url: string = (await postForm(app, '/docs', [pdf])).json().doc.url
  t.equal(url, '/files/docs/report.pdf')
  t.same([...driver.files.keys()], ['docs/report.pdf'], 'the bytes are in the Map, nowhere else')

  const res = await app.inject(url)
  t.equal(res.statusCode, 200)
  t.same(res.rawPayload, pdf.content)
  t.match(res.headers, { 'content-type': 'application/pdf', 'x-content-type-options': 'nosniff', 'content-security-policy': "default-src 'none'; sandbox" })
  const range = await app.inject({ url, headers: { range: 'bytes=0-3' } })
  t.equal(range.statusCode, 206)
  t.equal(range.payload, '%PDF')
  t.equal((await app.inject('/files/docs/none.pdf')).statusCode, 404)
})

t.test('a private storage over a user\'s driver is signed and checked like a private disk storage', async (t) => {
  const { app } = await makeApp(t, { signingKey: KEY, storages: { vault: new Disk(new MapDriver(), { baseUrl: '/vault/', public: false }) } })
  const Doc = app.media.model('doc', { doc: FileField({ uploadTo: 'docs/', storage: 'vault' }) })
  app.post('/docs', { upload: Doc }, async (req, reply) => await reply.code(201).send(req.uploads))
  const url: string = (await postForm(app, '/docs', [pdf])).json().doc.url
  t.match(url, /^\/vault\/docs\/report\.pdf\?expires=\d+&signature=/)
  t.equal((await app.inject(url)).statusCode, 200)
  // another first character (a signature may start with 'A' itself: 1 in 64)
  const altered = url.replace(/signature=(.)/, (_match, first: string) => `signature=${first === 'A' ? 'B' : 'A'}`)
  t.equal((await app.inject(altered)).json().code, 'FST_MEDIA_BAD_SIGNATURE')
  t.equal((await app.inject('/vault/docs/report.pdf')).statusCode, 403)
})

t.test('a user\'s driver with a location is served from disk and overlap-checked like FileSystemStorage', async (t) => {
  const dir = tempDir(t)
  const { app } = await makeApp(t, { storages: { files: new Disk(new DirDriver('files'), { baseUrl: '/files/' }) }, baseDir: dir })
  const Doc = app.media.model('doc', { doc: FileField({ uploadTo: 'docs/', storage: 'files' }) })
  app.post('/docs', { upload: Doc }, async (req, reply) => await reply.code(201).send(req.uploads))
  const url: string = (await postForm(app, '/docs', [pdf])).json().doc.url
  t.same(filesUnder(join(dir, 'files')), ['docs/report.pdf'], 'the location resolved against baseDir')
  const res = await app.inject(url)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['x-content-type-options'], 'nosniff')

  const register = async (options: object) => await Fastify().register(fastifyMedia, { baseDir: tempDir(t), static: false, signingKey: KEY, ...options }).ready()
  await t.rejects(register({ storages: { files: new Disk(new MapDriver(), { baseUrl: '/media/files/' }) } }),
    { code: 'FST_MEDIA_INVALID_OPTION', message: /storages\.files\.baseUrl: "\/media\/files\/" overlaps media's URL/ }, 'URLs overlap, whatever the driver')
  await t.rejects(register({ storages: { secret: new Disk(new DirDriver('media/secret'), { baseUrl: '/secret/', public: false }) } }),
    { code: 'FST_MEDIA_INVALID_OPTION', message: /storages\.secret\.location: a private storage must not share files with media/ }, 'a private directory inside the public media root')
  await t.rejects(register({ storages: { files: new Disk(new MapDriver()) } }),
    { code: 'FST_MEDIA_INVALID_OPTION', message: /storages\.files\.baseUrl: a public storage on disk is served at its baseUrl/ }, 'served, so it needs a baseUrl')
})

t.test('the facade wraps a driver\'s failure as FST_MEDIA_STORAGE with the failure as cause; the content\'s own error passes as it is', async (t) => {
  const failure = new Error('the backend is on fire')
  const driver = new MapDriver()
  driver.write = async () => { throw failure }
  const storage = new Disk(driver)
  const err = await storage.save('a.txt', Buffer.from('x')).catch((err: unknown) => err)
  t.match(err, { code: 'FST_MEDIA_STORAGE', statusCode: 500, message: 'save: storage failed (the backend is on fire)' })
  t.equal((err as Error).cause, failure)
  const blind = new MapDriver()
  blind.head = async () => { throw failure }
  const claims: string[] = []
  await t.rejects(new Disk(blind).save('b.txt', Buffer.from('x'), { claim: (name) => claims.push(`claim ${name}`), release: (name) => claims.push(`release ${name}`) }),
    { code: 'FST_MEDIA_STORAGE', message: 'save: storage failed (the backend is on fire)' })
  t.same(claims, [], 'a name never claimed is never released')
  const ok = new Disk(new MapDriver())
  const gone = new Error('client went away')
  await t.rejects(ok.save(() => 'late.txt', (async function * () { yield Buffer.from('x'); throw gone })()), gone)
  await t.rejects(ok.save('big.bin', (async function * () { yield Buffer.alloc(6 * 1024 * 1024); throw gone })()), gone)
})

t.test('a driver that stops reading midway gets FST_MEDIA_STORAGE; the content is released (its return() runs) or, without return(), simply dropped', async (t) => {
  const driver = new DirDriver(tempDir(t))
  driver.write = async (_key, content) => {
    const iterator = (content as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]()
    const first = await iterator.next()
    await iterator.return?.()
    throw new Error(`the backend took ${(first.value as Uint8Array).length} bytes and fell over`)
  }
  const storage = new Disk(driver)
  const [one, two] = [Buffer.from('one'), Buffer.from('two')]
  let returned = 0
  const releasable = { [Symbol.asyncIterator]: () => ({ next: async () => ({ done: false as const, value: one }), return: async () => ({ done: true as const, value: returned++ }) }) }
  await t.rejects(storage.save('a.txt', releasable), { code: 'FST_MEDIA_STORAGE', message: 'save: storage failed (the backend took 3 bytes and fell over)' })
  t.equal(returned, 1, 'the content was told to stop once')
  const bare = { [Symbol.asyncIterator]: () => ({ next: async () => ({ done: false as const, value: two }) }) }
  await t.rejects(storage.save('b.txt', bare), { code: 'FST_MEDIA_STORAGE', message: 'save: storage failed (the backend took 3 bytes and fell over)' })
  const stuck = new Error('the client went away while we stopped')
  const failing = { [Symbol.asyncIterator]: () => ({ next: async () => ({ done: false as const, value: one }), return: async () => { throw stuck } }) }
  await t.rejects(storage.save('c.txt', failing), stuck, 'the content\'s own failure, even while stopping, is what the caller sees')
})

t.test('without move: small content is held and written once to its name, a late name is staged and copied, nothing left in .tmp/', async (t) => {
  const driver = new MapDriver()
  const storage = new Disk(driver)
  const stream = (bytes: Buffer): Content => (async function * () { yield bytes })()
  t.equal(await storage.save('a.txt', stream(Buffer.from('a'))), 'a.txt')
  t.same(driver.calls, { write: 1, copy: 0, delete: 0 }, 'one write, straight to the name')
  t.equal(await storage.save(() => 'b.txt', stream(Buffer.from('b'))), 'b.txt')
  t.same(driver.calls, { write: 2, copy: 1, delete: 1 }, 'written to a scratch key, copied, the scratch key deleted')
  t.same([...driver.files.keys()].sort(), ['a.txt', 'b.txt'])
})

t.test('without move: a streamed file over 5 MiB whose name another process takes first fails, and leaves nothing', async (t) => {
  const driver = new MapDriver()
  // another process's file appears between the facade's look and its write
  const write = driver.write.bind(driver)
  driver.write = async (key: string, content: Content, options: WriteOptions) => {
    driver.files.set(key, { bytes: Buffer.from('theirs'), modified: new Date(), contentType: undefined })
    return await write(key, content, options)
  }
  const storage = new Disk(driver)
  const big = (async function * () { for (let i = 0; i < 6; i++) yield Buffer.alloc(1024 * 1024) })()
  await t.rejects(storage.save('big.bin', big), { code: 'FST_MEDIA_STORAGE', message: 'save: storage failed ("big.bin" was taken by another writer)' })
  t.same([...driver.files.keys()], ['big.bin'])
  t.equal(driver.files.get('big.bin')?.bytes.toString(), 'theirs', 'theirs, untouched')
  driver.write = write
  t.match(await storage.save('small.bin', Buffer.from('x')), 'small.bin', 'a small one is retried instead')
})

t.test('one storage in two live apps is refused at register; once the first closes, the second may have it', async (t) => {
  const storage = new FileSystemStorage({ location: 'uploads', baseUrl: '/uploads/' })
  const first = Fastify()
  await first.register(fastifyMedia, { baseDir: tempDir(t), static: false, storages: { files: storage } }).ready()
  const second = Fastify()
  t.teardown(() => second.close())
  await t.rejects(async () => await second.register(fastifyMedia, { baseDir: tempDir(t), static: false, storages: { other: storage } }).ready(),
    { code: 'FST_MEDIA_INVALID_OPTION', message: 'storages.other: is already registered as storages.files by an app that has not closed: give each app its own FileSystemStorage' })
  await first.close()
  const dir = tempDir(t)
  const third = Fastify()
  t.teardown(() => third.close())
  await third.register(fastifyMedia, { baseDir: dir, static: false, storages: { files: storage } }).ready()
  t.equal(storage.location, join(dir, 'uploads'), 'now resolved for the app that has it')
})

t.test('a storage that is not a Disk (the Storage interface alone) is used, never served, and never detached', async (t) => {
  const memory = new MemoryStorage()
  // the Django API and nothing else: no attach, detach or served
  const plain: Storage = {
    public: true,
    save: async (name, content, opts) => await memory.save(name, content, opts),
    open: (name) => memory.open(name),
    delete: async (name) => await memory.delete(name),
    exists: async (name) => await memory.exists(name),
    size: async (name) => await memory.size(name),
    stat: async (name) => await memory.stat(name),
    url: (name) => `/plain/${name}`,
    list: async (prefix) => await memory.list(prefix),
    getAvailableName: async (name, maxLength) => await memory.getAvailableName(name, maxLength)
  }
  const { app } = await makeApp(t, { storages: { plain } })
  const Doc = app.media.model('doc', { doc: FileField({ uploadTo: 'docs/', storage: 'plain' }) })
  app.post('/docs', { upload: Doc }, async (req, reply) => await reply.code(201).send(req.uploads))
  t.equal((await postForm(app, '/docs', [pdf])).json().doc.url, '/plain/docs/report.pdf')
  t.same(await memory.list(), ['docs/report.pdf'])
  t.equal((await app.inject('/plain/docs/report.pdf')).statusCode, 404, 'not served: it says nothing of how')

  // a register that fails on a storage taken by another app lets go of the ones it had attached
  const shared = new Disk(new MapDriver(), { baseUrl: '/shared/' })
  const owner = Fastify()
  await owner.register(fastifyMedia, { baseDir: tempDir(t), static: false, storages: { shared } }).ready()
  const mine = new MemoryStorage()
  const failing = Fastify()
  await t.rejects(async () => await failing.register(fastifyMedia, { baseDir: tempDir(t), static: false, storages: { mine, plain, shared } }).ready(), { code: 'FST_MEDIA_INVALID_OPTION' })
  const again = Fastify()
  t.teardown(() => again.close())
  await again.register(fastifyMedia, { baseDir: tempDir(t), static: false, storages: { mine } }).ready()
  t.pass('the storage attached before the failure was let go')
  await owner.close()
})

t.test('a Disk keeps its baseUrl; a name taken ten times over is FST_MEDIA_STORAGE', async (t) => {
  const driver = new MapDriver()
  const storage = new Disk(driver, { baseUrl: '/files/' })
  t.equal(storage.baseUrl, '/files/')
  driver.write = async () => false
  await t.rejects(storage.save('a.txt', Buffer.from('x')), { code: 'FST_MEDIA_STORAGE', message: 'save: storage failed (no free name for "a.txt" in 10 tries)' })
})

t.test('static files are checked against served directories only: a driver without one is served alongside static files', async (t) => {
  const dir = tempDir(t)
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyMedia, { baseDir: dir, storages: { files: new Disk(new MapDriver(), { baseUrl: '/files/' }), local: new Disk(new DirDriver('local'), { baseUrl: '/local/' }) } })
  await app.ready()
  t.equal((await app.inject('/files/none.txt')).statusCode, 404)
  t.equal((await app.inject('/local/none.txt')).statusCode, 404)
})
