// Requests of the client scripts (direct-child.js, resumable-child.js): bodies of Buffers and byte ranges of
// a file streamed from disk, and multipart/form-data forms.
import { randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { once } from 'node:events'
import { request } from 'node:http'
import { pipeline } from 'node:stream/promises'

/** One request; its body is Buffers and byte ranges of a file ({ file, start, end }, end inclusive) streamed from disk. */
export function call (url, { method = 'POST', headers = {}, body = [] } = {}) {
  const length = body.reduce((sum, piece) => sum + (Buffer.isBuffer(piece) ? piece.length : piece.end - piece.start + 1), 0)
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false, headers: { ...headers, 'content-length': length } }, (res) => {
      const chunks = []
      res.on('data', (chunk) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }))
      res.on('error', reject)
    })
    req.on('error', reject)
    write(req, body).then(() => req.end(), reject)
  })
}

async function write (req, body) {
  for (const piece of body) {
    if (!Buffer.isBuffer(piece)) await pipeline(createReadStream(piece.file, { start: piece.start, end: piece.end, highWaterMark: 1 << 20 }), req, { end: false })
    else if (!req.write(piece)) await once(req, 'drain')
  }
}

export function expect2xx (what, res) {
  if (res.status < 200 || res.status > 299) throw new Error(`${what}: status ${res.status} ${res.body.slice(0, 500)}`)
  return res
}

/** A multipart/form-data body: text fields, then the file (when given) as `file`. */
export function form (fields, file) {
  const boundary = `----benchform${randomBytes(8).toString('hex')}`
  let head = ''
  for (const [name, value] of Object.entries(fields)) head += `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`
  const body = []
  if (file !== undefined) {
    head += `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.name}"\r\nContent-Type: ${file.contentType}\r\n\r\n`
    body.push(Buffer.from(head), { file: file.path, start: 0, end: file.size - 1 }, Buffer.from(`\r\n--${boundary}--\r\n`))
  } else {
    body.push(Buffer.from(`${head}--${boundary}--\r\n`))
  }
  return { headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, body }
}
