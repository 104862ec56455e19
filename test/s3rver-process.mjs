// s3rver in a process of its own, so the tests' memory figures are the client's alone. Told its directory,
// its bucket and the bucket's configuration files (CORS, website XML) by argv; answers its port over IPC;
// stops when the parent says so or goes away.
import { readFileSync } from 'node:fs'
import S3rver from 's3rver'
import { awsChunked } from './s3rver-aws-chunked.mjs'
import { multipartUploads } from './s3rver-multipart.mjs'

const [directory, bucket, ...configFiles] = process.argv.slice(2)
const configs = configFiles.map((file) => readFileSync(file))
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket, configs }] })
// before run(): Koa composes its middleware when it starts listening. Each puts itself first: the aws-chunked
// decoder goes last so that it runs before all (the multipart answers included) and all see a decoded body
multipartUploads(server)
awsChunked(server)
const { port } = await server.run()
process.send({ port })
const stop = async () => {
  await server.close()
  process.exit(0)
}
process.on('message', stop)
process.on('disconnect', stop)
