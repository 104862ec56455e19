import { randomUUID } from 'node:crypto'
import { createReadStream, createWriteStream, statSync, type Stats } from 'node:fs'
import { chmod, mkdir, open, readdir, rename, rm, utimes, writeFile } from 'node:fs/promises'
import { pipeline } from 'node:stream/promises'
import { setImmediate } from 'node:timers/promises'
import { dirname, join } from 'node:path'
import { FST_MEDIA_COLLECT } from '../errors.js'

const BATCH = 200

/**
 * Quick synchronous work (a stat, reading a small file) over many items, yielding to the event loop
 * between batches. For thousands of small files, promise-based fs costs 3 to 5 times what the same calls
 * cost synchronously (a thread-pool round trip and a promise each); batches keep a server that runs
 * collectstatic in-process answering within a few milliseconds.
 */
export async function eachInBatches<T> (items: readonly T[], work: (item: T) => void): Promise<void> {
  for (let start = 0; start < items.length; start += BATCH) {
    if (start > 0) await setImmediate()
    for (const item of items.slice(start, start + BATCH)) work(item)
  }
}

// Every file lands under its name complete or not at all: a server reading static.root during a run, or
// a run killed half-way, never meets a half-written file (an existing hashed name is trusted as complete).
// Most writes go to a directory that exists: it is made (and the write tried again) only when one fails.
// Every file is created anew, so the umask decides its mode, the same for copies and hashed files (a
// copyFile would carry the source's mode over); `mode` then sets it whatever the umask.
async function replaceWith (target: string, write: (temp: string) => Promise<void>, mode: number | undefined): Promise<void> {
  // short whatever the name: a name near the file system's 255 bytes still gets a temp name beside it
  const temp = join(dirname(target), `.collectstatic-${randomUUID()}.tmp`)
  try {
    await write(temp).catch(async () => {
      await mkdir(dirname(target), { recursive: true })
      await write(temp)
    })
    if (mode !== undefined) await chmod(temp, mode)
    await rename(temp, target)
  } catch (err) {
    await rm(temp, { force: true })
    throw err
  }
}

export async function writeAtomically (target: string, content: Buffer | string, mode?: number): Promise<void> {
  await replaceWith(target, async (temp) => await writeFile(temp, content), mode)
}

/**
 * True when the target has the source's size and modification time (set on the copy for that; utimes
 * keeps it to within a microsecond or so, hence the tolerance).
 */
export function isCopyOf (source: Stats, target: Stats | undefined): boolean {
  return target !== undefined && target.size === source.size && Math.abs(target.mtimeMs - source.mtimeMs) < 0.01
}

export async function copyWithTimes (source: string, target: string, times: Stats, mode: number | undefined): Promise<void> {
  await replaceWith(target, async (temp) => {
    await pipeline(createReadStream(source), createWriteStream(temp))
    await utimes(temp, times.atimeMs / 1000, times.mtimeMs / 1000)
  }, mode)
}

/**
 * What keeps `.br` and `.gz` beside a file true to it: make them again when the file was written this run
 * or changed after a variant was (its ctime moves on every copy, whatever mtime the source carries); drop
 * them when compression is off (unless the project ships them as files of its own). Synchronous stats:
 * see eachInBatches.
 */
export function variantAction (path: string, { written, compress, shipped }: { written: boolean, compress: boolean, shipped: (variant: string) => boolean }): 'compress' | 'remove' | undefined {
  if (!compress) return written && variantsOf(path).some((variant) => !shipped(variant)) ? 'remove' : undefined
  const file = statSync(path)
  // a variant that exists says the file was compressed (its missing sibling was not worth it)
  const existing = variantsOf(path).map((variant) => statSync(variant, { throwIfNoEntry: false })?.mtimeMs).filter((mtime) => mtime !== undefined)
  return !written && existing.length > 0 && existing.every((mtime) => mtime >= file.ctimeMs) ? undefined : 'compress'
}

export const variantsOf = (path: string): [string, string] => [`${path}.br`, `${path}.gz`]

/** Writes the variants that are worth it and removes the ones that are not. */
export async function writeVariants (path: string, { br, gz }: { br?: Buffer | undefined, gz?: Buffer | undefined }, mode: number | undefined): Promise<void> {
  const [brPath, gzPath] = variantsOf(path)
  for (const [variant, content] of [[brPath, br], [gzPath, gz]] as const) {
    if (content === undefined) await rm(variant, { force: true })
    else await writeAtomically(variant, content, mode)
  }
}

export const LOCK_NAME = '.collectstatic.lock'

/** One collectstatic at a time per static.root; a run that was killed leaves the lock, and says so. */
export async function withLock<T> (root: string, work: () => Promise<T>): Promise<T> {
  await mkdir(root, { recursive: true })
  const lock = join(root, LOCK_NAME)
  const handle = await open(lock, 'wx').catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err
    throw new FST_MEDIA_COLLECT(`another collectstatic is running on ${root} (if none is, one was killed: remove ${lock})`)
  })
  await handle.close()
  try {
    return await work()
  } finally {
    await rm(lock, { force: true })
  }
}

/** Empties static.root but for the lock. */
export async function clearRoot (root: string): Promise<void> {
  for (const entry of await readdir(root)) {
    if (entry !== LOCK_NAME) await rm(join(root, entry), { recursive: true, force: true })
  }
}
