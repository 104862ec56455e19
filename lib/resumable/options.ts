import { keysOf, knownKeys } from '../check-keys.js'
import { FST_MEDIA_INVALID_OPTION } from '../errors.js'
import type { BoundField } from '../fields/model.js'

/** `app.media.resumable(prefix, options)`: a tus 1.0 endpoint for these fields' files. */
export interface ResumableOptions {
  /**
   * The fields it takes files for, all in one storage (a FileSystemStorage or an S3Storage). A client names
   * its field in the upload's metadata as `field: 'model.field'` (or `'field'` where that is unambiguous;
   * with one field it may leave it out), and the file's name as `filename` (or `name`, as Uppy sends).
   */
  fields: readonly BoundField[]
  /** Seconds an upload may stay unfinished, or finished and not committed by a form; then it is removed. Default 86400 (1 day). */
  expiresIn?: number
  /** Seconds between two runs of the expiry timer (unref'd); 0 turns it off. Default 3600, or `expiresIn` when shorter. */
  expireEvery?: number
  /**
   * What keeps two PATCH requests from writing one upload at once: a @tus/utils `Locker`. Default
   * @tus/server's MemoryLocker, which holds within one process: several instances behind one bucket need a
   * locker they share, such as `redisLocker(redis)` (README, "Locks").
   */
  locker?: object
}

export interface ResumableRules {
  readonly fields: ReadonlyMap<string, BoundField>
  readonly expiresIn: number
  readonly expireEvery: number
  readonly locker: object | undefined
}

const OPTIONS = knownKeys(keysOf<ResumableOptions>()(['fields', 'expiresIn', 'expireEvery', 'locker']))
const DAY = 24 * 3600

export function parseResumable (prefix: unknown, options: ResumableOptions): ResumableRules {
  if (typeof prefix !== 'string' || !/^\/[^?#]*$/.test(prefix)) throw new FST_MEDIA_INVALID_OPTION('resumable prefix', 'must be a path starting with "/"')
  if (typeof options !== 'object' || options === null) throw new FST_MEDIA_INVALID_OPTION('resumable', 'needs { fields }')
  OPTIONS.check(options, 'resumable')
  const { fields, expiresIn = DAY, locker } = options
  if (!Array.isArray(fields) || fields.length === 0) throw new FST_MEDIA_INVALID_OPTION('resumable.fields', 'needs at least one field')
  const byName = new Map<string, BoundField>()
  for (const field of fields as BoundField[]) {
    if (typeof field?.model !== 'string' || field.storage === undefined) throw new FST_MEDIA_INVALID_OPTION('resumable.fields', 'must be fields of declared models (Model.fields.video)')
    if (field.storage !== (fields[0] as BoundField).storage) throw new FST_MEDIA_INVALID_OPTION('resumable.fields', `${field.model}.${field.name} is in another storage than ${fields[0]!.model}.${fields[0]!.name}: mount one endpoint per storage`)
    byName.set(`${field.model}.${field.name}`, field)
  }
  if (!Number.isInteger(expiresIn) || expiresIn < 1) throw new FST_MEDIA_INVALID_OPTION('resumable.expiresIn', 'must be whole seconds, at least 1')
  const { expireEvery = Math.min(3600, expiresIn) } = options
  if (!Number.isInteger(expireEvery) || expireEvery < 0) throw new FST_MEDIA_INVALID_OPTION('resumable.expireEvery', 'must be whole seconds (0 turns the timer off)')
  if (locker !== undefined && typeof (locker as { newLock?: unknown }).newLock !== 'function') throw new FST_MEDIA_INVALID_OPTION('resumable.locker', 'must be a @tus/utils Locker (newLock(id))')
  return Object.freeze({ fields: byName, expiresIn, expireEvery, locker })
}
