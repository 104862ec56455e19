interface DateParts { Y: number, m: number, d: number, H: number, M: number, S: number }

function partsIn (date: Date, timeZone: string | undefined): DateParts {
  if (timeZone === undefined) {
    return {
      Y: date.getUTCFullYear(),
      m: date.getUTCMonth() + 1,
      d: date.getUTCDate(),
      H: date.getUTCHours(),
      M: date.getUTCMinutes(),
      S: date.getUTCSeconds()
    }
  }
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric'
  })
  const found: Record<string, number> = {}
  for (const part of format.formatToParts(date)) found[part.type] = Number(part.value)
  return { Y: found.year!, m: found.month!, d: found.day!, H: found.hour!, M: found.minute!, S: found.second! }
}

const pad = (value: number, width = 2): string => String(value).padStart(width, '0')

function dayOfYear ({ Y, m, d }: DateParts): number {
  return Math.round((Date.UTC(Y, m - 1, d) - Date.UTC(Y, 0, 1)) / 86_400_000) + 1
}

/** Django's strftime subset for upload_to: %Y %m %d %H %M %S %y %j %%, in UTC unless a zone is given. */
export function strftime (template: string, date: Date, timeZone?: string): string {
  if (!template.includes('%')) return template
  const p = partsIn(date, timeZone)
  return template.replace(/%([YmdHMSyj%])/g, (_, code: string) => {
    switch (code) {
      case 'Y': return String(p.Y)
      case 'm': return pad(p.m)
      case 'd': return pad(p.d)
      case 'H': return pad(p.H)
      case 'M': return pad(p.M)
      case 'S': return pad(p.S)
      case 'y': return pad(p.Y % 100)
      case 'j': return pad(dayOfYear(p), 3)
      default: return '%'
    }
  })
}
