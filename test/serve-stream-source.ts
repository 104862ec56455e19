// A file source over a plain Map, for the tests of serveStream: the serving module is under test, not a
// storage, so this is as small as head and read can be.
import Fastify, { type FastifyInstance } from 'fastify'
import { Readable } from 'node:stream'
import { serveStream, type StreamServeOptions } from '../lib/media/serve-stream.js'

export interface StoredFile { bytes: Buffer, modified: Date }

export interface MapSource {
  files: Map<string, StoredFile>
  /** Names passed to head and read, in order: what the module looked up. */
  heads: string[]
  reads: Array<{ name: string, range?: { start: number, end: number } }>
}

export function mapSource (entries: Record<string, string | Buffer>, modified = new Date('2026-01-02T03:04:05.000Z')): MapSource {
  const files = new Map(Object.entries(entries).map(([name, bytes]) => [name, { bytes: Buffer.from(bytes), modified }]))
  return { files, heads: [], reads: [] }
}

type Overrides = Partial<Omit<StreamServeOptions, 'prefix'>>

/** An app serving `source` at /media/, closed when the test ends. */
export async function streamApp (t: { teardown: (fn: () => unknown) => void }, source: MapSource, overrides: Overrides = {}): Promise<FastifyInstance> {
  const app = Fastify()
  t.teardown(() => app.close())
  await serveStream(app, {
    prefix: '/media/',
    isPending: () => false,
    async head (name) {
      source.heads.push(name)
      const file = source.files.get(name)
      return file === undefined ? undefined : { size: file.bytes.length, modified: file.modified }
    },
    read (name, range) {
      source.reads.push(range === undefined ? { name } : { name, range })
      const { bytes } = source.files.get(name) as StoredFile
      return Readable.from([range === undefined ? bytes : bytes.subarray(range.start, range.end + 1)])
    },
    ...overrides
  })
  return app
}
