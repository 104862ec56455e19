/**
 * A counting semaphore: at most `size` holders at once, the rest wait in order. What bounds both image
 * work (image/slots.ts) and the file work of collectstatic (forEachLimited).
 */
export class Slots {
  readonly size: number
  #busy = 0
  readonly #waiting: Array<() => void> = []

  constructor (size: number) {
    this.size = size
  }

  /** Whether every slot is held now (the next `run` waits). */
  get full (): boolean {
    return this.#busy >= this.size
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

/**
 * `work` on every item, at most `limit` at once, started in the items' order. Rejects with the first
 * failure; items already started still finish.
 */
export async function forEachLimited<T> (items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  const slots = new Slots(limit)
  await Promise.all(items.map(async (item) => await slots.run(async () => await work(item))))
}
