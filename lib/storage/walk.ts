import type { Dirent } from 'node:fs'
import { lstat, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { ListOptions } from './driver.js'

/** A file of a walk: its key and last modification. */
interface Walked {
  key: string
  modified: Date
}

// names in one directory are unique, and a directory's `name/` is no file's name: never equal
const byteOrder = (a: { order: string }, b: { order: string }): number => a.order < b.order ? -1 : 1

/**
 * The files under `dir` (relative to `root`), dotfiles and dot-directories left out, in the byte order of
 * their keys: a directory `d` sorts as `d/`, so `d-1` comes before `d/a` as it does in an S3 listing. Entries
 * whose keys are all at or before `after` are passed over without being read.
 */
async function * walk (root: string, dir: string, after: string | undefined): AsyncGenerator<Walked> {
  const entries: Dirent[] = await readdir(join(root, dir), { withFileTypes: true }).catch(() => [])
  const sorted = entries
    .filter((entry) => !entry.name.startsWith('.') && (entry.isFile() || entry.isDirectory()))
    .map((entry) => {
      const key = dir === '' ? entry.name : `${dir}/${entry.name}`
      return { key, directory: entry.isDirectory(), order: entry.isDirectory() ? `${key}/` : key }
    })
    .sort(byteOrder)
  for (const { key, directory, order } of sorted) {
    if (directory) {
      if (after === undefined || order > after || after.startsWith(order)) yield * walk(root, key, after)
    } else if (after === undefined || key > after) {
      // a file removed since the directory was read is not listed
      const info = await lstat(join(root, key)).catch(() => undefined)
      if (info !== undefined) yield { key, modified: info.mtime }
    }
  }
}

/**
 * A page of the keys under `prefix` (a string prefix: `dir/` or '') after `cursor`, read a directory at a
 * time: a page costs the directories on its way, never the whole tree, so a sweep of a million files runs in
 * the memory of one page (and of the largest directory's names).
 */
export async function walkPage (root: string, prefix: string, { cursor, limit = 1000 }: ListOptions): Promise<{ keys: string[], modified: Date[], cursor?: string }> {
  const keys: string[] = []
  const modified: Date[] = []
  const start = prefix.slice(0, prefix.lastIndexOf('/') + 1).replace(/\/$/, '')
  for await (const file of walk(root, start, cursor)) {
    if (!file.key.startsWith(prefix)) continue
    if (keys.length === limit) return { keys, modified, cursor: keys.at(-1) }
    keys.push(file.key)
    modified.push(file.modified)
  }
  return { keys, modified }
}
