import t from 'tap'
import { FileSystemStorage, MemoryStorage, S3Storage } from '../lib/index.js'
import { s3Bucket } from './s3-server.js'
import { tempDir } from './helpers.js'
import { storageContract } from './storage-contract.js'

storageContract(t, 'FileSystemStorage', async (t) => new FileSystemStorage({ location: tempDir(t), baseUrl: '/media/' }), { boundedMemory: 64 })
storageContract(t, 'MemoryStorage', async () => new MemoryStorage(), { boundedMemory: false })

storageContract(t, 'S3Storage', async (t) => {
  const { client, bucket } = await s3Bucket(t)
  const storage = new S3Storage({ bucket, client, prefix: 'media/' })
  await storage.ready()
  return storage
}, { boundedMemory: 64 })
