// One of each storage, fresh per test, for the behaviours every storage must share: on disk, in memory,
// and on a real S3 server (s3rver in a child process).
import { FileSystemStorage, MemoryStorage, S3Storage, type Storage } from '../lib/index.js'
import { tempDir, type Tap } from './helpers.js'
import { s3Bucket } from './s3-server.js'

export const STORAGES: Array<[string, (t: Tap) => Promise<Storage>]> = [
  ['FileSystemStorage', async (t) => new FileSystemStorage({ location: tempDir(t), baseUrl: '/files/' })],
  ['MemoryStorage', async () => new MemoryStorage({ baseUrl: '/files/' })],
  ['S3Storage', async (t) => {
    const { client, bucket } = await s3Bucket(t)
    return new S3Storage({ bucket, client, prefix: 'media/' })
  }]
]
