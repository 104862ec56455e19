import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { FST_MEDIA_COLLECT } from '../errors.js'
import { isCompressible } from './compress.js'
import type { FoundFile, StaticFinders } from './finders.js'
import { hashAll } from './hash-all.js'
import { MANIFEST_NAME, serializeManifest } from './manifest.js'
import type { Storage } from '../storage/storage.js'
import { uploadStatic } from './upload-static.js'
import { clearRoot, copyIfChanged, forEachLimited, updateVariants, withLock, writeAtomically } from './write-files.js'

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
  /** Objects uploaded to `static.storage` this run (none without one). */
  uploaded: string[]
}

export interface CollectTarget {
  root: string
  url: string
  finders: StaticFinders
  /** Where the hashed files go as well (a bucket behind a CDN). */
  storage?: Storage
}

export const summary = (result: CollectResult): string =>
  `${result.copied.length} copied, ${result.unmodified.length} unmodified, ${result.postProcessed.length} post-processed`

const VARIANT = /\.(br|gz)$/

/**
 * Django's collectstatic with ManifestStaticFilesStorage: copies every found file to `static.root`, then
 * writes each again under a name with the hash of its final content, CSS and source-map references
 * rewritten to those names, a manifest, and compressed variants. Everything is checked before anything is
 * written (--clear included); every write is atomic; a run over an unchanged tree writes nothing at all.
 */
export async function collectStatic (target: CollectTarget, options: CollectOptions = {}): Promise<CollectResult> {
  const dryRun = options.dryRun === true
  const compress = options.compress !== false
  const { files, shadowed } = await target.finders.list(options.ignore ?? [])
  const sources = new Set(files.map((file) => file.path))
  if (compress) {
    const shippedVariant = files.find((file) => VARIANT.test(file.path) && sources.has(file.path.replace(VARIANT, '')))
    if (shippedVariant !== undefined) {
      throw new FST_MEDIA_COLLECT(`${shippedVariant.path} is a compressed variant in ${shippedVariant.from.dir}: collectstatic makes those itself (remove it, or pass --no-compress)`)
    }
  }
  const outputs = options.postProcess === false ? undefined : await hashAll(files, target.url)
  if (dryRun) return await run(target, options, files, shadowed, outputs, sources)
  return await withLock(target.root, async () => {
    if (options.clear === true) await clearRoot(target.root)
    return await run(target, options, files, shadowed, outputs, sources)
  })
}

async function run ({ root, storage }: CollectTarget, options: CollectOptions, files: FoundFile[], shadowed: FoundFile[], outputs: Awaited<ReturnType<typeof hashAll>> | undefined, sources: Set<string>): Promise<CollectResult> {
  const dryRun = options.dryRun === true
  const pretendEmpty = dryRun && options.clear === true
  const total = files.length * (outputs === undefined ? 1 : 2)
  let done = 0
  const progress = () => options.onProgress?.(++done, total)

  const result: CollectResult = { copied: [], unmodified: [], postProcessed: [], shadowed, manifest: {}, uploaded: [] }
  const written = new Set<string>()
  await forEachLimited(files, async (file) => {
    const copied = await copyIfChanged(file.source, join(root, file.path), { dryRun, pretendEmpty })
    if (copied) written.add(file.path)
    progress()
  })
  for (const file of files) (written.has(file.path) ? result.copied : result.unmodified).push(file.path)

  if (outputs !== undefined) {
    const entries = [...outputs]
    // the name is the hash of the content, and files land atomically: an existing hashed file is this one
    const fresh = new Set<string>()
    await forEachLimited(entries, async ([, { hashed, content }]) => {
      const exists = !pretendEmpty && await stat(join(root, hashed)).then(() => true, () => false)
      if (!exists) {
        fresh.add(hashed)
        if (!dryRun) await writeAtomically(join(root, hashed), content)
      }
      progress()
    })
    for (const [path, { hashed }] of entries) {
      result.manifest[path] = hashed
      if (fresh.has(hashed)) {
        result.postProcessed.push(hashed)
        written.add(hashed)
      }
    }
    const manifest = serializeManifest(result.manifest)
    const manifestPath = join(root, MANIFEST_NAME)
    if (!dryRun && await readFile(manifestPath, 'utf8').catch(() => undefined) !== manifest) await writeAtomically(manifestPath, manifest)
  }

  if (!dryRun) {
    const targets = [...files.map((file) => file.path), ...Object.values(result.manifest)].filter(isCompressible)
    await forEachLimited(targets, async (path) => await updateVariants(join(root, path), {
      written: written.has(path),
      compress: options.compress !== false,
      shipped: (variant) => sources.has(variant.slice(root.length + 1))
    }))
  }
  if (storage !== undefined && outputs !== undefined) {
    const variantsOf = async (name: string) => (await Promise.all(['br', 'gz'].map(async (ext) => await stat(join(root, `${name}.${ext}`)).then(() => [`${name}.${ext}`], () => [])))).flat()
    result.uploaded = await uploadStatic(storage, root, Object.values(result.manifest), { dryRun, variants: variantsOf })
  }
  return result
}
