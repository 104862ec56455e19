import { readFileSync, statSync, type Stats } from 'node:fs'
import { join } from 'node:path'
import { staticContentType } from '../mime.js'
import { normalizeStorageName } from '../storage/valid-name.js'
import { IMMUTABLE } from './constants.js'
import { eachInBatches } from './write-files.js'

/** One body of a file as sent: the bytes and every header that goes with them, computed once. */
export interface MemoryBody {
  readonly body: Buffer
  readonly etag: string
  /** Milliseconds, whole seconds (what Last-Modified can say). */
  readonly modified: number
  readonly headers: Readonly<Record<string, string>>
  /** The headers of a 304: no Content-* header. */
  readonly notModified: Readonly<Record<string, string>>
}

export interface MemoryFile {
  readonly identity: MemoryBody
  readonly br?: MemoryBody | undefined
  readonly gzip?: MemoryBody | undefined
  /** The encodings there is a body for, best first: the choices Accept-Encoding picks among. */
  readonly encodings: ReadonlyArray<'br' | 'gzip'>
  /** `encodings` as one string, a cache key. */
  readonly encodingSet: string
}

/**
 * What is held in memory. Small files are where a disk read costs most next to the bytes sent (open,
 * stat, read and close on the thread pool for a few KiB); a file over 1 MiB spends its time on the wire
 * and stays on disk. The total (all bodies, compressed ones included) is capped so a tree with a large
 * vendor directory cannot take the heap: past the cap, files are served from disk as before.
 */
export const MEMORY_LIMITS = { maxFileSize: 1024 * 1024, maxTotal: 64 * 1024 * 1024 }

export type MemoryLimits = typeof MEMORY_LIMITS

function statOrUndefined (path: string): Stats | undefined {
  try {
    return statSync(path)
  } catch {
    // missing, or a path through a file (ENOTDIR): the disk path answers 404 alike
    return undefined
  }
}

function loadBody (path: string, stats: Stats, type: string, encoding: string | undefined): MemoryBody {
  const body = readFileSync(path)
  // send's weak ETag and Last-Modified, so a client revalidates the same way whichever path served it
  const etag = `W/"${body.length.toString(16)}-${stats.mtime.getTime().toString(16)}"`
  const lastModified = stats.mtime.toUTCString()
  const notModified: Record<string, string> = {
    'accept-ranges': 'bytes',
    'last-modified': lastModified,
    etag,
    'cache-control': IMMUTABLE,
    // shared caches keep one copy per encoding
    vary: 'accept-encoding'
  }
  const headers: Record<string, string> = { ...notModified, 'content-type': type, 'content-length': String(body.length) }
  if (encoding !== undefined) headers['content-encoding'] = encoding
  return { body, etag, modified: Date.parse(lastModified), headers, notModified }
}

function loadVariant (path: string, type: string, encoding: string): MemoryBody | undefined {
  const stats = statOrUndefined(path)
  return stats?.isFile() === true ? loadBody(path, stats, type, encoding) : undefined
}

/**
 * The hashed files of static.root held in memory with their headers and `.br`/`.gz` bodies, as WhiteNoise
 * indexes its files at startup. A hashed name's bytes never change, so nothing is looked up on disk again.
 */
export class MemoryFiles {
  #files = new Map<string, MemoryFile>()
  #bytes = 0
  readonly #limits: MemoryLimits

  constructor (limits: MemoryLimits = MEMORY_LIMITS) {
    this.#limits = limits
  }

  get (path: string): MemoryFile | undefined {
    return this.#files.get(path)
  }

  get size (): number {
    return this.#files.size
  }

  /** Bytes held, compressed bodies included. */
  get bytes (): number {
    return this.#bytes
  }

  /**
   * Replaces what is held with `names` (paths under root, from the manifest), smallest first until the
   * total cap. A name already held is kept without touching the disk (a hashed name's bytes never change,
   * so a collectstatic that changed nothing reads nothing). A name that is not a clean relative path, or
   * not a file, is left to the disk path. Synchronous reads in batches (see eachInBatches): thousands of
   * small files load several times faster than through promise-based fs.
   */
  async load (root: string, names: readonly string[]): Promise<void> {
    const candidates: Array<{ name: string, size: number, held?: MemoryFile, stats?: Stats }> = []
    await eachInBatches([...new Set(names)], (name) => {
      const held = this.#files.get(name)
      if (held !== undefined) {
        candidates.push({ name, size: held.identity.body.length, held })
        return
      }
      if (normalizeStorageName(name) !== name) return
      const stats = statOrUndefined(join(root, name))
      if (stats?.isFile() === true && stats.size <= this.#limits.maxFileSize) candidates.push({ name, size: stats.size, stats })
    })
    candidates.sort((a, b) => a.size - b.size || Number(a.name > b.name) - Number(a.name < b.name))
    const files = new Map<string, MemoryFile>()
    let bytes = 0
    await eachInBatches(candidates, ({ name, size, held, stats }) => {
      // smallest first: once a file alone does not fit, no later one does
      if (bytes + size > this.#limits.maxTotal) return
      const file = held ?? loadFile(join(root, name), stats!)
      const total = file.identity.body.length + (file.br?.body.length ?? 0) + (file.gzip?.body.length ?? 0)
      if (bytes + total > this.#limits.maxTotal) return
      files.set(name, file)
      bytes += total
    })
    this.#files = files
    this.#bytes = bytes
  }
}

function loadFile (path: string, stats: Stats): MemoryFile {
  const type = staticContentType(path)
  const identity = loadBody(path, stats, type, undefined)
  const br = loadVariant(`${path}.br`, type, 'br')
  const gzip = loadVariant(`${path}.gz`, type, 'gzip')
  const encodings = ([['br', br], ['gzip', gzip]] as const).filter(([, body]) => body !== undefined).map(([name]) => name)
  return { identity, br, gzip, encodings, encodingSet: encodings.join() }
}
