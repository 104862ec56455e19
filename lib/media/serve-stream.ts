import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Readable } from 'node:stream'
import { FST_MEDIA_PRECONDITION_FAILED, FST_MEDIA_RANGE_NOT_SATISFIABLE } from '../errors.js'
import { notModified, parseRange, preconditionFails, rangeFresh, validatorsFor, type ByteRange } from './conditional.js'
import { mediaHeaders } from './headers.js'
import { servedName } from './served-name.js'
import { checkSignature, type Verify } from './signed.js'

export interface StreamServeOptions {
  prefix: string
  /** For private storages: true when the request carries a valid signature for this file name. */
  verify?: Verify
  /** True for a file whose request has not succeeded yet: it is not served. */
  isPending: (name: string) => boolean
  /** The file's size and modification time, or undefined when there is no such file. */
  head: (name: string) => Promise<{ size: number, modified: Date } | undefined>
  /** The file's bytes, or only `range` of them (`end` inclusive). */
  read: (name: string, range?: ByteRange) => Readable
}

type MediaRequest = FastifyRequest<{ Params: { '*': string } }>

/**
 * Serves a storage that has no directory to hand to @fastify/static, through its driver's `head` and `read`,
 * with the answers @fastify/send gives for a file on disk: the same headers, validators, 304, 412, Range and
 * 416, and HEAD without reading the file.
 */
export async function serveStream (app: FastifyInstance, { prefix, verify, isPending, head, read }: StreamServeOptions): Promise<void> {
  // an encapsulated child, so this instance's hooks and routes cannot clash with the user's own
  await app.register(async function media (child) {
    if (verify !== undefined) child.addHook('onRequest', async (request: MediaRequest) => checkSignature(verify, request))
    child.route({ method: ['GET', 'HEAD'], url: `${prefix}*`, handler: serveFile })
  })

  async function serveFile (request: MediaRequest, reply: FastifyReply): Promise<unknown> {
    const name = servedName(request.params['*'], isPending)
    if (name === undefined) return reply.callNotFound()
    const stat = await head(name)
    if (stat === undefined) return reply.callNotFound()
    const validators = validatorsFor(stat.size, stat.modified)
    if (preconditionFails(request.headers, validators)) throw new FST_MEDIA_PRECONDITION_FAILED(name)
    const headers: Record<string, string> = {
      ...mediaHeaders(name, { signed: verify !== undefined }),
      'accept-ranges': 'bytes',
      'last-modified': validators.lastModified,
      etag: validators.etag
    }
    if (notModified(request.headers, validators)) return reply.code(304).headers(headers).send()
    const wanted = request.headers.range === undefined || !rangeFresh(request.headers, validators)
      ? undefined
      : parseRange(request.headers.range, stat.size)
    if (wanted === 'unsatisfiable') {
      reply.header('content-range', `bytes */${stat.size}`)
      throw new FST_MEDIA_RANGE_NOT_SATISFIABLE(name)
    }
    const range = wanted ?? { start: 0, end: stat.size - 1 }
    if (wanted !== undefined) headers['content-range'] = `bytes ${range.start}-${range.end}/${stat.size}`
    headers['content-length'] = String(range.end - range.start + 1)
    reply.code(wanted === undefined ? 200 : 206)
    if (request.method === 'HEAD') return reply.headers(headers).send()
    const body = await openBody(() => read(name, wanted))
    // gone between head and read: as if head had not found it
    if (body === undefined) return reply.callNotFound()
    return reply.headers(headers).send(body)
  }
}

/**
 * The body as a stream whose first chunk has already arrived, or undefined when reading fails before it.
 * A failure after it destroys the stream, and Fastify then destroys the response: a client sees a short
 * body, never a hang.
 */
async function openBody (open: () => Readable): Promise<Readable | undefined> {
  let chunks: AsyncIterator<Buffer>
  let first: IteratorResult<Buffer>
  try {
    chunks = open()[Symbol.asyncIterator]()
    first = await chunks.next()
  } catch {
    return undefined
  }
  async function * rest (): AsyncGenerator<Buffer> {
    if (first.done === true) return
    yield first.value
    // delegating passes a client's abort (return) on to the driver's stream, and its errors out
    yield * { [Symbol.asyncIterator]: () => chunks }
  }
  return Readable.from(rest(), { objectMode: false })
}
