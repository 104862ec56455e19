import type { FastifySchema } from 'fastify'
import { formatBytes } from '../bytes.js'
import { acceptedTypes } from './sniff.js'
import type { ResolvedField } from '../fields/field.js'
import type { BoundField, Model } from '../fields/model.js'

type JsonObject = Record<string, unknown>

/** What an upload route validates, and what it documents (for @fastify/swagger and any other reader). */
export interface UploadSchemas {
  /** `schema.body` without the model's file fields: they never reach `req.body`. */
  validation: FastifySchema | undefined
  /** `schema.body` with the file fields merged in, and `consumes: ['multipart/form-data']`. */
  documentation: FastifySchema
}

/**
 * A copy that keeps what a schema library hangs on its objects (TypeBox's non-enumerable `~kind`, symbols),
 * with every property writable, so a frozen schema can be copied and changed. The original is never touched.
 */
function copyWith<T extends object> (source: T, changes: JsonObject): T {
  const descriptors = Object.getOwnPropertyDescriptors(source)
  for (const descriptor of Object.values(descriptors)) {
    descriptor.configurable = true
    if (descriptor.writable === false) descriptor.writable = true
  }
  const copy = Object.create(Object.getPrototypeOf(source), descriptors) as JsonObject
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete copy[key]
    else Object.defineProperty(copy, key, { value, writable: true, enumerable: true, configurable: true })
  }
  return copy as T
}

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * A body we can merge into: an object schema with plain `properties`. A `$ref`, a per-content-type `content`
 * map, `allOf` and the like, or another library's schema object, are left as the user wrote them.
 */
const mergeable = (body: unknown): body is JsonObject =>
  isObject(body) && !('content' in body) && !('$ref' in body) && (body.type === 'object' || isObject(body.properties))

function sizes ({ minSize, maxSize }: ResolvedField): string {
  const max = maxSize === Infinity ? undefined : formatBytes(maxSize)
  if (minSize === 0) return max === undefined ? 'No size limit' : `Up to ${max}`
  return max === undefined ? `At least ${formatBytes(minSize)}` : `From ${formatBytes(minSize)} up to ${max}`
}

/**
 * A file field as OpenAPI sees a form part: a binary string, or an array of them for `multiple`.
 * `contentEncoding: 'binary'` is what @fastify/swagger turns into `type: file` in Swagger 2 (and drops in
 * OpenAPI 3, where `format: binary` says it).
 */
function fileProperty (field: BoundField, resumableAt: ResumableAt): JsonObject {
  // the list a refusal names in `accepted` (sniff.ts), so the document and the errors agree
  const accepted = acceptedTypes(field.options)?.join(', ') ?? 'any type recognised from its bytes'
  const direct = field.options.direct === undefined ? '' : ' Or, uploaded straight to storage, the `token` that app.media.presign() gave for it.'
  const endpoint = resumableAt(field)
  const resumable = endpoint === undefined ? '' : ` Or the URL of a finished resumable upload (tus, created at ${endpoint}).`
  const description = `${sizes(field.options)}. Accepted types: ${accepted}.${direct}${resumable}`
  if (!field.multiple) return { type: 'string', format: 'binary', contentEncoding: 'binary', description }
  const { maxCount } = field.options
  return {
    type: 'array',
    items: { type: 'string', format: 'binary' },
    ...(maxCount === Infinity ? {} : { maxItems: maxCount }),
    description
  }
}

/**
 * The two faces of an upload route's schema. Files land in `req.uploads`, never in `req.body`, so a body
 * schema that declares them (the usual way for OpenAPI: `{ type: 'string', format: 'binary' }`, listed in
 * `required`) would refuse every upload: validation gets the body without them. The documentation gets the
 * text fields as declared, then the model's file fields, required as the model says.
 */
/** The path of the tus endpoint that takes a field's files, if one does. */
export type ResumableAt = (field: BoundField) => string | undefined

export function uploadSchemas (schema: FastifySchema | undefined, model: Model, resumableAt: ResumableAt = () => undefined): UploadSchemas {
  const fields = Object.entries(model.fields)
  const isFile = (name: string): boolean => Object.hasOwn(model.fields, name)
  const body = schema?.body
  const base = schema ?? {}
  if (body !== undefined && !mergeable(body)) {
    return { validation: schema, documentation: copyWith(base, { consumes: ['multipart/form-data'] }) }
  }

  const declared = body?.properties as JsonObject | undefined ?? {}
  const required = Array.isArray(body?.required) ? (body.required as unknown[]) : []
  const textProperties = Object.fromEntries(Object.entries(declared).filter(([name]) => !isFile(name)))
  const textRequired = required.filter((name) => !isFile(name as string))

  const validation = body === undefined
    ? schema
    : copyWith(base, { body: copyWith(body, { properties: textProperties, required: textRequired.length === 0 ? undefined : textRequired }) })

  const allRequired = [...textRequired, ...fields.filter(([, field]) => field.required).map(([name]) => name)]
  const documentedBody = copyWith(body ?? {}, {
    type: 'object',
    properties: { ...textProperties, ...Object.fromEntries(fields.map(([name, field]) => [name, fileProperty(field, resumableAt)])) },
    required: allRequired.length === 0 ? undefined : allRequired
  })
  return { validation, documentation: copyWith(base, { body: documentedBody, consumes: ['multipart/form-data'] }) }
}
