import { negotiate } from '@fastify/accept-negotiator'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { MemoryBody, MemoryFile } from './memory-files.js'

// Clients send a handful of distinct Accept-Encoding values: remember the choice per value and encoding
// set, with a bound so that a client sending a new value every time cannot grow it.
const CHOICES_MAX = 500
const choices = new Map<string, 'br' | 'gzip' | undefined>()

/** How many choices are remembered now: for the test that holds the bound (not exported by the package). */
export const rememberedChoices = (): number => choices.size

/**
 * The encoding @fastify/static would pick: its lower-casing, `*` as gzip, and q-values negotiated among
 * the variants that exist (it tries the best one and moves on when its file is missing).
 */
function chooseEncoding (acceptEncoding: string, file: MemoryFile): 'br' | 'gzip' | undefined {
  const key = `${file.encodingSet}\n${acceptEncoding}`
  let choice = choices.get(key)
  if (choice === undefined && !choices.has(key)) {
    choice = negotiate(acceptEncoding.toLowerCase().replace(/\*/g, 'gzip'), [...file.encodings]) ?? undefined
    if (choices.size >= CHOICES_MAX) choices.clear()
    choices.set(key, choice)
  }
  return choice
}

/** send's rules: `no-cache` always refetches; If-None-Match (weak comparison) wins over If-Modified-Since. */
function notModified (headers: FastifyRequest['headers'], body: MemoryBody): boolean {
  if (headers['cache-control']?.includes('no-cache') === true) return false
  const ifNoneMatch = headers['if-none-match']
  if (ifNoneMatch !== undefined) {
    return ifNoneMatch.trim() === '*' || ifNoneMatch.split(',').some((tag) => {
      const candidate = tag.trim()
      return candidate === body.etag || `W/${candidate}` === body.etag
    })
  }
  const since = headers['if-modified-since']
  return since !== undefined && body.modified <= Date.parse(since)
}

const coversAcceptEncoding = /(^|,)\s*(accept-encoding|\*)\s*(,|$)/i

/** The file's headers, keeping a Vary set earlier (by CORS, say) and adding Accept-Encoding to it. */
function setHeaders (reply: FastifyReply, headers: Readonly<Record<string, string>>): FastifyReply {
  const earlier = reply.getHeader('vary')
  reply.headers(headers)
  if (earlier !== undefined) {
    const vary = String(earlier)
    reply.header('vary', coversAcceptEncoding.test(vary) ? vary : `${vary}, accept-encoding`)
  }
  return reply
}

/**
 * Answers a GET or HEAD of a file held in memory, or returns false to leave the request to
 * @fastify/static: Range (206 and If-Range) and the preconditions that can fail with 412 (If-Match,
 * If-Unmodified-Since) are rare on hashed files and stay with it.
 */
export function answerFromMemory (request: FastifyRequest, reply: FastifyReply, file: MemoryFile): boolean {
  const headers = request.headers
  if (headers.range !== undefined || headers['if-match'] !== undefined || headers['if-unmodified-since'] !== undefined) return false
  const acceptEncoding = headers['accept-encoding']
  const encoding = acceptEncoding === undefined || file.encodings.length === 0 ? undefined : chooseEncoding(acceptEncoding, file)
  const body = encoding === undefined ? file.identity : file[encoding]!
  if (notModified(headers, body)) {
    setHeaders(reply.code(304), body.notModified).send()
  } else if (request.method === 'HEAD') {
    setHeaders(reply, body.headers).send()
  } else {
    setHeaders(reply, body.headers).send(body.body)
  }
  return true
}
