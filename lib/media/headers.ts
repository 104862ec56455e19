import { isInlineType, typeForName } from '../mime.js'

/**
 * The headers every stored file is served with, however it is read. Uploaded bytes are hostile by
 * assumption: the type comes from the stored extension (never sniffed by the browser), scripts are sandboxed
 * away, and anything that is not a raster image, audio, video, PDF or plain text downloads instead of
 * rendering.
 */
export function mediaHeaders (name: string, { signed }: { signed: boolean }): Record<string, string> {
  const type = typeForName(name)
  const headers: Record<string, string> = {
    // text was checked to be UTF-8 at upload
    'content-type': type.startsWith('text/') ? `${type}; charset=utf-8` : type,
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; sandbox",
    'cross-origin-resource-policy': 'same-site',
    // a deleted file's name may be given to the next upload, so a URL's bytes can change: caches keep a
    // copy but ask (ETag) before each use. A signed URL is one person's: never in a shared cache.
    'cache-control': signed ? 'private, no-store' : 'public, no-cache'
  }
  if (!isInlineType(type)) headers['content-disposition'] = 'attachment'
  return headers
}
