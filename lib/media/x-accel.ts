import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { mediaHeaders } from './headers.js'
import { servedName } from './served-name.js'
import { checkSignature, type Verify } from './signed.js'

/** The internal nginx location a storage's files are sent from (never reachable from outside: `internal`). */
export const xAccelPrefix = (storageName: string): string => `/_fastify-media/${encodeURIComponent(storageName)}/`

export interface XAccelOptions {
  prefix: string
  storageName: string
  /** For private storages: true when the request carries a valid signature for this file name. */
  verify?: Verify
  /** True for a file whose request has not succeeded yet: it is not served. */
  isPending: (name: string) => boolean
}

type MediaRequest = FastifyRequest<{ Params: { '*': string } }>

/**
 * A storage served by nginx behind the app: the route decides (signature, a file not committed yet, dot
 * paths), then answers with `X-Accel-Redirect` and no body; nginx sends the file from its internal location,
 * with Range, validators and sendfile. Content-Type, Content-Disposition and Cache-Control are the route's
 * (nginx keeps them); the other safe headers come from the generated location as well.
 */
export async function serveXAccel (app: FastifyInstance, { prefix, storageName, verify, isPending }: XAccelOptions): Promise<void> {
  const internal = xAccelPrefix(storageName)
  await app.register(async function media (child) {
    if (verify !== undefined) child.addHook('onRequest', async (request: MediaRequest) => checkSignature(verify, request))
    child.route({
      method: ['GET', 'HEAD'],
      url: `${prefix}*`,
      handler: async (request: MediaRequest, reply: FastifyReply) => {
        const name = servedName(request.params['*'], isPending)
        if (name === undefined) return reply.callNotFound()
        return reply
          .headers(mediaHeaders(name, { signed: verify !== undefined }))
          .header('x-accel-redirect', internal + name.split('/').map(encodeURIComponent).join('/'))
          .send()
      }
    })
  })
}
