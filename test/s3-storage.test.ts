import t from 'tap'
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { request } from 'undici'
import { FileField, ImageField, S3Storage } from '../lib/index.js'
import { fixture, makeApp, postForm } from './helpers.js'
import { s3Bucket } from './s3-server.js'

/**
 * A client for an S3 that is not there (AWS, a MinIO host) whose HeadBucket answers 200 without any network:
 * for the URL-building tests only, which cannot reach AWS; every request is answered before it is sent.
 */
function offline (config: ConstructorParameters<typeof S3Client>[0]): S3Client {
  const client = new S3Client({ credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, ...config })
  client.middlewareStack.add(() => async () => ({ output: { $metadata: { httpStatusCode: 200 } }, response: {} }), { step: 'finalizeRequest', name: 'offline' })
  return client
}

t.test('options are checked; URLs wait for ready()', async (t) => {
  t.throws(() => new S3Storage({ bucket: '' }), { code: 'FST_MEDIA_INVALID_OPTION', message: /bucket/ })
  t.throws(() => new S3Storage({ bucket: 'b', publicUrl: 'cdn.example.com' }), { code: 'FST_MEDIA_INVALID_OPTION', message: /publicUrl/ })
  const storage = new S3Storage({ bucket: 'b', client: offline({ region: 'eu-west-1' }) })
  t.throws(() => storage.url('a.png'), { code: 'FST_MEDIA_INVALID_OPTION', message: /ready\(\)/ })
  await storage.ready()
  t.equal(storage.url('a b.png'), 'https://b.s3.eu-west-1.amazonaws.com/a%20b.png', 'AWS virtual-host style')
  const cdn = new S3Storage({ bucket: 'b', prefix: 'media', publicUrl: 'https://cdn.example.com/', client: offline({ region: 'eu-west-1' }) })
  await cdn.ready()
  t.equal(cdn.url('x/y.png'), 'https://cdn.example.com/media/x/y.png', 'publicUrl + full key')
  const minio = new S3Storage({ bucket: 'b', prefix: '', client: offline({ endpoint: 'https://minio.example.com', forcePathStyle: true, region: 'us-east-1' }) })
  await minio.ready()
  t.equal(minio.url('a.png'), 'https://minio.example.com/b/a.png', 'path style, default port')
  t.throws(() => new S3Storage({ bucket: 'b', prefix: '..' }), { code: 'FST_MEDIA_INVALID_OPTION', message: /prefix/ })
  t.ok(new S3Storage({ bucket: 'b' }), 'a client from the environment when none is given')
})

t.test('public objects: path-style URL, stored type, attachment for non-inline types', async (t) => {
  const { client, bucket, endpoint } = await s3Bucket(t)
  const storage = new S3Storage({ bucket, client, prefix: 'media/' })
  await storage.ready()
  const png = await storage.save('a.png', fixture('fixture.png'), { contentType: 'image/png' })
  const zip = await storage.save('b.zip', fixture('fixture.zip'), { contentType: 'application/zip' })
  t.equal(storage.url(png), `${endpoint}/${bucket}/media/a.png`)
  const image = await request(storage.url(png) as string)
  t.equal(image.statusCode, 200)
  t.equal(image.headers['content-type'], 'image/png')
  t.same(Buffer.from(await image.body.arrayBuffer()), fixture('fixture.png'))
  const archive = await request(storage.url(zip) as string)
  await archive.body.dump()
  t.equal(archive.headers['content-disposition'], 'attachment')
  t.match(await storage.stat(png), { size: fixture('fixture.png').length, contentType: 'image/png' })
})

t.test('private objects: presigned URLs that expire', async (t) => {
  const { client, bucket } = await s3Bucket(t)
  const storage = new S3Storage({ bucket, client, public: false, presignExpires: 600 })
  await storage.ready()
  const name = await storage.save('contract.pdf', fixture('fixture.pdf'), { contentType: 'application/pdf' })
  const url = storage.url(name)
  t.ok(url instanceof Promise, 'signing is asynchronous')
  const signed = new URL(await url)
  t.equal(signed.searchParams.get('X-Amz-Expires'), '600')
  t.ok(signed.searchParams.get('X-Amz-Signature'))
  const ok = await request(signed)
  t.equal(ok.statusCode, 200)
  t.same(Buffer.from(await ok.body.arrayBuffer()), fixture('fixture.pdf'))
  const short = new URL(await storage.url(name, { expiresIn: 1 }))
  t.equal(short.searchParams.get('X-Amz-Expires'), '1')
  await new Promise((resolve) => setTimeout(resolve, 2100))
  const expired = await request(short)
  await expired.body.dump()
  t.equal(expired.statusCode, 403, 'expired')
})

