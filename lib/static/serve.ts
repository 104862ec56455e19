import fastifyStatic from '@fastify/static'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { relative } from 'node:path'
import type { StaticFinders } from './finders.js'
import type { MemoryFiles } from './memory-files.js'
import { COMPRESSED_VARIANT, HIDDEN, IMMUTABLE } from './constants.js'
import { passErrorsOnce } from '../media/pass-errors.js'
import { cutSuffixRange, holdSuffixRange } from '../media/suffix-range.js'
import { answerFromMemory } from './serve-memory.js'
import { refuseOtherMethods } from './methods.js'

type WildcardRequest = FastifyRequest<{ Params: { '*': string } }>

const SHORT = 'public, max-age=60'

/** `Access-Control-Allow-Origin` for static files (fonts from a CDN domain need it), or false for none. */
export type StaticCors = string | false

/**
 * Development: every request asks the finders, so files added after start are served, and nothing is
 * cached without revalidation. One route under `url` in an encapsulated child (NOTES: a second
 * @fastify/static instance per dir would outrank the others and could not give each dir its prefix).
 */
export async function serveDevelopment (app: FastifyInstance, { url, finders, baseDir, cors }: { url: string, finders: StaticFinders, baseDir: string, cors: StaticCors }): Promise<void> {
  await app.register(async function staticDevelopment (child) {
    await child.register(fastifyStatic, { root: baseDir, serve: false, cacheControl: false, dotfiles: 'ignore', index: false })
    child.addHook('onSend', cutSuffixRange)
    child.get(`${url}*`, { schema: HIDDEN }, async (request: WildcardRequest, reply: FastifyReply) => {
      const found = await finders.find(request.params['*'])
      if (found === undefined) return reply.callNotFound()
      reply.header('cache-control', 'no-cache')
      if (cors !== false) reply.header('access-control-allow-origin', cors)
      holdSuffixRange(request)
      return reply.sendFile(relative(found.from.dir, found.source), found.from.dir)
    })
    refuseOtherMethods(child, url)
  })
}

/**
 * Production: `static.root` only. Hashed names held in memory (see memory-files.ts) are answered from
 * there; everything else goes through @fastify/static. Names from the manifest are immutable forever;
 * other files get a short max-age. `.br`/`.gz` siblings are chosen by Accept-Encoding (with `Vary`). A path
 * the finders would ignore (dotfiles, `*~`, CVS) is refused before any lookup, so none of its siblings is
 * reachable either.
 */
export async function serveProduction (app: FastifyInstance, { url, root, finders, isHashed, memory, cors }: { url: string, root: string, finders: StaticFinders, isHashed: (path: string) => boolean, memory: MemoryFiles, cors: StaticCors }): Promise<void> {
  await app.register(async function staticProduction (child) {
    passErrorsOnce(child)
    // a callback hook, not an async one: this runs on every static request, and a file held in memory
    // is answered here, before any disk work
    child.addHook('onRequest', (request: WildcardRequest, reply: FastifyReply, done: () => void) => {
      // other methods go on to their 405
      if (request.method !== 'GET' && request.method !== 'HEAD') return done()
      const path = request.params['*']
      const file = memory.get(path)
      if (file !== undefined) {
        if (cors !== false) reply.header('access-control-allow-origin', cors)
        if (answerFromMemory(request, reply, file)) return
      }
      // a directory is not found (send would say 403), as in development; an ignored name is refused
      // under its own name and under its compressed siblings' names alike
      if (path === '' || path.endsWith('/') || finders.ignored(path) || finders.ignored(path.replace(COMPRESSED_VARIANT, ''))) {
        reply.callNotFound()
        return
      }
      holdSuffixRange(request)
      done()
    })
    child.addHook('onSend', cutSuffixRange)
    refuseOtherMethods(child, url)
    await child.register(fastifyStatic, {
      root,
      prefix: url,
      decorateReply: false,
      index: false,
      list: false,
      dotfiles: 'ignore',
      preCompressed: true,
      // send's own Cache-Control would overwrite ours, which depends on the file
      cacheControl: false,
      setHeaders (reply: FastifyReply, path: string) {
        const served = relative(root, path).split('\\').join('/').replace(COMPRESSED_VARIANT, '')
        reply.header('cache-control', isHashed(served) ? IMMUTABLE : SHORT)
        if (cors !== false) reply.header('access-control-allow-origin', cors)
      }
    })
  })
}
