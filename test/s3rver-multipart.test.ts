import t from 'tap'
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  S3Client,
  UploadPartCommand
} from '@aws-sdk/client-s3'
import { s3Bucket } from './s3-server.js'

// test/s3rver-multipart.mjs answers, in the test server, the three multipart requests s3rver lacks; these
// tests hold it to what the AWS SDK reads from S3

async function create (client: S3Client, bucket: string, key: string): Promise<string> {
  return (await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }))).UploadId!
}

/** Uploads `bytes` as part `number`; what UploadPart answered as its ETag. */
async function part (client: S3Client, bucket: string, key: string, uploadId: string, number: number, bytes: Buffer): Promise<string> {
  return (await client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: number, Body: bytes }))).ETag!
}

/** The keys and upload ids ListMultipartUploads gives, in its order. */
async function uploads (client: S3Client, bucket: string, prefix?: string): Promise<Array<[string, string]>> {
  const page = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }))
  return (page.Uploads ?? []).map((upload) => [upload.Key!, upload.UploadId!])
}

t.test('ListParts: every part in number order, with the Size and the ETag UploadPart answered', async (t) => {
  const { client, bucket } = await s3Bucket(t)
  const key = 'videos/a clip+1.mp4'
  const uploadId = await create(client, bucket, key)
  const empty = await client.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
  t.same(empty.Parts ?? [], [], 'an upload without parts yet lists none')
  t.equal(empty.IsTruncated, false)
  const sizes = { 1: 5, 2: 7, 3: 11 }
  const etags: Record<number, string> = {}
  for (const number of [3, 1, 2] as const) etags[number] = await part(client, bucket, key, uploadId, number, Buffer.alloc(sizes[number], number))
  const listed = await client.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
  t.match(listed, { Bucket: bucket, Key: key, UploadId: uploadId, IsTruncated: false, MaxParts: 1000 }, 'the upload it lists')
  t.same(listed.Parts!.map(({ PartNumber, Size, ETag }) => ({ PartNumber, Size, ETag })), [
    { PartNumber: 1, Size: 5, ETag: etags[1] },
    { PartNumber: 2, Size: 7, ETag: etags[2] },
    { PartNumber: 3, Size: 11, ETag: etags[3] }
  ], 'uploaded 3, 1, 2; listed 1, 2, 3')
  t.match(etags[1], /^"[0-9a-f]{32}"$/, 'an ETag is the part\'s quoted MD5')
  t.ok(listed.Parts!.every((one) => one.LastModified instanceof Date && Math.abs(Date.now() - one.LastModified.getTime()) < 60_000), 'LastModified a date of now')

  await part(client, bucket, key, uploadId, 2, Buffer.alloc(3, 9))
  const again = await client.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
  t.same(again.Parts!.map(({ PartNumber, Size }) => [PartNumber, Size]), [[1, 5], [2, 3], [3, 11]], 'a part uploaded again is listed once, as last sent')
})

t.test('ListParts pages: MaxParts parts a page, NextPartNumberMarker where the next page starts', async (t) => {
  const { client, bucket } = await s3Bucket(t)
  const uploadId = await create(client, bucket, 'big.bin')
  for (const number of [1, 2, 3, 4, 5]) await part(client, bucket, 'big.bin', uploadId, number, Buffer.alloc(number))
  const pages: Array<{ parts: number[], truncated: boolean | undefined, next: string | undefined }> = []
  let marker: string | undefined
  do {
    const page = await client.send(new ListPartsCommand({ Bucket: bucket, Key: 'big.bin', UploadId: uploadId, MaxParts: 2, PartNumberMarker: marker }))
    t.equal(page.MaxParts, 2)
    t.equal(page.PartNumberMarker, marker ?? '0', 'the marker asked for is echoed')
    pages.push({ parts: (page.Parts ?? []).map((one) => one.PartNumber!), truncated: page.IsTruncated, next: page.NextPartNumberMarker })
    marker = page.IsTruncated ? page.NextPartNumberMarker : undefined
  } while (marker !== undefined && pages.length < 10)
  t.same(pages, [
    { parts: [1, 2], truncated: true, next: '2' },
    { parts: [3, 4], truncated: true, next: '4' },
    { parts: [5], truncated: false, next: '5' }
  ])
  await t.rejects(client.send(new ListPartsCommand({ Bucket: bucket, Key: 'big.bin', UploadId: uploadId, PartNumberMarker: 'x' })), { name: 'InvalidArgument' }, 'a marker that is not a number')
})

