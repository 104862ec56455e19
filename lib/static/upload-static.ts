import { createReadStream } from 'node:fs'
import { join } from 'node:path'
import { typeForName } from '../mime.js'
import type { Storage } from '../storage/storage.js'
import { forEachLimited } from '../concurrency.js'
import { COMPRESSED_VARIANT, FILES_AT_ONCE, IMMUTABLE } from './constants.js'

/**
 * Uploads the hashed files of static.root, and their `.br`/`.gz` variants as objects of their own (with
 * `Content-Encoding`, for a CDN that picks them), to a public storage. Hashed names never change bytes, so
 * an object that exists is skipped: a run over an unchanged tree uploads nothing.
 */
export async function uploadStatic (storage: Storage, root: string, hashedNames: readonly string[], { dryRun, variants }: { dryRun: boolean, variants: (name: string) => Promise<string[]> }): Promise<string[]> {
  const names = dryRun ? [...hashedNames] : (await Promise.all(hashedNames.map(async (name) => [name, ...await variants(name)]))).flat()
  const uploaded: string[] = []
  await forEachLimited(names, FILES_AT_ONCE, async (name) => {
    if (await storage.exists(name)) return
    uploaded.push(name)
    if (dryRun) return
    const encoding = COMPRESSED_VARIANT.exec(name)?.[1]
    await storage.save(name, createReadStream(join(root, name)), {
      contentType: typeForName(name.replace(COMPRESSED_VARIANT, '')),
      cacheControl: IMMUTABLE,
      contentEncoding: encoding === undefined ? undefined : encoding === 'br' ? 'br' : 'gzip'
    })
  })
  return uploaded.sort()
}
