// Median and range per variant, and ratios of medians to each baseline.

export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** Figures of one measurement (e.g. "10 KiB CSS, requests/s") for several servers, one value per round. */
export class Figure {
  constructor (title, { unit, digits = 0, baselines = [], extras = [], rowTitle = 'server' }) {
    this.rowTitle = rowTitle
    this.title = title
    this.unit = unit
    this.digits = digits
    this.baselines = baselines
    this.extras = extras
    this.rows = new Map()
    this.notes = []
  }

  add (variant, value, extras = {}) {
    if (!this.rows.has(variant)) this.rows.set(variant, { values: [], extras: {} })
    const row = this.rows.get(variant)
    row.values.push(value)
    for (const [key, v] of Object.entries(extras)) if (v !== undefined) (row.extras[key] ??= []).push(v)
  }

  skip (variant, why) {
    this.rows.set(variant, { skipped: why })
  }

  median (variant) {
    const row = this.rows.get(variant)
    return row === undefined || row.skipped !== undefined ? undefined : median(row.values)
  }

  /** ours / baseline, from the medians; undefined when either is missing. */
  ratio (variant, baseline) {
    const a = this.median(variant)
    const b = this.median(baseline)
    return a === undefined || b === undefined || b === 0 ? undefined : a / b
  }

  markdown () {
    const fmt = (v) => v.toLocaleString('en-US', { maximumFractionDigits: this.digits, minimumFractionDigits: this.digits })
    const present = this.baselines.filter((b) => this.median(b) !== undefined)
    const head = [this.rowTitle, `${this.unit} (median)`, 'range', ...this.extras.map((e) => e.title), ...present.map((b) => `x ${b}`)]
    const lines = [`#### ${this.title}`, '', `| ${head.join(' | ')} |`, `|${head.map(() => ' --- ').join('|')}|`]
    for (const [variant, row] of this.rows) {
      if (row.skipped !== undefined) {
        lines.push(`| ${variant} | skipped: ${row.skipped} |${' |'.repeat(head.length - 2)}`)
        continue
      }
      const extras = this.extras.map((e) => row.extras[e.key] === undefined ? '' : e.format(typeof row.extras[e.key][0] === 'number' ? median(row.extras[e.key]) : row.extras[e.key][0]))
      const ratios = present.map((b) => b === variant ? '' : `${this.ratio(variant, b).toFixed(2)}x`)
      const range = `${fmt(Math.min(...row.values))} - ${fmt(Math.max(...row.values))}`
      lines.push(`| ${[variant, fmt(median(row.values)), range, ...extras, ...ratios].join(' | ')} |`)
    }
    if (this.notes.length > 0) lines.push('', ...this.notes.map((n) => `- ${n}`))
    return lines.join('\n')
  }
}

export const cpuExtra = { key: 'clientCpu', title: 'client CPU', format: (v) => `${Math.round(v * 100)}%` }
export const serverCpuExtra = { key: 'serverCpu', title: 'server CPU', format: (v) => `${Math.round(v * 100)}%` }
export const mib = (bytes) => bytes / 1024 / 1024
