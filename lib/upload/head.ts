/** The sniffing window: enough for file-type to tell xlsx/docx from zip and for most image headers. */
export const HEAD_SIZE = 64 * 1024

export interface Head {
  chunks: Buffer[]
  bytes: Buffer
  /** True when the whole part fit in the window. */
  ended: boolean
}

/**
 * Pulls chunks until the window is full or the part ends, without writing anything. The chunks are kept
 * as they came, so the writer replays them before the rest of the iterator.
 */
export async function readHead (source: AsyncIterator<Buffer>, limit = HEAD_SIZE): Promise<Head> {
  const chunks: Buffer[] = []
  let size = 0
  while (size < limit) {
    const next = await source.next()
    if (next.done === true) return { chunks, bytes: Buffer.concat(chunks, size), ended: true }
    chunks.push(next.value)
    size += next.value.length
  }
  return { chunks, bytes: Buffer.concat(chunks, size), ended: false }
}
