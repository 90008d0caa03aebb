// Sales, member and points figures computed in the browser from the orders of a few days (the
// API has no report endpoint yet). Money stays integer fen.
import type { Order } from '@/api/types'
import { dayOf } from './time'

export interface Totals {
  orders: number
  /** Σ total: what the orders came to after discounts (cash and points together), in fen. */
  sales: number
  /** Σ cash_due: paid in money, in fen. */
  cash: number
  /** Σ cash_refunded of these orders, in fen. */
  refunded: number
  memberOrders: number
  memberSales: number
  members: Set<number>
  pointsEarned: number
  pointsRedeemed: number
  pointsClawedBack: number
}

export function emptyTotals(): Totals {
  return {
    orders: 0,
    sales: 0,
    cash: 0,
    refunded: 0,
    memberOrders: 0,
    memberSales: 0,
    members: new Set(),
    pointsEarned: 0,
    pointsRedeemed: 0,
    pointsClawedBack: 0,
  }
}

export function addOrder(t: Totals, o: Order): void {
  t.orders += 1
  t.sales += o.total
  t.cash += o.cash_due
  t.refunded += o.cash_refunded
  t.pointsEarned += o.points_earned
  t.pointsRedeemed += o.points_redeemed
  t.pointsClawedBack += o.points_clawed_back
  if (o.member_id !== null) {
    t.memberOrders += 1
    t.memberSales += o.total
    t.members.add(o.member_id)
  }
}

export function merge(list: Totals[]): Totals {
  const out = emptyTotals()
  for (const t of list) {
    out.orders += t.orders
    out.sales += t.sales
    out.cash += t.cash
    out.refunded += t.refunded
    out.memberOrders += t.memberOrders
    out.memberSales += t.memberSales
    out.pointsEarned += t.pointsEarned
    out.pointsRedeemed += t.pointsRedeemed
    out.pointsClawedBack += t.pointsClawedBack
    for (const m of t.members) out.members.add(m)
  }
  return out
}

/** Orders grouped by their calendar day in the zone, for the days asked (others are left out). */
export function byDay(orders: Order[], days: string[], tz: string): Map<string, Totals> {
  const out = new Map(days.map((d) => [d, emptyTotals()]))
  for (const o of orders) {
    const t = out.get(dayOf(o.created_at, tz))
    if (t) addOrder(t, o)
  }
  return out
}

/** Sales per store over the orders given: [store_id, fen] by sales, largest first. */
export function byStore(orders: Order[]): [number, number][] {
  const m = new Map<number, number>()
  for (const o of orders) m.set(o.store_id, (m.get(o.store_id) ?? 0) + o.total)
  return [...m].sort((a, b) => b[1] - a[1])
}

/** Change from `before` to `now` in whole percent, or null when there is nothing to compare. */
export function changePercent(now: number, before: number): number | null {
  if (before <= 0) return null
  return Math.round(((now - before) * 100) / before)
}
