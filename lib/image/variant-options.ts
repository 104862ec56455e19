import { keysOf, knownKeys } from '../check-keys.js'
import { FORMAT_EXTENSION, type ImageFormat } from './formats.js'

/** What a variant can be written as: the formats browsers show that sharp can also write. */
export type VariantFormat = 'jpeg' | 'png' | 'webp' | 'avif' | 'gif'
const VARIANT_FORMATS: readonly VariantFormat[] = ['jpeg', 'png', 'webp', 'avif', 'gif']
const FITS = ['cover', 'contain', 'fill', 'inside', 'outside'] as const
/** When a variant is made: inside the upload request, on the first request for its URL, or by the queue after the upload commits. */
export type VariantGeneration = 'upload' | 'lazy' | 'background'
const GENERATIONS: readonly VariantGeneration[] = ['upload', 'lazy', 'background']
// formats whose files can hold more than one frame
const ANIMATED_FORMATS: ReadonlySet<string> = new Set(['gif', 'webp'])
// the largest side each encoder writes (WebP's is 16383; JPEG, GIF and AVIF take 65535 at most)
const LARGEST_SIDE = 65_535
const LARGEST_WEBP_SIDE = 16_383

export interface VariantOptions {
  /** Target box in pixels; give one or both (the other keeps the aspect ratio). */
  width?: number
  height?: number
  /** How the image fits a box of both width and height (sharp's `fit`); default `'cover'`. */
  fit?: typeof FITS[number]
  /** Default: the original's format (SVG and TIFF originals, which browsers do not all show, give PNG). */
  format?: VariantFormat
  /** Encoder quality 1–100; default: sharp's for the format. */
  quality?: number
  /**
   * WebP only: CPU spent to shrink the file, 0 (fastest) to 6; default 2, not sharp's 4, which takes about
   * 1.5x the CPU of a whole thumbnail for files a few per cent smaller.
   */
  effort?: number
  /** Never scale a smaller image up; default true. */
  withoutEnlargement?: boolean
  /** Keep every frame of an animated GIF/WebP (the output must be gif or webp); default false: the first. */
  animated?: boolean
  /** Drop EXIF (GPS included), XMP and ICC data; default true. */
  stripMetadata?: boolean
  /**
   * When the variant is made: `'upload'` (default) inside the upload request; `'lazy'` on the first request
   * for its URL; `'background'` by the variant queue once the upload has committed (or on the first request
   * for its URL, if that comes first).
   */
  generation?: VariantGeneration
}

// every key a variant takes (keysOf holds the list to VariantOptions: a new option must be listed)
const VARIANT_OPTIONS = knownKeys(keysOf<VariantOptions>()(['width', 'height', 'fit', 'format', 'quality', 'effort', 'withoutEnlargement', 'animated', 'stripMetadata', 'generation']))

export interface ResolvedVariant {
  readonly key: string
  readonly width: number | undefined
  readonly height: number | undefined
  readonly fit: typeof FITS[number]
  readonly format: VariantFormat | undefined
  readonly quality: number | undefined
  readonly effort: number
  readonly withoutEnlargement: boolean
  readonly animated: boolean
  readonly stripMetadata: boolean
  readonly generation: VariantGeneration
}

// sharp's default is 4: see `effort`, and notes/variant-cost.md
const DEFAULT_WEBP_EFFORT = 2

type Invalid = (option: string, why: string) => Error

// the longest `.ext` a variant can get, for the room its original's name must leave
const LONGEST_EXTENSION = Math.max(...VARIANT_FORMATS.map((format) => FORMAT_EXTENSION[format].length))

/** The format a variant of an original in `original` format is written in. */
export function variantFormat (variant: ResolvedVariant, original: ImageFormat): VariantFormat {
  if (variant.format !== undefined) return variant.format
  return original === 'svg' || original === 'tiff' ? 'png' : original
}

/** Whether a variant keeps the frames of an animated original. */
export function keepsAnimation (variant: ResolvedVariant, original: ImageFormat): boolean {
  return variant.animated && ANIMATED_FORMATS.has(original) && ANIMATED_FORMATS.has(variantFormat(variant, original))
}

