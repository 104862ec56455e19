import { parseBytes } from '../bytes.js'
import { keysOf, knownKeys } from '../check-keys.js'
import { FST_MEDIA_INVALID_OPTION } from '../errors.js'
import { parseAccept, type AcceptRules } from './accept.js'
import { IMAGE_FORMATS, type ImageFormat } from '../image/formats.js'
import { parseVariants, variantNameRoom, type ResolvedVariant, type VariantOptions } from '../image/variant-options.js'
import type { UploadTo } from './upload-to.js'
import { parseDirect, type DirectOptions, type DirectRules } from '../direct/options.js'

export type { AcceptRules, ImageFormat }

/** What an image's `placeholder` is: a ThumbHash (base64) or a BlurHash string. */
export type PlaceholderKind = 'thumbhash' | 'blurhash'
const PLACEHOLDER_KINDS: readonly PlaceholderKind[] = ['thumbhash', 'blurhash']

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
  /**
   * Direct uploads: the browser sends the file to the storage itself (`app.media.presign()`), and the form
   * sends the token it got as this field's value. The storage must presign (S3Storage).
   */
  direct?: boolean | DirectOptions
}

export interface ImageFieldOptions<V extends string = string> extends FileFieldOptions {
  formats?: readonly ImageFormat[]
  /** Checked from the header, before any decoding. */
  maxPixels?: number
  minWidth?: number
  maxWidth?: number
  minHeight?: number
  maxHeight?: number
  /** Frames of an animated image, checked from the header; default 100. */
  maxPages?: number
  /** `'decode'` decodes the whole image once stored and refuses truncated or corrupt ones; default `'header'`. */
  verify?: 'header' | 'decode'
  /** Re-encode the original too: drops EXIF/GPS and anything after the image data (polyglots); default false. */
  sanitize?: boolean
  /** Apply the EXIF orientation to variants and to a sanitised original; default true. */
  autoOrient?: boolean
  /** Resized copies made at upload, stored next to the original as `<name>@<key>.<ext>`. */
  variants?: { [K in V]: VariantOptions }
  /** A tiny hash of the image made at upload (`image.placeholder`), for a blurred preview while it loads. */
  placeholder?: PlaceholderKind
}

export interface ImageRules {
  readonly formats: ReadonlySet<ImageFormat>
  readonly maxPixels: number
  readonly minWidth: number
  readonly maxWidth: number
  readonly minHeight: number
  readonly maxHeight: number
  readonly maxPages: number
  readonly verify: 'header' | 'decode'
  readonly sanitize: boolean
  readonly autoOrient: boolean
  readonly variants: readonly ResolvedVariant[]
  readonly placeholder: PlaceholderKind | undefined
  /** Every frame gets decoded (sanitize, verify: 'decode', animated variants): they all count as pixels. */
  readonly decodesAllFrames: boolean
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
  readonly direct: DirectRules | undefined
}

export type FieldKind = 'file' | 'image'

/**
 * A field declaration, not yet part of a model. The type parameters drive the types of `req.uploads` and of
 * loaded files: S is the name of its storage (`never`: the default one), V the names of its variants.
 */
export interface FieldSpec<K extends FieldKind = FieldKind, R extends boolean = boolean, M extends boolean = boolean, V extends string = never, S extends string = never, P extends PlaceholderKind = never> {
  readonly kind: K
  readonly required: R
  readonly multiple: M
  readonly options: ResolvedField
  /**
   * Type-only: the names of an image field's variants. Never set at run time. A parameter, so that a spec
   * with variants still fits where any spec goes (`Record<string, FieldSpec>`).
   */
  readonly '~variants'?: (variant: V) => void
  /** Type-only, like `'~variants'`: the name of the field's storage, which types a loaded file's `url`. */
  readonly '~storage'?: (storage: S) => void
  /** Type-only, like `'~variants'`: the field's `placeholder`, which gives its images one. */
  readonly '~placeholder'?: (placeholder: P) => void
}

/**
 * R, M and S are inferred from `required`/`multiple`/`storage` alone, so the options stay a plain
 * (non-generic) type: typos are excess properties and `uploadTo: (ctx) => ...` gets its parameter type. Omit,
 * because an options variable identical to a member of the intersection would be matched away before
 * inferring them. NoInfer in the results: inside `model(name, { ... })` the contextual FieldSpec would infer
 * `boolean` rather than the defaults.
 */
type SpecOptions<O, R extends boolean, M extends boolean, S extends string> = Omit<O, 'required' | 'multiple' | 'storage'> & { required?: R, multiple?: M, storage?: S }

export function FileField<R extends boolean = true, M extends boolean = false, S extends string = never> (options?: SpecOptions<FileFieldOptions, R, M, S>): FieldSpec<'file', NoInfer<R>, NoInfer<M>, never, NoInfer<S>> {
  return makeSpec('file', options ?? {}, 'FileField') as FieldSpec<'file', R, M, never, S>
}

export function ImageField<R extends boolean = true, M extends boolean = false, V extends string = never, S extends string = never, P extends PlaceholderKind = never> (options?: SpecOptions<Omit<ImageFieldOptions<V>, 'placeholder'>, R, M, S> & { placeholder?: P }): FieldSpec<'image', NoInfer<R>, NoInfer<M>, NoInfer<V>, NoInfer<S>, NoInfer<P>> {
  return makeSpec('image', options ?? {}, 'ImageField') as FieldSpec<'image', R, M, V, S, P>
}

