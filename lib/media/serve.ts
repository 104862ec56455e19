import fastifyStatic from '@fastify/static'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { realpath } from 'node:fs/promises'
import { join, sep } from 'node:path'
import { normalizeStorageName } from '../storage/valid-name.js'
import { mediaHeaders } from './headers.js'
import { passErrorsOnce } from './pass-errors.js'
import { checkSignature, type Verify } from './signed.js'
import { cutSuffixRange, holdSuffixRange } from './suffix-range.js'

export interface ServeOptions {
  root: string
  prefix: string
  /** For private storages: true when the request carries a valid signature for this file name. */
  verify?: Verify
  /** True for a file whose request has not succeeded yet: it is not served. */
  isPending: (name: string) => boolean
}

/**
 * Serves a storage on disk through @fastify/static, with the headers of `mediaHeaders` (uploaded bytes are
 * hostile by assumption).
 */
export async function serveMedia (app: FastifyInstance, { root, prefix, verify, isPending }: ServeOptions): Promise<void> {
  // an encapsulated child, so this instance's decorators and routes cannot clash with the user's own
  // resolved once a file under it has resolved (so the root exists), not again on every request
  let resolvedRoot: string | undefined
  const realRoot = async (): Promise<string> => (resolvedRoot ??= await realpath(root))
  await app.register(async function media (child) {
    passErrorsOnce(child)
    child.addHook('onRequest', async (request: FastifyRequest<{ Params: { '*': string } }>, reply: FastifyReply) => {
      if (verify !== undefined) checkSignature(verify, request)
      const name = normalizeStorageName(request.params['*']) ?? ''
      if (isPending(name)) return reply.callNotFound()
      if (name !== '' && !await resolvesInside(root, realRoot, name)) return reply.callNotFound()
      holdSuffixRange(request)
    })
    child.addHook('onSend', cutSuffixRange)
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
        reply.headers(mediaHeaders(path, { signed: verify !== undefined }))
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
