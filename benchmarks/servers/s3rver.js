// s3rver (a local S3 over the filesystem) on 127.0.0.1, for the direct-upload scenario: one bucket, its
// objects under `dir`. The same IPC as the other servers (lib/child.js), so its CPU and RSS can be read.
import S3rver from 's3rver'
import { config, serve } from './ipc.js'

const { dir, bucket } = config()
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: [{ name: bucket, configs: [] }] })
const { port } = await server.run()
serve({ port, close: () => server.close() })
