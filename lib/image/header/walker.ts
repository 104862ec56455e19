/**
 * Walks a stream of chunks in steps, in constant memory: each step asks for a few bytes (gathered across
 * chunk edges into a small buffer) or skips a payload without keeping it.
 */
export abstract class StreamWalker {
  /** Set when the bytes cannot be what the walker reads; nothing more is walked. */
  broken: string | undefined
  /** Set once the structure has ended: what follows is not walked. */
  done = false
  /** Called at each frame, as soon as it is seen: it may throw to stop the walk. */
  onFrame: (() => void) | undefined
  #buffer: Buffer
  #want: number
  #filled = 0
  #skip = 0

  /** `first`: the bytes of the first step, the most any step but a WebP's EXIF asks for. */
  constructor (first: number) {
    this.#buffer = Buffer.alloc(first)
    this.#want = first
  }

  /** Walks one chunk. */
  push (chunk: Buffer): void {
    let at = 0
    while (at < chunk.length && !this.done && this.broken === undefined) {
      if (this.#skip > 0) {
        const skipped = Math.min(this.#skip, chunk.length - at)
        this.#skip -= skipped
        at += skipped
        continue
      }
      const copied = chunk.copy(this.#buffer, this.#filled, at, Math.min(chunk.length, at + this.#want - this.#filled))
      this.#filled += copied
      at += copied
      if (this.#filled === this.#want) {
        this.#filled = 0
        this.step(this.#buffer.subarray(0, this.#want))
      }
    }
  }

  /** True when the walk stopped between two steps: nothing asked for is cut. */
  get atBoundary (): boolean {
    return this.#filled === 0 && this.#skip === 0
  }

  /** What the next step gets: `read` bytes, after skipping `skip`. */
  protected next (read: number, skip = 0): void {
    // only a WebP's EXIF asks for more than the first step, once and at most EXIF_MOST bytes
    if (read > this.#buffer.length) this.#buffer = Buffer.alloc(read)
    this.#want = read
    this.#skip = skip
  }

  protected fail (why: string): void {
    this.broken = why
  }

  /** Reads the bytes asked for and says what comes next (`next`, `fail` or `done`). */
  protected abstract step (bytes: Buffer): void
}
