import { readFile } from 'node:fs/promises'
import { FST_MEDIA_COLLECT } from '../errors.js'
import type { FoundFile } from './finders.js'
import { hashedName } from './manifest.js'
import { isAdjustable, rewriteReferences } from './rewrite.js'
import { forEachLimited } from './write-files.js'

const MAX_PASSES = 5

export type HashedFiles = Map<string, { hashed: string, content: Buffer }>

/**
 * The hashed name and final content of every file. A CSS file's hash covers the hashed names it points
 * at, so a changed font renames every stylesheet that uses it: references are rewritten from the original
 * text, files that others reference first, and again until no name changes. Only a cycle of references
 * can keep names changing; after a few passes that is an error naming the files.
 */
export async function hashAll (files: FoundFile[], url: string): Promise<HashedFiles> {
  const originals = new Map<string, Buffer>()
  await forEachLimited(files, async (file) => { originals.set(file.path, await readFile(file.source)) })
  const outputs: HashedFiles = new Map()
  for (const file of files) {
    const content = originals.get(file.path)!
    outputs.set(file.path, { hashed: hashedName(file.path, content), content })
  }

  const adjustable = files.map((file) => file.path).filter(isAdjustable)
  const texts = new Map<string, string>()
  // ignoreBOM keeps a byte-order mark in the text, so an untouched file keeps every byte
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
  for (const path of adjustable) {
    try {
      texts.set(path, decoder.decode(originals.get(path)))
    } catch {
      throw new FST_MEDIA_COLLECT(`${path} is not UTF-8 text: save it as UTF-8 so its references can be rewritten`)
    }
  }
  const rewrite = (path: string) => rewriteReferences(path, texts.get(path)!, url, (target) => outputs.get(target)?.hashed)

  const references = new Map(adjustable.map((path) => [path, rewrite(path)]))
  const missing = [...references].flatMap(([path, { missing }]) => missing.map((reference) => `${path} references ${reference}, which is not a collected file`))
  if (missing.length > 0) throw new FST_MEDIA_COLLECT(missing.join('; '))

  const order = dependencyOrder(adjustable, (path) => references.get(path)!.references)
  let changed: string[] = []
  for (let pass = 1; pass <= MAX_PASSES; pass++) {
    changed = []
    for (const path of order) {
      const text = rewrite(path).content
      // untouched text keeps its exact bytes
      const content = text === texts.get(path) ? originals.get(path)! : Buffer.from(text)
      const hashed = hashedName(path, content)
      if (hashed !== outputs.get(path)!.hashed) changed.push(path)
      outputs.set(path, { hashed, content })
    }
    if (changed.length === 0) return outputs
  }
  throw new FST_MEDIA_COLLECT(`hashed names did not settle after ${MAX_PASSES} passes: ${changed.join(', ')} reference each other in a cycle`)
}

/** Paths ordered so that what a file references comes before it (depth first; a cycle is cut anywhere). */
function dependencyOrder (paths: string[], referencesOf: (path: string) => string[]): string[] {
  const adjustable = new Set(paths)
  const order: string[] = []
  const visited = new Set<string>()
  const visit = (path: string): void => {
    if (visited.has(path)) return
    visited.add(path)
    for (const reference of referencesOf(path)) if (adjustable.has(reference)) visit(reference)
    order.push(path)
  }
  for (const path of paths) visit(path)
  return order
}
