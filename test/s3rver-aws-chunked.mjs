// The AWS SDK v3 sends a stream body (PutObject, UploadPart; @tus/s3-store's parts from an fs.ReadStream) with
// a trailing checksum, in S3's `aws-chunked` content encoding: `<hex size>[;chunk-signature=…]\r\n<bytes>\r\n`
// repeated, a `0[;chunk-signature=…]\r\n` chunk, trailer lines (`x-amz-checksum-crc32:…\r\n`) and an empty
// line. S3 decodes it; s3rver 3.7 stores the framing as the object's bytes (an object then starts with
// `10000\r\n`). This Koa middleware, put before everything else of s3rver's, hands s3rver the decoded bytes
// instead, as a stream (parts are 8 MiB and more), and a body whose framing or checksum is wrong is refused
// with a 400, as S3 does, instead of being stored.
// Chunk and trailer signatures (STREAMING-AWS4-HMAC-SHA256-PAYLOAD…) are parsed, not verified: s3rver checks
// no V4 signature anyway.
import { createHash } from 'node:crypto'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { finished, Transform } from 'node:stream'
import S3Error from 's3rver/lib/models/error.js'

/** Put in front of s3rver's middleware: its logger, router and controllers then see the decoded request. */
export function awsChunked (server) {
  server.middleware.unshift(decode)
}

/** Whether a request's body is in the aws-chunked encoding: S3 takes either header as saying so. */
export function isAwsChunked (headers) {
  return encodings(headers['content-encoding']).some((coding) => coding.toLowerCase() === 'aws-chunked') ||
    /^STREAMING-/.test(headers['x-amz-content-sha256'] ?? '')
}

async function decode (ctx, next) {
  // ctx.req.headers is the object ctx.headers reads, and so the one s3rver's S3Object takes the metadata from
  const { headers } = ctx.req
  if (ctx.method !== 'PUT' || !isAwsChunked(headers)) return next()
  const length = headers['x-amz-decoded-content-length']
  if (length === undefined) throw new S3Error('MissingContentLength', 'You must provide the Content-Length HTTP header.')
  if (!/^\d{1,15}$/.test(length)) throw new S3Error('InvalidArgument', 'x-amz-decoded-content-length is not a length', { ArgumentName: 'x-amz-decoded-content-length', ArgumentValue: length })
  const source = ctx.req
  const decoder = new AwsChunkedDecoder({
    signed: /^STREAMING-AWS4-/.test(headers['x-amz-content-sha256'] ?? ''),
    trailers: encodings(headers['x-amz-trailer']).map((name) => name.toLowerCase()),
    length: Number(length)
  })
  let failure
  // listened to at once: the decoder may fail before s3rver starts reading it (an error nobody listens to
  // would end the process)
  decoder.on('error', (err) => { failure = err })
  passErrorsOn(decoder)
  // a client gone mid-body fails the decoder, and so s3rver's write, rather than leaving it waiting
  finished(source, (err) => { if (err) decoder.destroy(err) })
  source.pipe(decoder)
  // s3rver's putObject and uploadPart read the body from ctx.req; ctx.request.req, whose headers ctx.headers
  // reads, stays the request
  ctx.req = decoder
  headers['content-length'] = length
  // S3 keeps any other content encoding (`aws-chunked,gzip` stores `gzip`) and none when aws-chunked was all;
  // s3rver stores the header as the object's Content-Encoding
  const rest = encodings(headers['content-encoding']).filter((coding) => coding.toLowerCase() !== 'aws-chunked')
  if (rest.length > 0) headers['content-encoding'] = rest.join(',')
  else delete headers['content-encoding']
  try {
    await next()
  } catch (err) {
    if (failure !== undefined) await discard(ctx)
    throw err
  } finally {
    // what s3rver did not read (it answered before reading, or the decoder failed) is drained, so that the
    // client reads the answer and the connection its next request
    if (!source.readableEnded) {
      source.unpipe(decoder)
      source.resume()
    }
  }
}

/**
 * s3rver's stores do `body.pipe(hashing).on('error', reject)`: they listen for errors of their own stream
 * only, so the decoder's (malformed framing, a bad checksum) are passed on to the stream it is piped to,
 * which fails s3rver's write and so the request, with the error's status.
 */
function passErrorsOn (decoder) {
  const pipe = decoder.pipe
  decoder.pipe = function (destination, options) {
    if (decoder.errored) process.nextTick(() => destination.destroy(decoder.errored))
    else decoder.once('error', (err) => destination.destroy(err))
    return pipe.call(decoder, destination, options)
  }
}

