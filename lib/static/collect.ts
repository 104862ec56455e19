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
  // hashed before anything is written: a broken reference fails the run with static.root untouched
  const outputs = options.postProcess === false ? undefined : await hashAll(files, url)

  const copied: string[] = []
  const unmodified: string[] = []
  for (const file of files) {
    if (await copyIfChanged(file, join(root, file.path), dryRun)) copied.push(file.path)
    else unmodified.push(file.path)
    progress()
  }
  const written = new Set(copied)

  const result: CollectResult = { copied, unmodified, postProcessed: [], shadowed, manifest: {} }
  if (outputs !== undefined) {
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

  if (!dryRun) {
    const targets = [...files.map((file) => file.path), ...Object.values(result.manifest)].filter(isCompressible)
    await Promise.all(targets.map((path) => updateVariants(join(root, path), written.has(path), options.compress !== false)))
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
    // a read-only source makes a read-only copy, which copyFile could not overwrite next time
    await rm(target, { force: true })
    await copyFile(file.source, target)
    await utimes(target, source.atimeMs / 1000, source.mtimeMs / 1000)
  }
  return true
}

/**
 * The hashed name and final content of every file. A CSS file's hash covers the hashed names it points
 * at, so a changed font renames every stylesheet that uses it: references are rewritten from the original
 * text, files that others reference first, and again until no name changes. Only a cycle of references
 * can keep names changing; after a few passes that is an error naming the files.
 */
async function hashAll (files: FoundFile[], url: string): Promise<Map<string, { hashed: string, content: Buffer }>> {
  const originals = new Map<string, Buffer>()
  await Promise.all(files.map(async (file) => { originals.set(file.path, await readFile(file.source)) }))
  const outputs = new Map<string, { hashed: string, content: Buffer }>()
  for (const file of files) {
    const content = originals.get(file.path)!
    outputs.set(file.path, { hashed: hashedName(file.path, content), content })
  }
  const rewrite = (path: string) => rewriteReferences(path, originals.get(path)!.toString('utf8'), url, (target) => outputs.get(target)?.hashed)

  const adjustable = files.map((file) => file.path).filter(isAdjustable)
  const references = new Map(adjustable.map((path) => [path, rewrite(path)]))
  const missing = [...references].flatMap(([path, { missing }]) => missing.map((reference) => `${path} references ${reference}, which is not a collected file`))
  if (missing.length > 0) throw new FST_MEDIA_COLLECT(missing.join('; '))

  const order = dependencyOrder(adjustable, (path) => references.get(path)!.references)
  let changed: string[] = []
  for (let pass = 1; pass <= MAX_PASSES; pass++) {
    changed = []
    for (const path of order) {
      const content = Buffer.from(rewrite(path).content)
      const hashed = hashedName(path, content)
      if (hashed !== outputs.get(path)!.hashed) changed.push(path)
      outputs.set(path, { hashed, content })
    }
    if (changed.length === 0) return outputs
  }
  throw new FST_MEDIA_COLLECT(`hashed names did not settle after ${MAX_PASSES} passes: ${changed.join(', ')} reference each other in a cycle`)
}

/** Paths ordered so that what a file references comes before it (depth first; a cycle is cut anywhere). */
function dependencyOrder (paths: string[], referencesOf: (path: string) => string[]): string[] {
  const adjustable = new Set(paths)
  const order: string[] = []
  const visited = new Set<string>()
  const visit = (path: string): void => {
    if (visited.has(path)) return
    visited.add(path)
    for (const reference of referencesOf(path)) if (adjustable.has(reference)) visit(reference)
    order.push(path)
  }
  for (const path of paths) visit(path)
  return order
}

async function exists (path: string): Promise<boolean> {
  return await stat(path).then(() => true, () => false)
}

async function writeAt (target: string, content: Buffer | string): Promise<void> {
  await mkdir(dirname(target), { recursive: true })
  await writeFile(target, content)
}

/**
 * Keeps `.br` and `.gz` beside a file true to it: made again when the file was written this run or is
 * newer than a variant (an earlier run that did not compress), removed when not worth it, and removed
 * (never left stale) when compression is off. A file whose variants were not worth it is tried again on
 * the next run, which writes nothing when they still are not.
 */
async function updateVariants (path: string, written: boolean, compress: boolean): Promise<void> {
  const variants = [`${path}.br`, `${path}.gz`]
  if (!compress) {
    if (written) await Promise.all(variants.map(async (variant) => await rm(variant, { force: true })))
    return
  }
  const file = await stat(path)
  // a variant that exists says the file was compressed (its missing sibling was not worth it)
  const existing = (await Promise.all(variants.map(async (variant) => (await stat(variant).catch(() => undefined))?.mtimeMs)))
    .filter((mtime) => mtime !== undefined)
  if (!written && existing.length > 0 && existing.every((mtime) => mtime >= file.mtimeMs)) return
  const { br, gz } = await compressVariants(await readFile(path))
  for (const [variant, content] of [[variants[0], br], [variants[1], gz]] as const) {
    if (content === undefined) await rm(variant!, { force: true })
    else await writeFile(variant!, content)
  }
}
