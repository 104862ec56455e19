// The sweep of an S3Storage's multipart uploads that a failure could not abort (S3 down at the time), on
// s3rver: by age, in a dry run and for real, inside the storage's prefix only; and S3 failing mid-sweep.
import t from 'tap'
import { CreateMultipartUploadCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3'
import { readdirSync, utimesSync } from 'node:fs'
import { join } from 'node:path'
import { S3Storage } from '../lib/index.js'
import { makeApp, type Tap } from './helpers.js'
import { s3Bucket } from './s3-server.js'
import { s3Proxy } from './faults/s3-proxy.js'

const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }
const THREE_DAYS_AGO = new Date(Date.now() - 3 * 86400_000)

/** Starts a multipart upload of `key` straight on s3rver; `old` dates it three days back. */
async function unfinished (client: S3Client, bucket: string, dir: string, key: string, { old }: { old: boolean }): Promise<string> {
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }))
  if (old) {
    // s3rver keeps an open upload in a directory of its id; its `key` file's time is the upload's Initiated
    const uploads = readdirSync(join(dir, bucket)).find((entry) => entry.endsWith('_S3rver_uploads')) as string
    utimesSync(join(dir, bucket, uploads, UploadId as string, 'key'), THREE_DAYS_AGO, THREE_DAYS_AGO)
  }
  return UploadId as string
}

async function unfinishedKeys (client: S3Client, bucket: string): Promise<string[]> {
  const listed = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))
  return (listed.Uploads ?? []).map((upload) => upload.Key as string).sort()
}

async function appOn (t: Tap, endpoint: string, bucket: string) {
  const storage = new S3Storage({ bucket, prefix: 'media', clientConfig: { endpoint, region: 'us-east-1', forcePathStyle: true, credentials } })
  const { app } = await makeApp(t, { storages: { default: storage } })
  return app
}

t.test('unfinished multipart uploads older than olderThan are aborted, counted in a dry run, and only inside the storage\'s prefix', async (t) => {
  const { client, bucket, endpoint, dir } = await s3Bucket(t)
  // more than a page of them (batchSize 2): the listing goes on from S3's markers
  for (const key of ['media/a.bin', 'media/b.bin', 'media/b.bin', 'media/.tmp/x']) await unfinished(client, bucket, dir, key, { old: true })
  await unfinished(client, bucket, dir, 'media/recent.bin', { old: false })
  await unfinished(client, bucket, dir, 'other/old.bin', { old: true })
  const app = await appOn(t, endpoint, bucket)
  const all = ['media/.tmp/x', 'media/a.bin', 'media/b.bin', 'media/b.bin', 'media/recent.bin', 'other/old.bin']
  t.same(await unfinishedKeys(client, bucket), all)

  const dry = await app.media.sweep({ isReferenced: () => [], olderThan: '1d', dryRun: true, batchSize: 2 })
  t.equal(dry.unfinished, 4, 'four old enough, in the prefix')
  t.same(await unfinishedKeys(client, bucket), all, 'a dry run aborts nothing')

  const real = await app.media.sweep({ isReferenced: () => [], olderThan: '1d', batchSize: 2 })
  t.equal(real.unfinished, 4)
  t.same(await unfinishedKeys(client, bucket), ['media/recent.bin', 'other/old.bin'], 'the recent one and the one outside the prefix stay')
})

t.test('the CLI\'s summary line says how many unfinished multipart uploads went (and says nothing of them for a disk)', async (t) => {
  const { client, bucket, endpoint, dir } = await s3Bucket(t)
  await unfinished(client, bucket, dir, 'media/a.bin', { old: true })
  const app = await appOn(t, endpoint, bucket)
  const { sweepSummary } = await import('../lib/lifecycle/sweep.js')
  t.match(sweepSummary(await app.media.sweep({ isReferenced: () => [], dryRun: true })), /, would abort 1 unfinished multipart uploads; kept/)
  t.match(sweepSummary(await app.media.sweep({ isReferenced: () => [] })), /, aborted 1 unfinished multipart uploads; kept/)
  const { app: onDisk } = await makeApp(t)
  t.notMatch(sweepSummary(await onDisk.media.sweep({ isReferenced: () => [] })), /multipart/)
})

t.test('S3 failing while the sweep lists or aborts unfinished uploads: FST_MEDIA_STORAGE naming the storage and the operation', async (t) => {
  const { client, bucket, endpoint, dir } = await s3Bucket(t)
  await unfinished(client, bucket, dir, 'media/a.bin', { old: true })
  for (const [operation, match] of [
    ['list', (line: { method: string, path: string }) => line.method === 'GET' && /[?&]uploads(=|&|$)/.test(line.path)],
    ['delete', (line: { method: string, path: string }) => line.method === 'DELETE' && /[?&]uploadId=/.test(line.path)]
  ] as const) {
    const proxy = await s3Proxy(t, endpoint)
    const app = await appOn(t, proxy.endpoint, bucket)
    // the proxy goes as the request passes it: its answer never comes back, and nothing answers the retries
    const cut = proxy.request(match).then(async () => await proxy.kill())
    await t.rejects(app.media.sweep({ isReferenced: () => [], olderThan: '1d' }), { code: 'FST_MEDIA_STORAGE', message: new RegExp(`^storages\\.default: storage failed \\(${operation}: `) }, operation)
    await cut
  }
})
