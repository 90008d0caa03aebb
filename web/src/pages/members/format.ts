// Small display helpers shared by the member and dashboard pages.

function pad(n: number): string {
  return String(n).padStart(2, '0')
}

/** An RFC 3339 time → "2026-11-23 16:05" in the browser's time zone. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`
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

/** Signed points: +200 / -50. */
export function signedPoints(n: number): string {
  const s = Math.abs(n).toLocaleString('en-US')
  return n > 0 ? `+${s}` : n < 0 ? `-${s}` : '0'
}

/** True when the value is the masked form the API sends without members.pii. */
export function isMaskedPhone(p: string | null | undefined): boolean {
  return !!p && p.includes('*')
}

/** Save a value as a pretty-printed JSON file download. */
export function downloadJson(filename: string, data: unknown) {
  const blob = new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' })
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = filename
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 1000)
}
