import { statSync } from 'node:fs'
import { lstat, readdir, realpath, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { normalizeStorageName } from '../storage/valid-name.js'
import type { StaticDir } from '../options.js'
import { isInside } from '../paths.js'
import { DEFAULT_IGNORE, ignoreMatcher } from './ignore.js'

export interface FoundFile {
  /** The path under `static.url`: prefix + path inside the dir, `/`-separated. */
  path: string
  /** Absolute path of the source file. */
  source: string
  /** The dir it was found in. */
  from: StaticDir
}

/**
 * Django's finders: an ordered list of directories, each optionally under a URL prefix. The first dir that
 * holds a path wins. Ignored names (dotfiles, `*~`, `CVS` by default) are never found, and a symlink that
 * leads outside its directory is never followed.
 */
export class StaticFinders {
  readonly #dirs: StaticDir[]
  readonly #ignored: (path: string) => boolean
  readonly #exclude: string

  /** `exclude`: a directory never searched, whatever dir contains it (static.root, where results go). */
  constructor (dirs: readonly StaticDir[], { ignore = DEFAULT_IGNORE, exclude }: { ignore?: readonly string[], exclude: string }) {
    this.#dirs = [...dirs]
    this.#ignored = ignoreMatcher(ignore)
    this.#exclude = exclude
  }

  add (dir: StaticDir): void {
    this.#dirs.push(dir)
  }

  ignored (path: string): boolean {
    return this.#ignored(path)
  }

  /** The source of a path in one dir, or undefined; the path is already normalised. */
  async #inDir (from: StaticDir, path: string): Promise<string | undefined> {
    const prefix = from.prefix === '' ? '' : `${from.prefix}/`
    if (!path.startsWith(prefix)) return undefined
    const source = join(from.dir, path.slice(prefix.length))
    if (isInside(source, this.#exclude)) return undefined
    try {
      const [real, root] = await Promise.all([realpath(source), realpath(from.dir)])
      return isInside(real, root) && (await stat(real)).isFile() ? source : undefined
    } catch {
      return undefined
    }
  }

  /**
   * Whether some dir holds a file at the (normalised) path, asked synchronously for `static()` in
   * development, to tell a name holding `?` or `#` from a query or fragment. Not a lookup for serving.
   */
  hasFileSync (path: string): boolean {
    return this.#dirs.some((from) => {
      const prefix = from.prefix === '' ? '' : `${from.prefix}/`
      return path.startsWith(prefix) && statSync(join(from.dir, path.slice(prefix.length)), { throwIfNoEntry: false })?.isFile() === true
    })
  }

  /** Every dir's copy of a path, the winner first. */
  async findAll (path: string): Promise<FoundFile[]> {
    const clean = normalizeStorageName(path)
    if (clean === undefined || this.#ignored(clean)) return []
    const found: FoundFile[] = []
    for (const from of this.#dirs) {
      const source = await this.#inDir(from, clean)
      if (source !== undefined) found.push({ path: clean, source, from })
    }
    return found
  }

  /** The winning source of a path, looked up now (files added after start are found). */
  async find (path: string): Promise<FoundFile | undefined> {
    return (await this.findAll(path))[0]
  }

  /** Every file of every dir in order, with the files that lose to an earlier dir apart. */
  async list (extraIgnore: readonly string[] = []): Promise<{ files: FoundFile[], shadowed: FoundFile[] }> {
    const ignoredExtra = ignoreMatcher(extraIgnore)
    const files = new Map<string, FoundFile>()
    const shadowed: FoundFile[] = []
    for (const from of this.#dirs) {
      let root: string
      try {
        root = await realpath(from.dir)
      } catch {
        continue
      }
      const exclude = { path: this.#exclude, real: await realpath(this.#exclude).catch(() => this.#exclude) }
      for (const { relative, source } of await walk(from.dir, root, '', exclude, new Set([root]))) {
        const path = from.prefix === '' ? relative : `${from.prefix}/${relative}`
        if (this.#ignored(path) || ignoredExtra(path)) continue
        const file = { path, source, from }
        if (files.has(path)) shadowed.push(file)
        else files.set(path, file)
      }
    }
    return { files: [...files.values()], shadowed }
  }
}

// a symlink's own entry is 'other'; what it points at is asked of the target
const kindOf = (entry: { isDirectory: () => boolean, isFile: () => boolean }): 'dir' | 'file' | 'other' =>
  entry.isDirectory() ? 'dir' : entry.isFile() ? 'file' : 'other'

/** `seen`: real paths of the directories walked so far, so a symlink loop is walked once. */
async function walk (dir: string, root: string, relative: string, exclude: { path: string, real: string }, seen: Set<string>): Promise<Array<{ relative: string, source: string }>> {
  const found: Array<{ relative: string, source: string }> = []
  const entries = new Map((await readdir(join(dir, relative), { withFileTypes: true })).map((entry) => [entry.name, entry]))
  for (const name of [...entries.keys()].sort()) {
    const entry = entries.get(name)!
    const child = relative === '' ? entry.name : `${relative}/${entry.name}`
    const source = join(dir, child)
    if (source === exclude.path) continue
    let kind = kindOf(entry)
    if (entry.isSymbolicLink()) {
      // followed only while it stays inside the directory
      const real = await realpath(source).catch(() => undefined)
      if (real === undefined || !isInside(real, root) || real === exclude.real) continue
      kind = kindOf(await lstat(real))
      if (kind === 'dir' && seen.has(real)) continue
      if (kind === 'dir') seen.add(real)
    }
    if (kind === 'dir') found.push(...await walk(dir, root, child, exclude, seen))
    else if (kind === 'file') found.push({ relative: child, source })
  }
  return found
}
