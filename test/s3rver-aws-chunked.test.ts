import t from 'tap'
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand
} from '@aws-sdk/client-s3'
import fc from 'fast-check'
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { crc32 } from 'node:zlib'
import { tempDir } from './helpers.js'
import { s3Bucket } from './s3-server.js'
import { AwsChunkedDecoder, isAwsChunked } from './s3rver-aws-chunked.mjs'

// test/s3rver-aws-chunked.mjs decodes, in the test server, the aws-chunked bodies the AWS SDK streams; these
// tests hold the decoder to the framing, and the server to storing the bytes the SDK was given

const CRC32 = 'x-amz-checksum-crc32'
const SIGNATURE = 'a'.repeat(64)

/** The CRC-32 S3 puts in the trailer: four bytes big-endian, base64 (zlib's, not the decoder's own table). */
const crc = (bytes: Buffer): string => {
  const out = Buffer.alloc(4)
  out.writeUInt32BE(crc32(bytes))
  return out.toString('base64')
}

/** `bytes` framed as the SDK frames them, `size` bytes a chunk, with a CRC-32 trailer unless `trailer: false`. */
function frame (bytes: Buffer, { size = 65536, signed = false, trailer = true as boolean | string } = {}): Buffer {
  const extension = signed ? `;chunk-signature=${SIGNATURE}` : ''
  const pieces: Array<string | Buffer> = []
  for (let at = 0; at < bytes.length; at += size) {
    const chunk = bytes.subarray(at, at + size)
    pieces.push(`${chunk.length.toString(16)}${extension}\r\n`, chunk, '\r\n')
  }
  pieces.push(`0${extension}\r\n`)
  if (trailer !== false) pieces.push(`${CRC32}:${typeof trailer === 'string' ? trailer : crc(bytes)}\r\n`)
  if (trailer !== false && signed) pieces.push(`x-amz-trailer-signature:${SIGNATURE}\r\n`)
  pieces.push('\r\n')
  return Buffer.concat(pieces.map((piece) => (typeof piece === 'string' ? Buffer.from(piece, 'latin1') : piece)))
}

/** `body` split into the pieces `sizes` gives (the last piece holding the rest). */
function split (body: Buffer, sizes: number[]): Buffer[] {
  const pieces: Buffer[] = []
  let at = 0
  for (const size of sizes) {
    if (at >= body.length) break
    pieces.push(body.subarray(at, at + size))
    at += size
  }
  if (at < body.length) pieces.push(body.subarray(at))
  return pieces
}

interface Options { signed?: boolean, trailers?: string[], length?: number }

/** What the decoder makes of `pieces`, written one at a time: the bytes, or its error. */
async function decode (pieces: Buffer[], options: Options): Promise<Buffer> {
  const decoder = new AwsChunkedDecoder(options)
  const out: Buffer[] = []
  decoder.on('data', (chunk: Buffer) => out.push(chunk))
  const ended = new Promise<void>((resolve, reject) => decoder.on('end', resolve).on('error', reject))
  for (const piece of pieces) decoder.write(piece)
  decoder.end()
  await ended
  return Buffer.concat(out)
}

const unsigned = (length: number): Options => ({ trailers: [CRC32], length })

t.test('the decoder: the bytes of a framed body, whole, split into 1-byte pieces and split at random', async (t) => {
  const bytes = randomBytes(200_000)
  const body = frame(bytes)
  t.same(await decode([body], unsigned(bytes.length)), bytes, 'in one piece')
  t.same(await decode(split(body, Array(body.length).fill(1)), unsigned(bytes.length)), bytes, 'a byte at a time')
  await fc.assert(fc.asyncProperty(
    fc.uint8Array({ maxLength: 3000 }),
    fc.integer({ min: 1, max: 700 }),
    fc.array(fc.integer({ min: 1, max: 200 }), { maxLength: 60 }),
    async (data, chunkSize, sizes) => {
      const payload = Buffer.from(data)
      const decoded = await decode(split(frame(payload, { size: chunkSize }), sizes), unsigned(payload.length))
      return decoded.equals(payload)
    }
  ), { numRuns: 300 })
  t.pass('any payload, chunk size and split points: the payload')
  t.same(await decode(split(frame(bytes, { size: 8192, signed: true }), [5, 1, 80, 3, 9000]), { signed: true, trailers: [CRC32], length: bytes.length }), bytes, 'signed chunks and a trailer signature')
  t.same(await decode([frame(bytes, { signed: true, trailer: false })], { signed: true, length: bytes.length }), bytes, 'signed chunks without a trailer (STREAMING-AWS4-HMAC-SHA256-PAYLOAD)')
  t.same(await decode([frame(Buffer.alloc(0))], unsigned(0)), Buffer.alloc(0), 'an empty body: the final chunk alone')
})

