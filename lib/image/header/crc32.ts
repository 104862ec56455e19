// node:zlib's crc32 came in Node 20.15; the package supports 20.11
const TABLE = new Int32Array(256).map((_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = (c & 1) !== 0 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c
})

/** The CRC-32 of PNG chunks (ISO 3309). */
export function crc32 (bytes: Buffer): number {
  let c = -1
  for (let i = 0; i < bytes.length; i++) c = (TABLE[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8)
  return (c ^ -1) >>> 0
}
