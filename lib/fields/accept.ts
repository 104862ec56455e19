import { supportedExtensions, supportedMimeTypes } from 'file-type'
import { closest } from '../check-keys.js'
import { canonicalExtension, TEXT_TYPES } from '../mime.js'

export interface AcceptRules {
  readonly any: boolean
  readonly types: ReadonlySet<string>
  readonly wildcards: readonly string[]
  readonly extensions: ReadonlySet<string>
}

// A file's type is found from its bytes, so an `accept` entry can only ever match what file-type reports
// (as sniff.ts maps it) or one of our text formats: anything else would refuse every file, silently.
// file-type reports an animated PNG's type, but sniff.ts stores it as a PNG; XML is a text candidate
// for SVG only.
const NEVER_DETECTED: ReadonlyMap<string, string> = new Map(Object.entries({
  'image/apng': 'an animated PNG is detected as image/png',
  'application/xml': 'XML is accepted only as SVG (image/svg+xml)',
  'application/msword': 'file-type reports old Office files (.doc, .xls, .ppt) as application/x-cfb',
  'application/vnd.ms-excel': 'file-type reports old Office files (.doc, .xls, .ppt) as application/x-cfb',
  'application/vnd.ms-powerpoint': 'file-type reports old Office files (.doc, .xls, .ppt) as application/x-cfb'
}))
const NEVER_EXTENSIONS: ReadonlyMap<string, string> = new Map(Object.entries({
  apng: 'an animated PNG is detected as .png',
  xml: 'XML is accepted only as SVG (.svg)',
  doc: 'file-type reports old Office files (.doc, .xls, .ppt) as .cfb',
  xls: 'file-type reports old Office files (.doc, .xls, .ppt) as .cfb',
  ppt: 'file-type reports old Office files (.doc, .xls, .ppt) as .cfb',
  md: 'the only text formats are .txt, .csv, .json and .svg',
  html: 'the only text formats are .txt, .csv, .json and .svg'
}))
// common spellings of a type under another name, which edit distance alone would not find
const OTHER_NAMES: ReadonlyMap<string, string> = new Map(Object.entries({
  'audio/mp3': 'audio/mpeg',
  'audio/x-wav': 'audio/wav',
  'image/jpg': 'image/jpeg',
  'image/svg': 'image/svg+xml',
  'application/x-zip-compressed': 'application/zip',
  'video/x-msvideo': 'video/vnd.avi'
}))

const TEXT = Object.values(TEXT_TYPES)
const KNOWN_TYPES: readonly string[] = [...new Set([...supportedMimeTypes, ...TEXT.map(({ mime }) => mime)].map((mime) => mime.toLowerCase()))]
  // 'audio/ogg; codecs=opus' cannot be written as an entry
  .filter((mime) => !NEVER_DETECTED.has(mime) && !mime.includes(';'))
const KNOWN_TYPE_SET: ReadonlySet<string> = new Set(KNOWN_TYPES)
const KNOWN_WILDCARDS: readonly string[] = [...new Set(KNOWN_TYPES.map((mime) => mime.slice(0, mime.indexOf('/'))))]
const KNOWN_EXTENSIONS: readonly string[] = [...new Set([...supportedExtensions, ...TEXT.map(({ ext }) => ext)].map(canonicalExtension))]
  .filter((ext) => !NEVER_EXTENSIONS.has(ext))
const KNOWN_EXTENSION_SET: ReadonlySet<string> = new Set(KNOWN_EXTENSIONS)

type Invalid = (option: string, why: string) => Error

/**
 * MIME types, `type/*` wildcards and `.ext` entries, each one that some file could match: a type or
 * extension file-type detects, or one of the text formats. Throws for the first entry that is not.
 */
export function parseAccept (accept: readonly string[] | undefined, invalid: Invalid): AcceptRules {
  if (accept === undefined) return { any: true, types: new Set(), wildcards: [], extensions: new Set() }
  if (!Array.isArray(accept) || accept.length === 0) throw invalid('accept', 'must be a non-empty array')
  const types = new Set<string>()
  const wildcards: string[] = []
  const extensions = new Set<string>()
  const refuse = (entry: string, why: string, guess: string | undefined): Error =>
    invalid('accept', `"${entry}" ${why}${guess === undefined ? '' : `, did you mean ${guess}?`}`)
  for (const entry of accept) {
    if (typeof entry === 'string' && /^\.[a-z0-9]+$/i.test(entry)) {
      const ext = canonicalExtension(entry.slice(1))
      const never = NEVER_EXTENSIONS.get(ext)
      if (never !== undefined) throw refuse(entry, `can never be accepted: ${never}`, undefined)
      if (!KNOWN_EXTENSION_SET.has(ext)) throw refuse(entry, 'is not an extension that can be detected', dotted(closest(ext, KNOWN_EXTENSIONS)))
      extensions.add(ext)
    } else if (typeof entry === 'string' && /^[a-z]+\/\*$/i.test(entry)) {
      const type = entry.slice(0, -2).toLowerCase()
      if (!KNOWN_WILDCARDS.includes(type)) throw refuse(entry, 'matches no type that can be detected', starred(closest(type, KNOWN_WILDCARDS)))
      wildcards.push(`${type}/`)
    } else if (typeof entry === 'string' && /^[a-z]+\/[\w.+-]+$/i.test(entry)) {
      const type = entry.toLowerCase()
      const never = NEVER_DETECTED.get(type)
      if (never !== undefined) throw refuse(entry, `can never be accepted: the type is found from the file's bytes, and ${never}`, undefined)
      if (!KNOWN_TYPE_SET.has(type)) throw refuse(entry, 'is not a type that can be detected from a file\'s bytes, so no file would ever be accepted', OTHER_NAMES.get(type) ?? closestType(type))
      types.add(type)
    } else {
      throw invalid('accept', `"${String(entry)}" is not a MIME type, type/* or .ext`)
    }
  }
  return Object.freeze({ any: false, types, wildcards, extensions })
}

/**
 * The known type of the same top-level type nearest in subtype (`application/pfd` -> `application/pdf`);
 * when the top-level type is itself unknown, the known type nearest as a whole (`imgae/png` -> `image/png`).
 */
function closestType (type: string): string | undefined {
  const slash = type.indexOf('/')
  const prefix = type.slice(0, slash + 1)
  if (!KNOWN_WILDCARDS.includes(type.slice(0, slash))) return closest(type, KNOWN_TYPES)
  const subtype = closest(type.slice(slash + 1), KNOWN_TYPES.filter((known) => known.startsWith(prefix)).map((known) => known.slice(slash + 1)))
  return subtype === undefined ? undefined : prefix + subtype
}

const dotted = (ext: string | undefined): string | undefined => ext === undefined ? undefined : `.${ext}`
const starred = (type: string | undefined): string | undefined => type === undefined ? undefined : `${type}/*`
