import type { FastifyRequest } from 'fastify'
import { FST_MEDIA_BAD_SIGNATURE } from '../errors.js'
import { normalizeStorageName } from '../storage/valid-name.js'

export type Verify = (name: string, query: Record<string, unknown>) => boolean

/**
 * Throws 403 unless the request carries a valid signature for the file it names. Runs before anything about
 * the file is looked up: a missing file and a bad signature must be indistinguishable.
 */
export function checkSignature (verify: Verify, request: FastifyRequest<{ Params: { '*': string } }>): void {
  const name = normalizeStorageName(request.params['*']) ?? ''
  if (!verify(name, request.query as Record<string, unknown>)) throw new FST_MEDIA_BAD_SIGNATURE(name || 'url')
}
