// What the till does with text typed or scanned into its inputs: keyboard-wedge scanners type
// the code and press Enter, so every input sees the same thing a person would type. These are
// pure functions (no API calls) so that the rules can be tested on their own.

/** A scanner may leave a trailing CR/LF/Tab; people leave spaces. */
export function normalizeScan(text: string): string {
  return text.replace(/[\r\n\t]+/g, '').trim()
}

export type MemberStep =
  | { kind: 'lookup'; param: 'phone' | 'card_no' | 'code'; value: string }
  | { kind: 'search'; q: string }

/**
 * The lookups to try, in order, for what the cashier typed into the one member input:
 * a whole phone number, its last 4 digits (手机尾号), a card number, a scanned member code,
 * or a name. Exact lookups come first (GET /members/lookup); a search (GET /members?q=)
 * comes last and lets the cashier choose when several members match. A 404 moves on to the
 * next step.
 */
export function memberLookupPlan(raw: string): MemberStep[] {
  const text = normalizeScan(raw)
  if (!text) return []
  const compact = text.replace(/[\s-]/g, '')
  if (/^\d+$/.test(compact)) {
    if (compact.length < 6) return [{ kind: 'search', q: compact }]
    if (compact.length > 32) return [{ kind: 'search', q: compact.slice(0, 64) }]
    const steps: MemberStep[] = []
    const phoneLike = compact.length <= 20
    const mobile = /^1\d{10}$/.test(compact)
    if (mobile) steps.push({ kind: 'lookup', param: 'phone', value: compact })
    steps.push({ kind: 'lookup', param: 'card_no', value: compact })
    if (phoneLike && !mobile) steps.push({ kind: 'lookup', param: 'phone', value: compact })
    steps.push({ kind: 'lookup', param: 'code', value: compact })
    steps.push({ kind: 'search', q: compact })
    return steps
  }
  if (/^[0-9A-Za-z]{4,32}$/.test(compact) && /\d/.test(compact)) {
    return [
      { kind: 'lookup', param: 'code', value: compact },
      { kind: 'lookup', param: 'card_no', value: compact },
      { kind: 'search', q: compact },
    ]
  }
  return [{ kind: 'search', q: text.slice(0, 64) }]
}

/** "138****1234" stays; a full number shown on a customer-facing screen is masked the same way. */
export function maskPhone(phone: string | null | undefined): string {
  if (!phone) return ''
  if (phone.includes('*') || phone.length < 7) return phone
  return `${phone.slice(0, 3)}${'*'.repeat(phone.length - 7)}${phone.slice(-4)}`
}

export interface ItemEntry {
  qty: number
  query: string
}

/**
 * What was typed into the item input: a barcode, SKU or name, optionally with a quantity
 * first ("3*6900001234005", "3x DRK-001", "3×可乐"). Null for nothing usable.
 */
export function parseItemEntry(raw: string): ItemEntry | null {
  const text = normalizeScan(raw)
  if (!text) return null
  const m = /^(\d{1,5})\s*[*xX×]\s*(\S.*)$/.exec(text)
  if (m) {
    const qty = Number(m[1])
    if (qty >= 1 && qty <= 100000) return { qty, query: m[2].trim() }
  }
  return { qty: 1, query: text }
}

/** Whether the query names one product exactly (barcode or SKU, SKU case-insensitive). */
export function matchesCode(p: { sku: string; barcode: string | null }, query: string): boolean {
  const q = query.trim()
  return p.barcode === q || p.sku.toLowerCase() === q.toLowerCase()
}

export interface BasketLine {
  key: number
  sku: string | null
  name: string
  unit_price: number
  qty: number
}

export const MAX_QTY = 100000

/**
 * Adds units of a product to the basket: a product already in it gets its quantity raised
 * (scanning the same item again); a new one goes at the end. Open items (no SKU) always get
 * their own line. Returns a new array; the line that changed is `changed`.
 */
export function addToBasket(
  lines: BasketLine[],
  item: { sku: string | null; name: string; unit_price: number },
  qty: number,
  nextKey: () => number,
): { lines: BasketLine[]; changed: BasketLine } {
  if (item.sku !== null) {
    const i = lines.findIndex((l) => l.sku === item.sku)
    if (i >= 0) {
      const changed = { ...lines[i], qty: Math.min(MAX_QTY, lines[i].qty + qty) }
      const out = lines.slice()
      out[i] = changed
      return { lines: out, changed }
    }
  }
  const changed: BasketLine = { key: nextKey(), sku: item.sku, name: item.name, unit_price: item.unit_price, qty }
  return { lines: [...lines, changed], changed }
}

export interface CheckoutBody {
  store_id: number
  member_id?: number
  items: ({ sku: string; qty: number } | { name: string; unit_price: number; qty: number })[]
  coupon_code?: string
  redeem_points?: number
}

/** The body of POST /checkout/quote and /checkout, fields left out when they do not apply. */
export function buildCheckoutBody(s: {
  storeId: number
  memberId: number | null
  lines: BasketLine[]
  couponCode: string | null
  redeemPoints: number
}): CheckoutBody {
  const body: CheckoutBody = {
    store_id: s.storeId,
    items: s.lines.map((l) =>
      l.sku !== null ? { sku: l.sku, qty: l.qty } : { name: l.name, unit_price: l.unit_price, qty: l.qty },
    ),
  }
  if (s.memberId !== null) {
    body.member_id = s.memberId
    if (s.couponCode) body.coupon_code = s.couponCode
    if (s.redeemPoints > 0) body.redeem_points = s.redeemPoints
  }
  return body
}

/** "items[2].sku" → 2; anything else → null. */
export function itemIndexOfField(field: string | undefined): number | null {
  const m = field ? /^items\[(\d+)\]/.exec(field) : null
  return m ? Number(m[1]) : null
}

/** "lines[1].qty" → 1; anything else → null. */
export function refundIndexOfField(field: string | undefined): number | null {
  const m = field ? /^lines\[(\d+)\]/.exec(field) : null
  return m ? Number(m[1]) : null
}

/** Whether a coupon can be offered now (active and inside its validity window). */
export function couponUsableNow(
  c: { status: string; valid_from: string; valid_until: string },
  now: Date = new Date(),
): boolean {
  if (c.status !== 'active') return false
  const t = now.getTime()
  return Date.parse(c.valid_from) <= t && t < Date.parse(c.valid_until)
}

/** Units of each order line still refundable: bought less refunded so far. */
export function refundableByLine(
  lines: { line: number; qty: number }[],
  refunds: { lines: { line: number; qty: number }[] }[],
): Map<number, number> {
  const left = new Map<number, number>()
  for (const l of lines) left.set(l.line, l.qty)
  for (const r of refunds) for (const l of r.lines) left.set(l.line, (left.get(l.line) ?? 0) - l.qty)
  for (const [k, v] of left) if (v < 0) left.set(k, 0)
  return left
}

/** Points as money: `points / redeem.points × redeem.amount`, in fen (floored). */
export function pointsValue(points: number, rule: { points: number; amount: number } | null): number | null {
  if (!rule || rule.points <= 0) return null
  return Math.floor((points * rule.amount) / rule.points)
}
