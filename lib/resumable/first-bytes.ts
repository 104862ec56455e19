import { Transform } from 'node:stream'

/**
 * Passes a PATCH's bytes on to the store, holding back those of the sniffing window (up to `windowEnd`:
 * 64 KiB, or the file's length when shorter) until it is full: `check` sees them before any is stored, and
 * a refusal (its promise rejected) stores none. A PATCH that stops inside the window (a client's small chunk, a cut connection)
 * passes its bytes unchecked; the next PATCH finds them stored and checks the window then. (A file whose
 * length is declared late, and shorter than the window, is checked by its commit alone.)
 */
export function firstBytesGate (offset: number, windowEnd: number, check: (received: Buffer) => Promise<void>): Transform {
  const held: Buffer[] = []
  let at = offset
  let done = false
  let refused = false
  const gate: Transform = new Transform({
    transform (chunk: Buffer, _encoding, callback) {
      if (refused) return callback()
      if (done) return callback(null, chunk)
      held.push(chunk)
      at += chunk.length
      if (at < windowEnd) return callback()
      done = true
      const bytes = Buffer.concat(held)
      held.length = 0
      // a refusal ends the store's input (what was held is dropped, and what follows): the store finishes a
      // write of nothing new, as it does for a client gone; an error might never reach a store reading its
      // input through another stream (@tus/s3-store's MultiStream, on Node 24)
      check(bytes).then(() => callback(null, bytes), () => {
        refused = true
        gate.push(null)
        callback()
      })
    },
    flush (callback) {
      callback(null, done ? undefined : Buffer.concat(held))
    }
  })
  return gate
}
