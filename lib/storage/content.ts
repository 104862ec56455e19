import type { Content } from './storage.js'

/** A content whose own failure is remembered: the error to report, whatever the driver makes of it. */
export interface Tracked {
  readonly content: Content
  readonly error?: unknown
}

export function tracked (content: Content): Tracked {
  if (Buffer.isBuffer(content)) return { content }
  let error: unknown
  return {
    content: (async function * () {
      try {
        // a Readable in string mode yields strings
        for await (const chunk of content) yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk as Uint8Array
      } catch (err) {
        error = err
        throw err
      }
    })(),
    get error () { return error }
  }
}

/**
 * Reads up to `limit` bytes ahead: the whole content as one Buffer when it ends by then, else the same
 * bytes followed by the rest, still streaming.
 */
export async function readAhead (source: Tracked, limit: number): Promise<Buffer | AsyncIterable<Uint8Array>> {
  const iterator = (source.content as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]()
  const head: Uint8Array[] = []
  let size = 0
  let next = await iterator.next()
  for (; next.done !== true && size <= limit; next = await iterator.next()) {
    head.push(next.value)
    size += next.value.length
  }
  if (next.done === true) return Buffer.concat(head, size)
  const first = next.value
  return (async function * () {
    yield * head
    yield first
    for (next = await iterator.next(); next.done !== true; next = await iterator.next()) yield next.value
  })()
}
