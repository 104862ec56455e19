/* global XMLHttpRequest */
// A file sent from the browser straight to the bucket, through the routes app.media.directRoutes mounts: the
// app signs, the bucket receives the bytes. Below the field's multipart threshold it is one POST of a form
// (the signed policy's fields, then the file); above, S3 multipart: each part PUT to a URL the app signs,
// then the app completes the upload. The answer is a token: send it as the field's value in the form, and
// the upload route checks the file and gives it its name. Plain XHR, because fetch() reports no upload
// progress.

/** Parts in flight at once: enough to fill a link, few enough to keep the progress bar honest. */
const PARTS_AT_ONCE = 3

/** An error from our routes or the bucket; `code` and `field` come from our routes' JSON answers. */
export class DirectUploadError extends Error {
  constructor (message, { status, code, field } = {}) {
    super(message)
    this.status = status
    this.code = code
    this.field = field
  }
}

/** One XHR, resolved with it once the answer is 2xx; `onProgress(bytesSent)` while the body goes out. */
function send (method, url, { body, json, onProgress }) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open(method, url)
    if (json !== undefined) {
      xhr.setRequestHeader('Content-Type', 'application/json')
      xhr.setRequestHeader('Accept', 'application/json')
    }
    if (onProgress !== undefined) xhr.upload.addEventListener('progress', (event) => onProgress(event.loaded))
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) return resolve(xhr)
      let answer = {}
      try {
        answer = JSON.parse(xhr.responseText)
      } catch {}
      reject(new DirectUploadError(answer.message ?? `${method} ${url} answered ${xhr.status}`, { status: xhr.status, code: answer.code ?? `http:${xhr.status}`, field: answer.field }))
    })
    xhr.addEventListener('error', () => reject(new DirectUploadError('The connection was lost during the upload.', { code: 'client:network' })))
    xhr.send(json === undefined ? body : JSON.stringify(json))
  })
}

async function postJson (url, json) {
  const xhr = await send('POST', url, { json })
  return xhr.status === 204 ? undefined : JSON.parse(xhr.responseText)
}

/**
 * Uploads `file` for `field` ('model.field') through the routes under `prefix`; resolves with the token.
 * `onProgress(sent, total)` follows the bytes going to the bucket.
 */
export async function uploadDirect (file, { field, prefix = '/direct', onProgress = () => {} }) {
  const target = await postJson(`${prefix}/presign`, { field, filename: file.name, size: file.size, contentType: file.type })
  if (target.method === 'POST') {
    const form = new FormData()
    for (const [name, value] of Object.entries(target.fields)) form.append(name, value)
    // S3 reads the policy's fields first: the file goes last
    form.append('file', file)
    await send('POST', target.url, { body: form, onProgress: (sent) => onProgress(Math.min(sent, file.size), file.size) })
    return target.token
  }
  try {
    const parts = await uploadParts(file, target, prefix, onProgress)
    await postJson(`${prefix}/complete`, { token: target.token, parts })
  } catch (error) {
    // the parts already sent would be kept (and billed) by the bucket until an abort
    await postJson(`${prefix}/abort`, { token: target.token }).catch(() => {})
    throw error
  }
  return target.token
}

/** Sends every part, PARTS_AT_ONCE at a time; resolves with `[{ PartNumber, ETag }]` in order. */
async function uploadParts (file, { token, partSize }, prefix, onProgress) {
  const count = Math.ceil(file.size / partSize)
  const sent = new Array(count).fill(0)
  const parts = new Array(count)
  let next = 0
  // after a failure the other workers start no new part
  const stop = { failed: false }
  async function worker () {
    while (next < count && !stop.failed) {
      const index = next++
      const blob = file.slice(index * partSize, (index + 1) * partSize)
      const { url } = await postJson(`${prefix}/parts`, { token, partNumber: index + 1 })
      const xhr = await send('PUT', url, {
        body: blob,
        onProgress: (loaded) => {
          sent[index] = loaded
          onProgress(sent.reduce((a, b) => a + b, 0), file.size)
        }
      })
      sent[index] = blob.size
      // readable only when the bucket's CORS rule exposes it
      const etag = xhr.getResponseHeader('ETag')
      if (etag === null) throw new DirectUploadError('The bucket hides the ETag of a part: its CORS rule needs <ExposeHeader>ETag</ExposeHeader>.', { code: 'client:cors' })
      parts[index] = { PartNumber: index + 1, ETag: etag }
    }
  }
  const stopOnError = (error) => {
    stop.failed = true
    throw error
  }
  await Promise.all(Array.from({ length: Math.min(PARTS_AT_ONCE, count) }, () => worker().catch(stopOnError)))
  return parts
}
