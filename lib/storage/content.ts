import type { DriverContent } from './driver.js'
import type { Content } from './storage.js'

/** A content whose own failure is remembered: the error to report, whatever the driver makes of it. */
export interface Tracked {
  readonly content: DriverContent
  readonly error?: unknown
}

export function tracked (content: Content): Tracked {
  if (Buffer.isBuffer(content)) return { content }
  // one iterator, as a generator would give: a driver that iterates twice does not read the content twice
  let iterator: AsyncIterator<Uint8Array> | undefined
  const state: { content: DriverContent, error?: unknown } = { content: { [Symbol.asyncIterator]: () => (iterator ??= delegate(content, state)) } }
  return state
}

/**
 * The content's own iterator, one promise reaction per chunk: an async generator around it costs a
 * measurable share of a small upload. A Readable in string mode yields strings: they become bytes.
 */
function delegate (content: AsyncIterable<unknown>, state: { error?: unknown }): AsyncIterator<Uint8Array> {
  const inner = content[Symbol.asyncIterator]()
  // once the driver lets go of the content, a read still pending that fails is the teardown's doing (a
  // stream destroyed with an AbortError under it; what S3 killed mid-upload showed), not the content's
  // own failure: the driver's error is the news. A failure of return() itself stays the content's.
  let released = false
  const failed = (err: unknown): never => {
    state.error = err
    throw err
  }
  return {
    next: async () => await inner.next().then((next) => typeof next.value === 'string' ? { done: false, value: Buffer.from(next.value) } : next as IteratorResult<Uint8Array>, (err: unknown) => {
      if (released) throw err
      return failed(err)
    }),
    return: async () => {
      released = true
      return await (inner.return?.() ?? Promise.resolve({ done: true, value: undefined })).then(() => ({ done: true, value: undefined }), failed)
    }
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