t.test('a name that waits for the content goes through a temporary key', async (t) => {
  const { client, bucket } = await s3Bucket(t)
  const storage = new S3Storage({ bucket, client })
  await storage.ready()
  await storage.save('cas/abc.txt', Buffer.from('taken'))
  const name = await storage.save(() => 'cas/abc.txt', Buffer.from('by content'), { contentType: 'text/plain' })
  t.match(name, /^cas\/abc_[a-zA-Z0-9]{7}\.txt$/)
  t.same(await storage.list(), ['cas/abc.txt', name], 'no temporary key is left or listed')
  const chunks: Buffer[] = []
  for await (const chunk of storage.open(name)) chunks.push(chunk as Buffer)
  t.equal(Buffer.concat(chunks).toString(), 'by content')
})

t.test('a name that waits for the content is copied with IfNoneMatch: *, so a taken name is never overwritten', async (t) => {
  const { client, bucket } = await s3Bucket(t)
  // s3rver ignores IfNoneMatch: what the client sends is watched, and an S3 that honours it is played by
  // answering 412 (as AWS does for a key written by another process after the facade looked)
  const copies: Array<{ Key?: string, IfNoneMatch?: string }> = []
  let refuse = 0
  client.middlewareStack.add((next, context) => async (args) => {
    if (context.commandName === 'CopyObjectCommand') {
      copies.push({ ...(args.input as { Key?: string, IfNoneMatch?: string }) })
      if (refuse > 0) {
        refuse--
        throw Object.assign(new Error('At least one of the pre-conditions you specified did not hold'), { name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } })
      }
    }
    return await next(args)
  }, { step: 'initialize', name: 'watchCopies' })
  const storage = new S3Storage({ bucket, client, prefix: 'media/' })
  await storage.ready()
  const text = async (name: string): Promise<string> => {
    const chunks: Buffer[] = []
    for await (const chunk of storage.open(name)) chunks.push(chunk as Buffer)
    return Buffer.concat(chunks).toString()
  }

  await storage.save('h/x.txt', Buffer.from('first'))
  const seen = await storage.save(() => 'h/x.txt', Buffer.from('second'))
  t.match(seen, /^h\/x_[a-zA-Z0-9]{7}\.txt$/, 'taken when the facade looks: a suffixed name')

  refuse = 1
  const raced = await storage.save(() => 'h/y.txt', Buffer.from('third'))
  t.match(raced, /^h\/y_[a-zA-Z0-9]{7}\.txt$/, 'taken when the copy lands (412): the next name is tried')
  t.equal(await storage.exists('h/y.txt'), false, 'the refused copy wrote nothing')

  t.same(copies.map(({ Key }) => Key), [`media/${seen}`, 'media/h/y.txt', `media/${raced}`])
  t.ok(copies.every(({ IfNoneMatch }) => IfNoneMatch === '*'), 'every CopyObject is conditional')
  t.equal(await text('h/x.txt'), 'first', 'the taken name keeps its bytes')
  t.equal(await text(seen), 'second')
  t.equal(await text(raced), 'third')
})

t.test('a large upload whose content fails midway is aborted: no object appears', async (t) => {
  const { client, bucket } = await s3Bucket(t)
  const storage = new S3Storage({ bucket, client })
  const content = (async function * () {
    for (let i = 0; i < 7; i++) yield Buffer.alloc(1024 * 1024, i)
    throw new Error('client went away')
  })()
  await t.rejects(storage.save('big.bin', content), /client went away/, 'the content\'s own error, not the abort\'s')
  t.same(await storage.list(), [])
})

t.test('plain Uint8Array chunks are bytes too', async (t) => {
  const { client, bucket } = await s3Bucket(t)
  const storage = new S3Storage({ bucket, client })
  const name = await storage.save('u8.bin', (async function * () { yield new Uint8Array([1, 2]); yield new Uint8Array([3]) })())
  const chunks: Buffer[] = []
  for await (const chunk of storage.open(name)) chunks.push(chunk as Buffer)
  t.same(Buffer.concat(chunks), Buffer.from([1, 2, 3]))
})

t.test('names that do not fit are refused', async (t) => {
  const { client, bucket } = await s3Bucket(t)
  const storage = new S3Storage({ bucket, client })
  await storage.save('abcdefghij/a.pdf', Buffer.from('1'), { maxLength: 16 })
  await t.rejects(storage.save('abcdefghij/a.pdf', Buffer.from('2'), { maxLength: 16 }), { code: 'FST_MEDIA_INVALID_NAME', message: /no room/ })
  await t.rejects(storage.getAvailableName('d'.repeat(120) + '/a.txt', 100), { code: 'FST_MEDIA_INVALID_NAME', message: /longer than 100/ })
})

