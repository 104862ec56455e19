import type { ResolvedVariant } from './variant-options.js'

export interface OriginalSize {
  width: number
  height: number
  /** The EXIF orientation (1 to 8); 5 to 8 are turned a quarter, so an oriented variant swaps the sides. */
  orientation?: number | undefined
}

/**
 * The size a variant not made yet will have: sharp's resize arithmetic (its `ResolveShrink`, then libvips's
 * rounding, then the crop of `cover` or the border of `contain`). JPEG and WebP originals shrink on load,
 * which can round the side the variant does not fix one pixel the other way; the sides it fixes are exact.
 */
export function plannedSize (original: OriginalSize, variant: ResolvedVariant, autoOrient: boolean): { width: number, height: number } {
  const turned = autoOrient && (original.orientation ?? 1) >= 5
  const width = turned ? original.height : original.width
  const height = turned ? original.width : original.height
  const target = { width: variant.width ?? 0, height: variant.height ?? 0 }
  let h = 1
  let v = 1
  if (target.width > 0 && target.height > 0) {
    h = width / target.width
    v = height / target.height
    // cover and outside fill the box (the smaller shrink wins), contain and inside fit in it; fill stretches
    if (variant.fit === 'cover' || variant.fit === 'outside') h = v = Math.min(h, v)
    else if (variant.fit !== 'fill') h = v = Math.max(h, v)
  } else if (target.width > 0) {
    h = v = width / target.width
  } else if (target.height > 0) {
    h = v = height / target.height
  }
  if (variant.withoutEnlargement) {
    h = Math.max(1, h)
    v = Math.max(1, v)
  }
  let w = Math.round(width / Math.min(h, width))
  let ht = Math.round(height / Math.min(v, height))
  if (target.width > 0 && target.height > 0) {
    if (variant.fit === 'cover') {
      w = Math.min(w, target.width)
      ht = Math.min(ht, target.height)
    } else if (variant.fit === 'contain') {
      w = target.width
      ht = target.height
    }
  }
  return { width: w, height: ht }
}
