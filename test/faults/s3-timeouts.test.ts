// S3Storage's connection and idle timeouts: on by default on the client it makes, configurable, never
// forced on a client (or request handler) of the user's own.
import t from 'tap'
import { S3Client } from '@aws-sdk/client-s3'
import { S3Storage } from '../../lib/index.js'
import type { S3Driver } from '../../lib/storage/s3.js'
import { within } from '../http-helpers.js'
import { s3Bucket } from '../s3-server.js'
import { s3Proxy } from './s3-proxy.js'

const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }

/** The timeouts the storage's client really sends with (the SDK resolves its handler's config at the first request). */
async function handlerTimeouts (storage: S3Storage): Promise<{ connectionTimeout?: number, socketTimeout?: number }> {
  await storage.ready()
  const handler = ((storage.driver as S3Driver).client as S3Client).config.requestHandler as unknown as { httpHandlerConfigs: () => { connectionTimeout?: number, socketTimeout?: number } }
  const { connectionTimeout, socketTimeout } = handler.httpHandlerConfigs()
  return { connectionTimeout, socketTimeout }
}

t.test('by default the client made from clientConfig connects within 5 s and fails a request silent for 30 s; both are options; the user\'s handler options win', async (t) => {
  const { bucket, endpoint } = await s3Bucket(t)
  const clientConfig = { endpoint, region: 'us-east-1', forcePathStyle: true, credentials }
  t.same(await handlerTimeouts(new S3Storage({ bucket, clientConfig })), { connectionTimeout: 5000, socketTimeout: 30_000 })
  t.same(await handlerTimeouts(new S3Storage({ bucket, clientConfig, connectionTimeout: 1000, socketTimeout: 0 })), { connectionTimeout: 1000, socketTimeout: 0 })
  t.same(await handlerTimeouts(new S3Storage({ bucket, clientConfig: { ...clientConfig, requestHandler: { socketTimeout: 7000 } } })), { connectionTimeout: 5000, socketTimeout: 7000 })
})

t.test('a client or request handler of the user\'s own keeps its timeouts: timeouts given with one are refused', async (t) => {
  const client = new S3Client({ region: 'us-east-1', credentials })
  t.teardown(() => client.destroy())
  t.throws(() => new S3Storage({ bucket: 'b', client, socketTimeout: 1000 }), { code: 'FST_MEDIA_INVALID_OPTION', message: /^S3Storage: client is yours and keeps its own timeouts/ })
  const requestHandler = client.config.requestHandler
  t.throws(() => new S3Storage({ bucket: 'b', clientConfig: { requestHandler }, connectionTimeout: 1000 }), { code: 'FST_MEDIA_INVALID_OPTION', message: /^S3Storage: clientConfig\.requestHandler is yours/ })
  const own = new S3Storage({ bucket: 'b', clientConfig: { region: 'us-east-1', credentials, requestHandler } })
  t.equal(((own.driver as S3Driver).client as S3Client).config.requestHandler, requestHandler, 'the handler is used as it is')
  t.equal((new S3Storage({ bucket: 'b', client }).driver as S3Driver).client, client, 'the client is used as it is')
  for (const bad of [-1, 1.5, '1000', Infinity]) {
    t.throws(() => new S3Storage({ bucket: 'b', socketTimeout: bad as number }), { code: 'FST_MEDIA_INVALID_OPTION', message: /^S3Storage\.socketTimeout: must be milliseconds/ }, String(bad))
  }
})

t.test('socketTimeout: an S3 that accepts connections and never answers fails the operation with FST_MEDIA_STORAGE (TimeoutError), the SDK\'s retries included', async (t) => {
  const { bucket, endpoint } = await s3Bucket(t)
  const proxy = await s3Proxy(t, endpoint)
  const storage = new S3Storage({ bucket, socketTimeout: 200, clientConfig: { endpoint: proxy.endpoint, region: 'us-east-1', forcePathStyle: true, credentials, maxAttempts: 2 } })
  await storage.ready()
  proxy.blackHole()
  const err = await within(storage.stat('a.pdf').catch((err: unknown) => err), 'the failure', 10_000)
  t.match(err, { code: 'FST_MEDIA_STORAGE', message: 'stat: storage failed (TimeoutError)' })
  t.match((err as Error).cause, { name: 'TimeoutError' })
})
