// The security suite's harness: a real server on 127.0.0.1 with a model that covers every kind of field,
// raw bytes over `net` (a client library would clean the input up), and the three checks every hostile
// request must pass: the documented status and code, nothing stored (no file, no temp file, under any
// root), and a process that still answers the next request on a fresh connection.
import Fastify, { type FastifyHttpOptions, type FastifyInstance } from 'fastify'
import type { Server as HttpServer } from 'node:http'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Test } from 'tap'
import fastifyMedia, { FileField, FileSystemStorage, ImageField, type FastifyMediaOptions } from '../../lib/index.js'
import { filesUnder, tempDir } from '../helpers.js'
import { RawConnection, waitFor, type RawResponse } from '../http-helpers.js'

export { fixture } from '../helpers.js'
export type { RawResponse } from '../http-helpers.js'

export const KEY = 'a-signing-key-of-32-bytes-length'
export const BOUNDARY = '----fastifymediasecurity'

export interface Server {
  app: FastifyInstance
  port: number
  dir: string
  /** Every directory the app may write to; `.tmp/` dirs live inside them. */
  roots: { media: string, private: string }
  /** Text parts the last successful upload saw, as the handler received them. */
  lastBody: { value: Record<string, unknown> | undefined }
}

export interface ServerOptions {
  limits?: FastifyMediaOptions['limits']
  /** Fastify's own options (timeouts). */
  fastify?: FastifyHttpOptions<HttpServer>
  /** Extra plugin options (e.g. `static`). */
  media?: Partial<FastifyMediaOptions>
}

/**
 * The model: `avatar` (ImageField, default formats), `doc` (FileField, any detectable type, 1 MB),
 * `vector` (SVG only), `notes` (text/plain or JSON), `many` (up to 100 files of 64 KiB), `secret` (private
 * storage), `strict` (an ImageField with `verify: 'decode'`), `clean` (an ImageField with `sanitize`). `POST /upload` answers 201 with the uploads; `GET /health` answers `{ ok: true }`.
 */
export async function startServer (t: Test, options: ServerOptions = {}): Promise<Server> {
  const dir = tempDir(t)
  const roots = { media: join(dir, 'media'), private: join(dir, 'private') }
  mkdirSync(roots.media)
  mkdirSync(roots.private)
  const app = Fastify({ ...options.fastify })
  t.teardown(() => app.close())
  await app.register(fastifyMedia, {
    baseDir: dir,
    static: false,
    signingKey: KEY,
    storages: { private: new FileSystemStorage({ location: 'private', baseUrl: '/private/', public: false }) },
    limits: { files: 20, totalSize: '512 KiB', ...options.limits },
    ...options.media
  })
  const Model = app.media.model('sec', {
    avatar: ImageField({ uploadTo: 'avatars/', required: false }),
    doc: FileField({ uploadTo: 'docs/', maxSize: '1 MB', required: false }),
    vector: FileField({ uploadTo: 'vectors/', accept: ['image/svg+xml'], required: false }),
    notes: FileField({ uploadTo: 'notes/', accept: ['text/plain', 'application/json'], required: false }),
    many: FileField({ uploadTo: 'many/', multiple: true, maxCount: 100, maxSize: '64 KiB', required: false }),
    secret: FileField({ uploadTo: 'secret/', storage: 'private', required: false }),
    strict: ImageField({ uploadTo: 'strict/', verify: 'decode', required: false }),
    clean: ImageField({ uploadTo: 'clean/', sanitize: true, required: false })
  })
  const lastBody: Server['lastBody'] = { value: undefined }
  app.post('/upload', { upload: Model }, async (req, reply) => {
    lastBody.value = { ...(req.body as Record<string, unknown>) }
    return reply.code(201).send(req.uploads)
  })
  app.get('/health', async () => ({ ok: true }))
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  return { app, port: address.port, dir, roots, lastBody }
}

export interface PartSpec {
  /** Written verbatim between the quotes of `name="..."` (UTF-8). */
  name: string
  /** Written verbatim between the quotes of `filename="..."`; a text part when absent. */
  filename?: string
  content?: Buffer | string
  contentType?: string
}

/** One part: a header block written byte for byte, then the content. */
export function rawPart (headerBlock: Buffer | string, content: Buffer | string = '', boundary = BOUNDARY): Buffer {
  return Buffer.concat([Buffer.from(`--${boundary}\r\n`), Buffer.from(headerBlock), Buffer.from('\r\n\r\n'), Buffer.from(content), Buffer.from('\r\n')])
}

export function part ({ name, filename, content = '', contentType }: PartSpec, boundary = BOUNDARY): Buffer {
  let head = `Content-Disposition: form-data; name="${name}"`
  if (filename !== undefined) head += `; filename="${filename}"\r\nContent-Type: ${contentType ?? 'application/octet-stream'}`
  else if (contentType !== undefined) head += `\r\nContent-Type: ${contentType}`
  return rawPart(head, content, boundary)
}

