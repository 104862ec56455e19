// A storage driver as a user would write one, over a directory: the raw primitives, plus the `location`
// and `move` capabilities. With `location` the plugin serves its files from disk and checks that directory
// against the other served ones, as it does for FileSystemStorage. (Unlike FileSystemStorage it does not
// guard against symlinks planted inside its root: a user's driver decides that for itself.)
import { randomUUID } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { link, mkdir, readdir, stat, unlink, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import type { Readable } from 'node:stream'
import { pageOf, type ByteRange, type DriverContent, type DriverContext, type FileStat, type ListOptions, type ListPage, type StorageDriver } from '../../lib/index.js'

const code = (err: unknown): unknown => (err as { code?: unknown }).code

export class DirDriver implements StorageDriver {
  readonly location: string
  readonly exclusive = true
  #root: string

  constructor (location: string) {
    this.location = location
    this.#root = resolve(location)
  }

  attach ({ baseDir }: DriverContext): void {
    this.#root = resolve(baseDir, this.location)
  }

  async write (key: string, content: DriverContent): Promise<boolean> {
    const temp = join(this.#root, '.tmp', randomUUID())
    await mkdir(dirname(temp), { recursive: true })
    try {
      await writeFile(temp, content, { flag: 'wx' })
      return await this.#link(temp, key)
    } finally {
      await unlink(temp).catch(() => {})
    }
  }

  read (key: string, range?: ByteRange): Readable {
    return createReadStream(join(this.#root, key), range)
  }

  async head (key: string): Promise<FileStat | undefined> {
    const info = await stat(join(this.#root, key)).catch((err: unknown) => { if (code(err) === 'ENOENT') return undefined; throw err })
    return info?.isFile() === true ? { size: info.size, modified: info.mtime } : undefined
  }

  async delete (key: string): Promise<void> {
    await unlink(join(this.#root, key)).catch((err: unknown) => { if (code(err) !== 'ENOENT') throw err })
  }

  async list (prefix: string, options: ListOptions): Promise<ListPage> {
    const entries = await readdir(this.#root, { recursive: true, withFileTypes: true }).catch(() => [])
    const keys = entries.filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name).slice(this.#root.length + 1).split('\\').join('/'))
      .filter((key) => key.startsWith(prefix) && !key.startsWith('.tmp/'))
    return pageOf(keys, options)
  }

  // a hard link: EEXIST is the atomic "taken", and neither name ever holds a partial file
  async copy (from: string, to: string): Promise<boolean> {
    return await this.#link(join(this.#root, from), to)
  }

  async move (from: string, to: string): Promise<boolean> {
    if (!await this.#link(join(this.#root, from), to)) return false
    await unlink(join(this.#root, from))
    return true
  }

  async #link (source: string, to: string): Promise<boolean> {
    const target = join(this.#root, to)
    await mkdir(dirname(target), { recursive: true })
    try {
      await link(source, target)
    } catch (err) {
      if (code(err) === 'EEXIST') return false
      throw err
    }
    return true
  }
}
