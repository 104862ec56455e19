// A TCP proxy in front of s3rver that the fault tests break on purpose: it passes bytes both ways, or
// black-holes them (accepts connections, reads what comes, never answers), or dies (every socket destroyed,
// the port closed) and comes back on the same port. It reports each request line a client sends, so a test
// can act at a precise moment of an upload (its first UploadPart) and wait for a retry it expects.
import { EventEmitter, once } from 'node:events'
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import type { Tap } from '../helpers.js'

export interface RequestLine { method: string, path: string }
export interface Exchange extends RequestLine { status: number }

const REQUEST_LINE = /(GET|PUT|POST|DELETE|HEAD) (\/\S*) HTTP\/1\.1\r\n/g
const STATUS_LINE = /HTTP\/1\.1 (\d{3}) /

export class S3Proxy extends EventEmitter {
  readonly #target: number
  readonly #sockets = new Set<Socket>()
  readonly #cut = new WeakSet<Socket>()
  #server: Server | undefined
  #port = 0
  #silent = false
  #holdAt: ((line: RequestLine) => boolean) | undefined

  constructor (targetPort: number) {
    super()
    this.#target = targetPort
  }

  /** Starts listening on 127.0.0.1 (a free port the first time, the same port again after `kill`). */
  async listen (): Promise<void> {
    const server = createServer((socket) => this.#accept(socket))
    server.listen(this.#port, '127.0.0.1')
    await once(server, 'listening')
    this.#port = (server.address() as AddressInfo).port
    this.#server = server
  }

  get endpoint (): string {
    return `http://127.0.0.1:${this.#port}`
  }

  /** From now on nothing is answered: open connections are cut, new ones are accepted and left silent. */
  blackHole (): void {
    this.#silent = true
    this.#destroyAll()
  }

  /**
   * S3 goes silent at the first request that `match` accepts: that request is never passed on (S3 never
   * sees it), every other connection is cut, and new ones are left silent. Resolves with its request line.
   */
  async blackHoleAt (match: (line: RequestLine) => boolean): Promise<RequestLine> {
    this.#holdAt = match
    return await this.#first('held', match)
  }

  /** Answers again: the silent connections are cut, new ones reach S3. */
  pass (): void {
    this.#silent = false
    this.#destroyAll()
  }

  /** S3 goes away: every connection is destroyed and the port refuses connections until `listen()`. */
  async kill (): Promise<void> {
    const server = this.#server!
    this.#server = undefined
    const closed = once(server, 'close')
    server.close()
    this.#destroyAll()
    await closed
  }

  /** Resolves with the first request line that `match` accepts, sent from now on. */
  async request (match: (line: RequestLine) => boolean): Promise<RequestLine> {
    return await this.#first('request', match)
  }

  /** Resolves once S3's answer to a request that `match` accepts has come back through the proxy. */
  async exchange (match: (line: RequestLine) => boolean): Promise<Exchange> {
    return await this.#first('response', match)
  }

  /** Resolves when a client closes a connection that was left silent (its request was given up). */
  async hangup (): Promise<void> {
    await once(this, 'hangup')
  }

  async #first<E extends 'request' | 'response' | 'held'> (event: E, match: (line: RequestLine) => boolean): Promise<E extends 'response' ? Exchange : RequestLine> {
    return await new Promise((resolve) => {
      const listener = (line: Exchange): void => {
        if (!match(line)) return
        this.off(event, listener)
        resolve(line as never)
      }
      this.on(event, listener)
    })
  }

  async close (): Promise<void> {
    if (this.#server !== undefined) await this.kill()
  }

  #accept (client: Socket): void {
    this.#sockets.add(client)
    client.once('close', () => this.#sockets.delete(client))
    client.on('error', () => {})
    if (this.#silent) {
      client.resume()
      // closed by the peer, not cut by the proxy
      client.once('close', () => { if (!this.#cut.has(client)) this.emit('hangup') })
      return
    }
    const upstream = connect(this.#target, '127.0.0.1')
    this.#sockets.add(upstream)
    let held = false
    upstream.once('close', () => {
      this.#sockets.delete(upstream)
      // a held request's connection stays open, silent, without S3
      if (!held) client.destroy()
    })
    upstream.on('error', () => {})
    client.once('close', () => upstream.destroy())
    client.once('end', () => { if (!held) upstream.end() })
    // HTTP/1.1 without pipelining (Node's agent): a connection's next status line answers its last request
    let last: RequestLine | undefined
    client.on('data', (chunk: Buffer) => {
      for (const [, method, path] of chunk.toString('latin1').matchAll(REQUEST_LINE)) {
        last = { method: method!, path: path! }
        this.emit('request', last)
        if (this.#holdAt?.(last) === true) {
          held = true
          this.#hold(client, last)
          upstream.destroy()
        }
      }
      if (held) return
      // passed on by hand (not piped): a held request must not reach S3
      if (!upstream.write(chunk)) {
        client.pause()
        upstream.once('drain', () => client.resume())
      }
    })
    upstream.on('data', (chunk: Buffer) => {
      const status = STATUS_LINE.exec(chunk.toString('latin1'))
      if (status !== null && last !== undefined) this.emit('response', { ...last, status: Number(status[1]) })
    })
    upstream.pipe(client)
  }

  /** This connection's request goes no further, every other connection is cut, and new ones stay silent. */
  #hold (client: Socket, line: RequestLine): void {
    this.#holdAt = undefined
    this.#silent = true
    for (const socket of this.#sockets) {
      if (socket === client) continue
      this.#cut.add(socket)
      socket.destroy()
    }
    client.once('close', () => { if (!this.#cut.has(client)) this.emit('hangup') })
    this.emit('held', line)
  }

  #destroyAll (): void {
    for (const socket of this.#sockets) {
      this.#cut.add(socket)
      socket.destroy()
    }
    this.#sockets.clear()
  }
}

/** A proxy in front of the s3rver at `endpoint`, closed when the test ends. */
export async function s3Proxy (t: Tap, endpoint: string): Promise<S3Proxy> {
  const proxy = new S3Proxy(Number(new URL(endpoint).port))
  await proxy.listen()
  t.teardown(async () => await proxy.close())
  return proxy
}
