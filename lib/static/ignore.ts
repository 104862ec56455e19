/** Django's default ignore patterns: dotfiles, editor backups, CVS directories. */
export const DEFAULT_IGNORE = ['.*', '*~', 'CVS'] as const

function globToRegExp (glob: string): RegExp {
  let source = ''
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i] as string
    if (char === '*' && glob[i + 1] === '*' && glob[i + 2] === '/') {
      // `**/` is any number of folders, none included, as in gitignore
      source += '(?:.*/)?'
      i += 2
    } else if (char === '*' && glob[i + 1] === '*') {
      source += '.*'
      i++
    } else if (char === '*') source += '[^/]*'
    else if (char === '?') source += '[^/]'
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&')
  }
  return new RegExp(`^${source}$`)
}

/**
 * Matches a `/`-separated path against glob patterns (`*`, `?`, `**`). A pattern without `/` is tried on
 * every segment, as Django's are, so `CVS` hides a whole directory and `.*` every dotfile at any depth.
 */
export function ignoreMatcher (patterns: readonly string[]): (path: string) => boolean {
  const segmentPatterns = patterns.filter((p) => !p.includes('/')).map(globToRegExp)
  const pathPatterns = patterns.filter((p) => p.includes('/')).map(globToRegExp)
  return (path) => {
    if (pathPatterns.some((pattern) => pattern.test(path))) return true
    return path.split('/').some((segment) => segmentPatterns.some((pattern) => pattern.test(segment)))
  }
}
