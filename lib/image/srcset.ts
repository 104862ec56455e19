import { FST_MEDIA_INVALID_OPTION } from '../errors.js'

interface SrcsetVariant {
  readonly name: string
  readonly url: string
  readonly width: number
}

/**
 * What `srcset()` needs of an image: an uploaded one, or what `await loaded.stat()` returns (a loaded
 * image's widths are unknown until then, so the types ask for a measured one).
 */
export interface SrcsetImage<V extends string> {
  readonly name: string
  readonly variants: { readonly [K in V]: SrcsetVariant }
}

/**
 * `url width` pairs for an `<img srcset>`. The widths are the variants' real ones, so a loaded image must
 * be `stat()`ed first, and its URLs must be strings (a private S3 image's are Promises: await them).
 */
export function srcset<V extends string> (image: SrcsetImage<V>, keys?: readonly V[]): string {
  const chosen = keys ?? (Object.keys(image.variants) as V[])
  if (chosen.length === 0) throw new FST_MEDIA_INVALID_OPTION('srcset', `${image.name} has no variants to list`)
  return chosen.map((key) => {
    // checked at run time too, for callers without types
    const variant = image.variants[key] as { name: string, url: unknown, width: unknown } | undefined
    if (variant === undefined) throw new FST_MEDIA_INVALID_OPTION('srcset', `${image.name} has no variant "${key}"`)
    if (typeof variant.url !== 'string') throw new FST_MEDIA_INVALID_OPTION('srcset', `${variant.name} has a signed URL still to await`)
    if (variant.width === undefined) throw new FST_MEDIA_INVALID_OPTION('srcset', `${variant.name} has no width yet: await the image's stat() first`)
    return `${variant.url} ${variant.width}w`
  }).join(', ')
}
