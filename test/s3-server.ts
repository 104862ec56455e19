import { S3Client } from '@aws-sdk/client-s3'
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { tempDir, type Tap } from './helpers.js'

let buckets = 0

/**
 * A real S3 HTTP server (s3rver, in a child process) on 127.0.0.1 with a fresh bucket, stopped when the test
 * ends. `configs`: files of the bucket's configuration in S3's XML (a CORS rule), as s3rver's --configure-bucket.
 */
export async function s3Bucket (t: Tap, { configs = [] }: { configs?: string[] } = {}): Promise<{ client: S3Client, bucket: string, endpoint: string, dir: string }> {
  const bucket = `test-${process.pid}-${++buckets}`
  // s3rver's files: `<dir>/<bucket>/...`
  const dir = tempDir(t)
  // s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 (Node 20+) has only in its
  // legacy provider: a test-side workaround, so that lib/ lists with V2 as production S3 wants
  const child = fork(new URL('./s3rver-process.mjs', import.meta.url), [dir, bucket, ...configs], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: ['--openssl-legacy-provider'] })
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
  const [{ port }] = await once(child, 'message') as [{ port: number }]
  clearTimeout(timer)
  const endpoint = `http://127.0.0.1:${port}`
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } })
  t.teardown(async () => {
    client.destroy()
    if (child.exitCode === null) {
      const exited = once(child, 'exit')
      child.send('stop')
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))])
      child.kill('SIGKILL')
    }
  })
  return { client, bucket, endpoint, dir }
}
