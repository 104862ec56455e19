import { posix } from 'node:path'

/** The hashed path of a collected path (both under `static.url`), or undefined when it is not collected. */
export type Resolve = (path: string) => string | undefined

export interface RewriteResult {
  content: string
  /** References that name no collected file. */
  missing: string[]
  /** Collected paths this file references. */
  references: string[]
}

// One pass over CSS, leftmost match first: a comment, a url() (its quoted form read as a whole string, so
// a data: URI holding `url(#id)` is one token), an @import string, or any other string. Only url() and
// @import are references: comments and other strings are copied as they are (Django #21080, #36348).
// CSS function and at-rule names are case-insensitive; minifiers drop the space after @import.
const CSS_TOKEN = /\/\*[\s\S]*?(?:\*\/|$)|(url\(\s*)(?:"((?:[^"\\\n]|\\[\s\S])*)"|'((?:[^'\\\n]|\\[\s\S])*)'|([^'"()\s]*))(\s*\))|(@import\s*)(?:"((?:[^"\\\n]|\\[\s\S])*)"|'((?:[^'\\\n]|\\[\s\S])*)')|"(?:[^"\\\n]|\\[\s\S])*"|'(?:[^'\\\n]|\\[\s\S])*'/gi
// only a comment that opens a line, as Django: a string in the code that mentions it is not one
const SOURCE_MAP = /^(\/\/|\/\*)(\s*[#@]\s*sourceMappingURL=)([^\s*]+)/gm

export const isAdjustable = (path: string): boolean => /\.(css|js|mjs|cjs)$/i.test(path)

const HASH = /\.([0-9a-f]{12})(\.[^./]*)?$/

function decode (reference: string): string {
  try {
    return decodeURIComponent(reference)
  } catch {
    return reference
  }
}

/**
 * Rewrites the references of a CSS or JS file to hashed names. `data:`, absolute URLs (with a scheme or
 * `//`), root paths outside `staticUrl` and bare `#fragments` are left alone; `?query` and `#fragment`
 * suffixes are kept (`font.eot?#iefix`). The hash is inserted into the reference as written, so its
 * form (relative or absolute, percent-encoded or not) stays the author's.
 */
export function rewriteReferences (path: string, text: string, staticUrl: string, resolve: Resolve): RewriteResult {
  const missing: string[] = []
  const references: string[] = []
  const dir = posix.dirname(path)
  const replace = (reference: string): string => {
    if (/^(data:|[a-z][a-z0-9+.-]*:|\/\/|#)/i.test(reference) || reference.trim() === '') return reference
    const cut = reference.search(/[?#]/)
    const target = cut === -1 ? reference : reference.slice(0, cut)
    const suffix = cut === -1 ? '' : reference.slice(cut)
    if (target.startsWith('/') && !target.startsWith(staticUrl)) return reference
    const wanted = target.startsWith('/')
      ? decode(target.slice(staticUrl.length))
      : posix.normalize(posix.join(dir, decode(target)))
    const hashed = resolve(wanted)
    if (hashed === undefined) {
      missing.push(target)
      return reference
    }
    references.push(wanted)
    const hash = HASH.exec(hashed)?.[1] as string
    const slash = target.lastIndexOf('/')
    const last = target.slice(slash + 1)
    const dot = last.lastIndexOf('.')
    const renamed = dot <= 0 ? `${last}.${hash}` : `${last.slice(0, dot)}.${hash}${last.slice(dot)}`
    return target.slice(0, slash + 1) + renamed + suffix
  }

  let content = text
  if (/\.css$/i.test(path)) content = content.replace(CSS_TOKEN, cssToken(replace))
  content = content.replace(SOURCE_MAP, (_, comment: string, key: string, reference: string) => `${comment}${key}${replace(reference)}`)
  return { content, missing, references }
}

/** What a CSS token becomes: url() and @import with their reference replaced, anything else as it was. */
function cssToken (replace: (reference: string) => string) {
  return (token: string, url?: string, urlDouble?: string, urlSingle?: string, urlBare?: string, close?: string, at?: string, atDouble?: string, atSingle?: string): string => {
    if (url !== undefined) {
      const quote = urlDouble !== undefined ? '"' : urlSingle !== undefined ? "'" : ''
      return `${url}${quote}${replace(urlDouble ?? urlSingle ?? urlBare!)}${quote}${close!}`
    }
    if (at === undefined) return token
    const quote = atDouble !== undefined ? '"' : "'"
    return `${at}${quote}${replace(atDouble ?? atSingle!)}${quote}`
  }
}
