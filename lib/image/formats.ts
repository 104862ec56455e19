/** The image formats sharp reads that an ImageField can take. */
export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'avif' | 'tiff' | 'svg'

export const IMAGE_FORMATS: readonly ImageFormat[] = ['jpeg', 'png', 'webp', 'gif', 'avif', 'tiff', 'svg']

/** The extension a file of each format is stored under. */
export const FORMAT_EXTENSION: Readonly<Record<ImageFormat, string>> = { jpeg: 'jpg', png: 'png', webp: 'webp', gif: 'gif', avif: 'avif', tiff: 'tif', svg: 'svg' }

/** The format a stored extension (canonical, no dot) says, when it is an image format. */
export const IMAGE_FORMAT_OF: Readonly<Record<string, ImageFormat>> = Object.fromEntries(IMAGE_FORMATS.map((format) => [FORMAT_EXTENSION[format], format]))
