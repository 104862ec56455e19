import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { STATUS_CODES } from 'node:http'
import { isRefusal, type Refusal, type RefusalDetails } from '../refusal.js'
import { refusedChannel, type RefusedMessage } from '../events.js'

const DETAILS = ['field', 'limit', 'option', 'detected', 'accepted', 'bytes'] as const

/** The details a refusal has, in a fixed order, without the absent ones. */
export function detailsOf (err: Refusal): RefusalDetails {
  const details: Record<string, unknown> = {}
  for (const key of DETAILS) if (err[key] !== undefined) details[key] = err[key]
  return details as unknown as RefusalDetails
}

/**
 * Tells of a refusal once: one `info` line on the request's logger (its details, never file contents)
 * and a message on `fastify-media:refused`. `request` is undefined for `field.save()`.
 */
export function reportRefusal (err: Refusal, model: string, request: FastifyRequest | undefined): void {
  const details = detailsOf(err)
  request?.log.info({ code: err.code, model, ...details }, `upload refused: ${err.message}`)
  if (refusedChannel.hasSubscribers) {
    const message: RefusedMessage = { code: err.code, statusCode: err.statusCode, message: err.message, model, ...details, request }
    refusedChannel.publish(message)
  }
}

// Fastify's own handler, which every instance without setErrorHandler() falls back to
const isFastifyDefault = (handler: unknown): boolean => (handler as { name?: unknown })?.name === 'defaultErrorHandler'

/**
 * The error handler an upload route gets when it declares none. Fastify's default handler serialises only
 * statusCode, code, error and message, and logs a generic line: for a refusal headed there, this one
 * answers as it would, with the refusal's details added, and without that line (reportRefusal wrote the
 * refusal's). Any other error, and every error when the app set its own handler, goes on to that handler.
 */
export function refusalErrorHandler (instance: FastifyInstance) {
  return function uploadErrorHandler (error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
    if (!isRefusal(error) || !isFastifyDefault(instance.errorHandler)) {
      reply.send(error)
      return
    }
    const statusCode = error.statusCode
    reply.code(statusCode).send({ statusCode, code: error.code, error: STATUS_CODES[statusCode], message: error.message, ...detailsOf(error) })
  }
}
