import type Sharp from 'sharp'

let loading: Promise<typeof Sharp> | undefined

/**
 * sharp, imported the first time an image is looked at: libvips costs about 27 MiB of resident memory,
 * which an app without image fields never needs to pay.
 */
export async function loadSharp (): Promise<typeof Sharp> {
  loading ??= import('sharp').then((module) => module.default)
  return await loading
}
