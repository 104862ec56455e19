import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { FST_MEDIA_METHOD_NOT_ALLOWED } from '../errors.js'
import { HIDDEN } from './constants.js'

const OTHER_METHODS = ['POST', 'PUT', 'DELETE', 'PATCH']

async function refuse (request: FastifyRequest<{ Params: { '*': string } }>, reply: FastifyReply): Promise<never> {
  reply.header('allow', 'GET, HEAD')
  throw new FST_MEDIA_METHOD_NOT_ALLOWED(request.params['*'], request.method)
}

/**
 * Static files are read-only: another method on a path under `url` is 405 with `Allow`, refused in
 * onRequest, before its body is parsed (a body Fastify cannot parse is still a 405, not a 415).
 */
export function refuseOtherMethods (instance: FastifyInstance, url: string): void {
  // the handler is never reached: onRequest refuses first
  instance.route({ method: OTHER_METHODS, url: `${url}*`, schema: HIDDEN, onRequest: refuse, handler: refuse })
}
