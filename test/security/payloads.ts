// Hostile files built byte by byte, so each test says exactly what it throws at the server.
import { crc32, deflateRawSync, deflateSync } from 'node:zlib'

/** A PNG chunk: length, type, data and CRC. */
export function chunk (type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4)
  length.writeUInt32BE(data.length)
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(body))
  return Buffer.concat([length, body, crc])
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

/** A PNG whose header claims `width` x `height` (RGBA); the pixel data is one tiny deflate stream. */
export function png (width: number, height: number, tail: Buffer = Buffer.alloc(0)): Buffer {
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 6 // RGBA
  return Buffer.concat([PNG_SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(64))), chunk('IEND', Buffer.alloc(0)), tail])
}

/** A GIF header that is also a valid script: `GIF89a=1;...`. */
export const GIF_JS_POLYGLOT = Buffer.concat([
  Buffer.from('GIF89a/*'),
  Buffer.from([0x0a, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00]),
  Buffer.from('*/=1;alert(document.cookie)//'),
  Buffer.from([0x3b])
])

export const HTML_SCRIPT = '<html><body><script>alert(document.cookie)</script></body></html>'
export const PHP = '<?php system($_GET["c"]); ?>'
export const SVG_SCRIPT = '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(document.domain)</script></svg>'

/**
 * A zip whose first entry is `[Content_Types].xml`, deflated from `xmlSize` bytes of XML: small on the
 * wire, huge once inflated. file-type reads that entry to tell docx/xlsx/pptx from zip.
 */
export function zipWithHugeContentTypes (xmlSize: number): Buffer {
  const xml = Buffer.concat([
    Buffer.from('<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'),
    Buffer.alloc(xmlSize, 0x20)
  ])
  const data = deflateRawSync(xml, { level: 9 })
  const name = Buffer.from('[Content_Types].xml')
  const local = Buffer.alloc(30)
  local.writeUInt32LE(0x04034b50, 0)
  local.writeUInt16LE(20, 4) // version
  local.writeUInt16LE(0, 6) // flags
  local.writeUInt16LE(8, 8) // deflate
  local.writeUInt32LE(crc32(xml), 14)
  local.writeUInt32LE(data.length, 18)
  local.writeUInt32LE(xml.length, 22)
  local.writeUInt16LE(name.length, 26)
  return Buffer.concat([local, name, data])
}