// The keys each kind of field takes (keysOf holds each list to its interface: a new option must be listed).
const FILE_FIELD_KEYS = keysOf<FileFieldOptions>()(['uploadTo', 'accept', 'maxSize', 'minSize', 'required', 'multiple', 'maxCount', 'storage', 'maxLength', 'timeZone', 'direct'])
const IMAGE_ONLY_KEYS = keysOf<Omit<ImageFieldOptions, keyof FileFieldOptions>>()(['formats', 'maxPixels', 'minWidth', 'maxWidth', 'minHeight', 'maxHeight', 'maxPages', 'verify', 'sanitize', 'autoOrient', 'variants', 'placeholder'])
const FIELD_OPTIONS = {
  file: knownKeys(FILE_FIELD_KEYS, Object.fromEntries(IMAGE_ONLY_KEYS.map((key) => [key, 'an ImageField option']))),
  image: knownKeys([...FILE_FIELD_KEYS, ...IMAGE_ONLY_KEYS])
} as const

function makeSpec (kind: FieldKind, options: ImageFieldOptions, label: string): FieldSpec {
  FIELD_OPTIONS[kind].check(options, label)
  const invalid = (option: string, why: string) => new FST_MEDIA_INVALID_OPTION(`${label}.${option}`, why)
  const size = (option: 'maxSize' | 'minSize', fallback: number): number => {
    const value = options[option]
    if (value === undefined) return fallback
    const bytes = parseBytes(value)
    if (bytes === undefined) throw invalid(option, `"${value}" is not a size (bytes, or like '10 MB' / '2MiB')`)
    return bytes
  }
  const flag = (option: 'sanitize' | 'autoOrient', fallback: boolean): boolean => {
    const value = options[option]
    if (value === undefined) return fallback
    if (typeof value !== 'boolean') throw invalid(option, 'must be true or false')
    return value
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
  const image = kind === 'image' ? imageRules(options, invalid, count, flag) : undefined
  // sharp holds a whole encoded image in memory: a field that processes whole images gets a bound
  const maxSize = size('maxSize', image !== undefined && processesWholeImages(image) ? WHOLE_IMAGE_MAX_SIZE : Infinity)
  const minSize = size('minSize', 0)
  if (minSize > maxSize) throw invalid('minSize', 'is larger than maxSize')
  // an original leaves room in its name for its variants' `@key.ext`, within one file name's 255 bytes
  const room = image === undefined ? 0 : variantNameRoom(image.variants)
  const maxLength = room === 0 ? count('maxLength', 255, 16) : Math.min(count('maxLength', 255, 16), 255) - room
  if (maxLength < 16) throw invalid('maxLength', `leaves less than 16 bytes once variant names take ${room}`)

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
      maxLength,
      timeZone: options.timeZone,
      image,
      direct: parseDirect(options.direct, invalid, label)
    })
  })
}

type Invalid = (option: string, why: string) => Error

/** The default `maxSize` of an image field with variants, `sanitize` or `verify: 'decode'`. */
export const WHOLE_IMAGE_MAX_SIZE = 20_000_000

const processesWholeImages = (rules: ImageRules): boolean => rules.sanitize || rules.verify === 'decode' || rules.variants.length > 0 || rules.placeholder !== undefined

function imageRules (
  options: ImageFieldOptions,
  invalid: Invalid,
  count: (option: keyof ImageFieldOptions, fallback: number, min?: number) => number,
  flag: (option: 'sanitize' | 'autoOrient', fallback: boolean) => boolean
): ImageRules {
  const formats = parseFormats(options.formats, invalid)
  const verify = options.verify ?? 'header'
  if (verify !== 'header' && verify !== 'decode') throw invalid('verify', "must be 'header' or 'decode'")
  const sanitize = flag('sanitize', false)
  if (sanitize && formats.has('svg')) throw invalid('sanitize', 'cannot re-encode SVG (take svg out of formats)')
  const variants = parseVariants(options.variants, invalid)
  const placeholder = options.placeholder
  if (placeholder !== undefined && !PLACEHOLDER_KINDS.includes(placeholder)) throw invalid('placeholder', "must be 'thumbhash' or 'blurhash'")
  return Object.freeze({
    formats,
    maxPixels: count('maxPixels', 40_000_000, 1),
    minWidth: count('minWidth', 0),
    maxWidth: count('maxWidth', Infinity),
    minHeight: count('minHeight', 0),
    maxHeight: count('maxHeight', Infinity),
    maxPages: count('maxPages', 100, 1),
    verify,
    sanitize,
    autoOrient: flag('autoOrient', true),
    variants,
    placeholder,
    decodesAllFrames: sanitize || verify === 'decode' || variants.some((variant) => variant.animated)
  })
}

function parseFormats (formats: readonly ImageFormat[] | undefined, invalid: Invalid): ReadonlySet<ImageFormat> {
  if (formats === undefined) return new Set(DEFAULT_FORMATS)
  if (!Array.isArray(formats) || formats.length === 0) throw invalid('formats', 'must be a non-empty array')
  for (const format of formats) {
    if (!IMAGE_FORMATS.includes(format)) throw invalid('formats', `"${String(format)}" is not one of ${IMAGE_FORMATS.join(', ')}`)
  }
  return new Set(formats)
}
