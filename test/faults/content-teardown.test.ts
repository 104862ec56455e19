import t from 'tap'
import { Disk } from '../../lib/index.js'
import { MapDriver } from '../drivers/map-driver.js'

/**
 * What S3 killed mid-upload did: lib-storage, failing, destroys the stream it reads the content through;
 * the read still pending under it fails with an AbortError. The content did not fail: the driver did.
 */
t.test('a driver that fails and tears the content down gets FST_MEDIA_STORAGE, not the teardown\'s AbortError', async (t) => {
  const failure = new Error('ECONNREFUSED at UploadPart')
  const driver = new MapDriver()
  driver.write = async (_key, content) => {
    const iterator = (content as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]()
    await iterator.next()
    const pending = iterator.next()
    await iterator.return!()
    await pending.catch(() => {})
    throw failure
  }
  // a client's part: its pending read fails as a destroyed Readable's does once return() lets go of it
  let abandon: ((err: Error) => void) | undefined
  const part = {
    [Symbol.asyncIterator]: () => ({
      sent: false,
      async next () {
        if (!this.sent) return { done: false as const, value: (this.sent = true) && Buffer.from('x') }
        return await new Promise<IteratorResult<Buffer>>((_resolve, reject) => { abandon = reject })
      },
      async return () {
        abandon?.(Object.assign(new Error('The operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR' }))
        return { done: true as const, value: undefined }
      }
    })
  }
  const err = await new Disk(driver).save(() => 'a.bin', part).catch((err: unknown) => err)
  t.match(err, { code: 'FST_MEDIA_STORAGE', message: 'save: storage failed (ECONNREFUSED at UploadPart)' })
  t.equal((err as Error).cause, failure)
})
