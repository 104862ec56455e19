import type { FastifyReply, FastifyRequest } from 'fastify'
import { createReadStream, type ReadStream } from 'node:fs'
import { parseRange, rangeFresh } from './conditional.js'

// @fastify/send 4 drops a suffix range longer than the file (`bytes=-100000` on 35 bytes) and answers 416,
// where RFC 9110 14.1.2 selects the whole file. Only send knows which file it serves (a `.br` sibling, say)
// and so its size, and it offers no hook per request: a Range with a suffix of at least one byte is taken
// from send (which then answers the whole file, or its 304/412) and cut afterwards with the parser the
// driver path uses.
const SUFFIX = /^ *bytes=(.*,)? *-0*[1-9]/
const held = new WeakMap<FastifyRequest, string>()

/** Before send: takes a Range that has a suffix range away from it, for `cutSuffixRange` to answer. */
export function holdSuffixRange (request: FastifyRequest): void {
  const range = request.headers.range
  if (range === undefined || !SUFFIX.test(range)) return
  held.set(request, range)
  delete request.raw.headers.range
}

/**
 * onSend: send's whole-file answer to a request whose Range was held becomes a 206 of the range. An empty
 * file has no byte to select: it is answered whole (a server may ignore Range).
 */
export function cutSuffixRange (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: null, payload: unknown) => void): void {
  const range = held.get(request)
  if (range === undefined || reply.statusCode !== 200) return done(null, payload)
  const size = Number(reply.getHeader('content-length'))
  const validators = { etag: String(reply.getHeader('etag')), lastModified: String(reply.getHeader('last-modified')) }
  const wanted = rangeFresh(request.headers, validators) ? parseRange(range, size) : undefined
  if (typeof wanted !== 'object') return done(null, payload)
  reply.code(206).headers({ 'content-range': `bytes ${wanted.start}-${wanted.end}/${size}`, 'content-length': String(wanted.end - wanted.start + 1) })
  if (request.method === 'HEAD') return done(null, payload)
  const whole = payload as ReadStream
  whole.destroy()
  done(null, createReadStream(whole.path, wanted))
}
