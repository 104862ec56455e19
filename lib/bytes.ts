const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40
}

/**
 * `'10 MB'` is 10 000 000 bytes and `'2MiB'` is 2 097 152, as the units say; a number is bytes.
 * Returns undefined for anything else, so each option can name itself in the error.
 */
export function parseBytes (value: number | string): number | undefined {
  if (typeof value === 'number') {
    return Number.isFinite(value) && value >= 0 ? Math.floor(value) : undefined
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value)
  if (match === null) return undefined
  const unit = UNITS[(match[2] || 'b').toLowerCase()]
  return unit === undefined ? undefined : Math.floor(Number(match[1]) * unit)
}

export function formatBytes (bytes: number): string {
  if (bytes < 1000) return `${bytes} B`
  const units = ['kB', 'MB', 'GB', 'TB']
  let value = bytes
  let unit = 'B'
  for (const next of units) {
    if (value < 1000) break
    value /= 1000
    unit = next
  }
  return `${Number(value.toFixed(1))} ${unit}`
}
