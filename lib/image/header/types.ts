/** What an image's first bytes say, as sharp's metadata() would: `format` is ours (sharp's heif/av1 is avif). */
export interface ImageHeader {
  format: string | undefined
  width: number
  height: number
  /** Frames of an animated image, 1 for a still one. */
  pages: number
  /** The EXIF orientation (1-8), where the header holds one. */
  orientation?: number | undefined
}

/**
 * What a reader makes of bytes: a header; `more` while they stop before it ends (with the dimensions when
 * they are known already); `broken` when they cannot be an image of the format; `unknown` for a variant the
 * reader leaves to sharp.
 */
export type Probe =
  | { kind: 'header', header: ImageHeader }
  | { kind: 'more', partial?: ImageHeader }
  | { kind: 'broken', why: string }
  | { kind: 'unknown' }

export const more = (partial?: ImageHeader): Probe => partial === undefined ? { kind: 'more' } : { kind: 'more', partial }
export const broken = (why: string): Probe => ({ kind: 'broken', why })
export const UNKNOWN: Probe = { kind: 'unknown' }
