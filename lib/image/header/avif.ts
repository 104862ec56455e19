import { more, UNKNOWN, type Probe } from './types.js'

interface Box {
  type: string
  /** The payload, after the size and type (and a full box's version and flags, for `full` types). */
  data: Buffer
  version: number
  flags: number
}

const FULL = new Set(['meta', 'pitm', 'iinf', 'infe', 'ipma', 'ispe'])

/** The boxes in `bytes`, in order; stops at the first one that does not fit. */
function * boxes (bytes: Buffer): Generator<Box | 'cut'> {
  for (let at = 0; at < bytes.length;) {
    if (at + 8 > bytes.length) return yield 'cut'
    let size = bytes.readUInt32BE(at)
    const type = bytes.toString('latin1', at + 4, at + 8)
    let start = at + 8
    if (size === 1) {
      if (at + 16 > bytes.length) return yield 'cut'
      size = Number(bytes.readBigUInt64BE(at + 8))
      start += 8
    }
    // a box of size 0 runs to the end of the file: only the media data does that, after meta
    const end = at + size
    if (end < start || end > bytes.length) return yield 'cut'
    const full = FULL.has(type)
    if (full && end < start + 4) return yield 'cut'
    yield { type, data: bytes.subarray(start + (full ? 4 : 0), end), version: full ? bytes[start]! : 0, flags: full ? bytes.readUIntBE(start + 1, 3) : 0 }
    at = end
  }
}

const find = (bytes: Buffer, type: string): Box | undefined => {
  for (const box of boxes(bytes)) if (box !== 'cut' && box.type === type) return box
  return undefined
}

/**
 * A plain AVIF's size: one item, an AV1 image, its `ispe` property, no transform. Anything else (a sequence,
 * a grid, several images, an Exif or XMP item sharp reads too, rotation or crop) is left to sharp (libheif).
 */
export function probeAvif (bytes: Buffer): Probe {
  let meta: Box | undefined
  for (const box of boxes(bytes)) {
    if (box === 'cut') return more()
    if (box.type === 'meta') {
      meta = box
      break
    }
    if (box.type === 'ftyp' && box.data.toString('latin1', 0, 4) !== 'avif') return UNKNOWN
  }
  if (meta === undefined) return more()
  try {
    return readMeta(meta)
  } catch {
    // a box shorter than the fields it must hold (a Buffer read past its end): left to sharp
    return UNKNOWN
  }
}

function readMeta (meta: Box): Probe {
  const items = itemsOf(find(meta.data, 'iinf'))
  const pitm = find(meta.data, 'pitm')
  const iprp = find(meta.data, 'iprp')?.data ?? Buffer.alloc(0)
  const ipco = find(iprp, 'ipco')
  const ipma = find(iprp, 'ipma')
  if (items?.length !== 1 || items[0]!.type !== 'av01' || pitm === undefined || ipco === undefined || ipma === undefined) return UNKNOWN
  const primary = pitm.version === 0 ? pitm.data.readUInt16BE(0) : pitm.data.readUInt32BE(0)
  if (items[0]!.id !== primary) return UNKNOWN
  const properties = [...boxes(ipco.data)]
  const associated = associations(ipma, primary).map((index) => properties[index - 1])
  if (associated.some((box) => box === undefined || box === 'cut' || TRANSFORMS.has(box.type))) return UNKNOWN
  const ispe = associated.find((box) => (box as Box).type === 'ispe') as Box | undefined
  if (ispe === undefined || ispe.data.length < 8) return UNKNOWN
  return { kind: 'header', header: { format: 'avif', width: ispe.data.readUInt32BE(0), height: ispe.data.readUInt32BE(4), pages: 1 } }
}

const TRANSFORMS = new Set(['irot', 'imir', 'clap'])
/** The items iinf lists, or undefined when it cannot be read here. */
function itemsOf (iinf: Box | undefined): Array<{ id: number, type: string }> | undefined {
  if (iinf === undefined) return undefined
  const items: Array<{ id: number, type: string }> = []
  for (const infe of boxes(iinf.data.subarray(iinf.version === 0 ? 2 : 4))) {
    if (infe === 'cut' || infe.type !== 'infe' || infe.version < 2) return undefined
    const wide = infe.version === 3 ? 2 : 0
    const type = infe.data.toString('latin1', 4 + wide, 8 + wide)
    items.push({ id: wide === 0 ? infe.data.readUInt16BE(0) : infe.data.readUInt32BE(0), type })
  }
  return items
}

/** The 1-based indexes of the properties ipma associates with an item. */
function associations ({ data, version, flags }: Box, item: number): number[] {
  const wideId = version >= 1
  const wideIndex = (flags & 1) !== 0
  let at = 4
  for (let entries = data.readUInt32BE(0); entries > 0; entries--) {
    const id = wideId ? data.readUInt32BE(at) : data.readUInt16BE(at)
    at += wideId ? 4 : 2
    const count = data[at]!
    at += 1
    const indexes: number[] = []
    for (let i = 0; i < count; i++) {
      indexes.push(wideIndex ? data.readUInt16BE(at) & 0x7fff : data[at]! & 0x7f)
      at += wideIndex ? 2 : 1
    }
    if (id === item) return indexes
  }
  return []
}
