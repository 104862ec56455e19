// An AVIF rebuilt box by box from one sharp made, so that a test can change one field of its header
// (a box's version, an item, a property) and compare what our reader and sharp make of it.
import sharp from 'sharp'

export const box = (type: string, ...payload: Buffer[]): Buffer => {
  const data = Buffer.concat(payload)
  const head = Buffer.alloc(8)
  head.writeUInt32BE(8 + data.length)
  head.write(type, 4, 'latin1')
  return Buffer.concat([head, data])
}

export const fullBox = (type: string, version: number, flags: number, ...payload: Buffer[]): Buffer =>
  box(type, Buffer.from([version, (flags >> 16) & 255, (flags >> 8) & 255, flags & 255]), ...payload)

const u16 = (n: number) => Buffer.from([n >> 8, n & 255])
const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b }

/** The payload of each box of `bytes` by type (the first of each), after its size and type. */
function payloads (bytes: Buffer): Record<string, Buffer> {
  const found: Record<string, Buffer> = {}
  for (let at = 0; at + 8 <= bytes.length;) {
    const size = bytes.readUInt32BE(at)
    found[bytes.toString('latin1', at + 4, at + 8)] ??= bytes.subarray(at + 8, at + size)
    at += size
  }
  return found
}

export interface AvifParts {
  ftyp: Buffer
  pitm: Buffer
  iinf: Buffer
  ipco: Buffer
  ipma: Buffer
  /** More boxes of meta, after iprp (none by default). */
  extra?: Buffer
  /** iprp as it is when not given. */
  iprp?: Buffer
}

/** The boxes sharp's 48x32 AVIF is made of, each rebuilt whole, and a function that assembles a file of them. */
export async function avifParts (): Promise<{ parts: AvifParts, assemble: (parts: AvifParts) => Buffer, infe: (id: number, type: string, version?: number) => Buffer, ispe: Buffer, av1C: Buffer, pixi: Buffer }> {
  const made = await sharp({ create: { width: 48, height: 32, channels: 3, background: '#3a6' } }).avif().toBuffer()
  const top = payloads(made)
  const meta = payloads(top.meta!.subarray(4))
  const ipco = payloads(payloads(meta.iprp!).ipco!)
  const infe = (id: number, type: string, version = 2) => fullBox('infe', version, 0, version === 3 ? u32(id) : u16(id), u16(0), Buffer.from(type, 'latin1'), Buffer.from([0]))
  const ispe = box('ispe', ipco.ispe!)
  const av1C = box('av1C', ipco.av1C!)
  const pixi = box('pixi', ipco.pixi!)
  const parts: AvifParts = {
    ftyp: box('ftyp', top.ftyp!),
    pitm: fullBox('pitm', 0, 0, u16(1)),
    iinf: fullBox('iinf', 0, 0, u16(1), infe(1, 'av01')),
    ipco: box('ipco', av1C, ispe, pixi),
    // item 1: av1C (essential), ispe, pixi
    ipma: fullBox('ipma', 0, 0, u32(1), u16(1), Buffer.from([3, 0x81, 2, 3]))
  }
  const assemble = (p: AvifParts) => {
    const head = Buffer.concat([box('hdlr', meta.hdlr!), p.pitm, p.iinf, p.iprp ?? box('iprp', p.ipco, p.ipma), p.extra ?? Buffer.alloc(0)])
    // iloc (version 0, 4-byte offsets and lengths, one extent) points at the mdat after this meta
    const mdat = box('mdat', top.mdat!)
    const ilocSize = 8 + 4 + 2 + 2 + 2 + 2 + 2 + 4 + 4
    const metaSize = 8 + 4 + head.length + ilocSize
    const offset = p.ftyp.length + metaSize + 8
    const iloc = fullBox('iloc', 0, 0, Buffer.from([0x44, 0x00]), u16(1), u16(1), u16(0), u16(1), u32(offset), u32(top.mdat!.length))
    return Buffer.concat([p.ftyp, fullBox('meta', 0, 0, head, iloc), mdat])
  }
  return { parts, assemble, infe, ispe, av1C, pixi }
}

export { u16, u32 }
