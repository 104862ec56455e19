import { S3Client } from '@aws-sdk/client-s3'
import S3rver from 's3rver'
import { tempDir, type Tap } from './helpers.js'

let buckets = 0

/** A real S3 HTTP server (s3rver) on 127.0.0.1 with a fresh bucket, stopped when the test ends. */
export async function s3Bucket (t: Tap): Promise<{ client: S3Client, bucket: string, endpoint: string }> {
  const bucket = `test-${process.pid}-${++buckets}`
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: tempDir(t), configureBuckets: [{ name: bucket, configs: [] }] })
  const { port } = await server.run()
  const endpoint = `http://127.0.0.1:${port}`
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } })
  t.teardown(async () => {
    client.destroy()
    await server.close()
  })
  return { client, bucket, endpoint }
}
