import { Transform } from 'node:stream'

/**
 * Passes a PATCH's bytes on to the store, holding back those of the sniffing window (up to `windowEnd`:
 * 64 KiB, or the file's length when shorter) until it is full: `check` sees them before any is stored, and
 * a refusal stores none. A PATCH that stops inside the window (a client's small chunk, a cut connection)
 * passes its bytes unchecked; the next PATCH finds them stored and checks the window then. (A file whose
 * length is declared late, and shorter than the window, is checked by its commit alone.)
 */
export function firstBytesGate (offset: number, windowEnd: number, check: (received: Buffer) => Promise<void>): Transform {
  const held: Buffer[] = []
  let at = offset
  let done = false
  const release = (callback: (err?: Error | null, data?: Buffer) => void): void => {
    done = true
    const bytes = Buffer.concat(held)
    held.length = 0
    check(bytes).then(() => callback(null, bytes), callback)
  }
  return new Transform({
    transform (chunk: Buffer, _encoding, callback) {
      if (done) return callback(null, chunk)
      held.push(chunk)
      at += chunk.length
      if (at < windowEnd) return callback()
      release(callback)
    },
    flush (callback) {
      callback(null, done ? undefined : Buffer.concat(held))
    }
  })
}
