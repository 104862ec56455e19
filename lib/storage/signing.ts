import { createHmac, timingSafeEqual } from 'node:crypto'

export interface SignedQuery {
  expires: number
  signature: string
}

function mac (key: Buffer, storageName: string, name: string, expires: number): Buffer {
  return createHmac('sha256', key).update(`${storageName}\n${name}\n${expires}`).digest()
}

/** The query of a private file's URL: valid for `expiresIn` seconds from `now`, for this file only. */
export function signQuery (key: Buffer, storageName: string, name: string, expiresIn: number, now = Date.now()): string {
  const expires = Math.floor(now / 1000) + Math.max(1, Math.floor(expiresIn))
  return `expires=${expires}&signature=${mac(key, storageName, name, expires).toString('base64url')}`
}

/**
 * True only for an unexpired signature made with one of our keys for this storage and file. Each key's
 * comparison is constant-time, and runs before anything about the file itself is looked at.
 */
export function verifyQuery (keys: readonly Buffer[], storageName: string, name: string, query: Record<string, unknown>, now = Date.now()): boolean {
  const { expires, signature } = query
  // one spelling only: no leading zeros, and the signature compared as text, because base64url's last
  // character carries two spare bits and four spellings would decode to the same bytes
  if (typeof expires !== 'string' || !/^[1-9]\d{0,11}$/.test(expires)) return false
  if (typeof signature !== 'string') return false
  const given = Buffer.from(signature)
  const valid = keys.some((key) => {
    const expected = Buffer.from(mac(key, storageName, name, Number(expires)).toString('base64url'))
    return given.length === expected.length && timingSafeEqual(given, expected)
  })
  return valid && Number(expires) * 1000 >= now
}