t.test('AbortMultipartUpload removes the upload: ListParts and a second abort say NoSuchUpload, ListMultipartUploads drops it', async (t) => {
  const { client, bucket } = await s3Bucket(t)
  const kept = await create(client, bucket, 'kept.bin')
  const uploadId = await create(client, bucket, 'dropped.bin')
  await part(client, bucket, 'dropped.bin', uploadId, 1, Buffer.alloc(10))
  t.same(await uploads(client, bucket), [['dropped.bin', uploadId], ['kept.bin', kept]])

  await t.rejects(client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'kept.bin', UploadId: uploadId })), { name: 'NoSuchUpload', $metadata: { httpStatusCode: 404 } }, 'an upload id is only its own key\'s')
  const aborted = await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'dropped.bin', UploadId: uploadId }))
  t.equal(aborted.$metadata.httpStatusCode, 204)
  await t.rejects(client.send(new ListPartsCommand({ Bucket: bucket, Key: 'dropped.bin', UploadId: uploadId })), { name: 'NoSuchUpload', $metadata: { httpStatusCode: 404 } })
  await t.rejects(client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'dropped.bin', UploadId: uploadId })), { name: 'NoSuchUpload' }, 'aborted twice')
  t.same(await uploads(client, bucket), [['kept.bin', kept]], 'the other upload is still open')
  await t.rejects(client.send(new ListPartsCommand({ Bucket: bucket, Key: 'kept.bin', UploadId: '../../x' })), { name: 'NoSuchUpload' }, 'an id that is no upload id')
})

t.test('ListMultipartUploads: open uploads by key then upload id, with their Initiated; Prefix; markers; not a completed one', async (t) => {
  const { client, bucket } = await s3Bucket(t)
  t.same(await uploads(client, bucket), [], 'a bucket without uploads lists none')
  const started = Date.now()
  const b = await create(client, bucket, 'b/one')
  const a1 = await create(client, bucket, 'a/two')
  const a2 = await create(client, bucket, 'a/two')
  const c = await create(client, bucket, 'c')
  const [first, second] = [a1, a2].sort()
  const all = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))
  t.same(all.Uploads!.map((upload) => [upload.Key, upload.UploadId]), [['a/two', first], ['a/two', second], ['b/one', b], ['c', c]])
  t.match(all, { Bucket: bucket, IsTruncated: false, MaxUploads: 1000 })
  t.ok(all.Uploads!.every((upload) => upload.Initiated instanceof Date && upload.Initiated.getTime() >= started - 1000 && upload.Initiated.getTime() <= Date.now()), 'Initiated: when it was created')
  t.same(await uploads(client, bucket, 'a/'), [['a/two', first], ['a/two', second]], 'under a prefix')
  t.same(await uploads(client, bucket, 'd'), [], 'a prefix nothing is under')

  const pages: string[][] = []
  let markers: { KeyMarker?: string, UploadIdMarker?: string } = {}
  for (;;) {
    const page = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, MaxUploads: 3, ...markers }))
    pages.push(page.Uploads!.map((upload) => upload.UploadId!))
    if (page.IsTruncated !== true || pages.length > 5) break
    markers = { KeyMarker: page.NextKeyMarker!, UploadIdMarker: page.NextUploadIdMarker! }
  }
  t.same(pages, [[first, second, b], [c]], 'MaxUploads a page; NextKeyMarker and NextUploadIdMarker where the next starts')
  t.same(await uploads(client, bucket).then((list) => list.length), 4)
  const afterKey = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, KeyMarker: 'a/two', UploadIdMarker: first }))
  t.same(afterKey.Uploads!.map((upload) => upload.UploadId), [second, b, c], 'the marker\'s key with a later upload id is still listed')
  const afterAll = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, KeyMarker: 'a/two' }))
  t.same(afterAll.Uploads!.map((upload) => upload.UploadId), [b, c], 'without an upload id marker, none of the marker\'s key')

  const etag = await part(client, bucket, 'b/one', b, 1, Buffer.from('hello'))
  await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'b/one', UploadId: b, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: etag }] } }))
  t.equal((await client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'b/one' }))).ContentLength, 5, 'completed by s3rver itself')
  t.same(await uploads(client, bucket), [['a/two', first], ['a/two', second], ['c', c]], 'a completed upload is no longer listed')
  await t.rejects(client.send(new ListPartsCommand({ Bucket: bucket, Key: 'b/one', UploadId: b })), { name: 'NoSuchUpload' }, 'nor are its parts')
})

t.test('the requests it does not answer still reach s3rver', async (t) => {
  const { client, bucket } = await s3Bucket(t)
  await t.rejects(client.send(new ListPartsCommand({ Bucket: `${bucket}-none`, Key: 'a', UploadId: 'ab' })), { name: 'NoSuchBucket' }, 'a bucket that is not there')
  await t.rejects(client.send(new ListMultipartUploadsCommand({ Bucket: `${bucket}-none` })), { name: 'NoSuchBucket' })
  await t.rejects(client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Delimiter: '/' })), { name: 'NotImplemented' }, 'a Delimiter is not done')
})
