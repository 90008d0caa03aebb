// The shapes of the API's answers (docs/openapi.yaml), as far as the console reads them: one
// place for every page (members, orders, the till, the dashboard and the admin pages).

// ---- stores, tiers, members ----------------------------------------------------------------

export interface Store {
  id: number
  code: string
  name: string
  address: string | null
  phone: string | null
  created_at: string
  updated_at: string
}

export interface Tier {
  id: number
  name: string
  rank: number
  threshold: number
  basis: 'lifetime' | 'rolling_12m'
  discount_bp: number
  points_multiplier_bp: number
  created_at: string
  updated_at: string
}

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

/** What the till and the order pages read of a member. */
export type MemberBrief = Pick<Member, 'id' | 'card_no' | 'name' | 'phone' | 'tier' | 'points' | 'points_expiring' | 'total_spend'>

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

// ---- products and stock --------------------------------------------------------------------

export interface Product {
  id: number
  sku: string
  name: string
  price: number
  member_price: number | null
  barcode: string | null
  category: string | null
  cost: number | null
  points_multiplier_bp: number
  discountable: boolean
  created_at: string
  updated_at: string
}

export interface StockRow {
  store_id: number
  sku: string
  name: string
  qty: number
  low_threshold: number
  low: boolean
  updated_at: string
}

export interface StockMoveResult {
  movement_id: number
  stock: StockRow
  to_stock?: StockRow
}

// ---- coupons and promotions ----------------------------------------------------------------

export type CouponKind = 'amount_off' | 'percent_off'

export interface CouponTemplate {
  id: number
  name: string
  kind: CouponKind
  value: number
  min_spend: number
  max_off: number | null
  valid_days: number | null
  valid_from: string | null
  valid_until: string | null
  store_ids: number[]
  total_limit: number | null
  per_member_limit: number | null
  issued: number
  created_at: string
}

export interface Coupon {
  id: number
  code: string
  template_id: number
  member_id: number
  name: string
  status: string
  value: number
  kind: CouponKind
  min_spend: number
  valid_from: string
  valid_until: string
  order_id: number | null
}

export interface CouponCheck extends Coupon {
  applicable: boolean
  reason: string | null
  template: CouponTemplate
}

export interface PromotionLevel {
  min_spend: number
  off: number
}

export interface Promotion {
  id: number
  name: string
  kind: 'spend_threshold' | 'points_multiplier'
  starts_at: string
  ends_at: string
  store_ids: number[]
  tier_ids: number[]
  levels: PromotionLevel[] | null
  repeat: boolean
  max_off: number | null
  multiplier_bp: number | null
  created_at: string
  updated_at: string
}

// ---- checkout, orders, refunds -------------------------------------------------------------

export interface PricedLine {
  line: number
  sku: string | null
  name: string
  qty: number
  unit_price: number
  gross: number
  member_discount: number
  promotion_discount: number
  coupon_discount: number
  net: number
  points_redeemed: number
  points_value: number
  cash: number
}

export type Adjustment =
  | { kind: 'member_price'; amount: number; line: number; sku: string; member_price: number }
  | {
      kind: 'tier_discount'
      amount: number
      line: number
      sku: string | null
      tier_id: number
      tier: string
      discount_bp: number
    }
  | {
      kind: 'promotion'
      amount: number
      promotion_id: number
      name: string
      level: PromotionLevel
      times: number
    }
  | { kind: 'coupon'; amount: number; coupon_code: string; coupon: string }
  | { kind: 'points'; amount: number; points: number }

export interface PricedBasket {
  store_id: number
  member_id: number | null
  coupon_code: string | null
  gross: number
  member_discount: number
  promotion_discount: number
  coupon_discount: number
  total: number
  points_redeemed: number
  points_value: number
  cash_due: number
  points_earned: number
  max_redeemable_points: number
  lines: PricedLine[]
  adjustments: Adjustment[]
  note: string | null
}

export interface CheckoutResult extends PricedBasket {
  order_id: number
  created_at: string
  points_balance?: number
}

export interface RefundLine {
  line: number
  sku: string | null
  name: string
  qty: number
  cash: number
  points_value: number
  points_redeemed: number
}

export interface Refund {
  refund_id: number
  order_id: number
  cash: number
  points_value: number
  points_returned: number
  points_clawback: number
  lines: RefundLine[]
  created_at: string
  coupon_restored: boolean
  points_balance?: number
}

export interface Order extends CheckoutResult {
  refunds: Refund[]
  cash_refunded: number
  points_clawed_back: number
}

// ---- settings ------------------------------------------------------------------------------

export interface PointsSettings {
  earn: { per_amount: number; points: number }
  redeem: { points: number; amount: number; max_ratio_bp: number }
  expiry: { mode: 'none' | 'rolling' | 'year_end'; days: number }
  signup_bonus: number
  referral: { referrer_points: number; referee_points: number; on: 'register' | 'first_purchase' }
  birthday: { scope: 'day' | 'month'; multiplier_bp: number }
  time_zone: string
}

/** What the till reads of the points settings: the value of points when paying with them. */
export type PointsRules = Pick<PointsSettings, 'redeem'>

export interface SecuritySettings {
  cashier_refund_limit: number | null
  require_totp_for: string[]
}

// ---- staff, roles, API keys, audit ---------------------------------------------------------

export interface Staff {
  id: number
  username: string
  name: string | null
  phone: string | null
  role: string
  store_ids: number[]
  active: boolean
  locked: boolean
  created_at: string
}

export interface Role {
  name: string
  permissions: string[]
  builtin: boolean
}

export interface ApiKey {
  id: number
  name: string
  prefix: string
  scopes: string[]
  store_id: number | null
  created_at: string
  revoked_at: string | null
}

export interface ApiKeyCreated extends ApiKey {
  key: string
}

export interface AuditEntry {
  id: number
  at: string
  staff_id: number | null
  api_key_id: number | null
  ip: string | null
  action: string
  object_type: string | null
  object_id: string | null
  detail: Record<string, unknown>
  hash: string
}
