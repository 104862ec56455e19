import picomatch from 'picomatch'

/** Django's default ignore patterns: dotfiles, editor backups, CVS directories. */
export const DEFAULT_IGNORE = ['.*', '*~', 'CVS'] as const

// fnmatch's reading where picomatch's default differs: `*` matches a leading dot, `[!a]` is a negated
// class, and a leading `!` is a character (not "everything but": an ignore list that hid every file but
// one by a typo would empty static.root)
const OPTIONS = { dot: true, posix: true, nonegate: true }

/**
 * Matches a `/`-separated path against glob patterns (picomatch: `*`, `?`, `**`, `[ab]`, `[!a]`,
 * `{scss,less}`). A pattern without `/` is tried on every segment, as Django's are, so `CVS` hides a whole
 * directory and `.*` every dotfile at any depth.
 */
export function ignoreMatcher (patterns: readonly string[]): (path: string) => boolean {
  const segmentPatterns = patterns.filter((p) => !p.includes('/')).map((p) => picomatch(p, OPTIONS))
  const pathPatterns = patterns.filter((p) => p.includes('/')).map((p) => picomatch(p, OPTIONS))
  return (path) => {
    if (pathPatterns.some((matches) => matches(path))) return true
    return path.split('/').some((segment) => segmentPatterns.some((matches) => matches(segment)))
  }
}
