import { promisify } from 'node:util'
import { brotliCompress, constants, gzip } from 'node:zlib'

const brotli = promisify(brotliCompress)
const gz = promisify(gzip)

// Text formats gain; images, fonts and archives are compressed already.
const COMPRESSIBLE = /\.(css|js|mjs|cjs|map|json|webmanifest|svg|html|htm|txt|xml|csv|ico|wasm|ttf|otf|eot|md)$/i

export const isCompressible = (path: string): boolean => COMPRESSIBLE.test(path)

/** A variant is kept only when it is at most this share of the original. */
export const WORTH_IT = 0.95

/** Brotli's best, the default: files are compressed once at collectstatic and served many times. */
export const DEFAULT_BROTLI_QUALITY = constants.BROTLI_MAX_QUALITY

/**
 * Brotli (at its best quality unless told otherwise) and gzip -9, each only when it saves at least 5%.
 * Node's gzip writes no timestamp or name, so the same input always gives the same bytes.
 */
export async function compressVariants (content: Buffer, brotliQuality = DEFAULT_BROTLI_QUALITY): Promise<{ br?: Buffer, gz?: Buffer }> {
  const [br, gzipped] = await Promise.all([
    brotli(content, { params: { [constants.BROTLI_PARAM_QUALITY]: brotliQuality, [constants.BROTLI_PARAM_SIZE_HINT]: content.length } }),
    gz(content, { level: 9 })
  ])
  const limit = content.length * WORTH_IT
  return {
    br: br.length <= limit ? br : undefined,
    gz: gzipped.length <= limit ? gzipped : undefined
  }
}

/** The `brotliQuality` collectstatic is given, checked: an integer from 0 to 11. */
export function brotliQualityOf (quality: unknown, invalid: (why: string) => Error): number {
  if (quality === undefined) return DEFAULT_BROTLI_QUALITY
  if (typeof quality !== 'number' || !Number.isInteger(quality) || quality < constants.BROTLI_MIN_QUALITY || quality > constants.BROTLI_MAX_QUALITY) {
    throw invalid(`must be an integer from ${constants.BROTLI_MIN_QUALITY} to ${constants.BROTLI_MAX_QUALITY}, not ${JSON.stringify(quality)}`)
  }
  return quality
}
