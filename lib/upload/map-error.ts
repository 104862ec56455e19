import { formatBytes } from '../bytes.js'
import { FST_MEDIA_BAD_MULTIPART, FST_MEDIA_LIMIT, FST_MEDIA_TOO_MANY_FILES } from '../errors.js'
import type { MediaLimits } from '../options.js'

// busboy's own errors carry no code, only these messages
const PARSER_MESSAGE = /multipart|boundary|needle|terminated early|malformed|unexpected end/i

/**
 * Turns @fastify/multipart's and busboy's errors into ours; our own errors pass through, and so do unknown
 * ones unless the client went away (`aborted`): a vanished client is a broken body, not a server error.
 */
export function toMediaError (err: unknown, limits: MediaLimits, aborted: boolean): unknown {
  const code = (err as { code?: unknown })?.code
  if (typeof code === 'string' && code.startsWith('FST_MEDIA_')) return err
  switch (code) {
    case 'FST_PARTS_LIMIT': return new FST_MEDIA_LIMIT('request', `limits.parts: ${limits.parts}`)
    case 'FST_FIELDS_LIMIT': return new FST_MEDIA_LIMIT('request', `limits.fields: ${limits.fields}`)
    case 'FST_FILES_LIMIT': return new FST_MEDIA_TOO_MANY_FILES('request', limits.files)
    case 'FST_PROTO_VIOLATION': return new FST_MEDIA_BAD_MULTIPART('request', 'a field is named like an Object.prototype property')
    case 'FST_INVALID_JSON_FIELD_ERROR': return new FST_MEDIA_BAD_MULTIPART('request', 'a JSON field is not valid JSON')
  }
  if (aborted || code === 'FST_MP_PREMATURE_CLOSE') return new FST_MEDIA_BAD_MULTIPART('request', 'the body ended early')
  if (code === undefined && err instanceof Error && PARSER_MESSAGE.test(err.message)) {
    return new FST_MEDIA_BAD_MULTIPART('request', err.message)
  }
  return err
}

export const totalSizeError = (limits: MediaLimits): Error => new FST_MEDIA_LIMIT('request', `limits.totalSize: ${formatBytes(limits.totalSize)}`)
