import { createHash } from 'node:crypto'
import { readFileSync, statSync, type Stats } from 'node:fs'
import { readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { forEachLimited } from '../concurrency.js'
import { FST_MEDIA_COLLECT, FST_MEDIA_INVALID_OPTION } from '../errors.js'
import { brotliQualityOf, compressVariants, isCompressible } from './compress.js'
import { COMPRESSED_VARIANT, FILES_AT_ONCE } from './constants.js'
import type { FoundFile, StaticFinders } from './finders.js'
import { hashAll, type HashedFiles } from './hash-all.js'
import { MANIFEST_NAME, serializeManifest } from './manifest.js'
import type { Storage } from '../storage/storage.js'
import { uploadStatic } from './upload-static.js'
import { clearRoot, copyWithTimes, eachInBatches, isCopyOf, variantAction, variantsOf, withLock, writeAtomically, writeVariants } from './write-files.js'

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
  /**
   * Brotli's quality for the `.br` variants, 0 to 11 (default 11, the smallest files). Quality 11 is most of
   * a cold run's time; 9 or 10 give files a few percent larger several times faster. Variants already
   * written are kept until their file changes.
   */
  brotliQuality?: number
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
  /** Permission bits of every file written; undefined: the umask decides. */
  fileMode?: number | undefined
}

export const summary = (result: CollectResult): string =>
  `${result.copied.length} copied, ${result.unmodified.length} unmodified, ${result.postProcessed.length} post-processed`

/**
 * Django's collectstatic with ManifestStaticFilesStorage: copies every found file to `static.root`, then
 * writes each again under a name with the hash of its final content, CSS and source-map references
 * rewritten to those names, a manifest, and compressed variants. Everything is checked before anything is
 * written (--clear included); every write is atomic; a run over an unchanged tree writes nothing at all.
 */
export async function collectStatic (target: CollectTarget, options: CollectOptions = {}): Promise<CollectResult> {
  const dryRun = options.dryRun === true
  const compress = options.compress !== false
  brotliQualityOf(options.brotliQuality, (why) => new FST_MEDIA_INVALID_OPTION('collectstatic.brotliQuality', why))
  const { files, shadowed } = await target.finders.list(options.ignore ?? [])
  const sources = new Set(files.map((file) => file.path))
  if (compress) {
    const shippedVariant = files.find((file) => COMPRESSED_VARIANT.test(file.path) && sources.has(file.path.replace(COMPRESSED_VARIANT, '')))
    if (shippedVariant !== undefined) {
      throw new FST_MEDIA_COLLECT(`${shippedVariant.path} is a compressed variant in ${shippedVariant.from.dir}: collectstatic makes those itself (remove it, or pass --no-compress)`)
    }
  }
  const outputs = options.postProcess === false ? undefined : await hashAll(files, target.url)
  if (dryRun) return await run(target, options, files, shadowed, outputs, sources)
  return await withLock(target.root, async () => {
    if (options.clear === true) await clearRoot(target.root)
    return await run(target, options, files, shadowed, outputs, sources)
  }).catch((err: NodeJS.ErrnoException) => {
    // a file system refusal (a file where a directory must go, a full disk) is collectstatic's error,
    // with the system's words and the cause kept; a storage's own error stays as it is
    throw typeof err.syscall === 'string' ? new FST_MEDIA_COLLECT(`cannot write to ${target.root}: ${err.message}`, { cause: err }) : err
  })
}