/**
 * What s3rver wrote for a body that then failed: it writes the object (or the part) in place as the bytes come,
 * so a failed PutObject leaves the truncated bytes under the key, with the older object's ETag. S3 would keep
 * the older object; this test server removes the key instead, which is no garbage at least. A part goes too
 * (with its `.md5`, which would otherwise list an older size).
 */
async function discard (ctx) {
  const { bucket, key, queryMethod } = ctx.params ?? {}
  if (bucket === undefined || key === undefined) return
  if (queryMethod === undefined && !('x-amz-copy-source' in ctx.headers)) {
    await ctx.store.deleteObject(bucket, key)
  } else if (queryMethod === 'uploadId' && /^[0-9a-f]+$/i.test(ctx.query.uploadId ?? '') && /^\d+$/.test(ctx.query.partNumber ?? '')) {
    const part = join(ctx.store.getResourcePath(bucket, undefined, 'uploads'), ctx.query.uploadId, ctx.query.partNumber)
    await Promise.all([rm(part, { force: true }), rm(`${part}.md5`, { force: true })])
  }
}

// a chunk header or a trailer line; S3's are under 200 bytes, and more is not buffered waiting for a CRLF
const LINE_LIMIT = 1024
const CRLF = [0x0d, 0x0a]

/**
 * The aws-chunked body in, the object's bytes out, as they come: a chunk's data is passed on as it arrives
 * (slices of the input, not copies), only a header or trailer line is held until its CRLF. Checks what S3 does:
 * the framing, the decoded length against `length` (x-amz-decoded-content-length), each trailer `trailers` names
 * (x-amz-trailer) present and, for CRC32, CRC32C, SHA-1 and SHA-256, equal to the bytes' checksum (CRC64NVME is
 * taken unchecked). A failure is an S3Error with status 400.
 */
export class AwsChunkedDecoder extends Transform {
  #signed
  #length
  /** each trailer the request announced, with the hash of the bytes when its checksum is computed here */
  #checksums
  #trailers = new Map()
  /** size: reading a chunk header; data: a chunk's bytes; crlf: the CRLF after them; trailer: trailer lines; done */
  #state = 'size'
  #line = ''
  #remaining = 0
  #crlf = 0
  #decoded = 0

  constructor ({ signed = false, trailers = [], length } = {}) {
    super()
    this.#signed = signed
    this.#length = length
    this.#checksums = new Map(trailers.map((name) => [name, checksum(name)]))
  }

  _transform (chunk, encoding, callback) {
    try {
      this.#parse(chunk)
    } catch (err) {
      return callback(err)
    }
    callback()
  }

