// Types of server.js for the TypeScript tests that import it.
import type { FastifyInstance, FastifyServerOptions } from 'fastify'

export interface BuildAppOptions {
  /** Where uploads go: relative to example/, or absolute. Default `media`. */
  mediaRoot?: string
  logger?: FastifyServerOptions['logger']
}

/** The example app with fastify-media registered, ready (not listening). */
export function buildApp (options?: BuildAppOptions): Promise<FastifyInstance>
export function escapeHtml (value: unknown): string
export const humanSize: (bytes: number) => string
