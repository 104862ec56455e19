import { mkdir, open, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { RESUMABLE } from '../storage/disk.js'
import type { ResumableStore, ResumableStoreOptions } from '../storage/driver.js'
import { loadTus } from './load-tus.js'

/**
 * Resumable uploads of a storage on disk: @tus/file-store in `<root>/.resumable/`, inside the root, so a
 * finished upload reaches its name by a link on the same file system, never by a copy.
 */
export async function fileBacking (root: string, { expiresIn }: ResumableStoreOptions): Promise<ResumableStore> {
  const { FileStore } = await loadTus('@tus/file-store')
  const directory = join(root, RESUMABLE)
  await mkdir(directory, { recursive: true })
  // FileStore's constructor starts a mkdir of its own that nothing awaits, and throws its error in the
  // callback: an uncaught exception when the root goes meanwhile (a test removing its temp dir right after
  // close()). The directory is made above.
  const Store = class extends (FileStore as new (options: ConstructorParameters<typeof FileStore>[0]) => object) {
    checkOrCreateDirectory (): void {}
  }
  return {
    datastore: new Store({ directory, expirationPeriodInMilliseconds: expiresIn }),
    storeId: (id) => id,
    dataKey: (id) => RESUMABLE + id,
    keys: (id) => [RESUMABLE + id, `${RESUMABLE}${id}.json`],
    readStart: async (id, length) => {
      const file = await open(join(directory, id))
      try {
        const { buffer, bytesRead } = await file.read(Buffer.alloc(length), 0, length, 0)
        return buffer.subarray(0, bytesRead)
      } finally {
        await file.close()
      }
    },
    // FileStore keeps each upload's record beside it as `<id>.json`
    list: async () => (await readdir(directory)).filter((name) => name.endsWith('.json')).map((name) => name.slice(0, -5))
  }
}
