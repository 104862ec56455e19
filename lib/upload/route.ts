import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import { FST_MEDIA_INVALID_OPTION, FST_MEDIA_NOT_MULTIPART, FST_MEDIA_UPLOAD_TIMEOUT } from '../errors.js'
import { isRefusal, refusal } from '../refusal.js'
import { isModel, type Model } from '../fields/model.js'
import type { MediaLimits } from '../options.js'
import { toMediaError } from './map-error.js'
import { uploadSchemas } from './openapi.js'
import { emptyUploads, parseUpload, type UploadedElsewhere, type UploadsRecord } from './parse-request.js'
import { publishStored } from '../events.js'
import { markKept } from '../fields/field-file.js'
import { queueLater } from '../image/later.js'
import { refusalErrorHandler, reportRefusal } from './refusal-reply.js'
import { drainRest } from './drain.js'
import type { PendingNames } from './pending.js'
import { bindFiles, UploadTransaction } from './transaction.js'

export const kTransaction = Symbol('fastify-media.transaction')
export const kUploads = Symbol('fastify-media.uploads')

interface UploadRequest extends FastifyRequest {
  [kTransaction]?: UploadTransaction
  [kUploads]?: unknown
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH'])

type Hook = (...args: any[]) => unknown
function addHook (routeOptions: RouteOptions, name: 'preParsing' | 'preValidation' | 'onSend', hook: Hook, first = false): void {
  const existing = routeOptions[name] as Hook | Hook[] | undefined
  const list = existing === undefined ? [] : Array.isArray(existing) ? [...existing] : [existing]
  if (first) list.unshift(hook)
  else list.push(hook)
  ;(routeOptions as unknown as Record<string, Hook[]>)[name] = list
}

/**
 * The `onRoute` hook that turns a route with `upload: Model` into an upload route. `documented` collects, for
 * each upload route, the step that puts its documented schema in place (run by the plugin's `onReady` hook).
 */
export function uploadRoutes (limits: MediaLimits, pending: PendingNames, documented: Array<() => void>, elsewhere: UploadedElsewhere) {
  return function onRoute (this: FastifyInstance, routeOptions: RouteOptions & { upload?: unknown }): void {
    const model = routeOptions.upload
    if (model === undefined) return
    const route = `${String(routeOptions.method)} ${routeOptions.url}`
    if (!isModel(model)) throw new FST_MEDIA_INVALID_OPTION(`${route} upload`, 'must be a model made by app.media.model()')
    const methods = [routeOptions.method].flat()
    if (!methods.every((method) => BODY_METHODS.has(method))) {
      throw new FST_MEDIA_INVALID_OPTION(`${route} upload`, 'upload routes must be POST, PUT or PATCH')
    }
    const modelName = (model as Model).name
    // a route's own errorHandler sees refusals as they are; without one, the default reply gets their details
    routeOptions.errorHandler ??= refusalErrorHandler(this)

    // Fastify takes the route's schema for validation once the onRoute hooks have run; @fastify/swagger
    // reads routeOptions.schema when app.swagger() runs, after ready. So validation gets the body without
    // the file fields now, and the documented schema replaces it on ready.
    // (on ready, too, every resumable endpoint is mounted: the document says which fields take their URLs)
    const declared = routeOptions.schema
    routeOptions.schema = uploadSchemas(declared, model).validation
    documented.push(() => { routeOptions.schema = uploadSchemas(declared, model, (field) => elsewhere.resumable.endpointOf(field)?.path).documentation })

    addHook(routeOptions, 'preParsing', async function (request: UploadRequest, reply: FastifyReply, payload: unknown) {
      const tx = new UploadTransaction(pending)
      request[kTransaction] = tx
      request[kUploads] = emptyUploads(model as Model)
      // A client gone mid-upload: roll back now. Gone while the handler runs: onSend still runs when the
      // handler ends and decides, so a handler that saved a record keeps its files. A hijacked reply
      // never passes onSend: roll back, as the contract says.
      reply.raw.once('close', () => {
        if (tx.parsing || reply.sent) return tx.rollback()
      })
      if (!/^multipart\/form-data\s*(;|$)/i.test(request.headers['content-type'] ?? '')) {
        const err = refusal(new FST_MEDIA_NOT_MULTIPART(route), { field: null })
        reportRefusal(err, modelName, request)
        throw err
      }
      return payload
    }, true)

    addHook(routeOptions, 'preValidation', async function (request: UploadRequest, reply: FastifyReply) {
      const tx = request[kTransaction]!
      if (request.body !== undefined) {
        // e.g. @fastify/multipart with attachFieldsToBody: its own hook read the files into memory first
        throw new FST_MEDIA_INVALID_OPTION(route, 'another plugin consumed the multipart body before fastify-media (attachFieldsToBody?)')
      }
      // no prototype: field names such as __proto__ cannot reach Object.prototype
      const body = Object.create(null)
      // set before parsing: an error handler sees the text parts read so far (not validated) to refill a form
      request.body = body
      // A client that sends one byte a second must not hold a connection, a temp file and a handler for ever
      const deadline = new AbortController()
      const deadlineAt = Date.now() + limits.uploadTimeout
      const timer = limits.uploadTimeout > 0
        ? setTimeout(() => deadline.abort(refusal(new FST_MEDIA_UPLOAD_TIMEOUT('request', limits.uploadTimeout), {
          field: null, limit: limits.uploadTimeout, option: 'limits.uploadTimeout'
        })), limits.uploadTimeout)
        : undefined
      try {
        request[kUploads] = await parseUpload(request, model as Model, limits, tx, body, deadline.signal, elsewhere)
        bindFiles(Object.values(request[kUploads] as UploadsRecord).flat(), tx)
        tx.parsed()
      } catch (err) {
        // the rest of the body is still on the socket: read it, or the client may never see the reply
        drainRest(request, reply, limits.uploadTimeout > 0 ? deadlineAt - Date.now() : undefined)
        if (deadline.signal.aborted) tx.givenUp()
        await tx.rollback()
        const failure = toMediaError(err)
        if (isRefusal(failure)) reportRefusal(failure, modelName, request)
        throw failure
      } finally {
        clearTimeout(timer)
      }
    }, true)

    // Runs before the client hears anything: a failed request's files are gone by then, a successful one's
    // published (a staged file is copied to its name now; a failed copy throws, and the reply is a 500).
    addHook(routeOptions, 'onSend', async function (request: UploadRequest, reply: FastifyReply, payload: unknown) {
      const tx = request[kTransaction]
      if (reply.statusCode >= 400) await tx?.rollback()
      else if (await tx?.commit() === true) {
        const uploads = request[kUploads] as UploadsRecord
        markKept(Object.values(uploads).flat())
        queueLater(Object.values(uploads).flat())
        publishStored(model as Model, uploads, request)
      }
      return payload
    })
  }
}
