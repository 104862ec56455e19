import type { ImageFormat, ImageRules } from '../fields/field.js'
import { frameWalker, probeHeader, walked, walkedHeader, type FrameWalker } from '../image/header/probe.js'
import type { ImageHeader, Probe } from '../image/header/types.js'
import type { Head } from './head.js'
import { checkHeader, readHeader, unreadableHeader, type Dimensions } from './image-header.js'
import type { HeaderSource, HeaderWalk } from './late-header.js'

/**
 * An image's header from the sniffing window, checked against its field: known at once, followed by the
 * gate through every byte (a GIF's or WebP's frames), or read by the gate from more first bytes. Our reader
 * answers first; sharp reads what it leaves (TIFF, SVG, an AVIF with more than one plain image).
 */
export async function imageHeaderSource (head: Head, format: ImageFormat, rules: ImageRules, field: string): Promise<HeaderSource<Dimensions>> {
  const check = (header: ImageHeader) => checkHeader(header, format, rules, field)
  const walker = frameWalker(format)
  if (walker !== undefined) {
    // each frame is checked as it is seen: maxPages, and the pixels of every frame where all are decoded
    walker.onFrame = () => check(walkedHeader(walker)!)
    walker.push(head.bytes)
    const found = settle(walked(walker, head.ended), field, check)
    if (found !== undefined) return { value: check(found) }
    return { walk: new FrameWalk(walker, head.bytes.length, field, () => check(walkedHeader(walker)!)) }
  }
  const found = await settleWithSharp(probeHeader(head.bytes, format, head.ended), head.bytes, field, check)
  if (found !== undefined) return { value: check(found) }
  if (head.ended) throw unreadableHeader(field)
  return {
    late: async (bytes) => {
      const late = await settleWithSharp(probeHeader(bytes, format), bytes, field, check)
      return late === undefined ? undefined : check(late)
    }
  }
}

/** The header a probe found; undefined while more bytes are needed (refusing at once dimensions known out of bounds). */
function settle (probe: Probe, field: string, check: (header: ImageHeader) => Dimensions): ImageHeader | undefined {
  if (probe.kind === 'broken') throw unreadableHeader(field)
  if (probe.kind === 'header') return probe.header
  if (probe.kind === 'more' && probe.partial !== undefined) check(probe.partial)
  return undefined
}

async function settleWithSharp (probe: Probe, bytes: Buffer, field: string, check: (header: ImageHeader) => Dimensions): Promise<ImageHeader | undefined> {
  return probe.kind === 'unknown' ? await readHeader(bytes) : settle(probe, field, check)
}

/** A GIF's or WebP's frames, counted as the gate passes the bytes after the sniffing window. */
class FrameWalk implements HeaderWalk<Dimensions> {
  readonly #walker: FrameWalker
  readonly #field: string
  readonly #check: () => Dimensions
  /** Bytes of the window still to pass, walked already. */
  #skip: number

  constructor (walker: FrameWalker, walked: number, field: string, check: () => Dimensions) {
    this.#walker = walker
    this.#skip = walked
    this.#field = field
    this.#check = check
  }

  push (chunk: Buffer): void {
    // the gate passes the window's own chunks first, whole: they were walked already
    if (this.#skip > 0) {
      this.#skip -= chunk.length
      return
    }
    this.#walker.push(chunk)
    if (this.#walker.broken !== undefined) throw unreadableHeader(this.#field)
  }

  end (): Dimensions {
    if (!this.#walker.readable) throw unreadableHeader(this.#field)
    return this.#check()
  }
}
