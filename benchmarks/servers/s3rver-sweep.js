// s3rver for the sweep scenario: the tests' own extension for ListMultipartUploads (which s3rver 3.7 does
// not implement, and the sweep asks on an S3Storage), and a listing in key order. s3rver walks its directory
// with readdirSync, in the file system's order, yet pages a listing by "keys after the last one returned":
// on a directory whose order is not the keys' (ext4's hash order), a page boundary skips keys. The walk here
// sorts each directory. Started with --openssl-legacy-provider: ListObjectsV2 tokens are DES (test/s3-server.ts).
import { readdirSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { posix } from 'node:path'
import { config, serve } from './ipc.js'

const require = createRequire(import.meta.url)
// before s3rver's store loads: it takes `walk` from utils when it is required
require('s3rver/lib/utils.js').walk = function * walk (dir, recurseFilter) {
  for (const filename of readdirSync(dir).sort()) {
    const filePath = posix.join(dir, filename)
    if (!statSync(filePath).isDirectory()) yield filePath
    else if (!recurseFilter || recurseFilter(filePath)) yield * walk(filePath, recurseFilter)
  }
}
const { default: S3rver } = await import('s3rver')
const { multipartUploads } = await import('../../test/s3rver-multipart.mjs')

const { dir, bucket } = config()
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: [{ name: bucket, configs: [] }] })
multipartUploads(server)
const { port } = await server.run()
serve({ port, close: () => server.close() })
