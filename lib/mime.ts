import send from '@fastify/send'
import { extname } from 'node:path'

// What a stored extension is served as. Only types we can detect or accept are listed; everything else is
// served as application/octet-stream, so no stored name can ever come back as HTML or script.
const TYPES: Record<string, string> = {
  avif: 'image/avif',
  bmp: 'image/bmp',
  gif: 'image/gif',
  heic: 'image/heic',
  ico: 'image/x-icon',
  jpg: 'image/jpeg',
  jxl: 'image/jxl',
  png: 'image/png',
  svg: 'image/svg+xml',
  tif: 'image/tiff',
  webp: 'image/webp',
  psd: 'image/vnd.adobe.photoshop',
  aac: 'audio/aac',
  flac: 'audio/flac',
  m4a: 'audio/mp4',
  mp3: 'audio/mpeg',
  ogg: 'audio/ogg',
  opus: 'audio/opus',
  wav: 'audio/wav',
  mp4: 'video/mp4',
  mov: 'video/quicktime',
  webm: 'video/webm',
  mkv: 'video/x-matroska',
  pdf: 'application/pdf',
  txt: 'text/plain',
  csv: 'text/csv',
  json: 'application/json',
  xml: 'application/xml',
  zip: 'application/zip',
  gz: 'application/gzip',
  tar: 'application/x-tar',
  '7z': 'application/x-7z-compressed',
  epub: 'application/epub+zip',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  odt: 'application/vnd.oasis.opendocument.text',
  ods: 'application/vnd.oasis.opendocument.spreadsheet',
  // what static files are (never text/html: a stored name must not render as a page)
  css: 'text/css',
  js: 'text/javascript',
  mjs: 'text/javascript',
  cjs: 'text/javascript',
  map: 'application/json',
  wasm: 'application/wasm',
  webmanifest: 'application/manifest+json',
  eot: 'application/vnd.ms-fontobject',
  woff: 'font/woff',
  woff2: 'font/woff2',
  ttf: 'font/ttf',
  otf: 'font/otf',
  sqlite: 'application/x-sqlite3'
}

// Spellings a client may use for the extension we store; `jpg` and `jpeg` are the same file.
const ALIASES: Record<string, string> = {
  jpeg: 'jpg',
  jpe: 'jpg',
  jfif: 'jpg',
  tiff: 'tif',
  text: 'txt',
  htm: 'html',
  oga: 'ogg',
  m4v: 'mp4'
}

export const DEFAULT_TYPE = 'application/octet-stream'

/** Every extension a stored name can end in that has a type of its own, with that type (aliases included). */
export function storedTypes (): Array<{ ext: string, mime: string }> {
  const aliases = Object.entries(ALIASES).flatMap(([alias, ext]) => TYPES[ext] === undefined ? [] : [{ ext: alias, mime: TYPES[ext] }])
  return [...Object.entries(TYPES).map(([ext, mime]) => ({ ext, mime })), ...aliases]
}

/** An extension (canonical, no dot) with the type it is stored and served as. */
export interface TypedExtension {
  readonly ext: string
  readonly mime: string
}

/** The type of a file stored with this extension (canonical, no dot). */
export const typeOfExtension = (ext: string): TypedExtension => ({ ext, mime: TYPES[ext] ?? DEFAULT_TYPE })

/**
 * The text formats an upload can be, by extension, in the order sniff.ts tries them. They have no
 * signature: their bytes are checked instead, and a field must name them.
 */
export const TEXT_TYPES: Readonly<Record<string, TypedExtension>> = Object.freeze(Object.fromEntries(['svg', 'json', 'csv', 'txt'].map((ext) => [ext, typeOfExtension(ext)])))

export function canonicalExtension (ext: string): string {
  const lower = ext.toLowerCase()
  return ALIASES[lower] ?? lower
}

export function typeForName (name: string): string {
  return typeOfExtension(canonicalExtension(extname(name).slice(1))).mime
}

/**
 * What a file under static.url is served as: the type @fastify/static gives it from disk (send's table, which
 * knows every web type), with the charset send adds, so a file answered from memory carries the same header.
 * Where send knows no type (and sends no Content-Type), a Buffer would go out as application/octet-stream.
 */
export function staticContentType (path: string): string {
  const type = send.mime.getType(path) ?? DEFAULT_TYPE
  return send.isUtf8MimeType(type) ? `${type}; charset=utf-8` : type
}

/** Raster images, audio, video, PDF and plain text display inline; anything else downloads. */
export function isInlineType (type: string): boolean {
  if (type === 'image/svg+xml') return false
  return /^(image|audio|video)\//.test(type) || type === 'application/pdf' || type.startsWith('text/plain')
}
