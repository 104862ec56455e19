import { randomUUID } from 'node:crypto'
import { copyFile, mkdir, open, readFile, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { FST_MEDIA_COLLECT } from '../errors.js'
import { compressVariants } from './compress.js'

/** How many files are read, copied or compressed at once: bounded, so 10 000 files never exhaust fds. */
const CONCURRENCY = 16

export async function forEachLimited<T> (items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++] as T)
  }
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, worker))
}

// Every file lands under its name complete or not at all: a server reading static.root during a run, or
// a run killed half-way, never meets a half-written file (an existing hashed name is trusted as complete).
async function replaceWith (target: string, write: (temp: string) => Promise<void>): Promise<void> {
  await mkdir(dirname(target), { recursive: true })
  const temp = join(dirname(target), `.${basename(target)}.${randomUUID()}.tmp`)
  try {
    await write(temp)
    await rename(temp, target)
  } catch (err) {
    await rm(temp, { force: true })
    throw err
  }
}

export async function writeAtomically (target: string, content: Buffer | string): Promise<void> {
  await replaceWith(target, async (temp) => await writeFile(temp, content))
}

/**
 * Copies unless the target has the source's size and modification time (set on the copy for that; utimes
 * keeps it to within a microsecond or so, hence the tolerance). `pretendEmpty`: a dry run of --clear.
 */
export async function copyIfChanged (source: string, target: string, { dryRun, pretendEmpty }: { dryRun: boolean, pretendEmpty: boolean }): Promise<boolean> {
  const from = await stat(source)
  const existing = pretendEmpty ? undefined : await stat(target).catch(() => undefined)
  if (existing !== undefined && existing.size === from.size && Math.abs(existing.mtimeMs - from.mtimeMs) < 0.01) return false
  if (!dryRun) {
    await replaceWith(target, async (temp) => {
      await copyFile(source, temp)
      await utimes(temp, from.atimeMs / 1000, from.mtimeMs / 1000)
    })
  }
  return true
}

/**
 * Keeps `.br` and `.gz` beside a file true to it: made again when the file was written this run or changed
 * after a variant was (its ctime moves on every copy, whatever mtime the source carries), removed when not
 * worth it, and removed when compression is off (unless the project ships them as files of its own).
 */
export async function updateVariants (path: string, { written, compress, shipped }: { written: boolean, compress: boolean, shipped: (variant: string) => boolean }): Promise<void> {
  const variants = [`${path}.br`, `${path}.gz`] as const
  if (!compress) {
    if (written) await Promise.all(variants.filter((variant) => !shipped(variant)).map(async (variant) => await rm(variant, { force: true })))
    return
  }
  const file = await stat(path)
  // a variant that exists says the file was compressed (its missing sibling was not worth it)
  const existing = (await Promise.all(variants.map(async (variant) => (await stat(variant).catch(() => undefined))?.mtimeMs)))
    .filter((mtime) => mtime !== undefined)
  if (!written && existing.length > 0 && existing.every((mtime) => mtime >= file.ctimeMs)) return
  const { br, gz } = await compressVariants(await readFile(path))
  for (const [variant, content] of [[variants[0], br], [variants[1], gz]] as const) {
    if (content === undefined) await rm(variant, { force: true })
    else await writeAtomically(variant, content)
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
