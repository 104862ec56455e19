// app.media.sweep against real storages (a media root on disk, an s3rver bucket, a user's driver): what it
// removes is exactly what no record names and is old enough, in a dry run it removes nothing and names the same.
import t from 'tap'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { utimesSync } from 'node:fs'
import { join } from 'node:path'
import { Disk, FileField, FileSystemStorage, MemoryStorage, S3Storage, type DeletedMessage, type FastifyMediaOptions, type SweepOptions, type Storage } from '../lib/index.js'
import { MapDriver } from './drivers/map-driver.js'
import { filesUnder, fixture, makeApp, multipart, ownStorage, tempDir, type Tap } from './helpers.js'
import { listen } from './http-helpers.js'
import { s3Bucket } from './s3-server.js'

const KEY = 'sweep-test-key-'.padEnd(32, 'k')
const OLD = new Date(Date.now() - 3 * 86400_000)

/** The files every storage test starts with, and which the records name. */
const REFERENCED = ['docs/keep.pdf', 'avatars/a.png', 'x/me@home.png']
const ORPHANS = ['docs/orphan.pdf', 'avatars/gone.png@thumb.webp', 'docs/2026/12/lost.txt']
const KEPT_VARIANTS = ['avatars/a.png@thumb.webp', 'avatars/a.png@big.avif']

interface Setup { storage: Storage, list: () => Promise<string[]>, age: (name: string) => void, internal: (key: string) => Promise<void> }

async function onDisk (t: Tap, options: FastifyMediaOptions = {}) {
  const dir = tempDir(t)
  const { app } = await makeApp(t, { baseDir: dir, signingKey: KEY, ...options })
  const storage = app.media.storage() as FileSystemStorage
  const root = join(dir, 'media')
  const setup: Setup = {
    storage,
    list: async () => await storage.list(),
    age: (name) => { utimesSync(join(root, name), OLD, OLD) },
    internal: async (key) => { await (storage as Disk).driver.write(key, Buffer.from('x'), {}) }
  }
  return { app, setup }
}

async function onS3 (t: Tap) {
  const s3 = await s3Bucket(t)
  const { app } = await makeApp(t, { signingKey: KEY, storages: { default: new S3Storage({ bucket: s3.bucket, client: s3.client, prefix: 'media/' }) } })
  // a direct field: its tokens live an hour, so a spent token's record must outlive that
  app.media.model('clip', { video: FileField({ uploadTo: 'videos/', direct: { expiresIn: 3600 } }) })
  const storage = app.media.storage() as S3Storage
  const setup: Setup = {
    storage,
    list: async () => await storage.list(),
    // S3 dates are the server's: these tests sweep with olderThan 0 there, where every file is old enough
    age: () => {},
    internal: async (key) => { await storage.driver.write(key, Buffer.from('x'), {}) }
  }
  return { app, setup }
}

async function fill (setup: Setup): Promise<void> {
  for (const name of [...REFERENCED, ...ORPHANS, ...KEPT_VARIANTS]) {
    await setup.storage.save(name, Buffer.from(name))
    setup.age(name)
  }
}

function recording (referenced: readonly string[]) {
  const asked: string[][] = []
  const isReferenced: SweepOptions['isReferenced'] = async (names) => {
    asked.push(names)
    return names.filter((name) => referenced.includes(name))
  }
  return { asked, isReferenced }
}

for (const on of ['disk', 's3'] as const) {
  t.test(`${on}: sweep removes exactly the old files no record names (and variants whose original is gone); a dry run names the same and removes nothing`, async (t) => {
    const { app, setup } = on === 'disk' ? await onDisk(t) : await onS3(t)
    await fill(setup)
    const before = await setup.list()
    const olderThan = on === 'disk' ? '1d' : 0

    const wouldGo: string[] = []
    const { asked, isReferenced } = recording(REFERENCED)
    const dry = await app.media.sweep({ isReferenced, olderThan, dryRun: true, batchSize: 3, onRemove: (name) => wouldGo.push(name) })
    t.same(await setup.list(), before, 'the dry run removed nothing')
    t.same(wouldGo.sort(), [...ORPHANS].sort())
    t.match(dry, { storage: 'default', dryRun: true, scanned: before.length, removed: ORPHANS.length, referenced: REFERENCED.length + KEPT_VARIANTS.length, recent: 0, claimed: 0, uploads: 0 })
    t.ok(asked.length >= Math.ceil(before.length / 3), `asked in batches (${asked.length} calls)`)
    t.ok(asked.every((names) => names.length <= 6), 'a batch is at most batchSize names and their originals')
    t.ok(asked.flat().includes('avatars/a.png'), 'a variant\'s original is asked about')

    const removed: string[] = []
    const real = await app.media.sweep({ isReferenced, olderThan, onRemove: (name) => removed.push(name) })
    t.same(removed.sort(), wouldGo, 'the same set as the dry run')
    t.same(await setup.list(), before.filter((name) => !ORPHANS.includes(name)), 'exactly those are gone')
    t.match(real, { dryRun: false, removed: ORPHANS.length })
  })

  t.test(`${on}: sweep removes old abandoned files of the plugin's own prefixes, and never a spent token's record younger than the token`, async (t) => {
    const { app, setup } = on === 'disk' ? await onDisk(t) : await onS3(t)
    for (const key of ['.tmp/0b8e', '.direct/q/1f2e', '.direct/names/docs/a.pdf', '.direct/used/1f2e']) await setup.internal(key)
    const internal = async () => (await Promise.all(['.tmp/', '.direct/'].map(async (prefix) => (await (setup.storage as Disk).listModified(prefix, { internal: true })).files.map(({ name }) => name)))).flat()
    const dry = await app.media.sweep({ isReferenced: () => [], olderThan: 0, dryRun: true })
    t.equal(dry.internal, on === 'disk' ? 4 : 3)
    t.equal((await internal()).length, 4, 'a dry run removes none')
    const real = await app.media.sweep({ isReferenced: () => [], olderThan: 0 })
    t.same(await internal(), on === 'disk' ? [] : ['.direct/used/1f2e'], on === 'disk' ? 'no direct field: a spent record goes with the rest' : 'the clip.video tokens live an hour: their spent records stay')
    t.equal(real.internal, dry.internal)
  })
}