t.test('list pages through more than 1000 keys', async (t) => {
  const { client, bucket } = await s3Bucket(t)
  const storage = new S3Storage({ bucket, client, prefix: 'p/' })
  await storage.ready()
  const names = Array.from({ length: 1005 }, (_, i) => `many/${String(i).padStart(4, '0')}.txt`)
  for (let i = 0; i < names.length; i += 50) {
    await Promise.all(names.slice(i, i + 50).map(async (name) => await client.send(new PutObjectCommand({ Bucket: bucket, Key: `p/${name}`, Body: 'x' }))))
  }
  t.same(await storage.list('many'), names)
})

t.test('a server that does not answer: clear storage errors, exists() is false', async (t) => {
  const client = new S3Client({ endpoint: 'http://127.0.0.1:9', region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 })
  t.teardown(() => client.destroy())
  const storage = new S3Storage({ bucket: 'b', client })
  t.equal(await storage.exists('a.txt'), false)
  await t.rejects(storage.stat('a.txt'), { code: 'FST_MEDIA_STORAGE' })
  await t.rejects(storage.delete('a.txt'), { code: 'FST_MEDIA_STORAGE', message: /delete/ })
  await t.rejects(storage.save('a.txt', Buffer.from('x')), { code: 'FST_MEDIA_STORAGE' })
  await t.rejects(storage.list(), /ECONNREFUSED|connect/)
  const read = async () => { for await (const chunk of storage.open('a.txt')) t.ok(chunk) }
  await t.rejects(read(), /ECONNREFUSED|connect/)
})

t.test('an S3 upload that the server refuses is a storage error', async (t) => {
  const { client } = await s3Bucket(t)
  const storage = new S3Storage({ bucket: 'no-such-bucket', client })
  const released: string[] = []
  await t.rejects(storage.save('a.txt', Buffer.from('x'), { claim: () => {}, release: (name) => released.push(name) }), { code: 'FST_MEDIA_STORAGE', message: /save/ })
  t.same(released, ['a.txt'], 'a claim is given back when the write fails')
  t.throws(() => storage.open('../x'), { code: 'FST_MEDIA_INVALID_NAME' })
})

t.test('without the AWS SDK, a clear message says what to install', async (t) => {
  const { loadSdk, loadPresignedPost } = await t.mockImport<typeof import('../lib/storage/s3-sdk.js')>('../lib/storage/s3-sdk.js', {
    'node:module': { createRequire: () => () => { throw new Error('Cannot find module') } }
  })
  t.throws(() => loadSdk(), { code: 'FST_MEDIA_INVALID_OPTION', message: /S3Storage: needs the AWS SDK: npm install @aws-sdk\/client-s3/ })
  t.throws(() => loadPresignedPost(), { code: 'FST_MEDIA_INVALID_OPTION', message: /direct: .*npm install @aws-sdk\/s3-presigned-post/ })
})

t.test('an upload route with an S3 field storage: checks, rollback, records', async (t) => {
  const { client, bucket } = await s3Bucket(t)
  const s3 = new S3Storage({ bucket, client, prefix: 'media/' })
  const { app } = await makeApp(t, { storages: { s3 } })
  const Profile = app.media.model('profile', {
    avatar: ImageField({ uploadTo: 'avatars/', storage: 's3' }),
    document: FileField({ uploadTo: 'docs/{hash}.{ext}', accept: ['application/pdf'], storage: 's3', required: false })
  })
  app.post('/p', { upload: Profile }, async (req, reply) => reply.code(201).send(req.uploads))
  const ok = await postForm(app, '/p', [{ name: 'avatar', filename: 'me.png', content: fixture('fixture.png') }, { name: 'document', filename: 'r.pdf', content: fixture('fixture.pdf') }])
  t.equal(ok.statusCode, 201, ok.body)
  t.match(ok.json().avatar, { name: 'avatars/me.png', width: 200, height: 133, contentType: 'image/png' })
  t.match(ok.json().avatar.url, new RegExp(`/${bucket}/media/avatars/me\\.png$`))
  t.match(ok.json().document.name, /^docs\/[0-9a-f]{64}\.pdf$/)
  const refused = await postForm(app, '/p', [{ name: 'avatar', filename: 'x.png', content: fixture('fixture.png') }, { name: 'document', filename: 'd.pdf', content: fixture('fixture.exe') }])
  t.equal(refused.json().code, 'FST_MEDIA_INVALID_TYPE')
  const big = await postForm(app, '/p', [{ name: 'avatar', filename: 'big.png', content: Buffer.concat([fixture('fixture.png'), Buffer.alloc(6 * 1024 * 1024)]) }], { chunkSize: 65_536 })
  t.equal(big.statusCode, 201, 'a multipart upload (over 5 MiB)')
  t.same((await s3.list()).filter((name) => !name.startsWith('avatars/big')), ['avatars/me.png', ok.json().document.name], 'the refused request left nothing')
})
