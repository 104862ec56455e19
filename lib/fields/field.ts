import { parseBytes } from '../bytes.js'
import { FST_MEDIA_INVALID_OPTION } from '../errors.js'
import { canonicalExtension } from '../mime.js'
import type { UploadTo } from './upload-to.js'

export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'avif' | 'tiff' | 'svg'
const IMAGE_FORMATS: readonly ImageFormat[] = ['jpeg', 'png', 'webp', 'gif', 'avif', 'tiff', 'svg']
const DEFAULT_FORMATS: readonly ImageFormat[] = ['jpeg', 'png', 'webp', 'gif', 'avif']

export interface FileFieldOptions {
  /** A directory (`'docs/%Y/%m/'`), a full name template (`'avatars/{uuid}.{ext}'`) or a function. */
  uploadTo?: UploadTo
  /** MIME types, `type/*` wildcards or `.ext`; default: any type file-type can detect. */
  accept?: readonly string[]
  maxSize?: number | string
  minSize?: number | string
  required?: boolean
  multiple?: boolean
  maxCount?: number
  /** A key of the plugin's `storages`; default `'default'` (the media root). */
  storage?: string
  /** Longest stored name in bytes, directories included. */
  maxLength?: number
  /** IANA zone for the strftime codes of `uploadTo`; default UTC. */
  timeZone?: string
}

export interface ImageFieldOptions extends FileFieldOptions {
  formats?: readonly ImageFormat[]
  /** Checked from the header, before any decoding. */
  maxPixels?: number
  minWidth?: number
  maxWidth?: number
  minHeight?: number
  maxHeight?: number
}

export interface AcceptRules {
  readonly any: boolean
  readonly types: ReadonlySet<string>
  readonly wildcards: readonly string[]
  readonly extensions: ReadonlySet<string>
}

export interface ImageRules {
  readonly formats: ReadonlySet<ImageFormat>
  readonly maxPixels: number
  readonly minWidth: number
  readonly maxWidth: number
  readonly minHeight: number
  readonly maxHeight: number
}

export interface ResolvedField {
  readonly uploadTo: UploadTo
  readonly accept: AcceptRules
  readonly maxSize: number
  readonly minSize: number
  readonly maxCount: number
  readonly storage: string
  readonly maxLength: number
  readonly timeZone: string | undefined
  readonly image: ImageRules | undefined
}

export type FieldKind = 'file' | 'image'

/** A field declaration, not yet part of a model. The type parameters drive the types of `req.uploads`. */
export interface FieldSpec<K extends FieldKind = FieldKind, R extends boolean = boolean, M extends boolean = boolean> {
  readonly kind: K
  readonly required: R
  readonly multiple: M
  readonly options: ResolvedField
}

/**
 * R and M are inferred from `required`/`multiple` alone, so the options stay a plain (non-generic) type:
 * typos are excess properties and `uploadTo: (ctx) => ...` gets its parameter type. Omit, because an options
 * variable identical to a member of the intersection would be matched away before inferring R and M.
 * NoInfer in the results: inside `model(name, { ... })` the contextual FieldSpec would infer `boolean`
 * rather than the defaults.
 */
type SpecOptions<O, R extends boolean, M extends boolean> = Omit<O, 'required' | 'multiple'> & { required?: R, multiple?: M }

export function FileField<R extends boolean = true, M extends boolean = false> (options?: SpecOptions<FileFieldOptions, R, M>): FieldSpec<'file', NoInfer<R>, NoInfer<M>> {
  return makeSpec('file', options ?? {}, 'FileField') as FieldSpec<'file', R, M>
}

export function ImageField<R extends boolean = true, M extends boolean = false> (options?: SpecOptions<ImageFieldOptions, R, M>): FieldSpec<'image', NoInfer<R>, NoInfer<M>> {
  return makeSpec('image', options ?? {}, 'ImageField') as FieldSpec<'image', R, M>
}

