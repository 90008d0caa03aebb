import { describe, expect, it } from 'vitest'
import { buildQuery, newIdempotencyKey } from '@/api/client'

describe('buildQuery', () => {
  it('nothing to send: empty string', () => {
    expect(buildQuery()).toBe('')
    expect(buildQuery({})).toBe('')
    expect(buildQuery({ a: undefined, b: null, c: '' })).toBe('')
  })
  it('drops undefined, null and empty values, keeps the rest in order', () => {
    expect(buildQuery({ q: '138', cursor: null, store_id: undefined, tag: '', limit: 50 })).toBe('?q=138&limit=50')
  })
  it('keeps zero and false', () => {
    expect(buildQuery({ limit: 0, active: false })).toBe('?limit=0&active=false')
    expect(buildQuery({ active: true })).toBe('?active=true')
  })
  it('encodes what would break the query string', () => {
    expect(buildQuery({ q: 'a b&c=d' })).toBe('?q=a+b%26c%3Dd')
    expect(buildQuery({ q: '张三' })).toBe('?q=%E5%BC%A0%E4%B8%89')
    expect(buildQuery({ cursor: 'eyJpZCI6MTB9+/=' })).toBe('?cursor=eyJpZCI6MTB9%2B%2F%3D')
    expect(buildQuery({ 'a&b': 1 })).toBe('?a%26b=1')
  })
  it('round-trips through URLSearchParams', () => {
    const q = { q: '¥1,234.50 #x', from: '2026-01-01T00:00:00Z', n: -3 }
    const back = Object.fromEntries(new URLSearchParams(buildQuery(q).slice(1)))
    expect(back).toEqual({ q: '¥1,234.50 #x', from: '2026-01-01T00:00:00Z', n: '-3' })
  })
})

describe('newIdempotencyKey', () => {
  it('printable ASCII, prefixed, different every time', () => {
    const a = newIdempotencyKey()
    const b = newIdempotencyKey('sale')
    expect(a).toMatch(/^console-[0-9a-f]{32}$/)
    expect(b).toMatch(/^sale-[0-9a-f]{32}$/)
    expect(a).not.toBe(newIdempotencyKey())
  })
})
