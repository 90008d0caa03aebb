// Calendar days in the business's time zone (settings.points.time_zone, Asia/Shanghai by
// default), whatever the browser's own zone is: "today" at the till is the shop's today.

export const DEFAULT_TZ = 'Asia/Shanghai'

const formatters = new Map<string, Intl.DateTimeFormat>()
function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
    formatters.set(tz, f)
  }
  return f
}

/** A usable IANA zone name: the one given when the browser knows it, else the default. */
export function safeZone(tz: string | null | undefined): string {
  if (!tz) return DEFAULT_TZ
  try {
    formatter(tz)
    return tz
  } catch {
    return DEFAULT_TZ
  }
}

function parts(date: Date, tz: string): { y: number; m: number; d: number; h: number; mi: number; s: number } {
  const p: Record<string, number> = {}
  for (const x of formatter(tz).formatToParts(date)) if (x.type !== 'literal') p[x.type] = Number(x.value)
  return { y: p.year, m: p.month, d: p.day, h: p.hour % 24, mi: p.minute, s: p.second }
}

/** The zone's offset from UTC at that instant, in ms (Asia/Shanghai: +8 h). */
export function offsetMs(date: Date, tz: string): number {
  const p = parts(date, tz)
  const asUtc = Date.UTC(p.y, p.m - 1, p.d, p.h, p.mi, p.s)
  return asUtc - Math.floor(date.getTime() / 1000) * 1000
}

function pad(n: number): string {
  return String(n).padStart(2, '0')
}

/** The calendar day ("2026-11-23") of an instant in the zone. */
export function dayOf(date: Date | string, tz: string): string {
  const p = parts(typeof date === 'string' ? new Date(date) : date, tz)
  return `${p.y}-${pad(p.m)}-${pad(p.d)}`
}

/** The instant a calendar day starts in the zone. */
export function startOfDay(day: string, tz: string): Date {
  const [y, m, d] = day.split('-').map(Number)
  const guess = Date.UTC(y, m - 1, d)
  let t = guess - offsetMs(new Date(guess), tz)
  const again = guess - offsetMs(new Date(t), tz)
  if (again !== t) t = again
  return new Date(t)
}

/** The day n days after (or before, n < 0) a calendar day. */
export function addDays(day: string, n: number): string {
  const [y, m, d] = day.split('-').map(Number)
  const t = new Date(Date.UTC(y, m - 1, d + n))
  return `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`
}

/** 0 for Monday … 6 for Sunday. */
export function weekdayMon0(day: string): number {
  const [y, m, d] = day.split('-').map(Number)
  return (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7
}

/** The Monday starting the week of a day. */
export function mondayOf(day: string): string {
  return addDays(day, -weekdayMon0(day))
}

/** RFC 3339 UTC without milliseconds, as the API's from/to take it. */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}