t.test('the decoder passes a chunk\'s bytes on as they arrive, before its input ends', async (t) => {
  const decoder = new AwsChunkedDecoder(unsigned(1 << 20))
  const body = frame(Buffer.alloc(1 << 20, 1), { size: 1 << 20 })
  let received = 0
  decoder.on('data', (chunk: Buffer) => { received += chunk.length })
  decoder.write(body.subarray(0, 1000))
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(received, 1000 - '100000\r\n'.length, 'the first 1000 bytes of a 1 MiB chunk give 992 bytes out')
  decoder.destroy()
})

t.test('the decoder refuses malformed framing, a wrong length or checksum, with a 400 S3 error', async (t) => {
  const bytes = Buffer.from('hello world')
  const good = frame(bytes).toString('latin1')
  const refused = async (body: string | Buffer, code: string, message: RegExp, options: Options = unsigned(bytes.length)): Promise<void> => {
    const input = typeof body === 'string' ? Buffer.from(body, 'latin1') : body
    await t.rejects(decode([input], options), { code, status: 400, message }, `${code}: ${message.source}`)
    // the same across 1-byte pieces: no check depends on where the input is cut
    await t.rejects(decode(split(input, Array(input.length).fill(1)), options), { code, status: 400 })
  }
  await refused(good.replace('b\r\n', 'x\r\n'), 'InvalidRequest', /chunk size "x" is not hexadecimal/)
  await refused(good.replace('b\r\n', '-1\r\n'), 'InvalidRequest', /not hexadecimal/)
  await refused(good.replace('world\r\n', 'worldXY'), 'InvalidRequest', /not followed by CRLF/)
  await refused(good.replace('b\r\n', 'b\n'), 'InvalidRequest', /LF alone/)
  await refused(`${'0'.repeat(2000)}\r\n`, 'InvalidRequest', /longer than 1024/)
  await refused(good.replace('b\r\n', 'c\r\n'), 'InvalidRequest', /more than the x-amz-decoded-content-length of 11/)
  await refused(good, 'IncompleteBody', /holds 11 bytes, not the x-amz-decoded-content-length of 12/, unsigned(12))
  await refused(good.slice(0, -2), 'IncompleteBody', /ended before its final chunk/)
  await refused(good.slice(0, 8), 'IncompleteBody', /ended before its final chunk/)
  await refused(`${good}0\r\n`, 'InvalidRequest', /bytes after the final CRLF/)
  await refused(frame(bytes, { trailer: crc(Buffer.from('hello World')) }), 'BadDigest', /The CRC32 you specified did not match/)
  await refused(frame(bytes, { trailer: false }), 'MalformedTrailerError', /x-amz-checksum-crc32 that x-amz-trailer announced is missing/)
  await refused(good, 'MalformedTrailerError', /did not announce: x-amz-checksum-crc32/, { length: bytes.length })
  await refused(good.replace('\r\n\r\n', `\r\n${CRC32}:x\r\n\r\n`), 'MalformedTrailerError', /twice/)
  await refused(good.replace(`${CRC32}:`, 'no colon '), 'MalformedTrailerError', /without a name/)
  await refused(good, 'InvalidRequest', /for a signed body/, { signed: true, trailers: [CRC32], length: bytes.length })
  await refused(frame(bytes, { signed: true }), 'InvalidRequest', /for an unsigned body/)
})

t.test('the decoder checks CRC32C, SHA-1 and SHA-256 trailers too, and takes CRC64NVME unchecked', async (t) => {
  const bytes = Buffer.from('hello world')
  const body = (name: string, value: string): Buffer => Buffer.from(frame(bytes, { trailer: false }).toString('latin1').replace(/\r\n$/, `${name}:${value}\r\n\r\n`), 'latin1')
  const sha = (algorithm: string): string => createHash(algorithm).update(bytes).digest('base64')
  // CRC-32C of "hello world": 0xc99465aa
  const checked: Array<[string, string]> = [['crc32c', 'yZRlqg=='], ['sha1', sha('sha1')], ['sha256', sha('sha256')]]
  for (const [algorithm, value] of checked) {
    const name = `x-amz-checksum-${algorithm}`
    t.same(await decode([body(name, value)], { trailers: [name], length: 11 }), bytes, `${algorithm}: the right checksum`)
    await t.rejects(decode([body(name, sha('md5'))], { trailers: [name], length: 11 }), { code: 'BadDigest', status: 400 }, `${algorithm}: a wrong one`)
  }
  t.same(await decode([body('x-amz-checksum-crc64nvme', 'AAAAAAAAAAA=')], { trailers: ['x-amz-checksum-crc64nvme'], length: 11 }), bytes, 'crc64nvme: not computed, not refused')
})

