import { StreamWalker } from './walker.js'

/** Logical screen sizes libnsgif (sharp's GIF reader) takes for a creator's screen, not the image's. */
const SCREEN_SIZES = new Set(['640x480', '640x512', '800x600', '1024x768', '1280x1024', '1600x1200'])

type State = 'block' | 'label' | 'descriptor' | 'lzw' | 'sub-block'

/**
 * Walks a GIF's blocks and sub-blocks, skipping their payloads: counts its frames and sizes it as sharp
 * (libnsgif) does, from the logical screen grown by the first frame.
 */
export class GifWalker extends StreamWalker {
  /** Known once the first frame's descriptor has been read. */
  size: { width: number, height: number } | undefined
  readonly format = 'gif'
  /** A GIF has none. */
  readonly orientation = undefined
  /** Image descriptors seen so far (a frame cut short by the end of the file counts). */
  pages = 0
  #state: State | 'screen' = 'screen'
  #screen = { width: 0, height: 0 }
  #inImage = false
  /** The first frame's data has ended: sharp reads a GIF cut short after it. */
  #firstEnded = false

  constructor () {
    super(13)
  }

  /** The size is known: what follows only counts frames. */
  get settled (): boolean {
    return this.size !== undefined
  }

  /** The bytes walked so far hold a GIF sharp reads, if they end here: its first frame is whole. */
  get readable (): boolean {
    return this.broken === undefined && this.#firstEnded
  }

  protected step (bytes: Buffer): void {
    switch (this.#state) {
      case 'screen': return this.#readScreen(bytes)
      case 'block': return this.#readBlock(bytes[0]!)
      case 'label': return this.#then('sub-block', 1)
      case 'descriptor': return this.#readDescriptor(bytes)
      case 'lzw':
        if (bytes[0]! >= 12) return this.fail('an LZW code size is over 11')
        this.#inImage = true
        return this.#then('sub-block', 1)
      case 'sub-block': return this.#readSubBlock(bytes[0]!)
    }
  }

  #then (state: State, read: number, skip = 0): void {
    this.#state = state
    this.next(read, skip)
  }

  #readScreen (bytes: Buffer): void {
    // libvips takes any version after GIF8 (file-type sniffs GIF alone)
    if (bytes.toString('latin1', 0, 4) !== 'GIF8') return this.fail('no GIF8 signature')
    let width = bytes.readUInt16LE(6)
    let height = bytes.readUInt16LE(8)
    if (width === 0 || height === 0 || width > 2048 || height > 2048 || SCREEN_SIZES.has(`${width}x${height}`)) width = height = 1
    this.#screen = { width, height }
    this.#then('block', 1, colourTable(bytes[10]!))
  }

  #readBlock (introducer: number): void {
    if (introducer === 0x21) return this.#then('label', 1)
    if (introducer === 0x2c) return this.#then('descriptor', 9)
    // sharp ends a GIF at its trailer, and at any byte that starts no block once it has a frame
    if (introducer === 0x3b || this.#firstEnded) {
      this.done = true
      return
    }
    this.fail(`a block starts with ${introducer}`)
  }

  /** An image descriptor and its LZW code size byte. */
  #readDescriptor (bytes: Buffer): void {
    this.pages += 1
    if (this.pages === 1) {
      const x = bytes.readUInt16LE(0)
      const y = bytes.readUInt16LE(2)
      this.size = {
        width: Math.max(this.#screen.width, x + bytes.readUInt16LE(4)),
        height: Math.max(this.#screen.height, y + bytes.readUInt16LE(6))
      }
    }
    this.#state = 'lzw'
    this.next(1, colourTable(bytes[8]!))
    this.onFrame?.()
  }

  #readSubBlock (length: number): void {
    if (length > 0) return this.#then('sub-block', 1, length)
    if (this.#inImage) this.#firstEnded = true
    this.#inImage = false
    this.#then('block', 1)
  }
}

/** The size of the colour table a packed field announces. */
const colourTable = (packed: number) => (packed & 0x80) === 0 ? 0 : 3 * 2 ** ((packed & 0x07) + 1)
