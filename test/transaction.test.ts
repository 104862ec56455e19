import t from 'tap'
import { FileSystemStorage } from '../lib/index.js'
import { UploadTransaction } from '../lib/upload/transaction.js'
import { tempDir } from './helpers.js'

t.test('a file reported after the rollback is deleted at once', async (t) => {
  const storage = new FileSystemStorage({ location: tempDir(t) })
  const tx = new UploadTransaction()
  tx.add(storage, await storage.save('early.txt', Buffer.from('x')))
  const late = storage.save('late.txt', Buffer.from('y'))
  await tx.rollback()
  t.equal(await storage.exists('early.txt'), false)
  tx.add(storage, await late)
  await tx.rollback()
  t.equal(await storage.exists('late.txt'), false, 'a save that raced the rollback leaves no orphan')
})

t.test('a committed transaction is never rolled back', async (t) => {
  const storage = new FileSystemStorage({ location: tempDir(t) })
  const tx = new UploadTransaction()
  tx.add(storage, await storage.save('kept.txt', Buffer.from('x')))
  tx.commit()
  await tx.rollback()
  t.equal(await storage.exists('kept.txt'), true)
})
