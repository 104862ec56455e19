import { FST_MEDIA_INVALID_OPTION } from './errors.js'

/**
 * The keys one options object may have, compiled once where that object is resolved. `check` refuses any
 * other own key with FST_MEDIA_INVALID_OPTION, naming its path and the closest known key: JavaScript
 * callers get no excess-property check from TypeScript, and a misspelt key would otherwise be ignored.
 */
export interface KnownKeys {
  readonly keys: readonly string[]
  /** The first own key of `options` that is not known, and why; undefined when every key is known or `options` is not an object. */
  unknown: (options: unknown) => { key: string, why: string } | undefined
  /**
   * Throws for the first own key of `options` that is not known; `path` is the object's (`'limits'`,
   * `'FileField'`). A value that is not an object is left to the option's own check.
   */
  check: (options: unknown, path: string) => void
}

/**
 * `elsewhere` names keys that are valid on a sibling object and says where they belong
 * (`{ formats: 'an ImageField option' }`), so the message tells the user what to move rather than what to
 * retype.
 */
export function knownKeys (keys: readonly string[], elsewhere: Readonly<Record<string, string>> = {}): KnownKeys {
  const known = new Set(keys)
  const hints = new Map(Object.entries(elsewhere).map(([key, where]) => [squash(key), { key, where }]))
  const list = Object.freeze([...keys])
  const unknown = (options: unknown): { key: string, why: string } | undefined => {
    if (typeof options !== 'object' || options === null) return undefined
    const key = Object.keys(options).find((key) => !known.has(key))
    if (key === undefined) return undefined
    const hint = hints.get(squash(key))
    if (hint !== undefined) return { key, why: `unknown option: ${hint.key} is ${hint.where}` }
    const guess = closest(key, list)
    return { key, why: guess === undefined ? `unknown option (known: ${list.join(', ')})` : `unknown option, did you mean ${guess}?` }
  }
  return Object.freeze({
    keys: list,
    unknown,
    check (options: unknown, path: string): void {
      const found = unknown(options)
      if (found !== undefined) throw new FST_MEDIA_INVALID_OPTION(path === '' ? found.key : `${path}.${found.key}`, found.why)
    }
  })
}

/**
 * The candidate nearest to `word`, or undefined when none is near: case, `_` and `-` do not count
 * (`upload_to` is `uploadTo`, `maxsize` is `maxSize`), then an edit distance of at most a third of the
 * word's length (one edit for short words). Among equally near candidates, the one sharing the most letters
 * wins (`pfd` is `pdf` swapped, rather than `psd` retyped), then the earlier one.
 */
export function closest (word: string, candidates: readonly string[]): string | undefined {
  const target = squash(word)
  let best: string | undefined
  let bestDistance = Math.max(1, Math.floor(target.length / 3))
  let bestApart = Infinity
  for (const candidate of candidates) {
    const distance = editDistance(target, squash(candidate))
    const apart = lettersApart(target, squash(candidate))
    if (distance < bestDistance || (distance === bestDistance && apart < bestApart)) {
      best = candidate
      bestDistance = distance
      bestApart = apart
    }
  }
  return best
}

/** How many letters of the two words have no partner in the other, counted with repeats. */
function lettersApart (a: string, b: string): number {
  const counts = new Map<string, number>()
  for (const letter of a) counts.set(letter, (counts.get(letter) ?? 0) + 1)
  for (const letter of b) counts.set(letter, (counts.get(letter) ?? 0) - 1)
  let apart = 0
  for (const count of counts.values()) apart += Math.abs(count)
  return apart
}

const squash = (word: string): string => word.toLowerCase().replace(/[_-]/g, '')

/** Damerau-Levenshtein distance (optimal string alignment): a swap of two neighbours is one edit. */
export function editDistance (a: string, b: string): number {
  const width = b.length + 1
  const d: number[] = []
  const at = (i: number, j: number): number => d[i * width + j] as number
  for (let i = 0; i <= a.length; i++) {
    for (let j = 0; j <= b.length; j++) {
      if (i === 0 || j === 0) {
        d[i * width + j] = i + j
        continue
      }
      let distance = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1))
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) distance = Math.min(distance, at(i - 2, j - 2) + 1)
      d[i * width + j] = distance
    }
  }
  return at(a.length, b.length)
}

/**
 * A list of every key of `T`, checked by the compiler both ways: a key `T` lacks, or a key of `T` left out,
 * does not compile. So an option added to an options interface must be added to its list too.
 */
export const keysOf = <T>() => <const L extends ReadonlyArray<keyof T & string>>(
  keys: L & ([Exclude<keyof T, L[number]>] extends [never] ? unknown : { missing: Exclude<keyof T, L[number]> })
): readonly string[] => keys
