import { buffer } from 'node:stream/consumers'
import type * as ClientS3 from '@aws-sdk/client-s3'
import type { Readable } from 'node:stream'
import { RESUMABLE } from '../storage/disk.js'
import type { ListPage, ResumableStore, ResumableStoreOptions } from '../storage/driver.js'
import { loadTus } from './load-tus.js'

export interface S3BackingContext {
  s3: typeof ClientS3
  client: ClientS3.S3Client
  bucket: string
  /** The storage's key prefix (`media/`, or ''). */
  prefix: string
  list: (prefix: string, options: { cursor?: string }) => Promise<ListPage>
}

/**
 * Resumable uploads of an S3 storage: @tus/s3-store under `<prefix>.resumable/`, through the storage's own
 * client (its endpoint, credentials and retries), so a finished upload is one object the commit copies.
 */
export async function s3Backing ({ s3, client, bucket, prefix, list }: S3BackingContext, { expiresIn }: ResumableStoreOptions): Promise<ResumableStore> {
  const { S3Store } = await loadTus('@tus/s3-store')
  const datastore = new S3Store({ s3ClientConfig: { bucket }, expirationPeriodInMilliseconds: expiresIn })
  // S3Store makes its own aggregated client from a config; every one of its calls goes through `send`
  Object.assign(datastore, { client: Object.setPrototypeOf({ send: client.send.bind(client), config: client.config }, s3.S3.prototype) })
  // an unfinished upload's first 5 MiB are S3Store's "incomplete part" object until a whole part is there
  const incompletePart = (datastore as unknown as { getIncompletePart: (id: string) => Promise<Readable | undefined> }).getIncompletePart.bind(datastore)
  fixRemove(datastore, client, s3, bucket)
  const storeId = (id: string): string => `${prefix}${RESUMABLE}${id}`
  return {
    datastore,
    storeId,
    dataKey: (id) => RESUMABLE + id,
    keys: (id) => [RESUMABLE + id, `${RESUMABLE}${id}.info`, `${RESUMABLE}${id}.part`],
    readStart: async (id, length) => {
      // bytes short of the window are short of a part too: all of them are in the incomplete part
      return (await buffer((await incompletePart(storeId(id)))!)).subarray(0, length)
    },
    list: async () => {
      const ids: string[] = []
      let cursor: string | undefined
      do {
        const page = await list(RESUMABLE, { cursor })
        // S3Store keeps each upload's record as `<id>.info`
        for (const key of page.keys) if (key.endsWith('.info')) ids.push(key.slice(RESUMABLE.length, -5))
        cursor = page.cursor
      } while (cursor !== undefined)
      return ids
    }
  }
}

/** What `fixRemove` calls of S3Store beyond its public API. */
interface S3StoreInternals {
  remove: (id: string) => Promise<void>
  getMetadata: (id: string) => Promise<unknown>
  clearCache: (id: string) => Promise<void>
}

/**
 * S3Store removes an upload by aborting its multipart upload first; a finished upload has none left, and
 * S3's NoSuchUpload then reads as "no such upload": termination of a finished upload would be 404 and its
 * objects would stay (and its cached record with them). Where the upload's record exists, its objects go.
 */
function fixRemove (datastore: object, client: ClientS3.S3Client, s3: typeof ClientS3, bucket: string): void {
  const store = datastore as S3StoreInternals
  const remove = store.remove.bind(store)
  store.remove = async (id) => {
    try {
      await remove(id)
    } catch (err) {
      // no record: truly no upload (what tus answers 404 for)
      await store.getMetadata(id).catch(() => { throw err })
      await client.send(new s3.DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: id }, { Key: `${id}.info` }, { Key: `${id}.part` }] } }))
      await store.clearCache(id)
    }
  }
}
