/** A subscribed Redis connection (an ioredis `Redis` after `subscribe`). */
export interface RedisSubscriber {
  subscribe (...channels: string[]): Promise<unknown>
  unsubscribe (...channels: string[]): Promise<unknown>
  on (event: 'message', listener: (channel: string, message: string) => void): unknown
  quit (): Promise<unknown>
}

type Listener = (message: string) => void

/**
 * One subscribed connection shared by a process's listeners, made when the first listens and closed when the
 * last stops: a server with no upload in flight holds no connection of ours, so closing the app needs no hook.
 */
export class RedisChannels {
  readonly #connect: () => RedisSubscriber
  #connection: RedisSubscriber | undefined
  readonly #listeners = new Map<string, Set<Listener>>()

  constructor (connect: () => RedisSubscriber) {
    this.#connect = connect
  }

  /** Calls `listener` with each message on `channel` until the returned function is called (once). */
  async listen (channel: string, listener: Listener): Promise<() => Promise<void>> {
    let connection = this.#connection
    if (connection === undefined) {
      connection = this.#connection = this.#connect()
      connection.on('message', (on, message) => {
        this.#listeners.get(on)?.forEach((listener) => { listener(message) })
      })
    }
    let listeners = this.#listeners.get(channel)
    if (listeners === undefined) this.#listeners.set(channel, listeners = new Set())
    listeners.add(listener)
    if (listeners.size === 1) await connection.subscribe(channel)
    return async () => {
      listeners.delete(listener)
      if (listeners.size > 0) return
      this.#listeners.delete(channel)
      if (this.#listeners.size > 0) {
        await connection.unsubscribe(channel)
        return
      }
      this.#connection = undefined
      await connection.quit()
    }
  }
}
