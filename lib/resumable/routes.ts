import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { finished, PassThrough, Readable } from 'node:stream'
import type { DataStore, Locker } from '@tus/utils'
import { FST_MEDIA_INVALID_OPTION } from '../errors.js'
import { isRefusal, type Refusal } from '../refusal.js'
import { Disk } from '../storage/disk.js'
import { HIDDEN } from '../static/constants.js'
import { detailsOf, reportRefusal } from '../upload/refusal-reply.js'
import { STATUS_CODES } from 'node:http'
import { ResumableEndpoint, UPLOAD_ID } from './endpoint.js'
import { loadTus } from './load-tus.js'
import { parseResumable, type ResumableOptions } from './options.js'
import type { ResumableUploads } from './resumable-uploads.js'

/**
 * The request's body for tus, ended (not failed) where a client that goes away stopped sending: what came is
 * the upload's, the client resumes after it. A failed body would fail the store's write while @tus/s3-store
 * still sends parts, and a resumed PATCH would race them (@tus/server's own Node entry point ends it so too).
 */
function bodyOf (request: FastifyRequest): ReadableStream {
  const body = new PassThrough()
  request.raw.pipe(body)
  finished(request.raw, (err) => { if (err !== undefined && err !== null) body.end() })
  return Readable.toWeb(body) as ReadableStream
}

/** tus 1.0 and its extensions (GET answers 404: uploads are read through the storage once committed). */
const TUS_METHODS = ['POST', 'HEAD', 'PATCH', 'DELETE', 'OPTIONS', 'GET']

/** What tus sends with a body (PATCH, and POST with creation-with-upload): streamed to the store, never parsed. */
const TUS_BODY = 'application/offset+octet-stream'

/**
 * `app.media.resumable(prefix, { fields })`: a plugin mounting a tus 1.0 endpoint (@tus/server: core,
 * creation, creation-with-upload, creation-defer-length, termination, expiration) at `prefix` in the scope
 * it is registered in, so that scope's hooks (authentication) apply to every request of the protocol.
 */
export function resumableEndpoint (uploads: ResumableUploads, prefix: string, options: ResumableOptions): FastifyPluginAsync {
  const rules = parseResumable(prefix, options)
  const storage = [...rules.fields.values()][0]!.storage
  if (!(storage instanceof Disk) || storage.driver.resumable === undefined) {
    throw new FST_MEDIA_INVALID_OPTION('resumable.fields', `storage "${[...rules.fields.values()][0]!.options.storage}" cannot keep resumable uploads (FileSystemStorage and S3Storage can)`)
  }
  const resumable = storage.driver.resumable.bind(storage.driver)
  uploads.claim(rules.fields)

  return async function fastifyMediaResumable (app: FastifyInstance) {
    const path = `${app.prefix}${prefix}`.replace(/\/$/, '')
    const endpoint = new ResumableEndpoint(rules, path, storage, await resumable({ expiresIn: rules.expiresIn * 1000 }))
    const { Server } = await loadTus('@tus/server')
    // the refusals of this process's requests, for the reply (tus itself sends text)
    const refusals = new WeakMap<Request, Refusal>()
    const tus = new Server({
      path,
      datastore: endpoint.backing.datastore as DataStore,
      locker: rules.locker as Locker | undefined,
      namingFunction: () => endpoint.newId(),
      generateUrl: (_req, { proto, host, path, id }) => `${proto}://${host}${path}/${endpoint.urlId(id)}`,
      // anything but an id we made is not an upload here
      getFileIdFromRequest: (_req, last) => last !== undefined && UPLOAD_ID.test(last) ? endpoint.backing.storeId(last) : undefined,
      maxSize: async (_req, storeId) => await endpoint.maxSize(storeId),
      onUploadCreate: async (_req, upload) => ({ metadata: endpoint.created(upload) }),
      onResponseError: async (req, err) => {
        const id = /\/([0-9a-f]{32})$/.exec(new URL(req.url).pathname)?.[1]
        const refused = isRefusal(err)
          ? err
          : (err as { status_code?: number }).status_code === 413 && id !== undefined ? await endpoint.tooLarge(endpoint.backing.storeId(id)) : undefined
        if (refused === undefined) return undefined
        // a refused upload is gone at once: nothing of it waits for the expiry
        if (id !== undefined) await endpoint.remove(id)
        refusals.set(req as unknown as Request, refused)
        return { status_code: refused.statusCode, body: JSON.stringify({ statusCode: refused.statusCode, code: refused.code, error: STATUS_CODES[refused.statusCode], message: refused.message, ...detailsOf(refused) }) }
      }
    })

    app.addContentTypeParser(TUS_BODY, (_request, _payload, done) => { done(null) })
    const handle = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      const headers = new Headers()
      for (const [name, value] of Object.entries(request.headers)) if (value !== undefined) headers.set(name, String(value))
      const withBody = request.method === 'PATCH' || request.method === 'POST'
      const webRequest = new Request(`${request.protocol}://${request.host}${request.raw.url!}`, {
        method: request.method,
        headers,
        body: withBody ? bodyOf(request) : undefined,
        duplex: 'half'
      } as RequestInit)
      const response = await tus.handleWeb(webRequest)
      const refused = refusals.get(webRequest)
      reply.code(response.status)
      for (const [name, value] of response.headers) reply.header(name, value)
      if (refused !== undefined) {
        // a field the endpoint does not take has no model to name
        reportRefusal(refused, [...rules.fields.values()].find((field) => field.name === refused.field)?.model ?? '', request)
        reply.header('content-type', 'application/json; charset=utf-8')
      }
      return await reply.send(await response.text())
    }
    // the protocol's methods only, hidden from @fastify/swagger's document: tus is no JSON API to describe
    // (the upload route's document says which fields take an upload's URL)
    const route = { method: TUS_METHODS, schema: HIDDEN, handler: handle }
    app.route({ ...route, url: prefix })
    app.route({ ...route, url: `${prefix.replace(/\/$/, '')}/:id` })

    if (rules.expireEvery > 0) {
      const timer = setInterval(() => { endpoint.expire().catch((err: unknown) => app.log.error({ err }, 'fastify-media: expiring resumable uploads failed')) }, rules.expireEvery * 1000)
      timer.unref()
      app.addHook('onClose', async () => { clearInterval(timer) })
    }
    uploads.mount(endpoint)
  }
}
