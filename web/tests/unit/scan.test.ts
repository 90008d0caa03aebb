import { describe, expect, it } from 'vitest'
import {
  addToBasket,
  buildCheckoutBody,
  couponUsableNow,
  itemIndexOfField,
  maskPhone,
  matchesCode,
  memberLookupPlan,
  normalizeScan,
  parseItemEntry,
  pointsValue,
  refundableByLine,
  refundIndexOfField,
  type BasketLine,
} from '@/utils/scan'

describe('memberLookupPlan', () => {
  it('treats 4 digits as the phone tail (a search)', () => {
    expect(memberLookupPlan('1234')).toEqual([{ kind: 'search', q: '1234' }])
  })
  it('tries a mobile number as a phone first, then as a card or code', () => {
    expect(memberLookupPlan(' 138 1234 1234\r\n').map((s) => (s.kind === 'lookup' ? s.param : 'search'))).toEqual([
      'phone',
      'card_no',
      'code',
      'search',
    ])
  })
  it('tries 12 digits as a card number first', () => {
    const plan = memberLookupPlan('600123456789')
    expect(plan[0]).toEqual({ kind: 'lookup', param: 'card_no', value: '600123456789' })
    expect(plan.map((s) => (s.kind === 'lookup' ? s.param : 'search'))).toEqual(['card_no', 'phone', 'code', 'search'])
  })
  it('treats letters and digits as a scanned code', () => {
    expect(memberLookupPlan('AB12CD34')[0]).toEqual({ kind: 'lookup', param: 'code', value: 'AB12CD34' })
  })
  it('searches names', () => {
    expect(memberLookupPlan('张伟')).toEqual([{ kind: 'search', q: '张伟' }])
    expect(memberLookupPlan('   ')).toEqual([])
  })
})

describe('item entry', () => {
  it('reads a barcode, with an optional quantity first', () => {
    expect(parseItemEntry('6900001234005\n')).toEqual({ qty: 1, query: '6900001234005' })
    expect(parseItemEntry('3*6900001234005')).toEqual({ qty: 3, query: '6900001234005' })
    expect(parseItemEntry('2 x DRK-001')).toEqual({ qty: 2, query: 'DRK-001' })
    expect(parseItemEntry('2×可乐')).toEqual({ qty: 2, query: '可乐' })
    expect(parseItemEntry('0*abc')).toEqual({ qty: 1, query: '0*abc' })
    expect(parseItemEntry('  ')).toBeNull()
  })
  it('matches a product by barcode or SKU exactly', () => {
    const p = { sku: 'DRK-001', barcode: '6900001234005' }
    expect(matchesCode(p, '6900001234005')).toBe(true)
    expect(matchesCode(p, 'drk-001')).toBe(true)
    expect(matchesCode(p, '690000123400')).toBe(false)
    expect(normalizeScan('\tX\r\n')).toBe('X')
  })
})

describe('basket', () => {
  let n = 0
  const key = () => ++n
  it('raises the quantity when the same product is scanned again', () => {
    let lines: BasketLine[] = []
    lines = addToBasket(lines, { sku: 'A', name: 'A', unit_price: 100 }, 1, key).lines
    lines = addToBasket(lines, { sku: 'B', name: 'B', unit_price: 200 }, 1, key).lines
    const r = addToBasket(lines, { sku: 'A', name: 'A', unit_price: 100 }, 2, key)
    expect(r.lines.map((l) => [l.sku, l.qty])).toEqual([
      ['A', 3],
      ['B', 1],
    ])
    expect(r.changed.sku).toBe('A')
    expect(lines[0].qty).toBe(1) // not mutated
  })
  it('gives open items their own lines', () => {
    let lines: BasketLine[] = []
    lines = addToBasket(lines, { sku: null, name: '包装', unit_price: 300 }, 1, key).lines
    lines = addToBasket(lines, { sku: null, name: '包装', unit_price: 300 }, 1, key).lines
    expect(lines.length).toBe(2)
  })
  it('builds the checkout body with only what applies', () => {
    const lines: BasketLine[] = [
      { key: 1, sku: 'A', name: 'A', unit_price: 100, qty: 2 },
      { key: 2, sku: null, name: '包装', unit_price: 300, qty: 1 },
    ]
    expect(buildCheckoutBody({ storeId: 1, memberId: null, lines, couponCode: 'X', redeemPoints: 100 })).toEqual({
      store_id: 1,
      items: [
        { sku: 'A', qty: 2 },
        { name: '包装', unit_price: 300, qty: 1 },
      ],
    })
    expect(buildCheckoutBody({ storeId: 2, memberId: 42, lines, couponCode: 'X', redeemPoints: 100 })).toMatchObject({
      store_id: 2,
      member_id: 42,
      coupon_code: 'X',
      redeem_points: 100,
    })
    expect(buildCheckoutBody({ storeId: 2, memberId: 42, lines, couponCode: null, redeemPoints: 0 })).not.toHaveProperty(
      'redeem_points',
    )
  })
})

describe('helpers', () => {
  it('masks phone numbers', () => {
    expect(maskPhone('13812341234')).toBe('138****1234')
    expect(maskPhone('138****1234')).toBe('138****1234')
    expect(maskPhone(null)).toBe('')
  })
  it('reads indexes from error fields', () => {
    expect(itemIndexOfField('items[3].sku')).toBe(3)
    expect(itemIndexOfField('coupon_code')).toBeNull()
    expect(refundIndexOfField('lines[1].qty')).toBe(1)
  })
  it('knows which coupons can be used now', () => {
    const c = { status: 'active', valid_from: '2026-11-01T00:00:00Z', valid_until: '2026-12-01T00:00:00Z' }
    expect(couponUsableNow(c, new Date('2026-11-20T00:00:00Z'))).toBe(true)
    expect(couponUsableNow(c, new Date('2026-12-01T00:00:00Z'))).toBe(false)
    expect(couponUsableNow({ ...c, status: 'used' }, new Date('2026-11-20T00:00:00Z'))).toBe(false)
  })
  it('counts what is left to refund per line', () => {
    const left = refundableByLine(
      [
        { line: 0, qty: 2 },
        { line: 1, qty: 1 },
      ],
      [{ lines: [{ line: 0, qty: 1 }] }, { lines: [{ line: 0, qty: 1 }] }],
    )
    expect([left.get(0), left.get(1)]).toEqual([0, 1])
  })
  it('values points', () => {
    expect(pointsValue(1500, { points: 100, amount: 100 })).toBe(1500)
    expect(pointsValue(300, { points: 100, amount: 50 })).toBe(150)
    expect(pointsValue(300, null)).toBeNull()
  })
})
