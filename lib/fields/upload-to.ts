import { randomUUID } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { FST_MEDIA_INVALID_NAME } from '../errors.js'
import { strftime } from './strftime.js'
import { cleanSegment, fitName, normalizeStorageName, splitExtension } from '../storage/valid-name.js'

export interface UploadToContext {
  /** The sanitised client name, already ending in the detected extension. */
  filename: string
  field: string
  model: string
  /** The upload's request (absent for `field.save()`); params are strings, as the router gives them. */
  request?: FastifyRequest<{ Params: Record<string, string | undefined> }>
  date: Date
}

/** A directory (ending in `/`) or a full name, as a template or a function of the upload. */
export type UploadTo = string | ((ctx: UploadToContext) => string)

export interface NamePlan {
  /** True when the name waits for the content's SHA-256 (`{hash}`). */
  needsHash: boolean
  /** The storage name; `hash` is required when `needsHash`. Throws FST_MEDIA_INVALID_NAME. */
  name: (hash?: string) => string
}

interface PlanInput {
  uploadTo: UploadTo
  ctx: UploadToContext
  ext: string
  maxLength: number
  timeZone?: string
}

/**
 * Turns a field's `uploadTo` into the name a file is stored under. Placeholders: `{uuid}`, `{ext}` (no dot),
 * `{name}` (the sanitised stem), `{field}`, `{model}`, `{hash}`. Whatever comes out is normalised segment
 * by segment, always ends in the detected extension, and can never leave the storage root.
 */
export function planName ({ uploadTo, ctx, ext, maxLength, timeZone }: PlanInput): NamePlan {
  const template = typeof uploadTo === 'function'
    ? uploadTo(ctx)
    : strftime(uploadTo, ctx.date, timeZone)
  const needsHash = typeof uploadTo === 'string' && template.includes('{hash}')
  const stem = splitExtension(ctx.filename).stem
  const uuid = randomUUID()
  return {
    needsHash,
    name (hash) {
      const rendered = typeof uploadTo === 'function'
        ? template
        : template.replace(/\{(uuid|ext|name|field|model|hash)\}/g, (_, key: string) => {
          switch (key) {
            case 'uuid': return uuid
            case 'ext': return ext
            case 'name': return stem
            case 'field': return ctx.field
            case 'model': return ctx.model
            default: return hash as string
          }
        })
      return finishName(rendered, ctx, ext, maxLength)
    }
  }
}

function finishName (rendered: string, ctx: UploadToContext, ext: string, maxLength: number): string {
  const refuse = (why: string) => new FST_MEDIA_INVALID_NAME(ctx.field, why)
  const full = rendered === '' || /[/\\]$/.test(rendered) ? rendered + ctx.filename : rendered
  const normalized = normalizeStorageName(full)
  if (normalized === undefined) throw refuse(`upload path "${rendered}" leaves the storage root`)
  const segments = normalized.split('/').map(cleanSegment)
  if (segments.some((segment) => segment === '')) throw refuse(`upload path "${rendered}" has an unusable segment`)
  let name = segments.join('/')
  if (!name.toLowerCase().endsWith(`.${ext}`)) name += `.${ext}`
  const fitted = fitName(name, maxLength)
  if (fitted === undefined) throw refuse(`upload path "${rendered}" is longer than ${maxLength} bytes`)
  return fitted
}