/**
 * A variant's stored name: the original's full name, `@`, the variant's key and its extension
 * (`avatars/me.png` -> `avatars/me.png@thumb.webp`). No original can contain `@` (names keep letters,
 * digits, `_`, `.` and `-`), so variant names never collide with uploads, and the original's extension
 * in it keeps `me.png` and `me.jpg` apart. Derived, never recorded: a record keeps only the original.
 */
export function variantName (original: string, key: string, format: VariantFormat): string {
  return `${original}@${key}.${FORMAT_EXTENSION[format]}`
}

/** Bytes the longest variant name adds to its original's: what the original's `maxLength` must leave. */
export function variantNameRoom (variants: readonly ResolvedVariant[]): number {
  return Math.max(0, ...variants.map((variant) => Buffer.byteLength(variant.key) + 2 + LONGEST_EXTENSION))
}

export function parseVariants (variants: unknown, invalid: Invalid): readonly ResolvedVariant[] {
  if (variants === undefined) return []
  if (typeof variants !== 'object' || variants === null || Array.isArray(variants)) {
    throw invalid('variants', 'must be an object of named variants')
  }
  const parsed = Object.entries(variants).map(([key, options]) => parseVariant(key, options, invalid))
  // `thumb` and `Thumb` would be one file on a case-insensitive file system
  const keys = new Set<string>()
  for (const { key } of parsed) {
    if (keys.has(key.toLowerCase())) throw invalid('variants', `"${key}" differs from another variant name only in case`)
    keys.add(key.toLowerCase())
  }
  return Object.freeze(parsed)
}

function parseVariant (key: string, options: unknown, invalid: Invalid): ResolvedVariant {
  if (!/^[a-z0-9_-]{1,32}$/i.test(key)) throw invalid('variants', `"${key}" is not a variant name (1 to 32 letters, digits, _ or -)`)
  if (typeof options !== 'object' || options === null) throw invalid(`variants.${key}`, 'must be an object')
  const o = options as VariantOptions
  const bad = (option: string, why: string) => invalid(`variants.${key}.${option}`, why)
  const unknown = VARIANT_OPTIONS.unknown(options)
  if (unknown !== undefined) throw bad(unknown.key, unknown.why)
  const int = (option: 'width' | 'height' | 'quality' | 'effort', max: number, min = 1): number | undefined => {
    const value = o[option]
    if (value === undefined) return undefined
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw bad(option, `must be an integer from ${min} to ${max}`)
    return value
  }
  const flag = (option: 'withoutEnlargement' | 'animated' | 'stripMetadata', fallback: boolean): boolean => {
    const value = o[option]
    if (value === undefined) return fallback
    if (typeof value !== 'boolean') throw bad(option, 'must be true or false')
    return value
  }
  if (o.fit !== undefined && !FITS.includes(o.fit)) throw bad('fit', `must be one of ${FITS.join(', ')}`)
  if (o.format !== undefined && !VARIANT_FORMATS.includes(o.format)) throw bad('format', `must be one of ${VARIANT_FORMATS.join(', ')}`)
  const animated = flag('animated', false)
  if (animated && o.format !== undefined && !ANIMATED_FORMATS.has(o.format)) throw bad('animated', `${o.format} cannot hold frames (use gif or webp)`)
  if (o.effort !== undefined && o.format !== 'webp') throw bad('effort', "applies to WebP only (add format: 'webp')")
  if (o.generation !== undefined && !GENERATIONS.includes(o.generation)) throw bad('generation', `must be one of ${GENERATIONS.join(', ')}`)
  const side = o.format === 'webp' ? LARGEST_WEBP_SIDE : LARGEST_SIDE
  return Object.freeze({
    key,
    width: int('width', side),
    height: int('height', side),
    fit: o.fit ?? 'cover',
    format: o.format,
    quality: int('quality', 100),
    effort: int('effort', 6, 0) ?? DEFAULT_WEBP_EFFORT,
    withoutEnlargement: flag('withoutEnlargement', true),
    animated,
    stripMetadata: flag('stripMetadata', true),
    generation: o.generation ?? 'upload'
  })
}
