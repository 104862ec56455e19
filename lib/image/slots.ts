import { availableParallelism } from 'node:os'

/**
 * A counting semaphore: at most `size` holders at once, the rest wait in order. Image work holds a slot,
 * so a burst of uploads queues instead of decoding (and holding in memory) every image at once.
 */
export class Slots {
  readonly size: number
  #busy = 0
  readonly #waiting: Array<() => void> = []

  constructor (size: number) {
    this.size = size
  }

  /** How many wait for a slot now. */
  get waiting (): number {
    return this.#waiting.length
  }

  async run<T> (work: () => Promise<T>): Promise<T> {
    if (this.#busy >= this.size) await new Promise<void>((resolve) => this.#waiting.push(resolve))
    else this.#busy++
    return await work().finally(() => this.#release())
  }

  #release (): void {
    // the slot passes straight to the next waiter, so a newcomer cannot overtake the queue
    const next = this.#waiting.shift()
    if (next === undefined) this.#busy--
    else next()
  }
}

/** One per process: sharp's own thread pool is per process too. */
export const imageSlots = new Slots(Math.max(1, availableParallelism()))
