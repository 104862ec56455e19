import type { Readable } from 'node:stream'
import type { ByteRange } from '../storage/driver.js'
import { HEAD_SIZE } from '../upload/head.js'
import type { FileSource } from '../upload/store-file.js'

/**
 * The chunks of a file in storage, read as the upload pipeline asks for them: a ranged read of the sniffing
 * window first, and a second read of the rest only if the pipeline goes on reading. A file that needs no
 * more than its first bytes is never read further.
 */
export function objectSource (open: (range: ByteRange) => Readable, size: number): FileSource {
  let next = 0
  let current: AsyncIterator<Buffer> | undefined
  const pull = async (): Promise<IteratorResult<Buffer>> => {
    while (true) {
      if (current === undefined) {
        if (next >= size) return { done: true, value: undefined }
        const end = next === 0 ? Math.min(HEAD_SIZE, size) - 1 : size - 1
        current = open({ start: next, end })[Symbol.asyncIterator]()
        next = end + 1
      }
      const chunk = await current.next()
      if (chunk.done !== true) return chunk
      current = undefined
    }
  }
  return {
    next: pull,
    return: async () => {
      next = size
      await current?.return?.()
      current = undefined
      return { done: true, value: undefined }
    }
  }
}