  _flush (callback) {
    if (this.#state !== 'done') return callback(new S3Error('IncompleteBody', 'The aws-chunked body ended before its final chunk and trailer.'))
    callback()
  }

  #parse (chunk) {
    let at = 0
    while (at < chunk.length) {
      switch (this.#state) {
        case 'data': {
          const bytes = chunk.subarray(at, at + this.#remaining)
          for (const hash of this.#checksums.values()) hash?.update(bytes)
          this.push(bytes)
          this.#remaining -= bytes.length
          at += bytes.length
          if (this.#remaining === 0) this.#state = 'crlf'
          break
        }
        case 'crlf':
          if (chunk[at] !== CRLF[this.#crlf]) throw malformed('a chunk\'s data is not followed by CRLF')
          at++
          if (++this.#crlf === CRLF.length) {
            this.#crlf = 0
            this.#state = 'size'
          }
          break
        case 'done':
          throw malformed('bytes after the final CRLF')
        default: {
          // 'size' or 'trailer': a line, maybe split across input chunks
          const newline = chunk.indexOf(0x0a, at)
          const end = newline === -1 ? chunk.length : newline
          this.#line += chunk.toString('latin1', at, end)
          if (this.#line.length > LINE_LIMIT) throw malformed(`a line longer than ${LINE_LIMIT} bytes`)
          if (newline === -1) return
          at = newline + 1
          if (!this.#line.endsWith('\r')) throw malformed('a line ended by LF alone')
          const line = this.#line.slice(0, -1)
          this.#line = ''
          if (this.#state === 'size') this.#chunkHeader(line)
          else this.#trailer(line)
        }
      }
    }
  }

  #chunkHeader (line) {
    const [hex, ...extensions] = line.split(';')
    if (!/^[0-9a-f]{1,15}$/i.test(hex)) throw malformed(`chunk size ${JSON.stringify(hex)} is not hexadecimal`)
    // a signed body signs every chunk (the final one too); an unsigned one has no extension
    const signature = extensions.length === 1 && /^chunk-signature=[0-9a-f]+$/i.test(extensions[0])
    if (this.#signed ? !signature : extensions.length > 0) throw malformed(`chunk header ${JSON.stringify(line)} for a${this.#signed ? ' signed' : 'n unsigned'} body`)
    const size = parseInt(hex, 16)
    this.#decoded += size
    if (this.#decoded > this.#length) throw new S3Error('InvalidRequest', `The aws-chunked body holds more than the x-amz-decoded-content-length of ${this.#length} bytes.`)
    if (size === 0) {
      this.#state = 'trailer'
    } else {
      this.#remaining = size
      this.#state = 'data'
    }
  }

  #trailer (line) {
    if (line === '') return this.#end()
    const colon = line.indexOf(':')
    const name = line.slice(0, colon).trim().toLowerCase()
    if (colon <= 0 || name === '') throw malformedTrailer(`a trailer line without a name: ${JSON.stringify(line)}`)
    const announced = this.#checksums.has(name) || (this.#signed && name === 'x-amz-trailer-signature')
    if (!announced) throw malformedTrailer(`a trailer x-amz-trailer did not announce: ${name}`)
    if (this.#trailers.has(name)) throw malformedTrailer(`the trailer ${name} twice`)
    this.#trailers.set(name, line.slice(colon + 1).trim())
  }

  /** The empty line after the trailers: the body is whole; its length and checksums are checked. */
  #end () {
    if (this.#length !== undefined && this.#decoded !== this.#length) {
      throw new S3Error('IncompleteBody', `The aws-chunked body holds ${this.#decoded} bytes, not the x-amz-decoded-content-length of ${this.#length}.`)
    }
    for (const [name, hash] of this.#checksums) {
      const value = this.#trailers.get(name)
      if (value === undefined) throw malformedTrailer(`the trailer ${name} that x-amz-trailer announced is missing`)
      const algorithm = name.slice('x-amz-checksum-'.length).toUpperCase()
      if (hash !== undefined && hash.digest().toString('base64') !== value) throw new S3Error('BadDigest', `The ${algorithm} you specified did not match the calculated checksum.`)
    }
    this.#state = 'done'
  }
}

/** The comma-separated values of a header (content-encoding, x-amz-trailer), trimmed. */
function encodings (header) {
  return (header ?? '').split(',').map((value) => value.trim()).filter((value) => value !== '')
}

/** S3's names for errors s3rver does not know get a 400 all the same, as S3 answers them. */
function badRequest (code, message) {
  return Object.assign(new S3Error(code, message), { status: 400, expose: true })
}

const malformed = (what) => badRequest('InvalidRequest', `Malformed aws-chunked body: ${what}.`)
const malformedTrailer = (what) => badRequest('MalformedTrailerError', `The request contained trailing data that was not well-formed: ${what}.`)

/** The hash a trailer's checksum is compared to; undefined for a trailer not checked here. */
function checksum (name) {
  switch (name) {
    case 'x-amz-checksum-crc32': return new Crc32(CRC32)
    case 'x-amz-checksum-crc32c': return new Crc32(CRC32C)
    case 'x-amz-checksum-sha1': return createHash('sha1')
    case 'x-amz-checksum-sha256': return createHash('sha256')
    default: return undefined
  }
}

// the reflected polynomials of CRC-32 (ISO-HDLC, zlib's) and CRC-32C (Castagnoli); zlib.crc32 is Node 20.15+
// and has no CRC-32C
const table = (polynomial) => Int32Array.from({ length: 256 }, (_, byte) => {
  let crc = byte
  for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ polynomial : crc >>> 1
  return crc
})
const CRC32 = table(0xedb88320)
const CRC32C = table(0x82f63b78)

/** A CRC-32 as S3 sends it: the four bytes big-endian (base64 in the trailer). */
class Crc32 {
  #table
  #crc = -1

  constructor (crcTable) {
    this.#table = crcTable
  }

  update (bytes) {
    let crc = this.#crc
    for (let i = 0; i < bytes.length; i++) crc = this.#table[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8)
    this.#crc = crc
  }

  digest () {
    const out = Buffer.alloc(4)
    out.writeUInt32BE((this.#crc ^ -1) >>> 0)
    return out
  }
}
