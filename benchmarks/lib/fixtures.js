// Deterministic test data: code-like CSS and JS (compressible as real code is, not as a repeated line
// is), PNGs of noise (incompressible, as photos are), and a large PDF-looking file.
import { createHash, randomBytes } from 'node:crypto'
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { finished, pipeline } from 'node:stream/promises'
import sharp from 'sharp'

export function random (seed = 1) {
  let state = seed >>> 0
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0
    return state / 2 ** 32
  }
}

const WORDS = ['header', 'button', 'card', 'nav', 'item', 'active', 'primary', 'list', 'modal', 'form', 'input', 'label', 'grid', 'col', 'row', 'icon', 'title', 'footer', 'menu', 'panel', 'badge', 'alert', 'table', 'cell']
const PROPS = ['color', 'margin', 'padding', 'display', 'border', 'background', 'font-size', 'line-height', 'width', 'height', 'flex', 'gap']

export function cssText (bytes, rand = random(bytes), urls = []) {
  const pick = (list) => list[Math.floor(rand() * list.length)]
  let out = ''
  let i = 0
  while (out.length < bytes) {
    out += `.${pick(WORDS)}-${pick(WORDS)}-${Math.floor(rand() * 1000)} {\n`
    for (let p = 0; p < 3; p++) out += `  ${pick(PROPS)}: ${Math.floor(rand() * 64)}px;\n`
    if (i < urls.length) out += `  background-image: url("${urls[i]}");\n`
    out += '}\n'
    i++
  }
  return out.slice(0, bytes)
}

export function jsText (bytes, rand = random(bytes)) {
  const pick = (list) => list[Math.floor(rand() * list.length)]
  let out = ''
  while (out.length < bytes) {
    const name = `${pick(WORDS)}${pick(WORDS)}${Math.floor(rand() * 10000)}`
    out += `export function ${name} (${pick(WORDS)}, ${pick(WORDS)}) {\n  const ${pick(WORDS)} = ${Math.floor(rand() * 1e6)} + ${pick(WORDS)}.length\n  return ${pick(WORDS)} > ${Math.floor(rand() * 100)} ? '${pick(WORDS)}' : ${name}\n}\n`
  }
  return out.slice(0, bytes)
}

/** A PNG of noise of about `bytes` bytes (RGB noise does not compress). */
export async function noisePng (bytes, seed = 1) {
  const side = Math.round(Math.sqrt(bytes * 0.96 / 3))
  const rand = random(seed)
  const pixels = Buffer.alloc(side * side * 3)
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.floor(rand() * 256)
  return await sharp(pixels, { raw: { width: side, height: side, channels: 3 } }).png({ compressionLevel: 1 }).toBuffer()
}

/** `%PDF-` and random bytes: a type file-type recognises, content that does not compress. */
export async function largePdf (path, bytes) {
  await largeFile(path, bytes, Buffer.from('%PDF-1.7\n'))
}

/** An MP4's `ftyp` box (what file-type reads: video/mp4) and random bytes, `bytes` in all. */
export async function largeMp4 (path, bytes) {
  await largeFile(path, bytes, Buffer.from('000000186674797069736f6d0000020069736f6d69736f32', 'hex'))
}

/** `head`, then random bytes (content that does not compress), `bytes` in all, written 1 MiB at a time. */
async function largeFile (path, bytes, head) {
  mkdirSync(dirname(path), { recursive: true })
  const out = createWriteStream(path)
  out.write(head)
  const chunk = 1 << 20
  for (let written = head.length; written < bytes; written += chunk) {
    if (!out.write(randomBytes(Math.min(chunk, bytes - written)))) await new Promise((resolve) => out.once('drain', resolve))
  }
  out.end()
  await finished(out)
}

/** The hex SHA-256 of a stream's bytes. */
export async function sha256 (stream) {
  const hash = createHash('sha256')
  await pipeline(stream, hash)
  return hash.digest('hex')
}

export function writeFile (path, content) {
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, content)
}

/** A multipart/form-data body with one file part named `file`. */
export function multipartBody (filename, contentType, content, boundary = '----benchboundary7MA4YWxkTrZu0gW') {
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: ${contentType}\r\n\r\n`)
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
  return { head, tail, body: content === undefined ? undefined : Buffer.concat([head, content, tail]), contentType: `multipart/form-data; boundary=${boundary}` }
}
