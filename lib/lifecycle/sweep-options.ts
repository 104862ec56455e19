import { keysOf, knownKeys } from '../check-keys.js'
import { FST_MEDIA_INVALID_OPTION } from '../errors.js'
import type { IsReferenced } from '../options.js'

/** `app.media.sweep(options)`: removes files no record names. */
export interface SweepOptions {
  /** The storage to sweep, by its name in `storages`. Default `'default'`. */
  storage?: string
  /**
   * Which of these names your records hold, called with a batch of names at a time (at most `batchSize`,
   * plus the originals of names that look like variants) and the storage's name: resolve the referenced
   * ones (an array or a Set). A variant is kept while its original is referenced. Default: the plugin's
   * `isReferenced` option; one of the two is required.
   */
  isReferenced?: IsReferenced
  /** Only files older than this are removed: seconds, or `'30m'`, `'12h'`, `'1d'`. Default `'1d'`. */
  olderThan?: number | string
  /** Say what would go, remove nothing. Default false. */
  dryRun?: boolean
  /** Names listed and asked about at a time. Default 1000. */
  batchSize?: number
  /** Called with each name removed (or, in a dry run, that would be). */
  onRemove?: (name: string) => void
  /** Called after each batch with the counts so far: what the CLI draws its progress with. */
  onProgress?: (progress: SweepProgress) => void
}

export interface SweepProgress {
  /** Names listed so far. */
  scanned: number
  /** Names removed (or that would be) so far. */
  removed: number
}

export interface SweepResult extends SweepProgress {
  storage: string
  dryRun: boolean
  /** Kept: a record names them (or, for a variant, its original). */
  referenced: number
  /** Kept: younger than `olderThan`. */
  recent: number
  /** Kept: a request of this process is writing them or holds them until it commits. */
  claimed: number
  /** Removed (or would be) from the plugin's own prefixes: abandoned temp files, quarantined direct uploads and their records. */
  internal: number
  /** Resumable uploads expired (none in a dry run: they are counted by their endpoints' expiry). */
  uploads: number
  /**
   * Multipart uploads neither completed nor aborted, older than `olderThan`, aborted (or that would be): what
   * a failure could not abort, billed until then. Undefined for a storage without multipart uploads.
   */
  unfinished?: number
}

export interface SweepRules {
  storage: string
  isReferenced: IsReferenced
  olderThan: number
  dryRun: boolean
  batchSize: number
  onRemove: (name: string) => void
  onProgress: (progress: SweepProgress) => void
}

const OPTIONS = knownKeys(keysOf<SweepOptions>()(['storage', 'isReferenced', 'olderThan', 'dryRun', 'batchSize', 'onRemove', 'onProgress']))
const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 }
const nothing = (): void => {}

/** Seconds from `90`, `'90s'`, `'30m'`, `'12h'` or `'1d'`; undefined for anything else. */
export function parseDuration (value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined
  const match = typeof value === 'string' ? /^(\d+(?:\.\d+)?)([smhd]?)$/.exec(value.trim()) : null
  return match === null ? undefined : Number(match[1]) * UNITS[match[2] || 's']!
}

export function parseSweep (options: SweepOptions, fallback: IsReferenced | undefined): SweepRules {
  if (typeof options !== 'object' || options === null) throw new FST_MEDIA_INVALID_OPTION('sweep', 'takes an options object')
  OPTIONS.check(options, 'sweep')
  const { storage = 'default', isReferenced = fallback, olderThan = '1d', dryRun = false, batchSize = 1000, onRemove = nothing, onProgress = nothing } = options
  if (typeof isReferenced !== 'function') throw new FST_MEDIA_INVALID_OPTION('sweep.isReferenced', 'must be a function, (names, storage) => the names your records hold: pass one, or set the plugin\'s isReferenced option')
  const seconds = parseDuration(olderThan)
  if (seconds === undefined) throw new FST_MEDIA_INVALID_OPTION('sweep.olderThan', `must be seconds or a duration like '30m', '12h', '1d', not ${JSON.stringify(olderThan)}`)
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new FST_MEDIA_INVALID_OPTION('sweep.batchSize', 'must be a whole number, at least 1')
  if (typeof onRemove !== 'function' || typeof onProgress !== 'function') throw new FST_MEDIA_INVALID_OPTION('sweep', 'onRemove and onProgress must be functions')
  return { storage, isReferenced, olderThan: seconds, dryRun: dryRun === true, batchSize, onRemove, onProgress }
}
