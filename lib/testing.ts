import { randomBytes } from 'node:crypto'

/** A file part: its name as the client sends it, its bytes (a string is UTF-8), and a Content-Type. */
export interface MultipartFile {
  filename: string
  data: Buffer | Uint8Array | string
  /** Default `application/octet-stream`; fastify-media ignores it and types files by their bytes. */
  contentType?: string
}

/** A string is a text part; a Buffer is a file named after its field; an object is a file as described. */
export type MultipartValue = string | Buffer | Uint8Array | MultipartFile

/** Form fields by name; an array sends one part per item, in order, under the same name. */
export type MultipartFields = Record<string, MultipartValue | readonly MultipartValue[]>

export interface MultipartBody {
  payload: Buffer
  headers: { 'content-type': string }
}

// What browsers and fetch's FormData do to names (WHATWG HTML, multipart/form-data encoding): the quote and
// line breaks are percent-encoded so no name can end its header early; other characters go as UTF-8.
const escapeName = (name: string): string => name.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A')

function partOf (field: string, value: unknown): { head: string, body: Buffer } {
  const disposition = `Content-Disposition: form-data; name="${escapeName(field)}"`
  if (typeof value === 'string') return { head: disposition, body: Buffer.from(value) }
  if (value instanceof Uint8Array) value = { filename: field, data: value }
  const file = value as Partial<MultipartFile> | null
  if (typeof file?.filename !== 'string' || !(typeof file.data === 'string' || file.data instanceof Uint8Array)) {
    throw new TypeError(`multipartBody: ${field} must be a string, a Buffer or { filename, data }`)
  }
  return {
    head: `${disposition}; filename="${escapeName(file.filename)}"\r\nContent-Type: ${file.contentType ?? 'application/octet-stream'}`,
    body: typeof file.data === 'string' ? Buffer.from(file.data) : Buffer.from(file.data.buffer, file.data.byteOffset, file.data.byteLength)
  }
}

/**
 * A `multipart/form-data` body for `app.inject()` (or any HTTP client), built the way a browser builds it:
 * `app.inject({ method: 'POST', url: '/profiles', ...multipartBody({ name: 'Ada', avatar: { filename: 'ada.png', data } }) })`.
 */
export function multipartBody (fields: MultipartFields): MultipartBody {
  const parts = Object.entries(fields).flatMap(([field, value]) =>
    (Array.isArray(value) ? value : [value]).map((item: unknown) => partOf(field, item)))
  // 96 random bits, as browsers do: no content holds it by chance
  const boundary = `----fastify-media-${randomBytes(12).toString('hex')}`
  const chunks = parts.flatMap((part) => [Buffer.from(`--${boundary}\r\n${part.head}\r\n\r\n`), part.body, Buffer.from('\r\n')])
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return { payload: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } }
}
