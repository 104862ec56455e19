// A storage driver as a user would write one, over a plain Map: the raw primitives only. The plugin's
// facade (Disk) gives it names, collisions, errors, URLs and serving; test/storage-contract.test.ts holds it
// to the same contract as the built-in storages. It has no `move`, so the facade holds small content in
// memory and copies staged content, the paths S3 takes.
import { Readable } from 'node:stream'
import { fileNotFound, pageOf, type ByteRange, type DriverContent, type FileStat, type ListOptions, type ListPage, type StorageDriver, type WriteOptions } from '../../lib/index.js'

interface Stored {
  bytes: Buffer
  modified: Date
  contentType: string | undefined
}

export class MapDriver implements StorageDriver {
  readonly files = new Map<string, Stored>()
  /** Counts each primitive's calls, so tests can see which path the facade took. */
  readonly calls = { write: 0, copy: 0, delete: 0 }

  async write (key: string, content: DriverContent, { ifAbsent, contentType }: WriteOptions): Promise<boolean> {
    this.calls.write++
    const chunks: Buffer[] = []
    for await (const chunk of Buffer.isBuffer(content) ? [content] : content) chunks.push(Buffer.from(chunk))
    if (ifAbsent === true && this.files.has(key)) return false
    this.files.set(key, { bytes: Buffer.concat(chunks), modified: new Date(), contentType })
    return true
  }

  read (key: string, range?: ByteRange): Readable {
    const file = this.files.get(key)
    if (file === undefined) {
      const stream = new Readable({ read () {} })
      process.nextTick(() => stream.destroy(fileNotFound(key)))
      return stream
    }
    return Readable.from([range === undefined ? file.bytes : file.bytes.subarray(range.start, (range.end ?? file.bytes.length - 1) + 1)])
  }

  async head (key: string): Promise<FileStat | undefined> {
    const file = this.files.get(key)
    return file === undefined ? undefined : { size: file.bytes.length, modified: file.modified, contentType: file.contentType }
  }

  async delete (key: string): Promise<void> {
    this.calls.delete++
    this.files.delete(key)
  }

  async list (prefix: string, options: ListOptions): Promise<ListPage> {
    return pageOf([...this.files.keys()].filter((key) => key.startsWith(prefix)), options)
  }

  async copy (from: string, to: string): Promise<boolean> {
    this.calls.copy++
    const file = this.files.get(from)
    if (file === undefined) throw fileNotFound(from)
    if (this.files.has(to)) return false
    this.files.set(to, { ...file, modified: new Date() })
    return true
  }
}
