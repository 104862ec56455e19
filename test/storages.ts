// One of each storage, fresh per test, for the behaviours every storage must share: on disk, in memory,
// on a real S3 server (s3rver in a child process), and behind the two drivers a user could write.
import { Disk, FileSystemStorage, MemoryStorage, S3Storage, type Storage } from '../lib/index.js'
import { DirDriver } from './drivers/dir-driver.js'
import { MapDriver } from './drivers/map-driver.js'
import { tempDir, type Tap } from './helpers.js'
import { s3Bucket } from './s3-server.js'

export const STORAGES: Array<[string, (t: Tap) => Promise<Storage>]> = [
  ['FileSystemStorage', async (t) => new FileSystemStorage({ location: tempDir(t), baseUrl: '/files/' })],
  ['MemoryStorage', async () => new MemoryStorage({ baseUrl: '/files/' })],
  ['S3Storage', async (t) => {
    const { client, bucket } = await s3Bucket(t)
    return new S3Storage({ bucket, client, prefix: 'media/' })
  }],
  ['Disk over a Map driver', async () => new Disk(new MapDriver(), { baseUrl: '/files/' })],
  ['Disk over a directory driver', async (t) => new Disk(new DirDriver(tempDir(t)), { baseUrl: '/files/' })]
]
