// Display helpers shared by every page (times, dates, points, rates), and the exact conversions
// between the numbers the API keeps (basis points, fen) and the text people type. Money itself
// is in money.ts.

function pad(n: number): string {
  return String(n).padStart(2, '0')
}

// ---- times and dates -------------------------------------------------------------------------

/** An RFC 3339 time → "2026-11-23 16:05" (or "2026-11-23 16:05:09") in the browser's time zone. */
export function formatTime(iso: string | null | undefined, seconds = false): string {
  if (!iso) return '—'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  const s = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`
  return seconds ? `${s}:${pad(d.getSeconds())}` : s
}

/** An RFC 3339 time → "2026-11-23" in the browser's time zone. */
export function formatDay(iso: string | null | undefined): string {
  return formatTime(iso).slice(0, 10)
}

/** "1990-05-17" stays; "--05-17" (no year: the caller lacks members.pii) → "05-17". */
export function formatBirthday(b: string | null | undefined): string {
  if (!b) return '—'
  return b.startsWith('--') ? b.slice(2) : b
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

/** A Date (from a date picker) → RFC 3339 UTC, or undefined. */
export function toIso(d: Date | string | null | undefined): string | undefined {
  if (!d) return undefined
  const x = d instanceof Date ? d : new Date(d)
  return Number.isNaN(x.getTime()) ? undefined : x.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

// ---- members -------------------------------------------------------------------------------

/** Signed points: +200 / -50. */
export function signedPoints(n: number): string {
  const s = Math.abs(n).toLocaleString('en-US')
  return n > 0 ? `+${s}` : n < 0 ? `-${s}` : '0'
}

/** True when the value is the masked form the API sends without members.pii. */
export function isMaskedPhone(p: string | null | undefined): boolean {
  return !!p && p.includes('*')
}

// ---- numbers typed and shown ---------------------------------------------------------------

/** "123" → 123; anything but a whole number (optionally signed) → null. */
export function parseIntText(text: string, { signed = false } = {}): number | null {
  const s = text.trim().replace(/,/g, '')
  if (!(signed ? /^[+-]?\d{1,15}$/ : /^\d{1,15}$/).test(s)) return null
  const n = Number(s)
  return Number.isSafeInteger(n) ? n : null
}

/** A decimal text with at most `places` decimals → that number × 10^places, exactly. */
function scaledInt(text: string, places: number): number | null {
  const s = text.trim().replace(/[%×xX倍]$/, '').trim()
  const m = new RegExp(`^(\\d{1,9})(?:\\.(\\d{0,${places}}))?$`).exec(s)
  if (!m) return null
  const n = Number(m[1]) * 10 ** places + Number((m[2] ?? '').padEnd(places, '0') || '0')
  return Number.isSafeInteger(n) ? n : null
}

function unscaled(n: number, places: number): string {
  const sign = n < 0 ? '-' : ''
  const abs = Math.abs(n)
  const div = 10 ** places
  const whole = Math.floor(abs / div)
  const frac = String(abs % div).padStart(places, '0').replace(/0+$/, '')
  return frac ? `${sign}${whole}.${frac}` : `${sign}${whole}`
}

/** "95" / "12.5" / "12.34%" → basis points (9500 / 1250 / 1234); null when not such a number. */
export function percentToBp(text: string): number | null {
  return scaledInt(text, 2)
}

/** 9500 → "95", 1250 → "12.5" (for an input). */
export function bpToPercentText(bp: number): string {
  return unscaled(bp, 2)
}

/** "1.5" / "2×" / "1.25" → basis points of a multiplier (15000 / 20000 / 12500). */
export function multiplierToBp(text: string): number | null {
  return scaledInt(text, 4)
}

/** 15000 → "1.5" (for an input). */
export function bpToMultiplierText(bp: number): string {
  return unscaled(bp, 4)
}

/** 15000 → "1.5×". */
export function formatMultiplier(bp: number | null | undefined): string {
  return bp === null || bp === undefined ? '—' : `${unscaled(bp, 4)}×`
}

/** 9500 → "9.5" (折), 9000 → "9", 8850 → "8.85". */
export function bpToZhe(bp: number): string {
  return unscaled(bp, 3)
}

/**
 * A discount rate in basis points as Chinese 折: 9500 → "9.5折", 9000 → "9折", 8850 → "8.85折".
 * (A rate between -1000 and 0 comes out without its sign; bpToZhe keeps it.)
 */
export function zhe(bp: number): string {
  const whole = Math.trunc(bp / 1000)
  const rest = String(Math.abs(bp % 1000)).padStart(3, '0').replace(/0+$/, '')
  return rest ? `${whole}.${rest}折` : `${whole}折`
}

/** Fen → "12.50" without thousands separators (for an input). */
export function fenToInput(fen: number | null | undefined): string {
  if (fen === null || fen === undefined) return ''
  const abs = Math.abs(fen)
  return `${fen < 0 ? '-' : ''}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`
}
