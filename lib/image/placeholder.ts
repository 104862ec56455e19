import { FST_MEDIA_INVALID_IMAGE } from '../errors.js'
import type { PlaceholderKind } from '../fields/field.js'
import { loadSharp } from './load-sharp.js'
import type { ImageSource } from './process.js'

// ThumbHash takes at most 100x100 pixels; BlurHash's encoder visits every pixel once per component, so it
// gets 32 px, which is more than its 4x3 components can show
const LARGEST_SIDE: Readonly<Record<PlaceholderKind, number>> = { thumbhash: 100, blurhash: 32 }

/**
 * The placeholder of an image as it is shown (orientation applied, first frame): one small decode, which
 * JPEG and WebP shrink as they load, so a large photo is never decoded whole for it. A failure is the
 * image's, as a variant's is: 400.
 */
export async function makePlaceholder (source: ImageSource, kind: PlaceholderKind): Promise<string> {
  const sharp = await loadSharp()
  const side = LARGEST_SIDE[kind]
  const { data, info } = await sharp(source.buffer, { failOn: source.rules.verify === 'decode' ? 'warning' : 'error', limitInputPixels: false })
    .autoOrient()
    .resize({ width: side, height: side, fit: 'inside', withoutEnlargement: true })
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true })
    .catch((err: unknown) => {
      throw new FST_MEDIA_INVALID_IMAGE(source.field, `no placeholder can be made from this image (${(err as Error).message.split('\n')[0] as string})`)
    })
  if (kind === 'thumbhash') {
    const { rgbaToThumbHash } = await import('thumbhash')
    return Buffer.from(rgbaToThumbHash(info.width, info.height, data)).toString('base64')
  }
  const { encode } = await import('blurhash')
  // 4 components along the longer side, 3 along the shorter: what BlurHash suggests for photos
  const landscape = info.width >= info.height
  return encode(new Uint8ClampedArray(data.buffer, data.byteOffset, data.length), info.width, info.height, landscape ? 4 : 3, landscape ? 3 : 4)
}
