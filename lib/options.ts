import { resolve } from 'node:path'
import { parseBytes } from './bytes.js'
import { keysOf, knownKeys } from './check-keys.js'
import { FST_MEDIA_INVALID_OPTION } from './errors.js'
import { isInside } from './paths.js'
import { FileSystemStorage } from './storage/filesystem.js'
import { servedStorages } from './storage/served.js'
import type { Storage } from './storage/storage.js'
import { resolveGeneration, type GenerationConfig, type VariantsOptions } from './image/generation-options.js'

export interface StaticDir {
  /** URL path segment(s) the dir's files live under ('' for none). */
  prefix: string
  /** The directory (absolute once resolved). */
  dir: string
}

export interface FastifyMediaOptions {
  /** Relative paths resolve against it; default `process.cwd()`. */
  baseDir?: string
  /** How static files are served; default from NODE_ENV. */
  mode?: 'development' | 'production'
  static?: false | {
    url?: string
    dirs?: ReadonlyArray<string | StaticDir>
    root?: string
    /** A public storage (an S3Storage behind a CDN) that collectstatic also uploads the hashed files to. */
    storage?: Storage
    /** `Access-Control-Allow-Origin` of static responses: `'*'` (default), one origin, or false for none. */
    cors?: string | false
    /**
     * The permission bits of every file collectstatic writes to `static.root` (Django's
     * `file_permissions_mode`); default: the process's umask decides, for copies and hashed files alike.
     */
    fileMode?: number
  }
  media?: false | {
    url?: string
    root?: string
  }
  /** Named storages; 'default' is a FileSystemStorage on `media.root` unless given. */
  storages?: Record<string, Storage>
  /**
   * HMAC key for the signed URLs of private storages and direct-upload tokens (at least 16 bytes), or a
   * list of them while rotating: the first signs, every one verifies.
   */
  signingKey?: string | Buffer | ReadonlyArray<string | Buffer>
  /**
   * Which of a batch of stored names your records hold (resolve those): what `app.media.sweep()` and
   * `fastify-media sweep` ask before removing a file. Called with the names and the storage's name.
   */
  isReferenced?: IsReferenced
  limits?: {
    files?: number
    fields?: number
    fieldSize?: number | string
    parts?: number
    totalSize?: number | string
    headerPairs?: number
    /** Milliseconds an upload's body may take to arrive and be stored; 0 turns the limit off. */
    uploadTimeout?: number
  }
  /** How variants made after their upload (`generation: 'lazy' | 'background'`) are made and guarded. */
  variants?: VariantsOptions
}

export interface MediaLimits {
  readonly files: number
  readonly fields: number
  readonly fieldSize: number
  readonly parts: number
  readonly totalSize: number
  readonly headerPairs: number
  readonly uploadTimeout: number
}

export interface MediaConfig {
  readonly baseDir: string
  readonly mode: 'development' | 'production'
  readonly static: false | { readonly url: string, readonly dirs: readonly StaticDir[], readonly root: string, readonly storage: Storage | undefined, readonly cors: string | false, readonly fileMode: number | undefined }
  readonly media: false | { readonly url: string, readonly root: string }
  readonly storages: ReadonlyMap<string, Storage>
  /** The first signs; every one verifies. Never empty. */
  readonly signingKeys: readonly Buffer[] | undefined
  readonly limits: MediaLimits
  readonly isReferenced: IsReferenced | undefined
  readonly variants: GenerationConfig
}

/** Resolves which of `names` (in the storage named `storage`) your records hold. */
export type IsReferenced = (names: string[], storage: string) => Iterable<string> | Promise<Iterable<string>>

const invalid = (option: string, why: string) => new FST_MEDIA_INVALID_OPTION(option, why)

function checkUrl (option: string, url: unknown): string {
  if (typeof url !== 'string' || !/^\/(.*\/)?$/.test(url)) throw invalid(option, `"${String(url)}" must start and end with "/"`)
  return url
}

