import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import { FST_MEDIA_INVALID_OPTION } from '../errors.js'
import type { BoundField } from '../fields/model.js'
import type { UploadedPart } from '../storage/driver.js'
import { refusalErrorHandler } from '../upload/refusal-reply.js'
import type { DirectUploads, PresignRequest } from './direct-uploads.js'

export interface DirectRoutesOptions {
  /** The fields these routes presign for (each declared with `direct`); the body names one as `model.field`. */
  fields: readonly BoundField[]
}

const token = { type: 'string', minLength: 1, maxLength: 2048 } as const
const tokenBody = { type: 'object', required: ['token'], additionalProperties: false, properties: { token } } as const

/**
 * The JSON routes a browser calls around a direct upload (what @uppy/aws-s3's function options call):
 * presign, and for a multipart upload sign a part, list, complete and abort. A plugin, registered with the
 * app's own `register`: the hooks of the scope it is registered in (authentication) apply to every route.
 */
export function directRoutes (direct: DirectUploads): FastifyPluginAsync<DirectRoutesOptions> {
  return async function fastifyMediaDirectRoutes (app: FastifyInstance, { fields }: DirectRoutesOptions) {
    if (!Array.isArray(fields) || fields.length === 0) throw new FST_MEDIA_INVALID_OPTION('directRoutes.fields', 'needs at least one field declared with direct: true')
    const byName = new Map<string, BoundField>()
    for (const field of fields) {
      if (field?.options?.direct === undefined) throw new FST_MEDIA_INVALID_OPTION('directRoutes.fields', `${String(field?.model)}.${String(field?.name)} is not declared with direct: true`)
      byName.set(`${field.model}.${field.name}`, field)
    }
    // a route's own handler, as upload routes get: the scope's handler (the app's, or Fastify's) stays in charge
    const errorHandler = refusalErrorHandler(app)

    app.post<{ Body: PresignRequest & { field: string } }>('/presign', {
      errorHandler,
      schema: {
        body: {
          type: 'object',
          required: ['field', 'filename', 'size'],
          additionalProperties: false,
          properties: {
            field: { type: 'string', enum: [...byName.keys()] },
            filename: { type: 'string', minLength: 1, maxLength: 1024 },
            size: { type: 'integer', minimum: 0 },
            contentType: { type: 'string', maxLength: 255 }
          }
        }
      }
    }, async (request) => {
      const { field, ...file } = request.body
      return await direct.presign(byName.get(field)!, file)
    })

    app.post<{ Body: { token: string, partNumber: number } }>('/parts', {
      errorHandler,
      schema: { body: { type: 'object', required: ['token', 'partNumber'], additionalProperties: false, properties: { token, partNumber: { type: 'integer', minimum: 1, maximum: 10_000 } } } }
    }, async (request) => await direct.signPart(request.body.token, request.body.partNumber))

    app.post<{ Body: { token: string } }>('/parts/list', { errorHandler, schema: { body: tokenBody } }, async (request) => await direct.listParts(request.body.token))

    const parts = {
      type: 'array',
      minItems: 1,
      maxItems: 10_000,
      items: { type: 'object', required: ['PartNumber', 'ETag'], properties: { PartNumber: { type: 'integer', minimum: 1, maximum: 10_000 }, ETag: { type: 'string', minLength: 1, maxLength: 256 } } }
    } as const
    app.post<{ Body: { token: string, parts: UploadedPart[] } }>('/complete', {
      errorHandler,
      schema: { body: { type: 'object', required: ['token', 'parts'], additionalProperties: false, properties: { token, parts } } }
    }, async (request) => {
      await direct.completeMultipart(request.body.token, request.body.parts)
      return {}
    })

    app.post<{ Body: { token: string } }>('/abort', { errorHandler, schema: { body: tokenBody } }, async (request, reply) => {
      await direct.abortMultipart(request.body.token)
      return await reply.code(204).send()
    })
  }
}