t.test('sweep keeps files younger than olderThan, and pages through more files than a batch', async (t) => {
  const { app, setup } = await onDisk(t)
  const names = Array.from({ length: 45 }, (_, i) => `p/${String(i).padStart(2, '0')}.txt`)
  for (const name of names) await setup.storage.save(name, Buffer.from(name))
  names.filter((_, i) => i % 3 !== 2).forEach(setup.age)
  const referenced = names.filter((_, i) => i % 3 === 0)
  const progress: number[] = []
  const result = await app.media.sweep({ isReferenced: recording(referenced).isReferenced, batchSize: 7, onProgress: ({ scanned }) => progress.push(scanned) })
  t.same(await setup.list(), names.filter((_, i) => i % 3 !== 1), 'the old unreferenced third is gone; the recent and the referenced stay')
  t.match(result, { scanned: 45, removed: 15, referenced: 15, recent: 15 })
  t.same(progress, [7, 14, 21, 28, 35, 42, 45], 'progress after each page')
})

t.test('sweep never removes a name a request of this process is still holding', async (t) => {
  const { app, setup } = await onDisk(t)
  const Doc = app.media.model('doc', { file: FileField({ uploadTo: 'docs/' }) })
  let release = (): void => {}
  const held = new Promise<void>((resolve) => { release = resolve })
  let stored = (): void => {}
  const inHandler = new Promise<void>((resolve) => { stored = resolve })
  app.post('/docs', { upload: Doc }, async (req) => {
    stored()
    await held
    return req.uploads
  })
  const form = multipart([{ name: 'file', filename: 'held.pdf', contentType: 'application/pdf', content: fixture('fixture.pdf') }])
  const response = app.inject({ method: 'POST', url: '/docs', ...form })
  await Promise.race([inHandler, response.then((res) => { throw new Error(`answered before the handler ran: ${res.statusCode} ${res.body}`) })])
  const result = await app.media.sweep({ isReferenced: () => [], olderThan: 0 })
  t.equal(result.claimed, 1, 'the request\'s file is in use')
  t.same(await setup.list(), ['docs/held.pdf'])
  release()
  t.equal((await response).statusCode, 200)
})

t.test('sweep publishes each removal on fastify-media:deleted (not in a dry run)', async (t) => {
  const { app, setup } = await onDisk(t)
  await fill(setup)
  const messages: DeletedMessage[] = []
  const listener = (message: unknown): void => { messages.push(message as DeletedMessage) }
  subscribe('fastify-media:deleted', listener)
  t.teardown(() => unsubscribe('fastify-media:deleted', listener))
  await app.media.sweep({ isReferenced: recording(REFERENCED).isReferenced, dryRun: true })
  t.same(messages, [])
  await app.media.sweep({ isReferenced: recording(REFERENCED).isReferenced })
  t.same(messages.map(({ name, reason, storage }) => ({ name, reason, storage })).sort((a, b) => a.name < b.name ? -1 : 1), [...ORPHANS].sort().map((name) => ({ name, reason: 'sweep', storage: 'default' })))
})

t.test('the plugin\'s isReferenced option is what sweep asks by default, with the storage\'s name', async (t) => {
  const calls: string[] = []
  const { app, setup } = await onDisk(t, {
    isReferenced: (names, storage) => {
      calls.push(storage)
      return names.filter((name) => REFERENCED.includes(name))
    }
  })
  await fill(setup)
  const result = await app.media.sweep({})
  t.equal(result.removed, ORPHANS.length)
  t.ok(calls.length > 0 && calls.every((storage) => storage === 'default'))
})