type StaticOptions = Exclude<FastifyMediaOptions['static'], false | undefined>
type MediaOptions = Exclude<FastifyMediaOptions['media'], false | undefined>
type LimitsOptions = NonNullable<FastifyMediaOptions['limits']>

// The keys each options object takes, one list per object (keysOf makes the compiler hold each list to its
// interface: a new option must be listed). Unknown keys fail register, naming the closest known one.
const LIMITS_KEYS = keysOf<LimitsOptions>()(['files', 'fields', 'fieldSize', 'parts', 'totalSize', 'headerPairs', 'uploadTimeout'])
const PLUGIN_OPTIONS = knownKeys([
  ...keysOf<FastifyMediaOptions>()(['baseDir', 'mode', 'static', 'media', 'storages', 'signingKey', 'isReferenced', 'limits', 'variants']),
  // Fastify's own register options reach the plugin's options object too (and do nothing: the plugin is
  // not encapsulated); `prefix` would silently leave every URL where it was, so it is refused below
  'logLevel', 'logSerializers'
], {
  prefix: 'Fastify\'s route prefix, which does not apply to fastify-media (it is not encapsulated): set media.url and static.url',
  ...Object.fromEntries(LIMITS_KEYS.map((key) => [key, `a limits option (limits.${key})`])),
  dirs: 'a static option (static.dirs)',
  url: 'a media or static option (media.url, static.url)',
  root: 'a media or static option (media.root, static.root)',
  maxSize: 'a field option (FileField, ImageField)'
})
const MEDIA_OPTIONS = knownKeys(keysOf<MediaOptions>()(['url', 'root']))
const STATIC_OPTIONS = knownKeys(keysOf<StaticOptions>()(['url', 'dirs', 'root', 'storage', 'cors', 'fileMode']))
const STATIC_DIR_OPTIONS = knownKeys(keysOf<StaticDir>()(['prefix', 'dir']))
const LIMITS_OPTIONS = knownKeys(LIMITS_KEYS)

const STORAGE_METHODS = ['save', 'open', 'delete', 'exists', 'size', 'stat', 'url', 'list', 'getAvailableName'] as const

/** Resolves the caller's options into one frozen config; never mutates them. Throws at register time. */
export function resolveOptions (options: FastifyMediaOptions = {}): MediaConfig {
  PLUGIN_OPTIONS.check(options, '')
  MEDIA_OPTIONS.check(options.media, 'media')
  STATIC_OPTIONS.check(options.static, 'static')
  LIMITS_OPTIONS.check(options.limits, 'limits')
  const baseDir = resolve(options.baseDir ?? process.cwd())
  const at = (path: string) => resolve(baseDir, path)
  const mode = options.mode ?? (process.env.NODE_ENV === 'production' ? 'production' : 'development')
  if (mode !== 'development' && mode !== 'production') throw invalid('mode', 'must be "development" or "production"')

  const media = options.media === false
    ? false as const
    : Object.freeze({ url: checkUrl('media.url', options.media?.url ?? '/media/'), root: at(options.media?.root ?? 'media') })

  const staticOptions = options.static
  const staticConfig = staticOptions === false
    ? false as const
    : Object.freeze({
      url: checkUrl('static.url', staticOptions?.url ?? '/static/'),
      root: at(staticOptions?.root ?? 'staticfiles'),
      storage: staticStorage(staticOptions?.storage),
      cors: staticCors(staticOptions?.cors),
      fileMode: fileMode(staticOptions?.fileMode),
      dirs: Object.freeze((staticOptions?.dirs ?? []).map((entry, i) => {
        STATIC_DIR_OPTIONS.check(entry, `static.dirs[${i}]`)
        const dir = typeof entry === 'string' ? { prefix: '', dir: entry } : entry
        if (typeof dir?.dir !== 'string' || typeof dir.prefix !== 'string') throw invalid(`static.dirs[${i}]`, 'must be a path or { prefix, dir }')
        return Object.freeze({ prefix: staticPrefix(dir.prefix, `static.dirs[${i}].prefix`), dir: at(dir.dir) })
      }))
    })

  if (media !== false && staticConfig !== false) {
    if (media.url === staticConfig.url) throw invalid('static.url', 'must differ from media.url')
    if (isInside(media.root, staticConfig.root) || isInside(staticConfig.root, media.root)) {
      throw invalid('static.root', 'must not be inside media.root, nor contain it')
    }
  }
  if (staticConfig !== false) {
    for (const { dir } of staticConfig.dirs) {
      if (isInside(dir, staticConfig.root)) throw invalid('static.dirs', `"${dir}" is static.root or inside it, where collectstatic writes`)
    }
  }

  const signingKeys = options.signingKey === undefined ? undefined : resolveKeys(options.signingKey)

  const storages = new Map<string, Storage>()
  for (const [name, storage] of Object.entries(options.storages ?? {})) {
    const missing = STORAGE_METHODS.filter((method) => typeof (storage as unknown as Record<string, unknown>)?.[method] !== 'function')
    if (missing.length > 0) throw invalid(`storages.${name}`, `is not a Storage (missing ${missing.join(', ')})`)
    storages.set(name, storage)
  }
  if (!storages.has('default') && media !== false) {
    storages.set('default', new FileSystemStorage({ location: media.root, baseUrl: media.url }))
  }
  for (const [name, storage] of storages) {
    if (!storage.public && signingKeys === undefined) throw invalid(`storages.${name}`, 'a private storage needs signingKey')
  }
  checkServedDisks(storages, staticConfig, baseDir)

  return Object.freeze({
    baseDir,
    mode,
    static: staticConfig,
    media,
    storages,
    signingKeys,
    limits: resolveLimits(options.limits ?? {}),
    isReferenced: isReferencedOption(options.isReferenced),
    variants: resolveGeneration(options.variants)
  })
}

