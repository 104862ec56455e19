import { keysOf, knownKeys } from '../check-keys.js'
import { FST_MEDIA_INVALID_OPTION } from '../errors.js'
import { InProcessVariantQueue, type VariantQueue } from './variant-queue.js'

/** The plugin's `variants` option: how variants made after the upload (`lazy`, `background`) are made. */
export interface VariantsOptions {
  /**
   * Where the app answers for the lazy variants of storages that serve their own URLs (a public S3 bucket):
   * `<url><storage>/<name>` makes the variant once, then redirects to the stored file. Default `'/media-variants/'`.
   */
  url?: string
  /** Variants allowed to wait for an image slot; a request past them is answered 503 with Retry-After. Default 64. */
  maxQueue?: number
  /** Seconds of decoding and encoding one variant may take (sharp's `timeout`); default 10. */
  timeout?: number
  /** The Retry-After of a 503, in seconds; default 1. */
  retryAfter?: number
  /** How many variants that could not be made are remembered (and answered 422 at once); default 1000. */
  failures?: number
  /** Where `background` variants wait; default an in-process queue. */
  queue?: VariantQueue
}

export interface GenerationConfig {
  readonly url: string
  readonly maxQueue: number
  readonly timeout: number
  readonly retryAfter: number
  readonly failures: number
  readonly queue: VariantQueue
}

const OPTIONS = knownKeys(keysOf<VariantsOptions>()(['url', 'maxQueue', 'timeout', 'retryAfter', 'failures', 'queue']))

export function resolveGeneration (options: VariantsOptions = {}): GenerationConfig {
  OPTIONS.check(options, 'variants')
  const invalid = (option: string, why: string) => new FST_MEDIA_INVALID_OPTION(`variants.${option}`, why)
  const count = (option: 'maxQueue' | 'timeout' | 'retryAfter' | 'failures', fallback: number): number => {
    const value = options[option] ?? fallback
    if (!Number.isInteger(value) || value < 0) throw invalid(option, 'must be an integer >= 0')
    return value
  }
  const url = options.url ?? '/media-variants/'
  if (typeof url !== 'string' || !/^\/(.*\/)?$/.test(url) || url === '/') throw invalid('url', `"${String(url)}" must start and end with "/" (and not be "/")`)
  const queue = options.queue ?? new InProcessVariantQueue()
  if (typeof queue?.start !== 'function' || typeof queue.enqueue !== 'function' || typeof queue.close !== 'function') {
    throw invalid('queue', 'must have start, enqueue and close')
  }
  return Object.freeze({ url, maxQueue: count('maxQueue', 64), timeout: count('timeout', 10), retryAfter: count('retryAfter', 1), failures: count('failures', 1000), queue })
}
