import t from 'tap'
import { FileSystemStorage } from '../lib/index.js'
import { PendingNames } from '../lib/upload/pending.js'
import { UploadTransaction } from '../lib/upload/transaction.js'
import { fixture, ownStorage, tempDir } from './helpers.js'

const settle = () => new Promise((resolve) => setImmediate(resolve))

t.test('a file reported after the rollback is deleted at once, without another rollback', async (t) => {
  const storage = new FileSystemStorage({ location: tempDir(t) })
  const pending = new PendingNames()
  const tx = new UploadTransaction(pending)
  tx.add(storage, await storage.save('early.txt', Buffer.from('x')))
  t.equal(pending.has(storage, 'early.txt'), true, 'not served while the request runs')
  const late = storage.save('late.txt', Buffer.from('y'))
  await tx.rollback()
  t.equal(await storage.exists('early.txt'), false)
  t.equal(pending.has(storage, 'early.txt'), false)
  tx.add(storage, await late)
  for (let i = 0; i < 20 && await storage.exists('late.txt'); i++) await settle()
  t.equal(await storage.exists('late.txt'), false, 'a save that raced the rollback leaves no orphan')
  t.equal(pending.has(storage, 'late.txt'), false)
})

t.test('a committed transaction is never rolled back, and its files are served', async (t) => {
  const storage = new FileSystemStorage({ location: tempDir(t) })
  const pending = new PendingNames()
  const tx = new UploadTransaction(pending)
  t.equal(tx.parsing, true)
  tx.add(storage, await storage.save('kept.txt', Buffer.from('x')))
  tx.parsed()
  t.equal(tx.parsing, false)
  tx.commit()
  tx.commit()
  await tx.rollback()
  t.equal(await storage.exists('kept.txt'), true)
  t.equal(pending.has(storage, 'kept.txt'), false)
  t.equal(pending.has(new FileSystemStorage({ location: tempDir(t) }), 'kept.txt'), false)
})

t.test('a rollback waits for image work still using an original, then deletes variants before originals', async (t) => {
  const storage = new FileSystemStorage({ location: tempDir(t) })
  const tx = new UploadTransaction(new PendingNames())
  const hooks = tx.hooksFor(storage, () => {})
  hooks.onStored(await storage.save('a.png', Buffer.from('original')))
  hooks.onStored(await storage.save('a.png@thumb.webp', Buffer.from('variant')))
  let finish!: () => void
  hooks.track(new Promise<void>((resolve) => { finish = resolve }))
  hooks.track(Promise.reject(new Error('failed work counts as settled')))
  t.equal(hooks.cancelled(), false)

  const deleted: string[] = []
  const remove = storage.delete.bind(storage)
  storage.delete = async (name: string) => { deleted.push(name); await remove(name) }
  const first = tx.rollback()
  const second = tx.rollback()
  t.equal(hooks.cancelled(), true, 'the work is told at once')
  await settle()
  t.same(deleted, [], 'nothing is deleted while the work runs')
  finish()
  await Promise.all([first, second])
  t.same(deleted, ['a.png@thumb.webp', 'a.png'], 'the variant first, the original last')
})

t.test('image work of a failing request stops before its next read or write', async (t) => {
  const { processStored } = await import('../lib/image/pipeline.js')
  const { ImageField } = await import('../lib/index.js')
  const storage = new FileSystemStorage({ location: tempDir(t) })
  const name = await storage.save('a.png', fixture('fixture.png'))
  const rules = ImageField({ variants: { thumb: { width: 10 } } }).options.image!
  const image = { storage, name, format: 'png' as const, pages: 1, width: 200, height: 134, rules, field: 'avatar' }
  const hooks = new UploadTransaction(new PendingNames()).hooksFor(storage, () => {})
  await t.rejects(processStored({ ...image, hooks: { ...hooks, cancelled: () => true } }), { message: /image work stopped/ }, 'before reading')
  let asked = 0
  await t.rejects(processStored({ ...image, hooks: { ...hooks, cancelled: () => asked++ > 0 } }), { message: /image work stopped/ }, 'before storing a variant')
  t.same(await storage.list(), ['a.png'], 'no variant stored')
})

t.test('a storage written by hand, without publish(), commits as before', async (t) => {
  const inner = new FileSystemStorage({ location: tempDir(t) })
  // a Storage object of the user's own: the methods it must have, and no publish
  const storage = ownStorage(inner)
  const pending = new PendingNames()
  const tx = new UploadTransaction(pending)
  tx.add(storage, await storage.save('own.txt', Buffer.from('x'), { stage: true }))
  t.equal(await tx.commit(), true)
  t.equal(await tx.commit(), false, 'once')
  t.equal(pending.has(storage, 'own.txt'), false, 'served once committed')
  t.equal(await storage.exists('own.txt'), true)
})