function isReferencedOption (isReferenced: unknown): IsReferenced | undefined {
  if (isReferenced !== undefined && typeof isReferenced !== 'function') throw invalid('isReferenced', 'must be a function: (names, storage) => the names your records hold')
  return isReferenced as IsReferenced | undefined
}

// strings and Buffers only: Buffer.from() would take an object such as { current, previous } and throw its own TypeError
function resolveKeys (option: unknown): readonly Buffer[] {
  const list = Array.isArray(option)
  if (list && option.length === 0) throw invalid('signingKey', 'must list at least one key (the first signs)')
  return Object.freeze((list ? option as unknown[] : [option]).map((key, i) => {
    const at = list ? `signingKey[${i}]` : 'signingKey'
    if (typeof key !== 'string' && !Buffer.isBuffer(key)) throw invalid(at, 'must be a string or a Buffer, or a list of them (the first signs, every one verifies)')
    const bytes = Buffer.from(key)
    if (bytes.length < 16) throw invalid(at, 'must be at least 16 bytes')
    return bytes
  }))
}

function fileMode (mode: number | undefined): number | undefined {
  if (mode !== undefined && !(Number.isInteger(mode) && mode >= 0 && mode <= 0o777)) throw invalid('static.fileMode', 'must be permission bits, an integer from 0 to 0o777 (0o644)')
  return mode
}

function staticStorage (storage: Storage | undefined): Storage | undefined {
  if (storage === undefined) return undefined
  const missing = STORAGE_METHODS.filter((method) => typeof (storage as unknown as Record<string, unknown>)?.[method] !== 'function')
  if (missing.length > 0) throw invalid('static.storage', `is not a Storage (missing ${missing.join(', ')})`)
  if (!storage.public) throw invalid('static.storage', 'must be public: pages link to static files directly')
  return storage
}

// `*` or one origin (`https://app.example.com`): a header value, so visible ASCII only
function staticCors (cors: unknown = '*'): string | false {
  if (cors === false || (typeof cors === 'string' && /^[\x21-\x7e]+$/.test(cors))) return cors
  throw invalid('static.cors', `${JSON.stringify(cors)} must be "*", an origin such as "https://app.example.com", or false`)
}

