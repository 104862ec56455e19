import fastifyStatic from '@fastify/static'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { realpath } from 'node:fs/promises'
import { join, sep } from 'node:path'
import { FST_MEDIA_BAD_SIGNATURE } from '../errors.js'
import { isInlineType, typeForName } from '../mime.js'
import { normalizeStorageName } from '../storage/valid-name.js'

export interface ServeOptions {
  root: string
  prefix: string
  /** For private storages: true when the request carries a valid signature for this file name. */
  verify?: (name: string, query: Record<string, unknown>) => boolean
  /** True for a file whose request has not succeeded yet: it is not served. */
  isPending: (name: string) => boolean
}

/**
 * Serves a storage on disk. Uploaded bytes are hostile by assumption: the type comes from the stored
 * extension (never sniffed by the browser), scripts are sandboxed away, and anything that is not a raster
 * image, audio, video, PDF or plain text downloads instead of rendering.
 */
export async function serveMedia (app: FastifyInstance, { root, prefix, verify, isPending }: ServeOptions): Promise<void> {
  // an encapsulated child, so this instance's decorators and routes cannot clash with the user's own
  // resolved once a file under it has resolved (so the root exists), not again on every request
  let resolvedRoot: string | undefined
  const realRoot = async (): Promise<string> => (resolvedRoot ??= await realpath(root))
  await app.register(async function media (child) {
    child.addHook('onRequest', async (request: FastifyRequest<{ Params: { '*': string } }>, reply: FastifyReply) => {
      const name = normalizeStorageName(request.params['*']) ?? ''
      // before the file is looked up: a missing file and a bad signature must be indistinguishable
      if (verify !== undefined && !verify(name, request.query as Record<string, unknown>)) throw new FST_MEDIA_BAD_SIGNATURE(name || 'url')
      if (isPending(name)) return reply.callNotFound()
      if (name !== '' && !await resolvesInside(root, realRoot, name)) return reply.callNotFound()
    })
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
        // text was checked to be UTF-8 at upload
        reply.header('content-type', type.startsWith('text/') ? `${type}; charset=utf-8` : type)
        reply.header('x-content-type-options', 'nosniff')
        reply.header('content-security-policy', "default-src 'none'; sandbox")
        reply.header('cross-origin-resource-policy', 'same-site')
        // names are never reused, so a URL's bytes never change; an hour bounds how long a deleted file
        // lingers in caches. A signed URL is one person's: never in a shared cache.
        reply.header('cache-control', verify === undefined ? 'public, max-age=3600' : 'private, no-store')
        if (!isInlineType(type)) reply.header('content-disposition', 'attachment')
      }
    })
  })
}

/**
 * @fastify/send follows symlinks: one planted under the root (by a tool, an unpacked archive) must not serve
 * what lies outside it. A name that does not resolve is left to send, which answers 404.
 */
async function resolvesInside (root: string, realRoot: () => Promise<string>, name: string): Promise<boolean> {
  const real = await realpath(join(root, name)).catch(() => undefined)
  if (real === undefined) return true
  return real.startsWith(await realRoot() + sep)
}