export const closing = (boundary = BOUNDARY): Buffer => Buffer.from(`--${boundary}--\r\n`)

/** A whole multipart body from parts (specs or raw buffers). */
export function form (parts: Array<PartSpec | Buffer>, boundary = BOUNDARY): Buffer {
  return Buffer.concat([...parts.map((p) => Buffer.isBuffer(p) ? p : part(p, boundary)), closing(boundary)])
}

/** The request line and headers of a POST, written verbatim. */
export function head (path: string, headers: Record<string, string | number>, method = 'POST'): Buffer {
  const lines = Object.entries({ host: 'localhost', ...headers }).map(([k, v]) => `${k}: ${v}\r\n`).join('')
  return Buffer.from(`${method} ${path} HTTP/1.1\r\n${lines}\r\n`)
}

export const multipartType = (boundary = BOUNDARY): string => `multipart/form-data; boundary=${boundary}`

export interface Exchange {
  response: RawResponse | undefined
  /** True when the server closed the connection (within the wait). */
  closed: boolean
}

/**
 * Opens a connection, writes `chunks` one after another and waits for one response (and, when
 * `waitClose`, for the server to close the connection). The socket is destroyed at the end.
 */
export async function exchange (port: number, chunks: Array<Buffer | string>, { timeout = 10_000, waitClose = false } = {}): Promise<Exchange> {
  const conn = await RawConnection.open(port)
  try {
    for (const chunk of chunks) {
      if (!await conn.write(chunk)) break
    }
    const response = await conn.response(timeout)
    const closed = waitClose ? await conn.waitClosed(timeout) : conn.closed
    return { response, closed }
  } finally {
    conn.destroy()
  }
}

/** A multipart POST of a whole body with its Content-Length, over a raw socket. */
export async function post (server: Server, body: Buffer, { boundary = BOUNDARY, path = '/upload', extra = {} }: { boundary?: string, path?: string, extra?: Record<string, string | number> } = {}): Promise<RawResponse> {
  const { response } = await exchange(server.port, [head(path, { 'content-type': multipartType(boundary), 'content-length': body.length, ...extra }), body])
  if (response === undefined) throw new Error('no response')
  return response
}

/** A GET over a fresh raw connection, the path written verbatim. */
export async function get (server: Server, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<RawResponse> {
  const { response } = await exchange(server.port, [head(path, headers, method)])
  if (response === undefined) throw new Error(`no response to ${method} ${path}`)
  return response
}

/** Every file under the app's roots (temp files and dotfiles included), as `root/relative` paths. */
export function storedFiles (server: Server): string[] {
  return Object.entries(server.roots).flatMap(([label, root]) => filesUnder(root).map((path) => `${label}/${path}`)).sort()
}

/**
 * Check 2: exactly `expected` is under the roots. Waits (bounded) for the cleanup that follows a client's
 * close: the harness sees only the socket, and a rollback on the server ends with no event it can hear.
 */
export async function assertFiles (t: Test, server: Server, expected: string[], what = 'nothing else is stored'): Promise<void> {
  const sorted = [...expected].sort()
  await waitFor(() => JSON.stringify(storedFiles(server)) === JSON.stringify(sorted), 5000)
  t.same(storedFiles(server), sorted, what)
}

/** Check 3: the process still answers, on a fresh connection. */
export async function assertAlive (t: Test, server: Server): Promise<void> {
  const res = await get(server, '/health')
  t.equal(res.status, 200, 'the server answers the next request')
  t.same(JSON.parse(res.body), { ok: true })
}

/** The three checks for a refused request. `before` lists files that were there before it (planted ones). */
export async function assertRefused (t: Test, server: Server, res: RawResponse | undefined, status: number, code: string | undefined, before: string[] = []): Promise<void> {
  t.ok(res, 'a response came back')
  t.equal(res?.status, status, 'status')
  if (code !== undefined) t.equal(safeJson(res?.body).code, code, `code (${res?.body.slice(0, 300) ?? 'no body'})`)
  await assertFiles(t, server, before, 'nothing stored: no file and no temp file under any root')
  await assertAlive(t, server)
}

/** For a request stored safely: 201, the precise stored name, the only new file, inside its root. */
export async function assertStored (t: Test, server: Server, res: RawResponse, field: string, name: string, before: string[] = []): Promise<{ name: string, url: string, contentType: string }> {
  t.equal(res.status, 201, `stored (${res.body})`)
  const file = safeJson(res.body)[field] as { name: string, url: string, contentType: string }
  t.equal(file?.name, name, 'the stored name')
  const root = field === 'secret' ? 'private' : 'media'
  await assertFiles(t, server, [...before, `${root}/${name}`], 'only that file is stored, inside its root')
  await assertAlive(t, server)
  return file
}

export function safeJson (text: string | undefined): Record<string, any> {
  try {
    return JSON.parse(text ?? '')
  } catch {
    return {}
  }
}
