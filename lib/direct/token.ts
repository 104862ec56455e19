import { createHmac, timingSafeEqual } from 'node:crypto'

/** What a direct-upload token binds: the field, the upload's id (its quarantine key), and when it expires. */
export interface TokenClaims {
  /** `model.field` */
  field: string
  /** The upload's id: its object is `.direct/q/<id>`. */
  id: string
  /** Unix seconds. */
  expires: number
  /** The client's file name, untrusted: cleaned at commit as any file name is. */
  filename: string
  /** A multipart upload's id at the backend. */
  uploadId?: string
}

// a context string: a token can never pass for another signature the plugin makes with the same key
const CONTEXT = 'fastify-media:direct-upload\n'

function mac (key: Buffer, payload: string): string {
  return createHmac('sha256', key).update(CONTEXT + payload).digest('base64url')
}

export function signToken (key: Buffer, claims: TokenClaims): string {
  const payload = Buffer.from(JSON.stringify([claims.field, claims.id, claims.expires, claims.filename, claims.uploadId ?? ''])).toString('base64url')
  return `${payload}.${mac(key, payload)}`
}

/** Why a token is refused; the message a client gets says which. */
export type TokenProblem = 'forged' | 'expired' | 'other-field'

/**
 * The claims of a token made with one of `keys` (for `field`, when given) and not expired, or why not. The signature is
 * compared with each key's in constant time before anything in the payload is read.
 */
export function verifyToken (keys: readonly Buffer[], token: string, field: string | undefined, now = Date.now()): TokenClaims | TokenProblem {
  const dot = token.indexOf('.')
  if (dot < 1) return 'forged'
  const payload = token.slice(0, dot)
  const given = Buffer.from(token.slice(dot + 1))
  const signedByUs = keys.some((key) => {
    const expected = Buffer.from(mac(key, payload))
    return given.length === expected.length && timingSafeEqual(given, expected)
  })
  if (!signedByUs) return 'forged'
  const [claimedField, id, expires, filename, uploadId] = JSON.parse(Buffer.from(payload, 'base64url').toString()) as [string, string, number, string, string]
  if (expires * 1000 < now) return 'expired'
  if (field !== undefined && claimedField !== field) return 'other-field'
  return { field: claimedField, id, expires, filename, uploadId: uploadId === '' ? undefined : uploadId }
}
