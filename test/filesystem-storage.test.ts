import t from 'tap'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { FileSystemStorage } from '../lib/index.js'
import { filesUnder, tempDir, type Tap } from './helpers.js'

function storage (t: Tap, options: Partial<ConstructorParameters<typeof FileSystemStorage>[0]> = {}) {
  const root = tempDir(t)
  return { root, store: new FileSystemStorage({ location: root, baseUrl: '/files/', ...options }) }
}

const read = async (stream: Readable): Promise<Buffer> => {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

t.test('save, open, exists, size, stat, list, url, delete', async (t) => {
  const { root, store } = storage(t)
  const bytes = Buffer.from([0, 1, 2, 255, 254, 10, 13])
  t.equal(await store.save('a/b/c.bin', bytes), 'a/b/c.bin')
  t.same(await read(store.open('a/b/c.bin')), bytes)
  t.equal(await store.exists('a/b/c.bin'), true)
  t.equal(await store.exists('a/b'), false, 'a directory is not a file')
  t.equal(await store.exists('../../etc/passwd'), false, 'never throws')
  t.equal(await store.size('a/b/c.bin'), 7)
  t.match(await store.stat('a/b/c.bin'), { size: 7, modified: Date, contentType: 'application/octet-stream' })
  await store.save('top.txt', Readable.from([Buffer.from('hi')]))
  await store.save('a/x.pdf', (async function * () { yield Buffer.from('%PDF') })())
  t.same(await store.list(), ['a/b/c.bin', 'a/x.pdf', 'top.txt'])
  t.same(await store.list('a/'), ['a/b/c.bin', 'a/x.pdf'])
  t.same(await store.list('missing'), [])
  t.equal(store.url('a/b c/ü.png'), '/files/a/b%20c/%C3%BC.png')
  await store.delete('a/b/c.bin')
  await store.delete('a/b/c.bin')
  t.equal(await store.exists('a/b/c.bin'), false)
  t.notOk(filesUnder(root).some((name) => name.startsWith('.tmp/') && name !== '.tmp'), 'no temp file left')
})

t.test('never overwrites: a taken name gets a random suffix, atomically', async (t) => {
  const { store } = storage(t)
  t.equal(await store.save('r.pdf', Buffer.from('one')), 'r.pdf')
  const second = await store.save('r.pdf', Buffer.from('two'))
  t.match(second, /^r_[a-zA-Z0-9]{7}\.pdf$/)
  t.same(await read(store.open('r.pdf')), Buffer.from('one'))
  const names = await Promise.all(Array.from({ length: 20 }, (_, i) => store.save('same.txt', Buffer.from(`content ${i}`))))
  t.equal(new Set(names).size, 20, '20 concurrent saves, 20 names')
  const contents = await Promise.all(names.map(async (name) => (await read(store.open(name))).toString()))
  t.same(contents.sort(), Array.from({ length: 20 }, (_, i) => `content ${i}`).sort())
  t.match(await store.getAvailableName('r.pdf'), /^r_[a-zA-Z0-9]{7}\.pdf$/)
  t.equal(await store.getAvailableName('free.pdf'), 'free.pdf')
})

t.test('a name that depends on the content is resolved after it is read', async (t) => {
  const { store } = storage(t)
  let read = false
  const content = (async function * () { read = true; yield Buffer.from('data') })()
  t.equal(await store.save(() => { t.ok(read); return 'late.bin' }, content), 'late.bin')
})

t.test('names that leave the root are refused; long names are cut', async (t) => {
  const { root, store } = storage(t)
  for (const bad of ['../x', 'a/../../x', '', 'x\u0000y', 'dir/']) {
    await t.rejects(store.save(bad, Buffer.from('x')), { code: 'FST_MEDIA_INVALID_NAME' }, JSON.stringify(bad))
    t.throws(() => store.url(bad), { code: 'FST_MEDIA_INVALID_NAME' })
  }
  t.throws(() => store.open('../x'), { code: 'FST_MEDIA_INVALID_NAME' })
  await t.rejects(store.list('../'), { code: 'FST_MEDIA_INVALID_NAME' })
  const long = await store.save('d/' + 'n'.repeat(300) + '.txt', Buffer.from('x'), { maxLength: 100 })
  t.equal(Buffer.byteLength(long), 100)
  t.match(long, /^d\/n+\.txt$/)
  await t.rejects(store.save('d'.repeat(120) + '/a.txt', Buffer.from('x'), { maxLength: 100 }), { code: 'FST_MEDIA_INVALID_NAME' })
  await t.rejects(store.getAvailableName('d'.repeat(120) + '/a.txt', 100), { code: 'FST_MEDIA_INVALID_NAME' })
  const available = await store.getAvailableName('d/' + 'n'.repeat(300) + '.txt', 100)
  t.match(available, /^d\/n+_[a-zA-Z0-9]{7}\.txt$/, 'cut like save cuts, and the cut name is taken')
  t.equal(Buffer.byteLength(available), 100)
  t.same(filesUnder(root).filter((name) => !name.startsWith('.tmp')), [long])
})

t.test('a symlinked directory pointing outside the root is never written, read or deleted through', async (t) => {
  const { root, store } = storage(t)
  const outside = tempDir(t)
  writeFileSync(join(outside, 'secret.txt'), 'outside')
  symlinkSync(outside, join(root, 'escape'))
  for (const name of ['escape/x.txt', 'escape/2026/11/x.txt']) {
    const err = await store.save(name, Buffer.from('x')).catch((err: Error) => err)
    t.match(err, { code: 'FST_MEDIA_STORAGE', statusCode: 500, message: 'save: storage failed (a directory resolves outside the storage root)' }, name)
  }
  t.same(readdirSync(outside), ['secret.txt'], 'not even a directory was created outside')
  await t.rejects(read(store.open('escape/secret.txt')), { code: 'FST_MEDIA_STORAGE', message: /open/ })
  await t.rejects(store.stat('escape/secret.txt'), { code: 'FST_MEDIA_STORAGE', message: /stat/ })
  await t.rejects(store.delete('escape/secret.txt'), { code: 'FST_MEDIA_STORAGE', message: /delete/ })
  t.equal(await store.exists('escape/secret.txt'), false)
  t.equal(readFileSync(join(outside, 'secret.txt'), 'utf8'), 'outside')
})

t.test('the name is claimed while the file is not yet visible', async (t) => {
  const { root, store } = storage(t)
  await store.save('x.txt', Buffer.from('taken'))
  const events: string[] = []
  const name = await store.save('x.txt', Buffer.from('mine'), {
    claim: (n) => events.push(`claim ${n} visible=${existsSync(join(root, n))}`),
    release: (n) => events.push(`release ${n}`)
  })
  t.same(events, ['claim x.txt visible=true', 'release x.txt', `claim ${name} visible=false`])
})

t.test('a taken name with no room for a suffix is INVALID_NAME', async (t) => {
  const { store } = storage(t)
  await store.save('abcdefghij/a.pdf', Buffer.from('1'), { maxLength: 16 })
  await t.rejects(store.save('abcdefghij/a.pdf', Buffer.from('2'), { maxLength: 16 }), { code: 'FST_MEDIA_INVALID_NAME', message: /no room for a unique suffix within 16 bytes/ })
  await t.rejects(store.getAvailableName('abcdefghij/a.pdf', 16), { code: 'FST_MEDIA_INVALID_NAME' })
})

t.test('stat of a missing file or a directory is a storage error', async (t) => {
  const { root, store } = storage(t)
  mkdirSync(join(root, 'dir'))
  await t.rejects(store.stat('dir'), { code: 'FST_MEDIA_STORAGE', message: 'stat: storage failed (not a file)' })
  await t.rejects(store.stat('none.txt'), { code: 'FST_MEDIA_FILE_NOT_FOUND', statusCode: 404, message: 'none.txt: no such file in the storage' })
  await t.rejects(read(store.open('none.txt')), { code: 'ENOENT' })
})

t.test('a symlink at the target name is never written through', async (t) => {
  const { root, store } = storage(t)
  const outside = join(tempDir(t), 'passwd')
  writeFileSync(outside, 'root:x:0:0')
  symlinkSync(outside, join(root, 'x.txt'))
  const name = await store.save('x.txt', Buffer.from('evil'))
  t.not(name, 'x.txt')
  t.equal(readFileSync(outside, 'utf8'), 'root:x:0:0')
})

t.test('file and directory modes', async (t) => {
  const { root, store } = storage(t, { fileMode: 0o600, dirMode: 0o700 })
  await store.save('secret/a.txt', Buffer.from('x'))
  t.equal(statSync(join(root, 'secret/a.txt')).mode & 0o777, 0o600)
  t.equal(statSync(join(root, 'secret')).mode & 0o777, 0o700)
})

t.test('file system failures are FST_MEDIA_STORAGE with the cause', async (t) => {
  const dir = tempDir(t)
  writeFileSync(join(dir, 'not-a-dir'), 'x')
  const broken = new FileSystemStorage({ location: join(dir, 'not-a-dir') })
  await t.rejects(broken.save('a.txt', Buffer.from('x')), { code: 'FST_MEDIA_STORAGE', statusCode: 500, message: /save: storage failed \((EEXIST|ENOTDIR)\)/ })
  const { root, store } = storage(t)
  mkdirSync(join(root, 'adir'))
  await t.rejects(store.delete('adir'), { code: 'FST_MEDIA_STORAGE', message: /delete/ })
  const failing = new Readable({ read () { this.destroy(new Error('client went away')) } })
  await t.rejects(store.save('b.txt', failing), /client went away/, 'content errors pass through')
  t.same(filesUnder(root).filter((name) => name !== 'adir'), [])
})

t.test('a failure between writing and linking is a storage error and leaves nothing', async (t) => {
  const { root, store } = storage(t)
  const vanish = () => {
    for (const temp of filesUnder(join(root, '.tmp'))) rmSync(join(root, '.tmp', temp))
    return 'gone.txt'
  }
  await t.rejects(store.save(vanish, Buffer.from('x')), { code: 'FST_MEDIA_STORAGE', message: /ENOENT/ })
  t.same(filesUnder(root), [])
})

t.test('without a baseUrl, URLs are root-relative', async (t) => {
  const root = tempDir(t)
  t.equal(new FileSystemStorage({ location: root }).url('a/b.png'), '/a/b.png')
})

// pipeline() reports a failing source without waiting for the destination to close: a temp file whose
// open() were still in flight then could appear after the cleanup. It must exist before any byte is read.
t.test('the temp file exists before the content is read, so a failure can always remove it', async (t) => {
  const { root, store } = storage(t)
  let seen: string[] | undefined
  const content = async function * (): AsyncGenerator<Buffer> {
    seen = filesUnder(join(root, '.tmp'))
    throw new Error('refused')
  }
  await t.rejects(store.save('x.txt', content()), /refused/)
  t.equal(seen?.length, 1, 'one temp file, already created')
  t.same(filesUnder(root), [], 'and gone after the failure')
})

t.test('private storages sign their URLs; without a signer they say so', async (t) => {
  const { store } = storage(t, { public: false, expiresIn: 60 })
  t.throws(() => store.url('a.pdf'), { code: 'FST_MEDIA_INVALID_OPTION', message: /signingKey/ })
  store.attach({ storageName: 'private', baseDir: '/', sign: (name, expiresIn) => `for=${name}&in=${expiresIn}` })
  t.equal(store.url('a b.pdf'), '/files/a%20b.pdf?for=a b.pdf&in=60')
  t.equal(store.url('a.pdf', { expiresIn: 5 }), '/files/a.pdf?for=a.pdf&in=5')
})

t.test('a root removed while the app runs is made again: the failing save says so, the next one works', async (t) => {
  const dir = tempDir(t)
  const storage = new FileSystemStorage({ location: join(dir, 'root') })
  t.equal(await storage.save('a/x.txt', Buffer.from('x')), 'a/x.txt')
  rmSync(join(dir, 'root'), { recursive: true })
  // the root's real path is remembered between saves; the .tmp dir under it is gone
  const first = await storage.save('a/y.txt', Buffer.from('y')).then(() => 'saved', (err: Error) => err.message)
  t.ok(first === 'saved' || /storage failed/.test(first), first)
  t.equal(await storage.save('a/z.txt', Buffer.from('z')), 'a/z.txt')
  t.equal(readFileSync(join(dir, 'root', 'a', 'z.txt'), 'utf8'), 'z')
})

t.test('a directory swapped for a symlink after a save is still refused (each save checks its directories)', async (t) => {
  const dir = tempDir(t)
  const outside = join(dir, 'outside')
  mkdirSync(outside)
  const storage = new FileSystemStorage({ location: join(dir, 'root') })
  await storage.save('docs/a.txt', Buffer.from('a'))
  rmSync(join(dir, 'root', 'docs'), { recursive: true })
  symlinkSync(outside, join(dir, 'root', 'docs'))
  await t.rejects(storage.save('docs/b.txt', Buffer.from('b')), { code: 'FST_MEDIA_STORAGE', message: /resolves outside the storage root/ })
  t.same(readdirSync(outside), [], 'nothing written through the link')
})

t.test('save takes a Readable of strings, of Uint8Arrays, and an async iterable', async (t) => {
  const storage = new FileSystemStorage({ location: tempDir(t) })
  await storage.save('s.txt', Readable.from(['ab', 'cd']))
  await storage.save('u.txt', Readable.from([new Uint8Array([101, 102])], { objectMode: true }))
  await storage.save('g.txt', (async function * () { yield Buffer.from('gh') })())
  t.equal(readFileSync(join(storage.location, 's.txt'), 'utf8'), 'abcd')
  t.equal(readFileSync(join(storage.location, 'u.txt'), 'utf8'), 'ef')
  t.equal(readFileSync(join(storage.location, 'g.txt'), 'utf8'), 'gh')
})

t.test('the driver lists keys by a string prefix in byte order, a directory at a time, with their dates', async (t) => {
  const storage = new FileSystemStorage({ location: tempDir(t) })
  for (const name of ['p/ab.txt', 'p/a/x.txt', 'p/b.txt', 'p-1.txt', 'q.txt']) await storage.save(name, Buffer.from(name))
  const { driver } = storage
  const all = await driver.list('', {})
  t.same(all.keys, ['p-1.txt', 'p/a/x.txt', 'p/ab.txt', 'p/b.txt', 'q.txt'])
  t.ok(all.modified!.every((date) => date instanceof Date))
  t.same((await driver.list('p/a', {})).keys, ['p/a/x.txt', 'p/ab.txt'], 'a prefix that is no directory: the keys that start with it')
  t.same((await driver.list('', { cursor: 'p/a/x.txt', limit: 2 })).keys, ['p/ab.txt', 'p/b.txt'], 'after the cursor, across a directory')
  t.same((await driver.list('', { cursor: 'p/ab.txt' })).keys, ['p/b.txt', 'q.txt'], 'a directory wholly before the cursor is passed over')
  t.same((await driver.list('nowhere/', {})).keys, [])
})