function makeSpec (kind: FieldKind, options: ImageFieldOptions, label: string): FieldSpec {
  const invalid = (option: string, why: string) => new FST_MEDIA_INVALID_OPTION(`${label}.${option}`, why)
  const size = (option: 'maxSize' | 'minSize', fallback: number): number => {
    const value = options[option]
    if (value === undefined) return fallback
    const bytes = parseBytes(value)
    if (bytes === undefined) throw invalid(option, `"${value}" is not a size (bytes, or like '10 MB' / '2MiB')`)
    return bytes
  }
  const count = (option: keyof ImageFieldOptions, fallback: number, min = 0): number => {
    const value = options[option]
    if (value === undefined) return fallback
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
      throw invalid(option, `must be an integer >= ${min}`)
    }
    return value
  }

  const uploadTo = options.uploadTo ?? ''
  if (typeof uploadTo !== 'string' && typeof uploadTo !== 'function') throw invalid('uploadTo', 'must be a string or a function')
  const multiple = options.multiple ?? false
  if (options.maxCount !== undefined && !multiple) throw invalid('maxCount', 'needs multiple: true')
  if (options.timeZone !== undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: options.timeZone }) // eslint-disable-line no-new
    } catch {
      throw invalid('timeZone', `"${options.timeZone}" is not a time zone`)
    }
  }
  const maxSize = size('maxSize', Infinity)
  const minSize = size('minSize', 0)
  if (minSize > maxSize) throw invalid('minSize', 'is larger than maxSize')

  return Object.freeze({
    kind,
    required: options.required ?? true,
    multiple,
    options: Object.freeze({
      uploadTo,
      accept: parseAccept(options.accept, invalid),
      maxSize,
      minSize,
      maxCount: count('maxCount', Infinity, 1),
      storage: options.storage ?? 'default',
      maxLength: count('maxLength', 255, 16),
      timeZone: options.timeZone,
      image: kind === 'image'
        ? Object.freeze({
          formats: parseFormats(options.formats, invalid),
          maxPixels: count('maxPixels', 40_000_000, 1),
          minWidth: count('minWidth', 0),
          maxWidth: count('maxWidth', Infinity),
          minHeight: count('minHeight', 0),
          maxHeight: count('maxHeight', Infinity)
        })
        : undefined
    })
  })
}

type Invalid = (option: string, why: string) => Error

function parseAccept (accept: readonly string[] | undefined, invalid: Invalid): AcceptRules {
  if (accept === undefined) return { any: true, types: new Set(), wildcards: [], extensions: new Set() }
  if (!Array.isArray(accept) || accept.length === 0) throw invalid('accept', 'must be a non-empty array')
  const types = new Set<string>()
  const wildcards: string[] = []
  const extensions = new Set<string>()
  for (const entry of accept) {
    if (typeof entry === 'string' && /^\.[a-z0-9]+$/i.test(entry)) extensions.add(canonicalExtension(entry.slice(1)))
    else if (typeof entry === 'string' && /^[a-z]+\/\*$/i.test(entry)) wildcards.push(entry.slice(0, -1).toLowerCase())
    else if (typeof entry === 'string' && /^[a-z]+\/[\w.+-]+$/i.test(entry)) types.add(entry.toLowerCase())
    else throw invalid('accept', `"${String(entry)}" is not a MIME type, type/* or .ext`)
  }
  return Object.freeze({ any: false, types, wildcards, extensions })
}

function parseFormats (formats: readonly ImageFormat[] | undefined, invalid: Invalid): ReadonlySet<ImageFormat> {
  if (formats === undefined) return new Set(DEFAULT_FORMATS)
  if (!Array.isArray(formats) || formats.length === 0) throw invalid('formats', 'must be a non-empty array')
  for (const format of formats) {
    if (!IMAGE_FORMATS.includes(format)) throw invalid('formats', `"${String(format)}" is not one of ${IMAGE_FORMATS.join(', ')}`)
  }
  return new Set(formats)
}