async function run ({ root, storage, fileMode }: CollectTarget, options: CollectOptions, files: FoundFile[], shadowed: FoundFile[], outputs: HashedFiles | undefined, sources: Set<string>): Promise<CollectResult> {
  const dryRun = options.dryRun === true
  const pretendEmpty = dryRun && options.clear === true
  const total = files.length * (outputs === undefined ? 1 : 2)
  let done = 0
  const progress = () => options.onProgress?.(++done, total)
  const existing = (path: string) => pretendEmpty ? undefined : statSync(path, { throwIfNoEntry: false })

  const result: CollectResult = { copied: [], unmodified: [], postProcessed: [], shadowed, manifest: {}, uploaded: [] }
  const written = new Set<string>()
  // metadata first, in batches; then the copies, concurrently
  const copies: Array<{ file: FoundFile, stats: Stats }> = []
  await eachInBatches(files, (file) => {
    const stats = statSync(file.source)
    if (isCopyOf(stats, existing(join(root, file.path)))) progress()
    else copies.push({ file, stats })
  })
  await forEachLimited(copies, FILES_AT_ONCE, async ({ file, stats }) => {
    if (!dryRun) await copyWithTimes(file.source, join(root, file.path), stats, fileMode)
    written.add(file.path)
    progress()
  })
  for (const file of files) (written.has(file.path) ? result.copied : result.unmodified).push(file.path)

  if (outputs !== undefined) {
    const entries = [...outputs]
    // the name is the hash of the content, and files land atomically: an existing hashed file is this one
    const fresh = new Map<string, Buffer>()
    await eachInBatches(entries, ([, { hashed, content }]) => {
      // a directory squatting the name is no hashed file: the write fails and says so
      if (existing(join(root, hashed))?.isFile() !== true) fresh.set(hashed, content)
      else progress()
    })
    await forEachLimited([...fresh], FILES_AT_ONCE, async ([hashed, content]) => {
      if (!dryRun) await writeAtomically(join(root, hashed), content, fileMode)
      progress()
    })
    for (const [path, { hashed }] of entries) {
      result.manifest[path] = hashed
      if (fresh.has(hashed)) {
        result.postProcessed.push(hashed)
        written.add(hashed)
      }
    }
  }

  if (!dryRun) await updateAllVariants(root, [...files.map((file) => file.path), ...Object.values(result.manifest)].filter(isCompressible), { written, compress: options.compress !== false, sources, fileMode, brotliQuality: options.brotliQuality })
  if (storage !== undefined && outputs !== undefined) {
    const variantsOf = async (name: string) => (await Promise.all(['br', 'gz'].map(async (ext) => await stat(join(root, `${name}.${ext}`)).then(() => [`${name}.${ext}`], () => [])))).flat()
    result.uploaded = await uploadStatic(storage, root, result.manifest, { dryRun, variants: variantsOf })
  }
  // last: a server that starts (or a collect that fails) before this point still has the previous
  // manifest, whose files are all still there
  if (!dryRun && outputs !== undefined) {
    const manifest = serializeManifest(result.manifest)
    const manifestPath = join(root, MANIFEST_NAME)
    if (await readFile(manifestPath, 'utf8').catch(() => undefined) !== manifest) await writeAtomically(manifestPath, manifest, fileMode)
  }
  return result
}

/**
 * Brings every `.br`/`.gz` up to date. A file's original name and its hashed name often hold the same
 * bytes (no reference to rewrite): those bytes are compressed once. zlib's async calls already run on the
 * thread pool, one per core and more, so the compression uses every core without worker threads.
 */
async function updateAllVariants (root: string, paths: string[], { written, compress, sources, fileMode, brotliQuality }: { written: Set<string>, compress: boolean, sources: Set<string>, fileMode: number | undefined, brotliQuality: number | undefined }): Promise<void> {
  const removals: string[] = []
  const byContent = new Map<string, { content: Buffer, paths: string[] }>()
  await eachInBatches(paths, (path) => {
    const action = variantAction(join(root, path), { written: written.has(path), compress, shipped: (variant) => sources.has(variant.slice(root.length + 1)) })
    if (action === 'remove') removals.push(path)
    if (action !== 'compress') return
    const content = readFileSync(join(root, path))
    const key = createHash('md5').update(content).digest('base64')
    const same = byContent.get(key)
    if (same === undefined) byContent.set(key, { content, paths: [path] })
    else same.paths.push(path)
  })
  await forEachLimited(removals, FILES_AT_ONCE, async (path) => {
    await Promise.all(variantsOf(join(root, path)).filter((variant) => !sources.has(variant.slice(root.length + 1))).map(async (variant) => await rm(variant, { force: true })))
  })
  await forEachLimited([...byContent.values()], FILES_AT_ONCE, async ({ content, paths }) => {
    const variants = await compressVariants(content, brotliQuality)
    for (const path of paths) await writeVariants(join(root, path), variants, fileMode)
  })
}