t.test('a driver whose listing has no dates: sweep asks each file\'s', async (t) => {
  const driver = new MapDriver()
  const { app } = await makeApp(t, { storages: { files: new Disk(driver, { baseUrl: '/files/' }) } })
  const storage = app.media.storage('files')
  await storage.save('a.txt', Buffer.from('a'))
  await storage.save('b.txt', Buffer.from('b'))
  driver.files.get('a.txt')!.modified = OLD
  const result = await app.media.sweep({ storage: 'files', isReferenced: () => [] })
  t.match(result, { scanned: 2, removed: 1, recent: 1 })
  t.same(await storage.list(), ['b.txt'])
})

t.test('sweep refuses options it cannot use, naming them', async (t) => {
  const { app } = await onDisk(t)
  const code = 'FST_MEDIA_INVALID_OPTION'
  const isReferenced = (): string[] => []
  await t.rejects(app.media.sweep({}), { code, message: /sweep\.isReferenced.*plugin's isReferenced option/ })
  await t.rejects(app.media.sweep(null as unknown as SweepOptions), { code })
  await t.rejects(app.media.sweep({ isReferenced, olderThan: '1 week' }), { code, message: /sweep\.olderThan/ })
  await t.rejects(app.media.sweep({ isReferenced, olderThan: -1 }), { code, message: /sweep\.olderThan/ })
  await t.rejects(app.media.sweep({ isReferenced, olderThan: {} as unknown as number }), { code, message: /sweep\.olderThan/ })
  await t.rejects(app.media.sweep({ isReferenced, batchSize: 0 }), { code, message: /sweep\.batchSize/ })
  await t.rejects(app.media.sweep({ isReferenced, onRemove: 'log' as unknown as () => void }), { code, message: /onRemove/ })
  await t.rejects(app.media.sweep({ isReferenced, dryrun: true } as SweepOptions), { code, message: /dryrun/ })
  await t.rejects(app.media.sweep({ isReferenced, storage: 'nope' }), { code, message: /no storage named "nope"/ })
  // a Storage of the user's own making, not over a driver: nothing the plugin can list
  const own = ownStorage(new MemoryStorage())
  const { app: withOwn } = await makeApp(t, { storages: { own } })
  await t.rejects(withOwn.media.sweep({ isReferenced, storage: 'own' }), { code, message: /"own" is not a storage the plugin can list/ })
  await t.rejects(makeApp(t, { isReferenced: 'yes' as unknown as FastifyMediaOptions['isReferenced'] }), { code, message: /isReferenced/ })
})

t.test('olderThan takes seconds or 90s, 30m, 12h, 1d', async (t) => {
  const { app, setup } = await onDisk(t)
  await setup.storage.save('a.txt', Buffer.from('a'))
  const hours = (h: number) => new Date(Date.now() - h * 3600_000)
  utimesSync(join(setup.storage instanceof FileSystemStorage ? setup.storage.location : '', 'a.txt'), hours(2), hours(2))
  for (const [olderThan, removed] of [['3h', 0], [3 * 3600, 0], ['180m', 0], ['1d', 0], ['90s', 1], ['90', 1]] as const) {
    const result = await app.media.sweep({ isReferenced: () => [], olderThan, dryRun: true })
    t.equal(result.removed, removed, `olderThan ${olderThan}`)
  }
})

t.test('sweep expires the resumable uploads of its storage only (none in a dry run)', async (t) => {
  const dir = tempDir(t)
  const { app } = await makeApp(t, { baseDir: dir, storages: { other: new FileSystemStorage({ location: join(dir, 'other'), baseUrl: '/other/' }) } })
  const Clip = app.media.model('clip', {
    video: FileField({ uploadTo: 'videos/', accept: ['video/mp4'] }),
    audio: FileField({ storage: 'other', uploadTo: 'audio/', accept: ['video/mp4'] })
  })
  await app.register(app.media.resumable('/videos', { fields: [Clip.fields.video] }))
  await app.register(app.media.resumable('/audio', { fields: [Clip.fields.audio] }))
  const { origin } = await listen(app)
  for (const path of ['/videos', '/audio']) {
    const created = await fetch(`${origin}${path}`, { method: 'POST', headers: { 'tus-resumable': '1.0.0', 'upload-length': '1000', 'upload-metadata': `filename ${Buffer.from('a.mp4').toString('base64')}` } })
    t.equal(created.status, 201)
  }
  const uploadsIn = (root: string): string[] => filesUnder(join(dir, root, '.resumable')).filter((name) => !name.endsWith('.json'))
  t.equal((await app.media.sweep({ isReferenced: () => [], olderThan: 0, dryRun: true })).uploads, 0)
  t.equal(uploadsIn('media').length, 1, 'a dry run expires none')
  t.equal((await app.media.sweep({ isReferenced: () => [], olderThan: 0 })).uploads, 1)
  t.same(uploadsIn('media'), [], 'the default storage\'s upload is gone')
  t.equal(uploadsIn('other').length, 1, 'the other storage\'s stays')
})
