// The client of the direct-upload scenario, in its own process, doing what a browser does: asks the app to
// presign, sends the file from disk straight to the bucket (one POST form, or 8 MiB parts, 4 at a time as
// Uppy's default limit allows), then posts the token in the app's form. Times each step.
import { randomBytes } from 'node:crypto'
import { createReadStream, statSync } from 'node:fs'
import { once } from 'node:events'
import { request } from 'node:http'
import { basename } from 'node:path'
import { pipeline } from 'node:stream/promises'

const PARTS_AT_ONCE = 4

/** One request; its body is Buffers and byte ranges of a file ({ file, start, end }, end inclusive) streamed from disk. */
function call (url, { method = 'POST', headers = {}, body = [] } = {}) {
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

function expect2xx (what, res) {
  if (res.status < 200 || res.status > 299) throw new Error(`${what}: status ${res.status} ${res.body.slice(0, 500)}`)
  return res
}

async function json (port, path, value) {
  const res = expect2xx(`POST ${path}`, await call(`http://127.0.0.1:${port}${path}`, { headers: { 'content-type': 'application/json' }, body: [Buffer.from(JSON.stringify(value))] }))
  return res.body === '' ? undefined : JSON.parse(res.body)
}

/** A multipart/form-data body: text fields, then the file (when given) as `file`. */
function form (fields, file) {
  const boundary = `----benchdirect${randomBytes(8).toString('hex')}`
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

async function sendParts (port, file, upload) {
  const count = Math.ceil(file.size / upload.partSize)
  const parts = []
  let next = 1
  const worker = async () => {
    while (next <= count) {
      const PartNumber = next++
      const { url } = await json(port, '/direct/parts', { token: upload.token, partNumber: PartNumber })
      const start = (PartNumber - 1) * upload.partSize
      const end = Math.min(start + upload.partSize, file.size) - 1
      const res = expect2xx(`PUT part ${PartNumber}`, await call(url, { method: 'PUT', body: [{ file: file.path, start, end }] }))
      parts.push({ PartNumber, ETag: res.headers.etag })
    }
  }
  await Promise.all(Array.from({ length: Math.min(PARTS_AT_ONCE, count) }, worker))
  await json(port, '/direct/complete', { token: upload.token, parts: parts.sort((a, b) => a.PartNumber - b.PartNumber) })
  return count
}

async function direct ({ port, path, contentType, flow }) {
  const file = { path, name: basename(path), size: statSync(path).size, contentType }
  const clock = () => Number(process.hrtime.bigint()) / 1e9
  const started = clock()
  const presigned = await json(port, '/direct/presign', { field: `${flow}.file`, filename: file.name, size: file.size, contentType })
  const presignedAt = clock()
  let parts = 1
  if (presigned.method === 'POST') {
    const { headers, body } = form(presigned.fields, file)
    expect2xx('POST to the bucket', await call(presigned.url, { headers, body }))
  } else {
    parts = await sendParts(port, file, presigned)
  }
  const sentAt = clock()
  const { headers, body } = form({ file: presigned.token })
  const committed = expect2xx('commit', await call(`http://127.0.0.1:${port}/commit/${flow}`, { headers, body }))
  const done = clock()
  return {
    method: presigned.method,
    parts,
    name: JSON.parse(committed.body).file,
    seconds: { presign: presignedAt - started, transfer: sentAt - presignedAt, commit: done - sentAt, total: done - started }
  }
}

process.once('message', (options) => {
  direct(options).then(
    (result) => process.send({ type: 'result', ...result }, () => process.exit(0)),
    (err) => process.send({ type: 'result', error: err.stack ?? String(err) }, () => process.exit(1))
  )
})
