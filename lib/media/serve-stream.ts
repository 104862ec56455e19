// TEMPORARY stub until the serve branch lands
import type { FastifyInstance } from 'fastify'
import type { Readable } from 'node:stream'
export interface StreamServeOptions {
  prefix: string
  verify?: (name: string, query: Record<string, unknown>) => boolean
  isPending: (name: string) => boolean
  head: (name: string) => Promise<{ size: number, modified: Date } | undefined>
  read: (name: string, range?: { start: number, end: number }) => Readable
}
export async function serveStream (app: FastifyInstance, options: StreamServeOptions): Promise<void> {
  throw new Error('not yet ' + String(app) + String(options))
}
