import t from 'tap'
import { Disk, FileSystemStorage, MemoryStorage, S3Storage } from '../lib/index.js'
import { DirDriver } from './drivers/dir-driver.js'
import { MapDriver } from './drivers/map-driver.js'
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

// drivers written the way a user would (test/drivers/), behind the plugin's facade
storageContract(t, 'Disk over a Map driver', async () => new Disk(new MapDriver(), { baseUrl: '/files/' }), { boundedMemory: false })
storageContract(t, 'Disk over a directory driver', async (t) => new Disk(new DirDriver(tempDir(t)), { baseUrl: '/files/' }), { boundedMemory: 64 })
