import type { FastifyInstance } from 'fastify'

/**
 * For an instance holding @fastify/static routes. Their route-level error handler calls the instance's
 * handler itself, and that handler's `reply.send(err)` then reaches the same handler again through Fastify's
 * chain: Fastify's default handler logged every error (a bad signature, a 416) twice. Passing errors on
 * from this instance makes the first of those two calls a no-op, so the app's own handler (or Fastify's)
 * runs, and logs, once.
 */
export function passErrorsOnce (instance: FastifyInstance): void {
  instance.setErrorHandler((error, request, reply) => {
    reply.send(error)
  })
}
