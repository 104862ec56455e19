import Fastify, { type FastifyInstance } from 'fastify'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { Readable } from 'node:stream'
import type t from 'tap'
import fastifyMedia, { FileSystemStorage, type FastifyMediaOptions, type Storage } from '../lib/index.js'

export const FIXTURES = join(import.meta.dirname, 'fixtures')
export const fixture = (name: string): Buffer => readFileSync(join(FIXTURES, name))

/** The test object tap hands to a subtest. */
export type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

interface Teardown { teardown: (fn: () => unknown) => void }

/** A fresh directory removed when the test ends. */
export function tempDir (t: Teardown): string {
  const dir = mkdtempSync(join(tmpdir(), 'fastify-media-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A Fastify app with the plugin on a temp media root (`baseDir`), closed when the test ends. */
export async function makeApp (t: Teardown, options: FastifyMediaOptions = {}): Promise<{ app: FastifyInstance, dir: string }> {
  const dir = tempDir(t)
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyMedia, { baseDir: dir, static: false, ...options })
  return { app, dir }
}

/** Every file under a directory, dotfiles and temp files included, as relative paths. */
export function filesUnder (dir: string): string[] {
  const found: string[] = []
  const walk = (current: string): void => {
    let entries
    try {
      entries = readdirSync(current, { withFileTypes: true })
    } catch {
      return
    }
    for (const entry of entries) {
      const path = join(current, entry.name)
      if (entry.isDirectory()) walk(path)
      else found.push(relative(dir, path))
    }
  }
  walk(dir)
  return found.sort()
}

/** A Storage object of the user's own over `inner`: the methods it must have, no driver, no publish. */
export function ownStorage (inner: Storage): Storage {
  return {
    public: inner.public,
    save: inner.save.bind(inner),
    open: inner.open.bind(inner),
    delete: inner.delete.bind(inner),
    exists: inner.exists.bind(inner),
    size: inner.size.bind(inner),
    stat: inner.stat.bind(inner),
    url: inner.url.bind(inner),
    list: inner.list.bind(inner),
    getAvailableName: inner.getAvailableName.bind(inner)
  }
}

export const sizeOf = (path: string): number => statSync(path).size

export interface Part {
  name: string
  /** A file part when set (may be ''); a text part otherwise. */
  filename?: string
  content?: string | Buffer
  contentType?: string
  /** Raw extra header lines. */
  headers?: string[]
}

/** A multipart/form-data body built byte by byte, so tests control every name and header. */
export function multipart (parts: Part[], boundary = '----fastifymediatest'): { payload: Buffer, headers: Record<string, string> } {
  const chunks: Buffer[] = []
  for (const part of parts) {
    const disposition = part.filename === undefined
      ? `form-data; name="${part.name}"`
      : `form-data; name="${part.name}"; filename="${part.filename}"`
    const lines = [`--${boundary}`, `Content-Disposition: ${disposition}`]
    if (part.filename !== undefined || part.contentType !== undefined) lines.push(`Content-Type: ${part.contentType ?? 'application/octet-stream'}`)
    lines.push(...(part.headers ?? []))
    chunks.push(Buffer.from(lines.join('\r\n') + '\r\n\r\n'), Buffer.from(part.content ?? ''), Buffer.from('\r\n'))
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return { payload: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } }
}

/**
 * `app.inject()` of a multipart POST. With `chunkSize`, the body arrives in chunks of that size, as a
 * network delivers it; without, in one piece.
 */
export async function postForm (app: FastifyInstance, url: string, parts: Part[], { chunkSize }: { chunkSize?: number } = {}) {
  const { payload, headers } = multipart(parts)
  if (chunkSize === undefined) return await app.inject({ method: 'POST', url, payload, headers })
  const chunks = Array.from({ length: Math.ceil(payload.length / chunkSize) }, (_, i) => payload.subarray(i * chunkSize, (i + 1) * chunkSize))
  return await app.inject({ method: 'POST', url, payload: Readable.from(chunks), headers })
}

/** The disk storage, counting the bytes that are read from its files. */
export class CountingReads extends FileSystemStorage {
  bytesRead = 0
  override open (name: string): Readable {
    const source = super.open(name)
    const count = (chunk: Buffer): Buffer => {
      this.bytesRead += chunk.length
      return chunk
    }
    return Readable.from((async function * () { for await (const chunk of source) yield count(chunk) })())
  }
}
