/**
 * A stored name as a URL path: each segment percent-encoded, except `@`, which paths allow as it is
 * (RFC 3986 pchar) and which variant names contain. @fastify/static decodes paths with decodeURI, which
 * leaves `%40` encoded, so an encoded `@` would never find its file.
 */
export const urlPath = (name: string): string =>
  name.split('/').map((segment) => encodeURIComponent(segment).replaceAll('%40', '@')).join('/')
