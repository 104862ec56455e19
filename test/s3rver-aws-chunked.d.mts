// Types for test/s3rver-aws-chunked.mjs (plain JS, as the s3rver process runs it), for its test.
import type { IncomingHttpHeaders } from 'node:http'
import { Transform } from 'node:stream'

export function awsChunked (server: unknown): void
export function isAwsChunked (headers: IncomingHttpHeaders): boolean
export class AwsChunkedDecoder extends Transform {
  constructor (options?: { signed?: boolean, trailers?: string[], length?: number })
}
