// The client of the direct-upload scenario, in its own process, doing what a browser does: asks the app to
// presign, sends the file from disk straight to the bucket (one POST form, or 8 MiB parts, 4 at a time as
// Uppy's default limit allows), then posts the token in the app's form. Times each step.
import { statSync } from 'node:fs'
import { basename } from 'node:path'
import { call, expect2xx, form } from './requests.js'

const PARTS_AT_ONCE = 4

async function json (port, path, value) {
  const res = expect2xx(`POST ${path}`, await call(`http://127.0.0.1:${port}${path}`, { headers: { 'content-type': 'application/json' }, body: [Buffer.from(JSON.stringify(value))] }))
  return res.body === '' ? undefined : JSON.parse(res.body)
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