t.test('isAwsChunked: content-encoding naming aws-chunked among others, or a STREAMING- x-amz-content-sha256', async (t) => {
  t.ok(isAwsChunked({ 'content-encoding': 'aws-chunked' }))
  t.ok(isAwsChunked({ 'content-encoding': 'gzip, AWS-Chunked' }))
  t.ok(isAwsChunked({ 'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER' }))
  t.ok(isAwsChunked({ 'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' }))
  t.notOk(isAwsChunked({ 'content-encoding': 'gzip', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }))
  t.notOk(isAwsChunked({}))
})

/** The headers of every request the client sends, as they leave it (after the checksum and signing steps). */
function sentHeaders (client: S3Client): Array<Record<string, string>> {
  const sent: Array<Record<string, string>> = []
  client.middlewareStack.add((next) => async (args) => {
    sent.push({ ...(args.request as { headers: Record<string, string> }).headers })
    return next(args)
  }, { step: 'finalizeRequest', priority: 'low' })
  return sent
}

const bodyOf = async (client: S3Client, bucket: string, key: string): Promise<Buffer> =>
  Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray())

const md5 = (bytes: Buffer): string => `"${createHash('md5').update(bytes).digest('hex')}"`

t.test('PutObject of a stream, sent aws-chunked with a CRC32 trailer, reads back byte-identical and without aws-chunked', async (t) => {
  const { client, bucket } = await s3Bucket(t)
  const sent = sentHeaders(client)
  const bytes = randomBytes(300_000)
  // a Readable's length the SDK cannot know: ContentLength says it (without it the SDK fails before sending,
  // with x-amz-decoded-content-length "undefined")
  const put = await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'streamed.bin', Body: Readable.from(split(bytes, [1000, 70_000, 5])), ContentLength: bytes.length }))
  t.match(sent.at(-1), { 'content-encoding': 'aws-chunked', 'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'x-amz-trailer': CRC32, 'x-amz-decoded-content-length': String(bytes.length) }, 'the SDK sent it aws-chunked')
  t.equal(put.ETag, md5(bytes), 'the ETag is the MD5 of the bytes, not of their framing')
  t.same(await bodyOf(client, bucket, 'streamed.bin'), bytes, 'the same bytes back')
  const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'streamed.bin' }))
  t.equal(head.ContentLength, bytes.length)
  t.equal(head.ContentEncoding, undefined, 'no Content-Encoding stored: aws-chunked was all of it')

  await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'gzipped.bin', Body: Readable.from([bytes]), ContentLength: bytes.length, ContentEncoding: 'gzip' }))
  t.match(sent.at(-1), { 'content-encoding': /^gzip,\s*aws-chunked$|^aws-chunked,\s*gzip$/ }, 'sent with gzip and aws-chunked')
  t.equal((await client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'gzipped.bin' }))).ContentEncoding, 'gzip', 'gzip kept, aws-chunked dropped')
  t.same(await bodyOf(client, bucket, 'gzipped.bin'), bytes)

  await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'buffer.bin', Body: bytes }))
  t.notOk(isAwsChunked(sent.at(-1)!), 'a Buffer body goes plain, with its checksum as a header')
  t.same(await bodyOf(client, bucket, 'buffer.bin'), bytes, 'and is left as it was')
})

