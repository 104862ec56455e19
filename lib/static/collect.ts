import { copyFile, mkdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { FST_MEDIA_COLLECT } from '../errors.js'
import { compressVariants, isCompressible } from './compress.js'
import type { FoundFile, StaticFinders } from './finders.js'
import { hashedName, MANIFEST_NAME, serializeManifest } from './manifest.js'
import { isAdjustable, rewriteReferences } from './rewrite.js'

export interface CollectOptions {
  /** Empty `static.root` first. */
  clear?: boolean
  /** Report what would happen; write nothing. */
  dryRun?: boolean
  /** More glob patterns to leave out (`*.scss`, `vendor/**`). */
  ignore?: readonly string[]
  /** Hash names, rewrite references and write the manifest (default true). */
  postProcess?: boolean
  /** Write `.br` and `.gz` variants (default true). */
  compress?: boolean
  /** Told as files are handled, for a progress bar. */
  onProgress?: (done: number, total: number) => void
}

export interface CollectResult {
  /** Paths copied under their original name this run. */
  copied: string[]
  unmodified: string[]
  /** Hashed files written this run. */
  postProcessed: string[]
  /** Files that lose to an earlier dir. */
  shadowed: FoundFile[]
  /** Original path -> hashed path. */
  manifest: Record<string, string>
}

export interface CollectTarget {
  root: string
  url: string
  finders: StaticFinders
}

const MAX_PASSES = 5

export const summary = (result: CollectResult): string =>
  `${result.copied.length} copied, ${result.unmodified.length} unmodified, ${result.postProcessed.length} post-processed`

/**
 * Django's collectstatic with ManifestStaticFilesStorage: copies every found file to `static.root`, then
 * writes each again under a name with the hash of its final content, CSS and source-map references
 * rewritten to those names, a manifest, and compressed variants. Incremental: a run over an unchanged
 * tree writes nothing at all.
 */
export async function collectStatic ({ root, url, finders }: CollectTarget, options: CollectOptions = {}): Promise<CollectResult> {
  const dryRun = options.dryRun === true
  if (options.clear === true && !dryRun) await rm(root, { recursive: true, force: true })
  const { files, shadowed } = await finders.list(options.ignore ?? [])
  const total = files.length * (options.postProcess === false ? 1 : 2)
  let done = 0
  const progress = () => options.onProgress?.(++done, total)

  const copied: string[] = []
  const unmodified: string[] = []
  for (const file of files) {
    if (await copyIfChanged(file, join(root, file.path), dryRun)) copied.push(file.path)
    else unmodified.push(file.path)
    progress()
  }
  const written = new Set(copied)

  const result: CollectResult = { copied, unmodified, postProcessed: [], shadowed, manifest: {} }
  if (options.postProcess !== false) {
    const outputs = await hashAll(files, url)
    for (const [path, { hashed, content }] of outputs) {
      result.manifest[path] = hashed
      const target = join(root, hashed)
      // the name is the hash of the content: an existing file is this file
      if (!await exists(target)) {
        result.postProcessed.push(hashed)
        written.add(hashed)
        if (!dryRun) await writeAt(target, content)
      }
      progress()
    }
    const manifest = serializeManifest(result.manifest)
    const manifestPath = join(root, MANIFEST_NAME)
    if (!dryRun && await readFile(manifestPath, 'utf8').catch(() => undefined) !== manifest) await writeAt(manifestPath, manifest)
  }

  if (options.compress !== false && !dryRun) {
    await Promise.all([...written].filter(isCompressible).map((path) => writeVariants(join(root, path))))
  }
  return result
}

/**
 * Copies unless the target has the source's size and modification time (set on the copy for that; utimes
 * keeps it to within a microsecond or so, hence the tolerance).
 */
async function copyIfChanged (file: FoundFile, target: string, dryRun: boolean): Promise<boolean> {
  const source = await stat(file.source)
  const existing = await stat(target).catch(() => undefined)
  if (existing !== undefined && existing.size === source.size && Math.abs(existing.mtimeMs - source.mtimeMs) < 0.01) return false
  if (!dryRun) {
    await mkdir(dirname(target), { recursive: true })
    await copyFile(file.source, target)
    await utimes(target, source.atimeMs / 1000, source.mtimeMs / 1000)
  }
  return true
}

/**
 * The hashed name and final content of every file. References are rewritten from the original text each
 * pass, with the names of the pass before, until no name changes: a CSS file's hash covers the hashed
 * names it points at, so a changed font renames every stylesheet that uses it.
 */
async function hashAll (files: FoundFile[], url: string): Promise<Map<string, { hashed: string, content: Buffer }>> {
  const originals = new Map<string, Buffer>()
  await Promise.all(files.map(async (file) => { originals.set(file.path, await readFile(file.source)) }))
  const outputs = new Map<string, { hashed: string, content: Buffer }>()
  for (const file of files) {
    const content = originals.get(file.path)!
    outputs.set(file.path, { hashed: hashedName(file.path, content), content })
  }

  const adjustable = files.filter((file) => isAdjustable(file.path))
  for (let pass = 1; ; pass++) {
    let changed = false
    const missing: string[] = []
    for (const file of adjustable) {
      const rewritten = rewriteReferences(file.path, originals.get(file.path)!.toString('utf8'), url, (path) => outputs.get(path)?.hashed)
      for (const reference of rewritten.missing) missing.push(`${file.path} references ${reference}, which is not a collected file`)
      const content = Buffer.from(rewritten.content)
      const hashed = hashedName(file.path, content)
      if (hashed !== outputs.get(file.path)!.hashed) changed = true
      outputs.set(file.path, { hashed, content })
    }
    if (missing.length > 0) throw new FST_MEDIA_COLLECT(missing.join('; '))
    if (!changed) return outputs
    if (pass === MAX_PASSES) throw new FST_MEDIA_COLLECT(`hashed names did not settle after ${MAX_PASSES} passes (files that reference each other in a cycle?)`)
  }
}

async function exists (path: string): Promise<boolean> {
  return await stat(path).then(() => true, () => false)
}

async function writeAt (target: string, content: Buffer | string): Promise<void> {
  await mkdir(dirname(target), { recursive: true })
  await writeFile(target, content)
}

/** `.br` and `.gz` beside a file; a variant that is not worth it is removed, never left stale. */
async function writeVariants (path: string): Promise<void> {
  const variants = await compressVariants(await readFile(path))
  for (const [ext, content] of Object.entries(variants)) {
    if (content === undefined) await rm(`${path}.${ext}`, { force: true })
    else await writeFile(`${path}.${ext}`, content)
  }
}
