import { createHash } from 'node:crypto'
import type { Readable } from 'node:stream'
import type { Disk } from '../lib/index.js'
import type { Tap } from './helpers.js'

export interface ContractOptions {
  /**
   * How much this process may grow while 100 MiB stream through, in MiB; false for storages that hold
   * files in memory by design.
   */
  boundedMemory: number | false
}

const read = async (stream: Readable): Promise<Buffer> => {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

const MiB = 1024 * 1024

/** The behaviour every storage owes the plugin (flydrive lacks such a suite): run once per storage. */
export function storageContract (t: Tap, label: string, make: (t: Tap) => Promise<Disk>, { boundedMemory }: ContractOptions): void {
  t.test(`${label}: binary content round-trips`, async (t) => {
    const storage = await make(t)
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
    const name = await storage.save('bin/all-bytes.bin', bytes)
    t.equal(name, 'bin/all-bytes.bin')
    t.same(await read(storage.open(name)), bytes)
  })

  t.test(`${label}: 100 MiB streams in and out`, async (t) => {
    const storage = await make(t)
    const chunk = Buffer.alloc(MiB, 7)
    const digest = createHash('sha256')
    let peak = 0
    const before = process.memoryUsage().rss
    const content = (async function * () {
      for (let i = 0; i < 100; i++) {
        digest.update(chunk)
        peak = Math.max(peak, process.memoryUsage().rss - before)
        yield chunk
      }
    })()
    const name = await storage.save('big/hundred.bin', content)
    t.equal(await storage.size(name), 100 * MiB)
    const back = createHash('sha256')
    for await (const piece of storage.open(name)) back.update(piece as Buffer)
    t.equal(back.digest('hex'), digest.digest('hex'), 'the same bytes come back')
    if (boundedMemory !== false) t.ok(peak < boundedMemory * MiB, `memory stayed bounded while saving (grew ${Math.round(peak / MiB)} MiB, at most ${boundedMemory})`)
    await storage.delete(name)
  })

  t.test(`${label}: exists, size, stat and list`, async (t) => {
    const storage = await make(t)
    await storage.save('a/one.txt', Buffer.from('one'))
    await storage.save('a/b/two.txt', Buffer.from('two!'))
    await storage.save('c/three.txt', Buffer.from('3'))
    t.equal(await storage.exists('a/one.txt'), true)
    t.equal(await storage.exists('a/none.txt'), false)
    t.equal(await storage.exists('../escape'), false, 'exists never throws')
    t.equal(await storage.size('a/b/two.txt'), 4)
    const stat = await storage.stat('a/b/two.txt')
    t.equal(stat.size, 4)
    t.ok(stat.modified instanceof Date && Math.abs(stat.modified.getTime() - Date.now()) < 60_000)
    t.same(await storage.list(), ['a/b/two.txt', 'a/one.txt', 'c/three.txt'])
    t.same(await storage.list('a/'), ['a/b/two.txt', 'a/one.txt'])
    t.same(await storage.list('a'), ['a/b/two.txt', 'a/one.txt'], 'with or without the slash')
    t.same(await storage.list('zzz'), [])
  })

  t.test(`${label}: stat and size of a missing file are FST_MEDIA_FILE_NOT_FOUND, naming it`, async (t) => {
    const storage = await make(t)
    const missing = { code: 'FST_MEDIA_FILE_NOT_FOUND', statusCode: 404, message: 'a/none.txt: no such file in the storage' }
    await t.rejects(storage.stat('a/none.txt'), missing)
    await t.rejects(storage.size('a/none.txt'), missing)
  })

  t.test(`${label}: delete is idempotent; a missing file errors its stream`, async (t) => {
    const storage = await make(t)
    const name = await storage.save('gone.txt', Buffer.from('x'))
    await storage.delete(name)
    await storage.delete(name)
    t.equal(await storage.exists(name), false)
    await t.rejects(read(storage.open(name)), { code: /ENOENT/ })
  })

  t.test(`${label}: never overwrites a stored name; getAvailableName never returns a taken name; a deleted name is free again`, async (t) => {
    const storage = await make(t)
    t.equal(await storage.save('r.pdf', Buffer.from('first')), 'r.pdf')
    const second = await storage.save('r.pdf', Buffer.from('second'))
    t.match(second, /^r_[a-zA-Z0-9]{7}\.pdf$/)
    t.same(await read(storage.open('r.pdf')), Buffer.from('first'))
    const available = await storage.getAvailableName('r.pdf')
    t.not(available, 'r.pdf')
    t.equal(await storage.exists(available), false)
    t.equal(await storage.getAvailableName('free.pdf'), 'free.pdf')
    // names are not remembered after a delete (as Django's storages): media is served with no-cache for this
    await storage.delete('r.pdf')
    t.equal(await storage.save('r.pdf', Buffer.from('third')), 'r.pdf')
    t.same(await read(storage.open('r.pdf')), Buffer.from('third'))
  })

  t.test(`${label}: concurrent saves of one name get distinct names and keep their bytes`, async (t) => {
    const storage = await make(t)
    const names = await Promise.all(Array.from({ length: 20 }, (_, i) => storage.save('same/name.txt', Buffer.from(`content ${i}`))))
    t.equal(new Set(names).size, 20)
    const contents = await Promise.all(names.map(async (name) => (await read(storage.open(name))).toString()))
    t.same(contents.sort(), Array.from({ length: 20 }, (_, i) => `content ${i}`).sort())
  })

  t.test(`${label}: unicode names and deep directories`, async (t) => {
    const storage = await make(t)
    const deep = 'a/b/c/d/e/f/g/h/東京/café/ü.txt'
    t.equal(await storage.save(deep, Buffer.from('deep')), deep)
    t.same(await read(storage.open(deep)), Buffer.from('deep'))
    t.same(await storage.list('a/b/c/d/e/f/g/h/東京'), [deep])
    t.match(storage.url(deep), /%E6%9D%B1%E4%BA%AC\/caf%C3%A9\/%C3%BC\.txt$/)
  })

  t.test(`${label}: no name leaves the root`, async (t) => {
    const storage = await make(t)
    for (const bad of ['../x.txt', 'a/../../x.txt', '..\\x.txt', 'x\u0000.txt', '', 'dir/']) {
      await t.rejects(storage.save(bad, Buffer.from('x')), { code: 'FST_MEDIA_INVALID_NAME' }, JSON.stringify(bad))
      t.throws(() => storage.url(bad), { code: 'FST_MEDIA_INVALID_NAME' })
    }
    t.equal(await storage.save('/abs/x.txt', Buffer.from('x')), 'abs/x.txt', 'a leading slash is relative to the root')
    t.same(await storage.list(), ['abs/x.txt'])
  })

  t.test(`${label}: a failing content stream stores nothing; a name may wait for the content`, async (t) => {
    const storage = await make(t)
    const failing = (async function * () {
      yield Buffer.from('half')
      throw new Error('client went away')
    })()
    await t.rejects(storage.save('half.txt', failing), /client went away/)
    t.same(await storage.list(), [])
    let read = false
    const content = (async function * () { read = true; yield Buffer.from('data') })()
    t.equal(await storage.save(() => { t.ok(read, 'called after the content'); return 'late.txt' }, content), 'late.txt')
  })

  t.test(`${label}: the final name is claimed before the file becomes visible, and released when taken`, async (t) => {
    const storage = await make(t)
    // claims minus releases, per name: 1 for each stored name, 0 for every other
    const held = new Map<string, number>()
    const opts = {
      claim: (name: string) => held.set(name, (held.get(name) ?? 0) + 1),
      release: (name: string) => held.set(name, (held.get(name) ?? 0) - 1)
    }
    const names = await Promise.all(Array.from({ length: 5 }, (_, i) => storage.save('c.txt', Buffer.from(`${i}`), opts)))
    t.same([...held].filter(([, count]) => count !== 0).map(([name]) => name).sort(), [...names].sort())
    t.ok([...held.values()].every((count) => count === 0 || count === 1))
  })

  t.test(`${label}: long names are cut to maxLength, keeping the extension`, async (t) => {
    const storage = await make(t)
    const name = await storage.save('d/' + 'n'.repeat(300) + '.txt', Buffer.from('x'), { maxLength: 100 })
    t.equal(Buffer.byteLength(name), 100)
    t.match(name, /^d\/n+\.txt$/)
  })

  t.test(`${label}: open reads a byte range`, async (t) => {
    const storage = await make(t)
    const name = await storage.save('r/digits.txt', Buffer.from('0123456789'))
    t.equal((await read(storage.open(name, { start: 2, end: 5 }))).toString(), '2345', 'both ends included')
    t.equal((await read(storage.open(name, { start: 7 }))).toString(), '789', 'to the end')
  })

  t.test(`${label}: listPage pages through a prefix in byte order with a cursor`, async (t) => {
    const storage = await make(t)
    const names = ['p/a.txt', 'p/b.txt', 'p/c/d.txt', 'p/e.txt', 'p/f.txt']
    for (const name of names) await storage.save(name, Buffer.from(name))
    await storage.save('q/other.txt', Buffer.from('q'))
    const seen: string[] = []
    let cursor: string | undefined
    let pages = 0
    do {
      const page = await storage.listPage('p/', { cursor, limit: 2 })
      t.ok(page.names.length <= 2, 'at most the limit')
      seen.push(...page.names)
      cursor = page.cursor
      pages++
    } while (cursor !== undefined)
    t.same(seen, names)
    t.ok(pages >= 3, `${pages} pages`)
  })

  t.test(`${label}: copy stores under a free name and leaves the original`, async (t) => {
    const storage = await make(t)
    await storage.save('c/one.txt', Buffer.from('one'))
    await storage.save('c/two.txt', Buffer.from('two'))
    t.equal(await storage.copy('c/one.txt', 'c/copy.txt'), 'c/copy.txt')
    const again = await storage.copy('c/one.txt', 'c/two.txt')
    t.match(again, /^c\/two_[a-zA-Z0-9]{7}\.txt$/, 'a taken name gets a suffix, as save does')
    t.same((await read(storage.open(again))).toString(), 'one')
    t.same((await read(storage.open('c/two.txt'))).toString(), 'two', 'the taken one is untouched')
    t.same((await read(storage.open('c/one.txt'))).toString(), 'one')
    await t.rejects(storage.copy('c/none.txt', 'c/x.txt'), { code: 'FST_MEDIA_STORAGE' })
    t.equal(await storage.exists('c/x.txt'), false)
  })
}
