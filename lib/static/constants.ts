import type { FastifySchema } from 'fastify'
/** The Cache-Control of a hashed name: its bytes never change, so any cache may keep it for a year. */
export const IMMUTABLE = 'public, max-age=31536000, immutable'

/** The suffix of a precompressed sibling (`app.css.br`); the group is its file extension. */
export const COMPRESSED_VARIANT = /\.(br|gz)$/

/** How many files are read, copied, compressed or uploaded at once: bounded, so 10 000 files never exhaust fds. */
export const FILES_AT_ONCE = 16

// hidden from @fastify/swagger's document (its `hide`, which it adds to FastifySchema), as @fastify/static
// hides its own routes (its schemaHide)
export const HIDDEN = { hide: true } as FastifySchema