t.test('UploadPart of MiB-sized file streams (as @tus/s3-store sends them): the completed object is the bytes, the part ETags their MD5s', async (t) => {
  const { client, bucket } = await s3Bucket(t)
  const sent = sentHeaders(client)
  const dir = tempDir(t)
  const parts = [randomBytes(6 * 1024 * 1024 + 123), randomBytes(1024 * 1024 + 7)]
  const key = 'big/video.mp4'
  const uploadId = (await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }))).UploadId!
  const etags: string[] = []
  for (const [index, bytes] of parts.entries()) {
    const file = join(dir, `part-${index}`)
    writeFileSync(file, bytes)
    const done = await client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: index + 1, Body: createReadStream(file) }))
    etags.push(done.ETag!)
  }
  t.ok(sent.length === 3 && sent.slice(1).every((headers) => isAwsChunked(headers) && headers['x-amz-trailer'] === CRC32), 'both parts sent aws-chunked')
  t.same(etags, parts.map(md5), 'each part\'s ETag the MD5 of its bytes')
  const listed = await client.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
  t.same(listed.Parts!.map((part) => part.Size), parts.map((bytes) => bytes.length), 'ListParts: the decoded sizes')
  await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: etags.map((ETag, index) => ({ ETag, PartNumber: index + 1 })) } }))
  const whole = await bodyOf(client, bucket, key)
  t.equal(whole.length, parts[0]!.length + parts[1]!.length)
  t.ok(whole.equals(Buffer.concat(parts)), 'the object is the parts\' bytes, in order')
  t.equal((await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ContentEncoding, undefined)
})

/** A PUT with an aws-chunked body sent as is (the SDK frames only well): the status and S3's error code. */
async function rawPut (endpoint: string, path: string, body: Buffer, length: number): Promise<{ status: number, code: string | undefined }> {
  return await new Promise((resolve, reject) => {
    const req = request(`${endpoint}${path}`, {
      method: 'PUT',
      headers: { 'content-encoding': 'aws-chunked', 'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'x-amz-trailer': CRC32, 'x-amz-decoded-content-length': String(length), 'content-length': String(body.length) }
    }, (res) => {
      let text = ''
      res.setEncoding('utf8').on('data', (chunk: string) => { text += chunk }).on('end', () => resolve({ status: res.statusCode!, code: /<Code>([^<]*)<\/Code>/.exec(text)?.[1] }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

t.test('a malformed aws-chunked PUT is answered 400 and leaves no bytes of it under the key or as a part', async (t) => {
  const { client, bucket, endpoint } = await s3Bucket(t)
  const bytes = randomBytes(100_000)
  const corrupt = Buffer.from(frame(bytes, { size: 30_000 }).toString('latin1').replace('\r\n7530\r\n', '\r\n7530;x\r\n'), 'latin1')

  t.same(await rawPut(endpoint, `/${bucket}/good.bin`, frame(bytes), bytes.length), { status: 200, code: undefined }, 'a well-framed one is taken (anonymous: s3rver wants no signature)')
  t.same(await bodyOf(client, bucket, 'good.bin'), bytes)
  t.same(await rawPut(endpoint, `/${bucket}/bad.bin`, corrupt, bytes.length), { status: 400, code: 'InvalidRequest' }, 'a chunk header with a stray extension')
  await t.rejects(client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'bad.bin' })), { name: 'NotFound' }, 'nothing stored')
  t.same(await rawPut(endpoint, `/${bucket}/bad.bin`, frame(bytes, { trailer: crc(Buffer.alloc(1)) }), bytes.length), { status: 400, code: 'BadDigest' }, 'a wrong CRC32, found after all the bytes')
  await t.rejects(client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'bad.bin' })), { name: 'NotFound' }, 'nothing stored')
  // s3rver writes an object in place as it comes, so a failed PUT over a key removes the key: S3 would keep
  // the older object, this server at least serves no truncated one
  t.same(await rawPut(endpoint, `/${bucket}/good.bin`, corrupt, bytes.length), { status: 400, code: 'InvalidRequest' }, 'a malformed PUT over an object')
  await t.rejects(client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'good.bin' })), { name: 'NotFound' }, 'the key removed, not truncated')

  const uploadId = (await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'parts.bin' }))).UploadId!
  const part = (number: number, body: Buffer): Promise<{ status: number, code: string | undefined }> => rawPut(endpoint, `/${bucket}/parts.bin?partNumber=${number}&uploadId=${uploadId}`, body, bytes.length)
  t.same(await part(1, frame(bytes)), { status: 200, code: undefined })
  t.same(await part(2, corrupt), { status: 400, code: 'InvalidRequest' }, 'a malformed part')
  t.same(await part(1, frame(bytes, { trailer: crc(Buffer.alloc(1)) })), { status: 400, code: 'BadDigest' }, 'part 1 again, with a wrong CRC32')
  const listed = await client.send(new ListPartsCommand({ Bucket: bucket, Key: 'parts.bin', UploadId: uploadId }))
  t.same(listed.Parts ?? [], [], 'neither failed part listed, part 1\'s older bytes gone with it')
})