/** A URL prefix for static files: plain segments, no dot segments (never `..`, nor a hidden `.well-known`). */
export function staticPrefix (prefix: string, option: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '')
  if (trimmed === '') return ''
  if (trimmed.split('/').some((segment) => segment === '' || segment.startsWith('.') || segment.includes('\\'))) {
    throw invalid(option, `"${prefix}" must be plain path segments (none empty or starting with ".")`)
  }
  return trimmed
}

interface Served { label: string, url: string, location: string | undefined, public: boolean }

/**
 * Every served storage is served at its baseUrl, so URLs must not overlap (one route each), and a private
 * storage's files must not lie inside anything served publicly, nor contain it (for storages on this machine).
 */
function checkServedDisks (storages: ReadonlyMap<string, Storage>, staticConfig: MediaConfig['static'], baseDir: string): void {
  const served: Served[] = []
  if (staticConfig !== false) {
    served.push({ label: 'static.url', url: staticConfig.url, location: staticConfig.root, public: true })
    for (const [i, { dir }] of staticConfig.dirs.entries()) served.push({ label: `static.dirs[${i}]`, url: staticConfig.url, location: dir, public: true })
  }
  // the default storage first, so a clash is reported on the storage the user added
  const ordered = [...storages].sort(([a], [b]) => Number(b === 'default') - Number(a === 'default'))
  for (const { storageName: name, storage, baseUrl, location } of servedStorages(new Map(ordered), baseDir)) {
    if (baseUrl === undefined) {
      throw invalid(`storages.${name}.baseUrl`, storage.public ? 'a public storage on disk is served at its baseUrl: give one, or public: false' : 'a private storage on disk needs a baseUrl')
    }
    served.push({ label: name === 'default' ? 'media' : `storages.${name}`, url: baseUrl, location, public: storage.public })
  }
  for (const [i, a] of served.entries()) {
    for (const b of served.slice(i + 1)) {
      const sameStatic = a.label.startsWith('static') && b.label.startsWith('static')
      if (!sameStatic && (a.url.startsWith(b.url) || b.url.startsWith(a.url))) {
        throw invalid(`${b.label}.baseUrl`, `"${b.url}" overlaps ${a.label}'s URL "${a.url}"`)
      }
      const overlap = a.location !== undefined && b.location !== undefined && (isInside(a.location, b.location) || isInside(b.location, a.location))
      if (overlap && a.public !== b.public) {
        const [hidden, shown] = a.public ? [b, a] : [a, b]
        throw invalid(`${hidden.label}.location`, `a private storage must not share files with ${shown.label}, which is served publicly`)
      }
      // static serving sends none of the media headers (and --clear empties static.root): uploads and static
      // files never share a directory
      // static entries come first in `served`, so `a` is the static one of a mixed pair
      if (overlap && a.label.startsWith('static') && !b.label.startsWith('static')) {
        throw invalid(a.label, `must not share files with ${b.label}: uploads would be served as static files`)
      }
    }
  }
}

function resolveLimits (limits: NonNullable<FastifyMediaOptions['limits']>): MediaLimits {
  const count = (option: 'files' | 'fields' | 'parts' | 'headerPairs' | 'uploadTimeout', fallback: number): number => {
    const value = limits[option] ?? fallback
    if (!Number.isInteger(value) || value < 0) throw invalid(`limits.${option}`, 'must be an integer >= 0')
    return value
  }
  const bytes = (option: 'fieldSize' | 'totalSize', fallback: number): number => {
    const value = limits[option]
    if (value === undefined) return fallback
    const parsed = parseBytes(value)
    if (parsed === undefined) throw invalid(`limits.${option}`, `"${value}" is not a size`)
    return parsed
  }
  return Object.freeze({
    files: count('files', 20),
    fields: count('fields', 100),
    fieldSize: bytes('fieldSize', 1024 * 1024),
    parts: count('parts', 1000),
    totalSize: bytes('totalSize', Infinity),
    headerPairs: count('headerPairs', 2000),
    // Node's own default requestTimeout, which Fastify turns off: a slow client may not hold a connection,
    // a temp file and a handler for ever
    uploadTimeout: count('uploadTimeout', 5 * 60 * 1000)
  })
}
