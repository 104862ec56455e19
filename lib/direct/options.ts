import { parseBytes } from '../bytes.js'
import { keysOf, knownKeys } from '../check-keys.js'

/** A field's `direct` option: the browser sends the file to the storage itself, and a form commits it. */
export interface DirectOptions {
  /** Seconds the upload URL and its token stay valid: upload and commit happen within it. Default 3600, at most 7 days. */
  expiresIn?: number
  /** Files larger than this go up in parts (S3 multipart); default 100 MiB. */
  multipartAbove?: number | string
}

export interface DirectRules {
  readonly expiresIn: number
  readonly multipartAbove: number
}

const OPTIONS = knownKeys(keysOf<DirectOptions>()(['expiresIn', 'multipartAbove']))
/** S3's longest presigned URL. */
const MAX_EXPIRES = 7 * 24 * 3600
/** S3's smallest part is 5 MiB: a smaller threshold would make single-part "multipart" uploads. */
const MIN_MULTIPART = 5 * 1024 * 1024

export function parseDirect (value: boolean | DirectOptions | undefined, invalid: (option: string, why: string) => Error, label: string): DirectRules | undefined {
  if (value === undefined || value === false) return undefined
  const options = value === true ? {} : value
  if (typeof options !== 'object' || options === null) throw invalid('direct', 'must be true, false or an object')
  OPTIONS.check(options, `${label}.direct`)
  const { expiresIn = 3600, multipartAbove = 100 * 1024 * 1024 } = options
  if (!Number.isInteger(expiresIn) || expiresIn < 1 || expiresIn > MAX_EXPIRES) throw invalid('direct.expiresIn', `must be whole seconds from 1 to ${MAX_EXPIRES} (7 days)`)
  const threshold = parseBytes(multipartAbove)
  if (threshold === undefined || threshold < MIN_MULTIPART) throw invalid('direct.multipartAbove', 'must be a size of at least 5 MiB')
  return Object.freeze({ expiresIn, multipartAbove: threshold })
}
