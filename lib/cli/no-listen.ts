import { Server } from 'node:net'
import { setCliState } from '../registry.js'

/**
 * While the CLI loads and uses an app, no server in the process may listen: the usual app module ends with
 * `await app.listen()`, and collecting static files must neither hold a port nor clash with the running
 * server's. Every net.Server (http, https, http2: Fastify's included) gets a `listen` that binds nothing,
 * reports itself listening at once (so `await app.listen()` resolves once the app is ready) and tells the
 * CLI which server it was. The app module can see the command in `process.env.FASTIFY_MEDIA_CLI`.
 */
export class NoListen {
  /** Servers whose `listen` was called, in order. */
  readonly servers = new Set<Server>()
  readonly #waiters = new Set<(server: Server) => void>()
  readonly #original = Server.prototype.listen
  readonly #env = process.env.FASTIFY_MEDIA_CLI

  constructor (command: string) {
    const self = this
    const address = `(not listening: fastify-media ${command})`
    const listen = function (this: Server, ...args: unknown[]): Server {
      const callback = args.at(-1)
      if (typeof callback === 'function') this.once('listening', callback as () => void)
      // Fastify logs and returns the address: a string is what a server on a pipe reports
      this.address = () => address
      self.servers.add(this)
      for (const waiter of self.#waiters) waiter(this)
      process.nextTick(() => this.emit('listening'))
      return this
    }
    Server.prototype.listen = listen as typeof Server.prototype.listen
    process.env.FASTIFY_MEDIA_CLI = command
    setCliState({ command, listen })
  }

  /** Calls `found` with each server that listens from now on. */
  onListen (found: (server: Server) => void): () => void {
    this.#waiters.add(found)
    return () => this.#waiters.delete(found)
  }

  /** Puts everything back (the CLI's process exits next; tests that run the CLI in-process go on). */
  leave (): void {
    Server.prototype.listen = this.#original
    setCliState(undefined)
    if (this.#env === undefined) delete process.env.FASTIFY_MEDIA_CLI
    else process.env.FASTIFY_MEDIA_CLI = this.#env
  }
}
