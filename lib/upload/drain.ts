import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Socket } from 'node:net'

/** Bytes of a refused body read and thrown away after the refusal, at most: past them the connection is closed. */
export const DRAIN_LIMIT = 16 * 1024 * 1024

/**
 * After a failure in the middle of a body: the reply says `Connection: close`, and the connection closes
 * once the client has sent the rest of the body (read and thrown away), past DRAIN_LIMIT bytes of it, or
 * when `msLeft` ms (the upload's time left; undefined: no bound) have passed, whichever comes first, and
 * never before the reply is written.
 *
 * Node ends a `Connection: close` response with `socket.destroySoon()`: a FIN, then a close while the client
 * may still be sending. The kernel answers bytes that reach a closed socket with a reset, and a client that
 * gets one mid-write sees EPIPE or ECONNRESET, often before it has read the reply (a lingering close, as
 * Apache and nginx do, is the cure). So this socket's destroySoon only sends the FIN; the close waits.
 */
export function drainRest (request: FastifyRequest, reply: FastifyReply, msLeft: number | undefined): void {
  const req = request.raw
  // nothing left to read, or no one left to answer (a client gone mid-body)
  if (req.readableEnded || req.socket.destroyed) return
  reply.header('connection', 'close')
  req.unpipe()
  const socket = req.socket as Socket & { destroySoon: () => void }
  let replied = false
  let drained = false
  const closeWhenDone = (): void => {
    if (replied && drained) socket.destroy()
  }
  const stop = (): void => {
    clearTimeout(timer)
    // stops reading: the client waits, on a full window, until the close
    req.pause()
    drained = true
    closeWhenDone()
  }
  const timer = msLeft === undefined ? undefined : setTimeout(stop, msLeft)
  // a guard, not work to wait for: inject()'s mock socket never closes, and must not hold the process
  timer?.unref()
  let read = 0
  req.on('data', (chunk: Buffer) => {
    read += chunk.length
    if (read > DRAIN_LIMIT) stop()
  })
  // the whole body came
  req.once('end', stop)
  // or the connection went (a client that ends its side mid-body is a parse error Node closes it for)
  socket.once('close', () => clearTimeout(timer))
  // unpipe() left it paused: a 'data' listener alone does not resume it
  req.resume()
  socket.destroySoon = () => {
    socket.end()
    replied = true
    closeWhenDone()
  }
}
