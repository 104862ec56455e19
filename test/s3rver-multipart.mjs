// s3rver 3.7 refuses ListParts and AbortMultipartUpload (MethodNotAllowed) and ListMultipartUploads
// (NotImplemented), yet a resumable upload (lib/storage/s3-multipart.ts, @tus/s3-store) lives on them. This Koa middleware answers
// those three from where s3rver's own filesystem store keeps an open upload (initiateUpload, putPart): a
// directory per upload id holding `key`, `metadata`, and per part `<n>` and `<n>.md5`. So the tests talk to
// a server, not to answers faked inside the SDK client, and Complete and UploadPart stay s3rver's own.
// It must run before s3rver's router (see multipartUploads), hence it sees the request before s3rver's
// signature check: fine for tests, whose client signs anyway. Path-style requests only, as s3Bucket's client.
import { readdir, readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import S3Error from 's3rver/lib/models/error.js'

// S3's default page, and its largest: a larger max-parts or max-uploads is lowered to it
const PAGE = 1000

/** Put in front of s3rver's middleware, so that these requests are answered before its router refuses them. */
export function multipartUploads (server) {
  server.middleware.unshift(answer)
}

async function answer (ctx, next) {
  const [, rawBucket = '', ...rest] = ctx.path.split('/')
  let bucket, key
  try {
    bucket = decodeURIComponent(rawBucket)
    key = decodeURIComponent(rest.join('/'))
  } catch {
    return next()
  }
  const handle = handler(ctx.method, ctx.query, key)
  // a missing bucket is left to s3rver, whose routes answer NoSuchBucket for these requests too
  // (a bucket's name is checked before it becomes a path: `..` is a directory too)
  if (handle === undefined || !/^[a-z0-9][a-z0-9.-]*$/.test(bucket) || !(await ctx.store.getBucket(bucket))) return next()
  await handle(ctx, bucket, key)
}

function handler (method, query, key) {
  if (key !== '' && 'uploadId' in query) {
    if (method === 'GET') return listParts
    if (method === 'DELETE') return abort
  }
  // a delimiter (CommonPrefixes) or an encoding-type is not done here: s3rver refuses them as before
  if (key === '' && method === 'GET' && 'uploads' in query && !('delimiter' in query) && !('encoding-type' in query)) return listUploads
  return undefined
}

async function listParts (ctx, bucket, key) {
  const { uploadId } = ctx.query
  const dir = await uploadDir(ctx, bucket, key, uploadId)
  const marker = integer(ctx.query, 'part-number-marker', 0)
  const max = Math.min(integer(ctx.query, 'max-parts', PAGE), PAGE)
  const names = new Set(await readdir(dir))
  // putPart writes `<n>.md5` once the part is whole: a part still arriving is not listed, as S3 lists
  // only completed parts
  const numbers = [...names]
    .filter((name) => /^[1-9]\d*$/.test(name) && names.has(`${name}.md5`) && Number(name) > marker)
    .map(Number)
    .sort((a, b) => a - b)
  const page = numbers.slice(0, max)
  const parts = await Promise.all(page.map(async (number) => {
    const [md5, info] = await Promise.all([readFile(join(dir, `${number}.md5`), 'utf8'), stat(join(dir, String(number)))])
    return { PartNumber: number, LastModified: info.mtime.toISOString(), ETag: `"${md5}"`, Size: info.size }
  }))
  xml(ctx, 'ListPartsResult', {
    Bucket: bucket,
    Key: key,
    UploadId: uploadId,
    PartNumberMarker: marker,
    NextPartNumberMarker: page.at(-1) ?? 0,
    MaxParts: max,
    IsTruncated: numbers.length > page.length,
    Part: parts
  })
}

async function abort (ctx, bucket, key) {
  await rm(await uploadDir(ctx, bucket, key, ctx.query.uploadId), { recursive: true, force: true })
  ctx.status = 204
}

async function listUploads (ctx, bucket) {
  const { prefix = '', 'key-marker': keyMarker = '' } = ctx.query
  // S3 ignores upload-id-marker without key-marker
  const idMarker = keyMarker === '' ? '' : ctx.query['upload-id-marker'] ?? ''
  const max = Math.min(integer(ctx.query, 'max-uploads', PAGE), PAGE)
  const root = ctx.store.getResourcePath(bucket, undefined, 'uploads')
  const ids = await readdir(root).catch((err) => {
    if (err.code === 'ENOENT') return []
    throw err
  })
  const found = await Promise.all(ids.map(async (id) => {
    try {
      const file = join(root, id, 'key')
      const [key, info] = await Promise.all([readFile(file, 'utf8'), stat(file)])
      return { key, id, initiated: info.mtime }
    } catch (err) {
      // completed or aborted meanwhile; or a directory without `key`, which putPart's mkdirp makes for a
      // part sent to an upload that is gone: no upload either way
      if (err.code === 'ENOENT') return undefined
      throw err
    }
  }))
  const after = (upload) => upload.key > keyMarker || (upload.key === keyMarker && idMarker !== '' && upload.id > idMarker)
  const uploads = found
    .filter((upload) => upload !== undefined && upload.key.startsWith(prefix) && after(upload))
    .sort((a, b) => compare(a.key, b.key) || compare(a.id, b.id))
  const page = uploads.slice(0, max)
  const last = page.at(-1)
  xml(ctx, 'ListMultipartUploadsResult', {
    Bucket: bucket,
    KeyMarker: keyMarker,
    UploadIdMarker: idMarker,
    NextKeyMarker: last?.key ?? '',
    NextUploadIdMarker: last?.id ?? '',
    MaxUploads: max,
    IsTruncated: uploads.length > page.length,
    Prefix: prefix,
    Upload: page.map((upload) => ({ Key: upload.key, UploadId: upload.id, Initiated: upload.initiated.toISOString() }))
  })
}

/** The upload's directory, once its `key` file says it is this key's: S3 answers NoSuchUpload otherwise. */
async function uploadDir (ctx, bucket, key, uploadId) {
  const missing = new S3Error('NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', { UploadId: uploadId })
  // s3rver's ids are hex; anything else (a `..`) must not become a path
  if (typeof uploadId !== 'string' || !/^[0-9a-f]+$/i.test(uploadId)) throw missing
  const dir = join(ctx.store.getResourcePath(bucket, undefined, 'uploads'), uploadId)
  const owner = await readFile(join(dir, 'key'), 'utf8').catch((err) => {
    if (err.code === 'ENOENT') return undefined
    throw err
  })
  if (owner !== key) throw missing
  return dir
}

/** A query parameter that must be a whole number; S3 refuses anything else with InvalidArgument. */
function integer (query, name, fallback) {
  const value = query[name]
  if (value === undefined) return fallback
  if (typeof value !== 'string' || !/^\d+$/.test(value)) throw new S3Error('InvalidArgument', `Provided ${name} not an integer or within integer range`, { ArgumentName: name, ArgumentValue: String(value) })
  return Number(value)
}

const compare = (a, b) => (a < b ? -1 : a > b ? 1 : 0)

const escape = (text) => String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

// s3rver turns a plain-object body into XML in a middleware of its own, which a request answered here never
// reaches, so the XML is written here; arrays repeat their element, as S3's flattened lists (Part, Upload) do
function element (name, value) {
  if (Array.isArray(value)) return value.map((item) => element(name, item)).join('')
  if (typeof value === 'object') return `<${name}>${Object.entries(value).map(([k, v]) => element(k, v)).join('')}</${name}>`
  return `<${name}>${escape(value)}</${name}>`
}

function xml (ctx, root, fields) {
  ctx.type = 'application/xml'
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${Object.entries(fields).map(([name, value]) => element(name, value)).join('')}</${root}>`
}
