// Money is integer fen (分) end to end, as in the API; these turn it into text and back
// without ever going through floating point.

/** 12345 → "123.45", -5 → "-0.05". */
export function fenToYuan(fen: number): string {
  if (!Number.isSafeInteger(fen)) return '—'
  const sign = fen < 0 ? '-' : ''
  const abs = Math.abs(fen)
  const yuan = Math.floor(abs / 100)
  const cents = String(abs % 100).padStart(2, '0')
  return `${sign}${yuan.toLocaleString('en-US')}.${cents}`
}

/** 12345 → "¥123.45". */
export function formatMoney(fen: number): string {
  const s = fenToYuan(fen)
  return s.startsWith('-') ? `-¥${s.slice(1)}` : `¥${s}`
}

/**
 * "12.3" / "12.30" / "12" / "¥1,234.5" → fen; null when the text is not an amount with at most
 * two decimals. Negative amounts are refused: prices and amounts typed at the till are never
 * negative.
 */
export function yuanToFen(text: string): number | null {
  const s = text.trim().replace(/^¥/, '').replace(/,/g, '')
  const m = /^(\d{1,13})(?:\.(\d{0,2}))?$/.exec(s)
  if (!m) return null
  const fen = Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0') || '0')
  return Number.isSafeInteger(fen) ? fen : null
}

/** Points are whole numbers, shown with thousands separators. */
export function formatPoints(points: number): string {
  return Number.isSafeInteger(points) ? points.toLocaleString('en-US') : '—'
}

/** Basis points (10000 = 100%) → "95%" / "12.5%". */
export function formatBp(bp: number): string {
  if (!Number.isSafeInteger(bp)) return '—'
  const sign = bp < 0 ? '-' : ''
  const abs = Math.abs(bp)
  const whole = Math.floor(abs / 100)
  const rest = abs % 100
  return rest === 0 ? `${sign}${whole}%` : `${sign}${whole}.${String(rest).padStart(2, '0').replace(/0$/, '')}%`
}
