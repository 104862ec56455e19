import { Transform } from 'node:stream'

/**
 * Passes a PATCH's bytes on to the store, holding back those of the sniffing window (up to `windowEnd`)
 * until it is full, or the file ends in it: `check` sees them before any is stored, and a refusal stores
 * none. A PATCH that stops inside the window (a client's small chunk, a cut connection) passes its bytes
 * unchecked; the next PATCH finds them stored and checks the window then.
 */
export function firstBytesGate (offset: number, windowEnd: number, fileEnd: number | undefined, check: (received: Buffer) => Promise<void>): Transform {
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
      if (done || held.length === 0) return callback()
      if (at === fileEnd) return release(callback)
      callback(null, Buffer.concat(held))
    }
  })
}
