// Small display helpers shared by the cashier and the order pages.

function pad(n: number): string {
  return String(n).padStart(2, '0')
}

/** RFC 3339 → "2026-11-25 20:42:06" in the browser's time zone. */
export function formatTime(iso: string | null | undefined, seconds = false): string {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  const s = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`
  return seconds ? `${s}:${pad(d.getSeconds())}` : s
}

/** "2026-11-25" for a local Date. */
export function localDate(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`
}

/** Local midnight of a "YYYY-MM-DD" date as RFC 3339 with the browser's offset. */
export function startOfDayRfc3339(date: string, addDays = 0): string {
  const [y, m, d] = date.split('-').map(Number)
  const t = new Date(y, m - 1, d + addDays, 0, 0, 0)
  const off = -t.getTimezoneOffset()
  const sign = off >= 0 ? '+' : '-'
  const abs = Math.abs(off)
  return `${localDate(t)}T00:00:00${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
}

/** A discount rate in basis points as Chinese 折: 9500 → "9.5折", 9000 → "9折", 8850 → "8.85折". */
export function zhe(bp: number): string {
  const whole = Math.trunc(bp / 1000)
  const rest = String(Math.abs(bp % 1000)).padStart(3, '0').replace(/0+$/, '')
  return rest ? `${whole}.${rest}折` : `${whole}折`
}
