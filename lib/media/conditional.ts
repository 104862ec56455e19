import type { IncomingHttpHeaders } from 'node:http'

// Conditional requests and byte ranges answered the way @fastify/send 4 answers them, so a file served
// from a driver's stream looks to a client like one @fastify/static serves from disk.

/** What a response says about its version of the file. */
export interface Validators {
  /** Weak, from size and modification time, as send makes it: `W/"<size hex>-<mtime ms hex>"`. */
  etag: string
  /** `Date#toUTCString()`: whole seconds. */
  lastModified: string
}

/** Inclusive byte offsets. */
export interface ByteRange { start: number, end: number }

export function validatorsFor (size: number, modified: Date): Validators {
  return { etag: `W/"${size.toString(16)}-${modified.getTime().toString(16)}"`, lastModified: modified.toUTCString() }
}

const tokens = (list: string): string[] => list.split(',').map((token) => token.trim()).filter((token) => token !== '')
const matches = (list: string, etag: string): boolean => tokens(list).some((tag) => tag === etag || `W/${tag}` === etag)

/** If-Match or If-Unmodified-Since does not hold: 412. */
export function preconditionFails (headers: IncomingHttpHeaders, { etag, lastModified }: Validators): boolean {
  const ifMatch = headers['if-match']
  if (ifMatch !== undefined && ifMatch !== '' && ifMatch !== '*' && !matches(ifMatch, etag)) return true
  const since = Date.parse(headers['if-unmodified-since'] ?? '')
  return !Number.isNaN(since) && Date.parse(lastModified) > since
}

/** The client's copy is current: 304. A `Cache-Control: no-cache` request (a reload) always gets the body. */
export function notModified (headers: IncomingHttpHeaders, { etag, lastModified }: Validators): boolean {
  if (headers['cache-control']?.includes('no-cache') === true) return false
  const ifNoneMatch = headers['if-none-match']
  // when both are sent, If-None-Match alone decides (RFC 9110 13.1.3)
  if (ifNoneMatch !== undefined) return ifNoneMatch === '*' || matches(ifNoneMatch, etag)
  const since = headers['if-modified-since']
  return since !== undefined && Date.parse(lastModified) <= Date.parse(since)
}

/** A Range applies unless If-Range names another version (an etag, or a date before the last change). */
export function rangeFresh (headers: IncomingHttpHeaders, { etag, lastModified }: Validators): boolean {
  const ifRange = headers['if-range']
  if (typeof ifRange !== 'string') return true
  if (ifRange.includes('"')) return ifRange.includes(etag)
  return Date.parse(lastModified) <= Date.parse(ifRange)
}

/**
 * The one range a `Range: bytes=...` header selects, `'unsatisfiable'` when it selects nothing, or undefined
 * when the whole file is the answer (another unit, or ranges that stay apart once overlapping ones merge).
 * Unlike send, a suffix longer than the file selects all of it (RFC 9110 14.1.2) instead of nothing.
 */
export function parseRange (header: string, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (!/^ *bytes=/.test(header)) return undefined
  const ranges: ByteRange[] = []
  for (const spec of header.slice(header.indexOf('=') + 1).split(',')) {
    const dash = spec.indexOf('-')
    let start = parseInt(spec.slice(0, dash), 10)
    let end = Math.min(parseInt(spec.slice(dash + 1), 10), size - 1)
    if (Number.isNaN(start)) {
      // bytes=-n: the last n bytes
      start = Math.max(0, size - parseInt(spec.slice(dash + 1), 10))
      end = size - 1
    } else if (Number.isNaN(end)) {
      end = size - 1
    }
    if (dash !== -1 && start >= 0 && start <= end) ranges.push({ start, end })
  }
  if (ranges.length === 0) return 'unsatisfiable'
  ranges.sort((a, b) => a.start - b.start)
  const [first, ...rest] = ranges as [ByteRange, ...ByteRange[]]
  for (const range of rest) {
    // adjacent or overlapping ranges are one; send answers two apart with the whole file
    if (range.start > first.end + 1) return undefined
    first.end = Math.max(first.end, range.end)
  }
  return first
}
