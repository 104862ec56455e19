import type { Disk } from '../storage/disk.js'
import { DIRECT, SCRATCH } from '../storage/disk.js'
import { publishDeleted } from '../events.js'
import type { SweepResult, SweepRules } from './sweep-options.js'

/** What the sweep needs of the app besides the storage. */
export interface SweepContext {
  /** Whether a request of this process stored the name and has not finished. */
  isPending: (name: string) => boolean
  /** Seconds the longest-lived direct-upload token of the storage stays valid: a spent token's record outlives it. */
  tokenLifetime: number
  /** Expires the storage's resumable uploads older than `olderThan` seconds; resolves how many went. */
  expireUploads: (olderThan: number) => Promise<number>
}

// `original@variant.ext`: variant names (variant-options.ts). A user's own file may look like one; it is
// kept if either name is referenced, so the look-alike costs a wider question, never a wrong removal.
const VARIANT = /^(.+)@[a-z0-9_-]{1,32}\.[a-z0-9]+$/i

/**
 * Lists the storage a page at a time (constant memory: ListObjectsV2 pages, a directory walk), asks
 * `isReferenced` about each page's old-enough, unclaimed names, removes the rest; then the plugin's own
 * prefixes by age alone. The listing goes on from the last name seen, so removing as it goes skips nothing.
 */
export async function sweep (storage: Disk, rules: SweepRules, context: SweepContext): Promise<SweepResult> {
  const cutoff = Date.now() - rules.olderThan * 1000
  const result: SweepResult = { storage: rules.storage, dryRun: rules.dryRun, scanned: 0, removed: 0, referenced: 0, recent: 0, claimed: 0, internal: 0, uploads: 0 }
  let cursor: string | undefined
  do {
    const page = await storage.listModified('', { cursor, limit: rules.batchSize })
    cursor = page.cursor
    result.scanned += page.files.length
    const candidates: string[] = []
    for (const { name, modified } of page.files) {
      if (modified.getTime() > cutoff) result.recent++
      else if (storage.isClaimed(name) || context.isPending(name)) result.claimed++
      else candidates.push(name)
    }
    if (candidates.length > 0) {
      const originals = candidates.map((name) => VARIANT.exec(name)?.[1])
      const asked = [...new Set([...candidates, ...originals.filter((name) => name !== undefined)])]
      const referenced = new Set(await rules.isReferenced(asked, rules.storage))
      for (const [i, name] of candidates.entries()) {
        const original = originals[i]
        if (referenced.has(name) || (original !== undefined && referenced.has(original))) {
          result.referenced++
          continue
        }
        if (!rules.dryRun) {
          await storage.delete(name)
          publishDeleted({ name, size: undefined, storage }, { reason: 'sweep' }, undefined)
        }
        rules.onRemove(name)
        result.removed++
      }
    }
    rules.onProgress({ scanned: result.scanned, removed: result.removed })
  } while (cursor !== undefined)

  // the plugin's own prefixes: what a crash, a lost network or a client that never came back left
  const spent = Date.now() - Math.max(rules.olderThan, context.tokenLifetime) * 1000
  for (const [prefix, before] of [[SCRATCH, cutoff], [`${DIRECT}q/`, cutoff], [`${DIRECT}names/`, cutoff], [`${DIRECT}used/`, spent]] as const) {
    let at: string | undefined
    do {
      const page = await storage.listModified(prefix, { cursor: at, limit: rules.batchSize, internal: true })
      at = page.cursor
      for (const { name, modified } of page.files) {
        if (modified.getTime() > before) continue
        if (!rules.dryRun) await storage.deleteInternal(name)
        result.internal++
      }
    } while (at !== undefined)
  }
  if (!rules.dryRun) result.uploads = await context.expireUploads(rules.olderThan)
  await sweepUnfinished(storage, rules, context, cutoff, result)
  return result
}

/** Multipart uploads a failure could not abort (S3 down): by age, never one a request of this process holds. */
async function sweepUnfinished (storage: Disk, rules: SweepRules, context: SweepContext, cutoff: number, result: SweepResult): Promise<void> {
  let cursor: string | undefined
  do {
    const page = await storage.listUnfinished({ cursor, limit: rules.batchSize })
    if (page === undefined) return
    result.unfinished ??= 0
    cursor = page.cursor
    for (const upload of page.uploads) {
      if (upload.initiated.getTime() > cutoff || storage.isClaimed(upload.key) || context.isPending(upload.key)) continue
      if (!rules.dryRun) await storage.abortUnfinished(upload)
      result.unfinished++
    }
  } while (cursor !== undefined)
}

/** The CLI's last line. */
export function sweepSummary (result: SweepResult): string {
  const verb = result.dryRun ? 'would remove' : 'removed'
  const uploads = result.dryRun ? '' : `, ${result.uploads} resumable uploads expired`
  const unfinished = result.unfinished === undefined ? '' : `, ${result.dryRun ? 'would abort' : 'aborted'} ${result.unfinished} unfinished multipart uploads`
  return `${result.storage}: ${result.scanned} files scanned, ${verb} ${result.removed} unreferenced and ${result.internal} abandoned internal files${uploads}${unfinished}; kept ${result.referenced} referenced, ${result.recent} recent, ${result.claimed} in use`
}
