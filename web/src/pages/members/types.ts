// The shapes of the member-related answers (docs/openapi.yaml: Member, LedgerEntry, TierChange,
// Coupon, Order, Store, Tier), as far as the member and dashboard pages read them.

export interface TierRef {
  id: number
  name: string
}

export interface PointsLot {
  points: number
  expires_on: string
}

export type Gender = 'male' | 'female' | 'other'

export interface Member {
  id: number
  card_no: string
  name: string
  /** Masked (138****1234) unless the caller holds members.pii. */
  phone: string
  gender: Gender | null
  /** YYYY-MM-DD, or --MM-DD without members.pii, or null. */
  birthday: string | null
  store_id: number | null
  referral_code: string
  referrer_id: number | null
  tags: string[]
  note: string | null
  tier: TierRef | null
  points: number
  points_expiring: PointsLot[]
  total_spend: number
  created_at: string
  updated_at: string
}

export interface LedgerEntry {
  id: number
  kind: string
  points: number
  balance_after: number
  order_id: number | null
  reason: string | null
  expires_on: string | null
  created_at: string
  staff_id: number | null
}

export interface PointsAdjustResult {
  entry: LedgerEntry
  points: number
  balance: number
}

export interface TierChange {
  id: number
  from_tier_id: number | null
  to_tier_id: number | null
  reason: string
  created_at: string
}

export interface Tier {
  id: number
  name: string
  rank: number
  threshold: number
  discount_bp: number
  points_multiplier_bp: number
}

export interface StoreRow {
  id: number
  code: string
  name: string
}

export interface MemberCoupon {
  id: number
  code: string
  template_id: number
  member_id: number
  name: string
  status: string
  value: number
  kind: 'amount_off' | 'percent_off'
  min_spend: number
  valid_from: string
  valid_until: string
  order_id: number | null
}

export interface OrderRow {
  order_id: number
  store_id: number
  member_id: number | null
  gross: number
  total: number
  cash_due: number
  points_redeemed: number
  points_value: number
  points_earned: number
  cash_refunded: number
  points_clawed_back: number
  refunds: unknown[]
  lines: { qty: number }[]
  created_at: string
}
