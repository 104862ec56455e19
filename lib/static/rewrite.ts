import { posix } from 'node:path'

/** What a reference in a file resolves to: the hashed path under `static.url`, or an error message. */
export type Resolve = (path: string) => string | undefined

export interface RewriteResult {
  content: string
  /** References that name no collected file. */
  missing: string[]
}

// url(...) with or without quotes, @import "..." / '...', and sourceMappingURL comments
const CSS_URL = /url\(\s*(['"]?)([^'")]+?)\1\s*\)/g
const CSS_IMPORT = /@import\s+(['"])([^'"]+)\1/g
const SOURCE_MAP = /(\/\/|\/\*)(\s*[#@]\s*sourceMappingURL=)([^\s*]+)/g

export const isAdjustable = (path: string): boolean => /\.(css|js|mjs)$/i.test(path)

/**
 * Rewrites the references of a CSS or JS file to hashed names. `data:`, absolute URLs (with a scheme or
 * `//`), root paths outside `staticUrl` and bare `#fragments` are left alone; `?query` and `#fragment`
 * suffixes are kept (`font.eot?#iefix`).
 */
export function rewriteReferences (path: string, text: string, staticUrl: string, resolve: Resolve): RewriteResult {
  const missing: string[] = []
  const dir = posix.dirname(path)
  const replace = (reference: string): string => {
    if (/^(data:|[a-z][a-z0-9+.-]*:|\/\/|#)/i.test(reference) || reference.trim() === '') return reference
    const cut = reference.search(/[?#]/)
    const target = cut === -1 ? reference : reference.slice(0, cut)
    const suffix = cut === -1 ? '' : reference.slice(cut)
    let wanted: string
    if (target.startsWith('/')) {
      if (!target.startsWith(staticUrl)) return reference
      wanted = target.slice(staticUrl.length)
    } else {
      wanted = posix.normalize(posix.join(dir, target))
    }
    const hashed = resolve(decodeURIComponent(wanted))
    if (hashed === undefined) {
      missing.push(target)
      return reference
    }
    const rewritten = target.startsWith('/') ? staticUrl + hashed : posix.relative(dir, hashed)
    return rewritten + suffix
  }

  let content = text
  if (/\.css$/i.test(path)) {
    content = content
      .replace(CSS_URL, (_, quote: string, reference: string) => `url(${quote}${replace(reference)}${quote})`)
      .replace(CSS_IMPORT, (match, quote: string, reference: string) => match.replace(`${quote}${reference}${quote}`, `${quote}${replace(reference)}${quote}`))
  }
  content = content.replace(SOURCE_MAP, (_, comment: string, key: string, reference: string) => `${comment}${key}${replace(reference)}`)
  return { content, missing }
}
