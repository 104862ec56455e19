import type { DriverContent } from './driver.js'
import type { Content } from './storage.js'

/** A content whose own failure is remembered: the error to report, whatever the driver makes of it. */
export interface Tracked {
  readonly content: DriverContent
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
 * Reads until more than `limit` bytes have come: the whole content as one Buffer when it ends by then, else
 * the bytes read followed by the rest, still streaming.
 */
export async function readAhead (source: Tracked, limit: number): Promise<Buffer | AsyncIterable<Uint8Array>> {
  const iterator = (source.content as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]()
  const head: Uint8Array[] = []
  let size = 0
  while (size <= limit) {
    const next = await iterator.next()
    if (next.done === true) return Buffer.concat(head, size)
    head.push(next.value)
    size += next.value.length
  }
  return (async function * () {
    yield * head
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) yield next.value
  })()
}
