import { createHash, type Hash } from 'node:crypto'
import { formatBytes } from '../bytes.js'
import { FST_MEDIA_FILE_TOO_LARGE, FST_MEDIA_FILE_TOO_SMALL, FST_MEDIA_INVALID_TYPE } from '../errors.js'
import { refusal } from '../refusal.js'
import { unreadableHeader } from './image-header.js'

/**
 * How far into a file an image header may lie before the file is refused. What precedes it is held in
 * memory, so the bound is also the memory one such upload can take; real files put it in the first 64 KiB.
 */
export const LATE_HEADER_LIMIT = 2 * 1024 * 1024

export interface GateOptions {
  field: string
  maxSize: number
  minSize: number
  /** Compute the SHA-256 of the content (for `{hash}` names). */
  hash: boolean
  /** Check the content is UTF-8 without NUL (text formats have no signature). */
  text: boolean
  /** Called with the first bytes when the image header did not fit in the sniffing window. */
  lateHeader?: (bytes: Buffer) => Promise<boolean>
  /** Counts every byte against the request's `limits.totalSize`; throws past it. */
  count?: (bytes: number) => void
}

export interface GateResult {
  size: number
  sha256: string | undefined
}

/**
 * Every byte of a file passes through here on its way to storage. It throws the moment a limit is passed,
 * which fails the storage's write before the file becomes visible; the checks that need the whole file
 * run after the last chunk and before the stream ends, so a file never becomes visible unchecked.
 */
export async function * gate (head: Buffer[], rest: AsyncIterator<Buffer> | undefined, opts: GateOptions, result: GateResult): AsyncGenerator<Buffer> {
  const digest: Hash | undefined = opts.hash ? createHash('sha256') : undefined
  const decoder = opts.text ? new TextDecoder('utf-8', { fatal: true }) : undefined
  let pending: Buffer[] | undefined = opts.lateHeader === undefined ? undefined : []
  let pendingSize = 0

  const notText = () => new FST_MEDIA_INVALID_TYPE(opts.field, 'the text is not UTF-8 without NUL bytes')
  // true once the header was found and passed; throws FST_MEDIA_INVALID_IMAGE when it was found and failed
  const tryLateHeader = async (): Promise<boolean> => {
    const found = await opts.lateHeader!(Buffer.concat(pending!, pendingSize))
    if (found) pending = undefined
    return found
  }
  const resolveLateHeader = async (): Promise<void> => {
    if (!await tryLateHeader()) throw unreadableHeader(opts.field)
  }

  const check = async (chunk: Buffer): Promise<void> => {
    result.size += chunk.length
    if (result.size > opts.maxSize) {
      // the header comes before the size in the contract's order, when what was read holds it
      if (pending !== undefined) {
        pending.push(chunk)
        pendingSize += chunk.length
        await tryLateHeader()
      }
      throw refusal(new FST_MEDIA_FILE_TOO_LARGE(opts.field, formatBytes(opts.maxSize)), { field: opts.field, limit: opts.maxSize, option: 'maxSize' })
    }
    opts.count?.(chunk.length)
    digest?.update(chunk)
    if (decoder !== undefined) {
      if (chunk.includes(0)) throw notText()
      try {
        decoder.decode(chunk, { stream: true })
      } catch {
        throw notText()
      }
    }
    if (pending !== undefined) {
      pending.push(chunk)
      pendingSize += chunk.length
      if (pendingSize >= LATE_HEADER_LIMIT) await resolveLateHeader()
    }
  }

  try {
    for (const chunk of head) {
      await check(chunk)
      yield chunk
    }
    if (rest !== undefined) {
      for (let next = await rest.next(); next.done !== true; next = await rest.next()) {
        await check(next.value)
        yield next.value
      }
    }
    if (decoder !== undefined) {
      try {
        decoder.decode()
      } catch {
        throw notText()
      }
    }
    if (pending !== undefined) await resolveLateHeader()
    // an empty part never gets here: it is refused before anything is written
    if (result.size < opts.minSize) {
      throw refusal(new FST_MEDIA_FILE_TOO_SMALL(opts.field, formatBytes(opts.minSize)), { field: opts.field, limit: opts.minSize, option: 'minSize' })
    }
    result.sha256 = digest?.digest('hex')
  } finally {
    // stops the multipart file stream as soon as we stop, so the parser does not wait on it
    await rest?.return?.()
  }
}
