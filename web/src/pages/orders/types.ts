// The shapes of the checkout, order and refund answers (docs/openapi.yaml: PricedBasket,
// CheckoutResult, Order, Refund, ...), shared by the cashier and the order pages.

export interface Store {
  id: number
  code: string
  name: string
  address: string | null
  phone: string | null
}

export interface MemberBrief {
  id: number
  card_no: string
  name: string
  phone: string
  tier: { id: number; name: string } | null
  points: number
  points_expiring: { points: number; expires_on: string }[]
  total_spend: number
}

export interface Product {
  id: number
  sku: string
  name: string
  price: number
  member_price: number | null
  barcode: string | null
  category: string | null
  discountable: boolean
}

export interface Coupon {
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
      level: { min_spend: number; off: number }
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

export interface PointsRules {
  redeem: { points: number; amount: number; max_ratio_bp: number }
}
