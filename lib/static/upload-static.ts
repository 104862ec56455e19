import { createReadStream } from 'node:fs'
import { join } from 'node:path'
import { text } from 'node:stream/consumers'
import { typeForName } from '../mime.js'
import type { Storage } from '../storage/storage.js'
import { forEachLimited } from '../concurrency.js'
import { COMPRESSED_VARIANT, FILES_AT_ONCE, IMMUTABLE } from './constants.js'
import { MANIFEST_NAME, serializeManifest } from './manifest.js'

/** What the storage's own `staticfiles.json` says it holds, and that file's text ('' when there is none). */
async function storedManifest (storage: Storage): Promise<{ objects: Set<string>, text: string }> {
  const stored = await text(storage.open(MANIFEST_NAME)).catch(() => '')
  let objects = new Set<string>()
  try {
    // a manifest without `objects` (or not ours) vouches for nothing
    objects = new Set((JSON.parse(stored) as { objects?: string[] }).objects)
  } catch {}
  return { objects, text: stored }
}

/**
 * Uploads the hashed files of static.root, and their `.br`/`.gz` variants as objects of their own (with
 * `Content-Encoding`, for a CDN that picks them), to a public storage. Hashed names never change bytes, so
 * an object the storage already holds is skipped. What it holds is read from its own `staticfiles.json`
 * (the manifest plus `objects`, every object of the run), written last: one read per run, not a request
 * per file. A name it does not list is looked up before it is uploaded; without that file (a first run,
 * a run cut short), every name is.
 */
export async function uploadStatic (storage: Storage, root: string, manifest: Record<string, string>, { dryRun, variants }: { dryRun: boolean, variants: (name: string) => Promise<string[]> }): Promise<string[]> {
  const hashedNames = Object.values(manifest)
  const names = dryRun ? [...hashedNames] : (await Promise.all(hashedNames.map(async (name) => [name, ...await variants(name)]))).flat()
  const stored = await storedManifest(storage)
  const uploaded: string[] = []
  await forEachLimited(names.filter((name) => !stored.objects.has(name)), FILES_AT_ONCE, async (name) => {
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
  const manifestText = serializeManifest(manifest, names)
  if (!dryRun && manifestText !== stored.text) {
    // a storage never overwrites: the old one goes first (a run cut here leaves none, which vouches for nothing)
    await storage.delete(MANIFEST_NAME)
    await storage.save(MANIFEST_NAME, Buffer.from(manifestText), { contentType: 'application/json', cacheControl: 'no-cache' })
  }
  return uploaded.sort()
}
