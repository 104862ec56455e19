import t from 'tap'
import { FileSystemStorage } from '../lib/index.js'
import { PendingNames } from '../lib/upload/pending.js'
import { UploadTransaction } from '../lib/upload/transaction.js'
import { tempDir } from './helpers.js'

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
