import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join, posix } from 'node:path'

export const MANIFEST_NAME = 'staticfiles.json'
export const MANIFEST_VERSION = '1.1'

export interface Manifest {
  version: string
  /** Original path -> hashed path, both under `static.url`. */
  paths: Record<string, string>
}

/** `css/app.css` + content -> `css/app.<12 hex of md5>.css`; the last extension only (`app.css.map` -> `app.css.<hash>.map`). */
export function hashedName (path: string, content: Buffer): string {
  const hash = createHash('md5').update(content).digest('hex').slice(0, 12)
  const dir = posix.dirname(path)
  const base = posix.basename(path)
  const dot = base.lastIndexOf('.')
  const name = dot <= 0 ? `${base}.${hash}` : `${base.slice(0, dot)}.${hash}${base.slice(dot)}`
  return dir === '.' ? name : `${dir}/${name}`
}

/**
 * The manifest in `root`, or undefined when there is none, or none that is whole (collectstatic has not
 * run yet, or the file was damaged). Synchronous: read once, where a page asks for its first URL.
 */
export function readManifest (root: string): Manifest | undefined {
  try {
    const parsed = JSON.parse(readFileSync(join(root, MANIFEST_NAME), 'utf8')) as Partial<Manifest> | null
    const paths = parsed?.paths
    if (typeof paths !== 'object' || paths === null || Object.values(paths).some((value) => typeof value !== 'string')) return undefined
    return { version: String(parsed!.version), paths }
  } catch {
    return undefined
  }
}

/** `objects`: for a storage's copy, every object of the run (hashed names and their variants). */
export function serializeManifest (paths: Record<string, string>, objects?: readonly string[]): string {
  const sorted = Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a < b ? -1 : 1))
  return JSON.stringify({ version: MANIFEST_VERSION, paths: sorted, objects: objects === undefined ? undefined : [...objects].sort() }, null, 2) + '\n'
}
