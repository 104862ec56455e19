// Helpers for the tests that go over real HTTP (127.0.0.1 only): streamed multipart bodies, raw sockets,
// bounded polling of the media root.
import type { FastifyInstance } from 'fastify'
import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { filesUnder } from './helpers.js'

export const BOUNDARY = '----fastifymediahttp'
export const MULTIPART = `multipart/form-data; boundary=${BOUNDARY}`

/** The default storage's directory for an app made by `makeApp` (media.root defaults to 'media'). */
export const mediaRootOf = (dir: string): string => join(dir, 'media')

/** Listens on 127.0.0.1 on a free port; the app's teardown (from makeApp) closes it. */
export async function listen (app: FastifyInstance): Promise<{ origin: string, port: number }> {
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  return { origin: `http://127.0.0.1:${address.port}`, port: address.port }
}

/** The header block of one part, starting with its boundary line. */
export function partHead (name: string, filename?: string, contentType = 'application/octet-stream'): Buffer {
  const disposition = filename === undefined ? `form-data; name="${name}"` : `form-data; name="${name}"; filename="${filename}"`
  const lines = [`--${BOUNDARY}`, `Content-Disposition: ${disposition}`]
  if (filename !== undefined) lines.push(`Content-Type: ${contentType}`)
  return Buffer.from(lines.join('\r\n') + '\r\n\r\n')
}

/** What ends a part's content. */
export const PART_END = Buffer.from('\r\n')
/** The closing boundary of the body. */
export const CLOSING = Buffer.from(`--${BOUNDARY}--\r\n`)

/** A whole small body, one buffer. */
export function body (parts: Array<{ name: string, filename?: string, content: Buffer | string }>): Buffer {
  const chunks: Buffer[] = []
  for (const part of parts) chunks.push(partHead(part.name, part.filename), Buffer.from(part.content), PART_END)
  chunks.push(CLOSING)
  return Buffer.concat(chunks)
}

/** `size` bytes of filler in chunks of `chunkSize`, generated: never one big buffer. */
export function * filler (size: number, chunkSize = 64 * 1024, byte = 0x41): Generator<Buffer> {
  const chunk = Buffer.alloc(Math.min(chunkSize, size), byte)
  let left = size
  while (left > 0) {
    const n = Math.min(left, chunk.length)
    yield n === chunk.length ? chunk : chunk.subarray(0, n)
    left -= n
  }
}

/**
 * `promise`, or a rejection naming `what` when it has not settled within `ms`: a guard that turns an event
 * that never comes into a failed test instead of a hung one. It orders nothing.
 */
export async function within<T> (promise: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const guard = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, guard])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Polls until `check` holds or `timeout` ms passed; returns whether it held. The last resort, for a state
 * that has no event to wait on (a temp file growing on disk, the image queue's length): the interval only
 * spaces the checks, the condition decides. Wait on an event where one exists (once(), the storage's calls
 * through WatchedStorage, onError, a promise the handler resolves).
 */
export async function waitFor (check: () => boolean | Promise<boolean>, timeout = 5000, interval = 20): Promise<boolean> {
  const end = Date.now() + timeout
  for (;;) {
    if (await check()) return true
    if (Date.now() >= end) return false
    await sleep(interval)
  }
}

/** Waits (bounded) until no file at all is left under `root`, temp files included; returns what is left. */
export async function waitForNoFiles (root: string, timeout = 5000): Promise<string[]> {
  await waitFor(() => filesUnder(root).length === 0, timeout)
  return filesUnder(root)
}

export interface RawResponse {
  status: number
  headers: Record<string, string>
  body: string
}

/**
 * A raw keep-alive connection: writes exactly what it is given and parses the responses that come back
 * (Content-Length bodies, which is what Fastify sends for JSON).
 */
export class RawConnection {
  readonly socket: Socket
  closed = false
  error: Error | undefined
  #buffer = Buffer.alloc(0)
  #responses: RawResponse[] = []
  #wake: (() => void) | undefined

  private constructor (socket: Socket) {
    this.socket = socket
    socket.on('data', (data: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, data])
      this.#parse()
      this.#wake?.()
    })
    socket.on('error', (err) => { this.error = err })
    socket.on('close', () => {
      this.closed = true
      this.#wake?.()
    })
  }

  /**
   * `allowHalfOpen`: keep writing after the server's FIN (Node's default is to end the socket's own side
   * then), as a client that sends its whole body whatever it hears does.
   */
  static async open (port: number, { allowHalfOpen = false } = {}): Promise<RawConnection> {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen })
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    })
    return new RawConnection(socket)
  }

  /** Writes with backpressure; resolves false when the socket is gone (the server closed it). */
  async write (data: Buffer | string): Promise<boolean> {
    if (this.closed || this.socket.destroyed || !this.socket.writable) return false
    if (this.socket.write(data)) return true
    return await new Promise<boolean>((resolve) => {
      const done = (ok: boolean) => {
        this.socket.off('drain', onDrain)
        this.socket.off('close', onClose)
        resolve(ok)
      }
      const onDrain = () => done(true)
      const onClose = () => done(false)
      this.socket.once('drain', onDrain)
      this.socket.once('close', onClose)
    })
  }

  /** The next response, or undefined when the socket closed or `timeout` ms passed first. */
  async response (timeout = 10_000): Promise<RawResponse | undefined> {
    const end = Date.now() + timeout
    while (this.#responses.length === 0 && !this.closed && Date.now() < end) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, end - Date.now()))
        this.#wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      this.#wake = undefined
    }
    return this.#responses.shift()
  }

  /** Waits (bounded) for the server to close the connection; returns whether it did. */
  async waitClosed (timeout = 10_000): Promise<boolean> {
    if (this.closed) return true
    return await within(once(this.socket, 'close'), 'the connection\'s close', timeout).then(() => true, () => false)
  }

  destroy (): void {
    this.socket.destroy()
  }

  #parse (): void {
    for (;;) {
      const end = this.#buffer.indexOf('\r\n\r\n')
      if (end === -1) return
      const [statusLine, ...lines] = this.#buffer.subarray(0, end).toString('latin1').split('\r\n')
      const headers: Record<string, string> = {}
      for (const line of lines) {
        const colon = line.indexOf(':')
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
      }
      const length = Number(headers['content-length'] ?? 0)
      if (this.#buffer.length < end + 4 + length) return
      const body = this.#buffer.subarray(end + 4, end + 4 + length).toString('utf8')
      this.#buffer = this.#buffer.subarray(end + 4 + length)
      this.#responses.push({ status: Number(statusLine!.split(' ')[1]), headers, body })
    }
  }
}

/** The request line and headers of a multipart POST with a known Content-Length. */
export function requestHead (path: string, port: number, length: number, extra: Record<string, string> = {}): string {
  const headers = { host: `127.0.0.1:${port}`, 'content-type': MULTIPART, 'content-length': String(length), ...extra }
  return `POST ${path} HTTP/1.1\r\n` + Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n'
}
