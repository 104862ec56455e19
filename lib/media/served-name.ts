import { normalizeStorageName } from '../storage/valid-name.js'

/**
 * The storage name a media URL's path asks for, or undefined when it is never served from the route: not a
 * clean name, a dotfile or a name under a dot-directory (temp files live there, as with send's dotfiles:
 * 'ignore'), or a file whose request has not succeeded yet.
 */
export function servedName (path: string, isPending: (name: string) => boolean): string | undefined {
  const name = normalizeStorageName(path)
  if (name === undefined || name.split('/').some((segment) => segment.startsWith('.')) || isPending(name)) return undefined
  return name
}
