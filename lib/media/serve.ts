import fastifyStatic from '@fastify/static'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { isInlineType, typeForName } from '../mime.js'

/**
 * Serves a public storage on disk. Uploaded bytes are hostile by assumption: the type comes from the stored
 * extension (never sniffed by the browser), scripts are sandboxed away, and anything that is not a raster
 * image, audio, video, PDF or plain text downloads instead of rendering.
 */
export async function serveMedia (app: FastifyInstance, root: string, prefix: string): Promise<void> {
  // an encapsulated child, so this instance's decorators and routes cannot clash with the user's own
  await app.register(async function media (child) {
    await child.register(fastifyStatic, {
      root,
      prefix,
      decorateReply: false,
      index: false,
      list: false,
      dotfiles: 'ignore',
      // send's Cache-Control would overwrite ours: decided per file in setHeaders
      cacheControl: false,
      setHeaders (reply: FastifyReply, path: string) {
        const type = typeForName(path)
        reply.header('content-type', type)
        reply.header('x-content-type-options', 'nosniff')
        reply.header('content-security-policy', "default-src 'none'; sandbox")
        reply.header('cross-origin-resource-policy', 'same-site')
        // names are never reused, so a URL's bytes never change; an hour bounds how long a deleted file lingers
        reply.header('cache-control', 'public, max-age=3600')
        if (!isInlineType(type)) reply.header('content-disposition', 'attachment')
      }
    })
  })
}
