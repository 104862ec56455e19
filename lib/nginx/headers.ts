import { mediaHeaders } from '../media/headers.js'
import { isInlineType, staticContentType, storedTypes } from '../mime.js'

// nginx directives for the headers our own routes send, so a file nginx serves answers as the app would.

/** An nginx string, quoted. */
export const quote = (value: string): string => `"${value.replace(/["\\]/g, '\\$&')}"`

/** `add_header` lines (always: on every status) for a set of headers. */
export const addHeaders = (headers: Record<string, string>, indent: string): string[] =>
  Object.entries(headers).map(([name, value]) => `${indent}add_header ${name} ${quote(value)} always;`)

/** The headers of a stored file but its Content-Type (nginx sets that from `types`) and Content-Disposition (by extension). */
export function safeHeaders ({ signed }: { signed: boolean }): Record<string, string> {
  const { 'content-type': _, 'content-disposition': __, ...rest } = mediaHeaders('x.bin', { signed })
  return rest
}

/** The extensions of stored names that display inline (raster images, audio, video, PDF, plain text): the others download. */
export const inlineExtensions = (): string[] => storedTypes().filter(({ mime }) => isInlineType(mime)).map(({ ext }) => ext)

/** A `types` block and charset rule giving each stored extension the Content-Type our media routes send. */
export function mediaTypes (indent: string): string[] {
  return typesBlock(storedTypes(), indent, (mime) => mime.startsWith('text/'))
}

// what static.root commonly holds; other extensions get nginx's default type
const STATIC_EXTENSIONS = ['css', 'js', 'mjs', 'map', 'json', 'webmanifest', 'wasm', 'svg', 'png', 'jpg', 'jpeg', 'gif', 'webp', 'avif', 'ico', 'woff', 'woff2', 'ttf', 'otf', 'eot', 'txt', 'xml', 'html', 'pdf']

/** A `types` block giving static files the Content-Type our static route sends (send's table, with its charset). */
export function staticTypes (indent: string): string[] {
  const types = STATIC_EXTENSIONS.map((ext) => ({ ext, full: staticContentType(`x.${ext}`) }))
  const charset = new Set(types.filter(({ full }) => full.endsWith('; charset=utf-8')).map(({ full }) => full.replace('; charset=utf-8', '')))
  return typesBlock(types.map(({ ext, full }) => ({ ext, mime: full.replace('; charset=utf-8', '') })), indent, (mime) => charset.has(mime))
}

function typesBlock (types: Array<{ ext: string, mime: string }>, indent: string, utf8: (mime: string) => boolean): string[] {
  const byMime = new Map<string, string[]>()
  for (const { ext, mime } of types) byMime.set(mime, [...byMime.get(mime) ?? [], ext])
  // text/html is always in nginx's list: naming it again is a warning
  const charsetTypes = [...byMime.keys()].filter((mime) => utf8(mime) && mime !== 'text/html')
  return [
    `${indent}types {`,
    ...[...byMime].map(([mime, exts]) => `${indent}  ${mime} ${exts.join(' ')};`),
    `${indent}}`,
    `${indent}default_type application/octet-stream;`,
    `${indent}charset utf-8;`,
    `${indent}charset_types ${charsetTypes.join(' ')};`
  ]
}
