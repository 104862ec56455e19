import { promisify } from 'node:util'
import { brotliCompress, constants, gzip } from 'node:zlib'

const brotli = promisify(brotliCompress)
const gz = promisify(gzip)

// Text formats gain; images, fonts and archives are compressed already.
const COMPRESSIBLE = /\.(css|js|mjs|cjs|map|json|webmanifest|svg|html|htm|txt|xml|csv|ico|wasm|ttf|otf|eot|md)$/i

export const isCompressible = (path: string): boolean => COMPRESSIBLE.test(path)

/** A variant is kept only when it is at most this share of the original. */
export const WORTH_IT = 0.95

/**
 * Brotli at its best quality and gzip -9, each only when it saves at least 5%. Node's gzip writes no
 * timestamp or name, so the same input always gives the same bytes.
 */
export async function compressVariants (content: Buffer): Promise<{ br?: Buffer, gz?: Buffer }> {
  const [br, gzipped] = await Promise.all([
    brotli(content, { params: { [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: content.length } }),
    gz(content, { level: 9 })
  ])
  const limit = content.length * WORTH_IT
  return {
    br: br.length <= limit ? br : undefined,
    gz: gzipped.length <= limit ? gzipped : undefined
  }
}
