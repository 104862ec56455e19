import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { FST_MEDIA_BAD_SIGNATURE } from '../errors.js'
import type { VariantMaker } from '../image/on-demand.js'
import type { Storage } from '../storage/storage.js'
import { normalizeStorageName } from '../storage/valid-name.js'
import { checkSignature, type Verify } from './signed.js'

type MediaRequest = FastifyRequest<{ Params: { '*': string } }>

export interface VariantHookOptions {
  maker: VariantMaker
  storage: Storage
  verify: Verify | undefined
  isPending: (name: string) => boolean
}

/** Names whose file may be a later variant: `<original>@<key>.<ext>`. */
const originalOf = (name: string): string | undefined => {
  const at = name.lastIndexOf('@')
  return at > 0 ? name.slice(0, at) : undefined
}

/**
 * Before a storage's media route serves a name, a declared later variant that is missing is made (see
 * VariantMaker). The signature comes first, as on the route itself: a bad one is 403 before anything is
 * looked at. A variant of an original whose request has not committed is not made.
 */
export function makeMissingVariant ({ maker, storage, verify, isPending }: VariantHookOptions) {
  return async function onRequest (request: MediaRequest, reply: FastifyReply): Promise<void> {
    const name = normalizeStorageName(request.params['*'])
    const original = name === undefined ? undefined : originalOf(name)
    if (name === undefined || original === undefined || !maker.makesIn(storage)) return
    if (verify !== undefined) checkSignature(verify, request)
    if (isPending(name) || isPending(original)) return
    await ensure(maker, storage, name, reply)
  }
}

async function ensure (maker: VariantMaker, storage: Storage, name: string, reply: FastifyReply): Promise<boolean> {
  try {
    return await maker.ensure(storage, name)
  } catch (err) {
    const retryAfter = (err as { retryAfter?: number }).retryAfter
    if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter))
    throw err
  }
}

export interface RedirectOptions {
  url: string
  maker: VariantMaker
  /** The storages that serve their own URLs, by name. */
  storages: ReadonlyMap<string, Storage>
  /** For a private storage: true when the query signs this storage's file. */
  verify: (storageName: string, name: string, query: Record<string, unknown>) => boolean
  isPending: (storage: Storage, name: string) => boolean
}

/**
 * `<url><storage>/<name>` for the later variants of storages that serve their own URLs (a bucket): makes a
 * missing variant once, then redirects (302) to the storage's URL of it, a fresh presigned one for a private
 * storage. Anything that is not a declared variant of such a storage is 404.
 */
export async function variantRedirects (app: FastifyInstance, { url, maker, storages, verify, isPending }: RedirectOptions): Promise<void> {
  await app.register(async function variants (child) {
    child.route({
      method: ['GET', 'HEAD'],
      url: `${url}*`,
      handler: async (request: MediaRequest, reply: FastifyReply) => {
        const path = request.params['*']
        const slash = path.indexOf('/')
        const storageName = path.slice(0, slash)
        const storage = slash > 0 ? storages.get(storageName) : undefined
        const name = storage === undefined ? undefined : normalizeStorageName(path.slice(slash + 1))
        const original = name === undefined ? undefined : originalOf(name)
        if (storage === undefined || name === undefined || original === undefined) return reply.callNotFound()
        if (!storage.public && !verify(storageName, name, request.query as Record<string, unknown>)) throw new FST_MEDIA_BAD_SIGNATURE(name)
        if (isPending(storage, original)) return reply.callNotFound()
        // not a declared variant, or no original: nothing to redirect to
        if (!await ensure(maker, storage, name, reply)) return reply.callNotFound()
        return reply.header('cache-control', 'private, no-store').redirect(await storage.url(name), 302)
      }
    })
  })
}
