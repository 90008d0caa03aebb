import { describe, expect, it } from 'vitest'
import { fenToYuan, formatBp, formatMoney, formatPoints, yuanToFen } from '@/utils/money'

describe('fenToYuan', () => {
  it('writes whole fen as yuan with two decimals', () => {
    expect(fenToYuan(12345)).toBe('123.45')
    expect(fenToYuan(100)).toBe('1.00')
    expect(fenToYuan(5)).toBe('0.05')
    expect(fenToYuan(10)).toBe('0.10')
  })
  it('zero', () => {
    expect(fenToYuan(0)).toBe('0.00')
    expect(fenToYuan(-0)).toBe('0.00')
  })
  it('negative amounts keep their sign in front', () => {
    expect(fenToYuan(-5)).toBe('-0.05')
    expect(fenToYuan(-12345)).toBe('-123.45')
    expect(fenToYuan(-123456789)).toBe('-1,234,567.89')
  })
  it('big numbers get thousands separators and stay exact', () => {
    expect(fenToYuan(123456)).toBe('1,234.56')
    expect(fenToYuan(100000000000)).toBe('1,000,000,000.00')
    expect(fenToYuan(Number.MAX_SAFE_INTEGER)).toBe('90,071,992,547,409.91')
    expect(fenToYuan(-Number.MAX_SAFE_INTEGER)).toBe('-90,071,992,547,409.91')
  })
  it('refuses what is not a whole number of fen', () => {
    expect(fenToYuan(1.5)).toBe('—')
    expect(fenToYuan(0.1 + 0.2)).toBe('—')
    expect(fenToYuan(NaN)).toBe('—')
    expect(fenToYuan(Infinity)).toBe('—')
    expect(fenToYuan(2 ** 53)).toBe('—')
  })
})

describe('formatMoney', () => {
  it('puts the yuan sign after the minus', () => {
    expect(formatMoney(12345)).toBe('¥123.45')
    expect(formatMoney(0)).toBe('¥0.00')
    expect(formatMoney(-5)).toBe('-¥0.05')
    expect(formatMoney(-123456)).toBe('-¥1,234.56')
    expect(formatMoney(999999999999)).toBe('¥9,999,999,999.99')
  })
  it('does not show a price for a non-integer', () => {
    expect(formatMoney(1.5)).toBe('¥—')
  })
})

describe('yuanToFen', () => {
  it('reads amounts with up to two decimals', () => {
    expect(yuanToFen('12.3')).toBe(1230)
    expect(yuanToFen('12.30')).toBe(1230)
    expect(yuanToFen('12')).toBe(1200)
    expect(yuanToFen('0')).toBe(0)
    expect(yuanToFen('0.01')).toBe(1)
    expect(yuanToFen('0.1')).toBe(10)
    expect(yuanToFen('12.')).toBe(1200)
  })
  it('reads what formatMoney writes', () => {
    expect(yuanToFen('¥1,234.50')).toBe(123450)
    expect(yuanToFen(' ¥1,234.5 ')).toBe(123450)
    expect(yuanToFen('1,234')).toBe(123400)
    for (const fen of [0, 1, 99, 100, 12345, 123456789, 999999999999])
      expect(yuanToFen(formatMoney(fen))).toBe(fen)
  })
  it('big amounts stay exact', () => {
    expect(yuanToFen('9999999999999.99')).toBe(999999999999999)
    expect(yuanToFen('90071992547409.91')).toBeNull() // 14 digits of yuan: refused
  })
  it('refuses to round', () => {
    expect(yuanToFen('12.345')).toBeNull()
    expect(yuanToFen('0.001')).toBeNull()
    expect(yuanToFen('1.999')).toBeNull()
  })
  it('refuses negative amounts', () => {
    expect(yuanToFen('-1')).toBeNull()
    expect(yuanToFen('-0.01')).toBeNull()
    expect(yuanToFen('-¥1.00')).toBeNull()
  })
  it('refuses what is not an amount', () => {
    for (const s of ['', ' ', '.', '.5', 'abc', '1e3', '0x10', '12,34.5.6', '1.2.3', '+1', '1 000', '¥', 'NaN', 'Infinity'])
      expect(yuanToFen(s), JSON.stringify(s)).toBeNull()
  })
})

describe('formatPoints', () => {
  it('whole points with thousands separators', () => {
    expect(formatPoints(0)).toBe('0')
    expect(formatPoints(999)).toBe('999')
    expect(formatPoints(1234)).toBe('1,234')
    expect(formatPoints(1234567)).toBe('1,234,567')
    expect(formatPoints(-1234)).toBe('-1,234')
    expect(formatPoints(Number.MAX_SAFE_INTEGER)).toBe('9,007,199,254,740,991')
  })
  it('refuses fractions', () => {
    expect(formatPoints(1.5)).toBe('—')
    expect(formatPoints(NaN)).toBe('—')
  })
})

describe('formatBp', () => {
  it('basis points as a percentage without trailing zeros', () => {
    expect(formatBp(10000)).toBe('100%')
    expect(formatBp(9500)).toBe('95%')
    expect(formatBp(15000)).toBe('150%')
    expect(formatBp(1250)).toBe('12.5%')
    expect(formatBp(1234)).toBe('12.34%')
    expect(formatBp(8801)).toBe('88.01%')
    expect(formatBp(10)).toBe('0.1%')
    expect(formatBp(1)).toBe('0.01%')
    expect(formatBp(0)).toBe('0%')
  })
  it('negative rates', () => {
    expect(formatBp(-1250)).toBe('-12.5%')
    expect(formatBp(-10000)).toBe('-100%')
    expect(formatBp(-50)).toBe('-0.5%')
  })
})
