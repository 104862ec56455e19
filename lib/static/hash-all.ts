import { readFileSync } from 'node:fs'
import { FST_MEDIA_COLLECT } from '../errors.js'
import type { FoundFile } from './finders.js'
import { hashedName } from './manifest.js'
import { isAdjustable, rewriteReferences } from './rewrite.js'
import { eachInBatches } from './write-files.js'

export type HashedFiles = Map<string, { hashed: string, content: Buffer }>

const EMPTY = Buffer.alloc(0)

/**
 * The hashed name and final content of every file. A CSS file's hash covers the hashed names it points
 * at, so a changed font renames every stylesheet that uses it: references are rewritten from the original
 * text, files that others reference first. Without a cycle, one pass in that order gives every final name;
 * a cycle is an error that names the files.
 */
export async function hashAll (files: FoundFile[], url: string): Promise<HashedFiles> {
  const originals = new Map<string, Buffer>()
  await eachInBatches(files, (file) => { originals.set(file.path, readFileSync(file.source)) })
  const adjustable = files.map((file) => file.path).filter(isAdjustable)
  const adjustableSet = new Set(adjustable)
  const outputs: HashedFiles = new Map()
  for (const file of files) {
    const content = originals.get(file.path)!
    // a file with references is named after its rewritten content; until then, a stand-in that only
    // says the file exists (its hash is never read: a file is rewritten after the files it references)
    outputs.set(file.path, { hashed: hashedName(file.path, adjustableSet.has(file.path) ? EMPTY : content), content })
  }

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

  const { order, cyclic } = dependencyOrder(adjustable, (path) => references.get(path)!.references)
  // a file's name would have to be the hash of a text that holds that name
  if (cyclic.length > 0) throw new FST_MEDIA_COLLECT(`${cyclic.join(', ')} ${cyclic.length === 1 ? 'references itself' : 'reference each other in a cycle'}: a hashed name cannot cover itself`)
  for (const path of order) {
    const text = rewrite(path).content
    // untouched text keeps its exact bytes
    const content = text === texts.get(path) ? originals.get(path)! : Buffer.from(text)
    outputs.set(path, { hashed: hashedName(path, content), content })
  }
  return outputs
}

/**
 * Paths ordered so that what a file references comes before it (depth first), and the files on a cycle,
 * sorted (a file that references itself included).
 */
function dependencyOrder (paths: string[], referencesOf: (path: string) => string[]): { order: string[], cyclic: string[] } {
  const adjustable = new Set(paths)
  const order: string[] = []
  const visited = new Set<string>()
  const open: string[] = []
  const cyclic = new Set<string>()
  const visit = (path: string): void => {
    const at = open.indexOf(path)
    if (at !== -1) for (const member of open.slice(at)) cyclic.add(member)
    if (visited.has(path)) return
    visited.add(path)
    open.push(path)
    for (const reference of referencesOf(path)) if (adjustable.has(reference)) visit(reference)
    open.pop()
    order.push(path)
  }
  for (const path of paths) visit(path)
  return { order, cyclic: [...cyclic].sort() }
}
