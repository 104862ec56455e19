import { formatBytes } from '../bytes.js'
import { FST_MEDIA_BAD_MULTIPART, FST_MEDIA_LIMIT, FST_MEDIA_TOO_MANY_FILES } from '../errors.js'
import { isClientError, refusal } from '../refusal.js'
import type { MediaLimits } from '../options.js'

const requestLimit = (option: 'parts' | 'fields', limits: MediaLimits): Error =>
  refusal(new FST_MEDIA_LIMIT('request', `limits.${option}: ${limits[option]}`), { field: null, limit: limits[option], option: `limits.${option}` })

/**
 * Turns what the multipart parser (@fastify/multipart over busboy) throws into our errors. It is called only
 * with errors that came out of the parser: @fastify/multipart's carry a code; busboy's own carry none (only
 * a message, never looked at), and every one of them is about a body it cannot parse. Our own errors (a
 * deadline that stopped the parser) pass through.
 */
export function parserError (err: unknown, limits: MediaLimits, aborted: boolean): Error {
  if (isClientError(err)) return err
  switch ((err as { code?: unknown })?.code) {
    case 'FST_PARTS_LIMIT': return requestLimit('parts', limits)
    case 'FST_FIELDS_LIMIT': return requestLimit('fields', limits)
    case 'FST_FILES_LIMIT':
      return refusal(new FST_MEDIA_TOO_MANY_FILES('request', limits.files), { field: null, limit: limits.files, option: 'limits.files' })
    case 'FST_PROTO_VIOLATION': return badMultipart('a field is named like an Object.prototype property', err)
    case 'FST_INVALID_JSON_FIELD_ERROR': return badMultipart('a JSON field is not valid JSON', err)
  }
  // a vanished client is a broken body, whatever the parser made of it (@fastify/multipart: FST_MP_PREMATURE_CLOSE)
  if (aborted) return badMultipart('the body ended early', err)
  return badMultipart((err as Error).message, err)
}

const badMultipart = (why: string, cause: unknown): Error =>
  refusal(new FST_MEDIA_BAD_MULTIPART('request', why, { cause }), { field: null })

/**
 * What the route tells the client when parsing stopped: our 4xx errors as refusals (about the whole
 * request unless they name a field); anything else is a server error.
 */
export function toMediaError (err: unknown): unknown {
  return isClientError(err) ? refusal(err, { field: null }) : err
}

export const totalSizeError = (limits: MediaLimits): Error =>
  refusal(new FST_MEDIA_LIMIT('request', `limits.totalSize: ${formatBytes(limits.totalSize)}`), { field: null, limit: limits.totalSize, option: 'limits.totalSize' })
