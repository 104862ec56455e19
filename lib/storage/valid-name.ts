import { randomInt } from 'node:crypto'
import { posix } from 'node:path'

const CONTROL_AND_FORMAT = /[\p{Cc}\p{Cf}]/gu
const NOT_KEPT = /[^\p{L}\p{N}\s_.-]/gu
// leading dots (a dotfile is never served), and the trailing dots and spaces Windows drops
const OUTER_DOTS_AND_SPACES = /^[\s.]+|[\s.]+$/gu
// Windows also reserves COM¹ COM² COM³ and LPT¹ LPT² LPT³ (superscript digits survive NFC)
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[\d\u00b9\u00b2\u00b3]|lpt[\d\u00b9\u00b2\u00b3])$/i
// Apache (mod_mime) runs `shell.php.jpg` as PHP when a handler is set for .php: any inner extension counts
const ACTIVE_EXTENSION = /^(php\d*|phtml?|phar|phps|pht|pl|py|rb|cgi|fcgi|asp|aspx|asa|ascx|ashx|asmx|cfml?|jspx?|shtml?|stm|ssi)$/i
const ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'

/**
 * Django's get_valid_name for one path segment: the characters that are safe everywhere, or '' when nothing
 * usable is left. Control and bidi-override characters go (they disguise extensions), leading dots go (a
 * dotfile is never served), trailing dots and spaces go (Windows drops them, so `x.png ` is `x.png`), inner
 * spaces become `_`, Windows device names are defused, and so are inner extensions a web server would run
 * (`shell.php.jpg` is `shell_php.jpg`).
 */
export function cleanSegment (raw: string): string {
  let name = raw.normalize('NFC')
    .replace(CONTROL_AND_FORMAT, '')
    .replace(NOT_KEPT, '')
    .replace(OUTER_DOTS_AND_SPACES, '')
    .replace(/\s+/gu, '_')
    // what was removed may have separated a composable pair (Hangul jamo around a NUL): NFC again
    .normalize('NFC')
  if (/^[._-]*$/u.test(name)) return ''
  const [stem, ...extensions] = name.split('.') as [string, ...string[]]
  name = WINDOWS_RESERVED.test(stem) ? `_${stem}` : stem
  for (const [i, ext] of extensions.entries()) {
    name += (i < extensions.length - 1 && ACTIVE_EXTENSION.test(ext) ? '_' : '.') + ext
  }
  return name
}

/** The client's file name reduced to a safe base name ('' when nothing usable is left). */
export function getValidName (clientName: string): string {
  const base = clientName.split(/[/\\]/).pop() as string
  return cleanSegment(base)
}

/** Splits `report.final.pdf` into `report.final` and `pdf`; a name without a dot has no extension. */
export function splitExtension (name: string): { stem: string, ext: string } {
  const dot = name.lastIndexOf('.')
  if (dot <= 0) return { stem: name, ext: '' }
  return { stem: name.slice(0, dot), ext: name.slice(dot + 1) }
}

/**
 * A name inside a storage, `/`-separated, that cannot leave the storage root, or undefined when it would.
 * Leading slashes are dropped (the name is relative to the root whatever it says), `.` segments vanish and
 * any dot-only segment that survives normalisation (`..`, `...`) is a refusal.
 */
export function normalizeStorageName (name: string): string | undefined {
  if (name.includes('\0')) return undefined
  const normalized = posix.normalize(name.replace(/\\/g, '/')).replace(/^\/+/, '')
  if (normalized === '' || normalized === '.' || normalized.endsWith('/')) return undefined
  // dot-only segments: `..` escapes, and Windows reads `...` as `.`
  if (normalized.split('/').some((segment) => /^\.+$/.test(segment))) return undefined
  return normalized
}

/** `_` + 7 random alphanumerics, Django's suffix for a taken name. */
export function randomSuffix (): string {
  let suffix = '_'
  for (let i = 0; i < 7; i++) suffix += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)]
  return suffix
}

/**
 * Inserts a random suffix before the extension of the last segment: `docs/a.pdf` -> `docs/a_x7Gq2Lm.pdf`.
 * Undefined when the name leaves no room for it within `maxLength`.
 */
export function withRandomSuffix (name: string, maxLength: number): string | undefined {
  return fitName(name, maxLength, randomSuffix())
}

/** A segment's limit in bytes on every common file system (ext4, APFS, NTFS in UTF-16 units or fewer). */
const SEGMENT_MAX = 255

/** The longest start of `text` that fits `budget` bytes, never splitting a character. */
function cutToBytes (text: string, budget: number): string {
  let kept = ''
  let used = 0
  for (const char of text) {
    used += Buffer.byteLength(char)
    if (used > budget) break
    kept += char
  }
  return kept
}

/**
 * Fits a name in `maxLength` bytes and every segment in 255 (the file system's limit), never splitting a
 * character: a longer directory segment is cut at its end, and the last segment loses characters of its
 * stem, never its extension. Undefined when even an empty stem would not fit, or a cut leaves a segment
 * of dots only.
 */
export function fitName (name: string, maxLength: number, suffix = ''): string | undefined {
  const slash = name.lastIndexOf('/')
  const dir = name.slice(0, slash + 1).split('/').map((segment) => cutToBytes(segment, SEGMENT_MAX)).join('/')
  const { stem, ext } = splitExtension(name.slice(slash + 1))
  const tail = suffix + (ext === '' ? '' : `.${ext}`)
  const budget = Math.min(maxLength - Buffer.byteLength(dir), SEGMENT_MAX) - Buffer.byteLength(tail)
  if (budget < 1) return undefined
  const fitted = dir + cutToBytes(stem, budget) + tail
  // `...` splits into `..` and no extension, and a cut directory may end up all dots: never hand one back
  if (fitted.split('/').some((segment) => /^\.*$/.test(segment))) return undefined
  return fitted
}
