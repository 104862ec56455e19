// s3rver for the sweep scenario: with the tests' extension for ListMultipartUploads, which s3rver 3.7 does
// not implement and the sweep asks on an S3Storage. Started with --openssl-legacy-provider: s3rver's
// ListObjectsV2 continuation tokens are DES (test/s3-server.ts).
import S3rver from 's3rver'
import { multipartUploads } from '../../test/s3rver-multipart.mjs'
import { config, serve } from './ipc.js'

const { dir, bucket } = config()
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: [{ name: bucket, configs: [] }] })
multipartUploads(server)
const { port } = await server.run()
serve({ port, close: () => server.close() })
