import { fileTypeFromBuffer } from 'file-type'
import { FST_MEDIA_INVALID_TYPE } from '../errors.js'
import { refusal } from '../refusal.js'
import type { AcceptRules, ResolvedField } from '../fields/field.js'
import { FORMAT_EXTENSION, IMAGE_FORMAT_OF, type ImageFormat } from '../image/formats.js'
import { canonicalExtension, TEXT_TYPES, typeOfExtension } from '../mime.js'

export interface Detected {
  /** The extension the stored name gets, without a dot. */
  ext: string
  mime: string
  /** Set when the type is an image format sharp can read. */
  format: ImageFormat | undefined
  /** Text formats have no signature: their bytes are checked as UTF-8 while they stream. */
  text: boolean
}

/**
 * Decides what a file is from its first bytes (never from the client's name or Content-Type) and whether
 * the field takes it. Throws FST_MEDIA_INVALID_TYPE.
 */
export async function detectType (head: Buffer, clientExt: string, field: ResolvedField, fieldName: string): Promise<Detected> {
  const found = await fileTypeFromBuffer(head)
  // file-type reports SVG with an <?xml prolog as xml: that is still a text candidate
  if (found !== undefined && found.ext !== 'xml') {
    // an animated PNG is a PNG to browsers, sharp and `.png` names alike
    const { ext, mime } = found.ext === 'apng' ? typeOfExtension('png') : { ext: canonicalExtension(found.ext), mime: found.mime }
    const detected = { ext, mime, format: IMAGE_FORMAT_OF[ext], text: false }
    if (!takes(field, detected)) throw refusal(new FST_MEDIA_INVALID_TYPE(fieldName, `${mime} is not accepted`), { field: fieldName, detected: mime })
    return detected
  }
  const text = textType(head, clientExt, field)
  if (text !== undefined) return text
  const err = new FST_MEDIA_INVALID_TYPE(fieldName, found === undefined ? 'the file type cannot be recognised' : `${found.mime} is not accepted`)
  throw refusal(err, { field: fieldName, detected: found?.mime ?? null })
}

function takes (field: ResolvedField, detected: Pick<Detected, 'ext' | 'mime' | 'format'>): boolean {
  if (field.image !== undefined && (detected.format === undefined || !field.image.formats.has(detected.format))) return false
  return accepts(field.accept, detected, field.image !== undefined)
}

function accepts (rules: AcceptRules, { ext, mime }: Pick<Detected, 'ext' | 'mime'>, isImageField: boolean): boolean {
  // text formats must be named, whatever the default; an ImageField names SVG through `formats`
  if (rules.any) return !(mime in TEXT_MIMES) || isImageField
  if (rules.types.has(mime) || rules.extensions.has(ext)) return true
  return mime !== 'image/svg+xml' && rules.wildcards.some((prefix) => mime.startsWith(prefix))
}

/**
 * What a field takes, for a refusal to show: its `accept` entries, or an image field's formats as MIME
 * types (those its `accept` lets through too). Undefined for a file field that takes any detectable type.
 */
export function acceptedTypes (field: ResolvedField): string[] | undefined {
  const { accept, image } = field
  if (image !== undefined) {
    return [...image.formats].map((format) => typeOfExtension(FORMAT_EXTENSION[format]))
      .filter((type) => accepts(accept, type, true)).map(({ mime }) => mime)
  }
  if (accept.any) return undefined
  return [...accept.types, ...accept.wildcards.map((prefix) => `${prefix}*`), ...[...accept.extensions].map((ext) => `.${ext}`)]
}

const TEXT_MIMES: Record<string, true> = Object.fromEntries(Object.values(TEXT_TYPES).map(({ mime }) => [mime, true]))

/**
 * A text format is accepted only when the field names it and the bytes are UTF-8 without NUL. The client's
 * extension picks among the named text formats; SVG must also look like SVG.
 */
function textType (head: Buffer, clientExt: string, field: ResolvedField): Detected | undefined {
  if (!isUtf8Text(head)) return undefined
  const start = head.toString('utf8')
  const looksSvg = /<svg[\s>]/i.test(start)
  const looksJson = /^\uFEFF?\s*[[{]/.test(start)
  const preferred = TEXT_TYPES[canonicalExtension(clientExt)]
  const candidates = preferred === undefined ? Object.values(TEXT_TYPES) : [preferred, ...Object.values(TEXT_TYPES)]
  for (const { mime, ext } of candidates) {
    if (ext === 'svg' && !looksSvg) continue
    if (ext !== 'svg' && looksSvg) continue
    if (ext === 'json' && !looksJson) continue
    const detected = { ext, mime, format: ext === 'svg' ? 'svg' as const : undefined, text: true }
    if (takes(field, detected)) return detected
  }
  return undefined
}

/** Valid UTF-8 without NUL; a character cut by the window's edge is allowed. */
export function isUtf8Text (bytes: Buffer): boolean {
  if (bytes.includes(0)) return false
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: true })
    return true
  } catch {
    return false
  }
}
