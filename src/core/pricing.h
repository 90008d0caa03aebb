#ifndef PT_PRICING_H
#define PT_PRICING_H

#include <stdbool.h>
#include <stdint.h>

#include "core/points.h"
#include "util/err.h"

/* The price of a basket and of a refund, pure: API.md "How a basket is priced" and "Refunds",
 * step by step. The service reads products, the member, promotions and the coupon from the
 * database, fills these structs, and writes what comes out. No I/O and no allocation: every
 * output goes to arrays the caller provides. Money is in minor units, rates in basis points. */

/* --- Inputs --------------------------------------------------------------------------------- */

typedef struct {
	int64_t unit_price;
	int64_t qty; /* at least 1 */
	bool has_member_price;
	int64_t member_price; /* per unit; only with has_member_price; never above unit_price */
	bool discountable;
	int64_t points_multiplier_bp;
} pt_price_line_in;

typedef struct {
	int64_t min_spend, off;
} pt_promo_level;

/* A spend-threshold promotion the service has found applicable (time, store, tier). */
typedef struct {
	int64_t id;
	const pt_promo_level *levels; /* in any order */
	int n_levels;
	bool repeat;
	bool has_max_off;
	int64_t max_off;
} pt_promotion;

typedef enum { PT_COUPON_AMOUNT_OFF, PT_COUPON_PERCENT_OFF } pt_coupon_kind;

/* A coupon the service has found valid for this member and store; whether the basket reaches
 * its min_spend is for the engine to say. */
typedef struct {
	int64_t id; /* passed through to the adjustment */
	pt_coupon_kind kind;
	int64_t value; /* amount_off: minor units; percent_off: the rate paid, 9000 = 10% off */
	int64_t min_spend;
	bool has_max_off;
	int64_t max_off;
} pt_coupon;

typedef struct {
	const pt_price_line_in *lines;
	int n_lines; /* at least 1 */

	bool member; /* without a member: no member pricing, no redemption, no points earned */
	int64_t tier_discount_bp;          /* the rate paid, 9500 = 5% off; 10000 without a tier */
	int64_t tier_points_multiplier_bp; /* T, before this order; 10000 without a tier */
	int64_t spendable;                 /* the member's spendable points now */

	const pt_promotion *promotions; /* the applicable spend-threshold promotions */
	int n_promotions;
	int64_t promo_multiplier_bp;    /* P: the highest applicable, 10000 when none */
	int64_t birthday_multiplier_bp; /* B: 10000 when the birthday rule does not apply */

	const pt_coupon *coupon; /* NULL: none */

	bool redeem; /* the request named redeem_points */
	int64_t redeem_points;

	const pt_points_rules *rules; /* earn_*, redeem_*; needed with a member */
} pt_basket;

/* --- Outputs -------------------------------------------------------------------------------- */

typedef struct {
	int64_t gross, member_discount, promotion_discount, coupon_discount;
	int64_t net; /* gross less the three discounts */
	int64_t points_redeemed, points_value;
	int64_t cash; /* net - points_value */
} pt_price_line;

typedef enum {
	PT_ADJ_MEMBER_PRICE,
	PT_ADJ_TIER_DISCOUNT,
	PT_ADJ_PROMOTION,
	PT_ADJ_COUPON,
	PT_ADJ_POINTS
} pt_adj_kind;

/* One step of the price. Steps that take nothing off are left out, except the coupon: a coupon
 * that applies is used up even when the basket leaves it nothing to take. */
typedef struct {
	pt_adj_kind kind;
	int64_t amount;       /* what the step took off the price (points: the value paid) */
	int line;             /* member_price, tier_discount: the line index; else -1 */
	int64_t promotion_id; /* promotion */
	int level;            /* promotion: index into its levels (with repeat, the lowest) */
	int64_t times;        /* promotion: how many times the level's off was given */
	int64_t coupon_id;    /* coupon */
	int64_t points;       /* points: the points redeemed */
} pt_adjustment;

/* An adjustments array for n lines needs this many slots. */
#define PT_PRICE_ADJ_MAX(n) ((n) + 3)

typedef struct {
	int64_t gross, member_discount, promotion_discount, coupon_discount;
	int64_t total;
	int64_t points_redeemed, points_value;
	int64_t cash_due;
	int64_t points_earned;
	int64_t max_redeemable_points;
	int n_adjustments;
} pt_price;

/* Why a basket or refund was refused: the API.md code, the request field to blame (a static
 * string; with line >= 0 it is a field of that item or refund line, else of the request), and
 * two figures for the message (see each refusal below). */
typedef struct {
	pt_code code;
	const char *field;
	int line;
	int64_t have, want;
} pt_price_err;

/* Prices a basket: lines_out gets n_lines rows, adj_out up to PT_PRICE_ADJ_MAX(n_lines)
 * adjustments, out the totals. Returns 0, or -1 with err filled (outputs then unspecified):
 * - invalid_argument "qty" on a line: qty < 1, or unit_price x qty would overflow 64 bits;
 * - invalid_argument "unit_price" on a line: a negative price;
 * - invalid_argument "items": no lines, or a sum of lines that would overflow 64 bits;
 * - invalid_argument "redeem_points": no member; not a positive multiple of redeem.points
 *   (want = redeem.points); worth more than the cap (have = the cap, want = the value);
 * - invalid_argument "points_earned": the points earned would overflow (128 bits, then 64);
 * - coupon_not_applicable "coupon_code": the base after the promotion is below min_spend
 *   (have = that base, want = min_spend);
 * - insufficient_points "redeem_points": more than spendable (have = spendable, want = asked);
 * - internal, field naming the value: stored settings, tier, product, promotion or coupon
 *   values that their own endpoints should have refused (negative amounts or multipliers, a
 *   rate above 10000 where 10000 is the whole price, a member price above the price, repeat
 *   with a 0 min_spend, redeem.points or redeem.amount or earn.per_amount below 1). */
int pt_price_basket(const pt_basket *in, pt_price_line *lines_out, pt_adjustment *adj_out,
                    pt_price *out, pt_price_err *err);

/* "member_price", "tier_discount", "promotion", "coupon", "points". */
const char *pt_adj_kind_name(pt_adj_kind kind);

/* --- Refunds -------------------------------------------------------------------------------- */

/* A line as committed: its amounts are split over its units, the first X mod qty units carrying
 * floor(X/qty) + 1 and the rest floor(X/qty); units are refunded in that order. */
typedef struct {
	int64_t qty;
	int64_t cash, points_value, points_redeemed;
	int64_t refunded_qty; /* units refunded before */
} pt_refund_line_in;

typedef struct {
	const pt_refund_line_in *lines;
	int n_lines;
	int64_t points_earned;      /* the order's */
	int64_t cash_original;      /* the order's cash_due, the sum of its lines' cash */
	int64_t cash_refunded;      /* by earlier refunds */
	int64_t points_clawed_back; /* by earlier refunds */
	const int64_t *units;       /* units to refund per line (n_lines); NULL: everything left */
} pt_refund_in;

typedef struct {
	int64_t units;
	int64_t cash, points_value, points_redeemed;
} pt_refund_line;

typedef struct {
	int64_t cash;
	int64_t points_value;
	int64_t points_returned; /* the points_redeemed of the refunded units */
	int64_t points_clawback;
	bool complete; /* nothing of the order is left unrefunded after this one */
} pt_refund;

/* Prices a refund: lines_out gets n_lines rows. Returns 0, or -1 with err filled:
 * - conflict "qty" on a line: more units than are left (have = left, want = asked);
 * - conflict "lines": everything left was asked for and nothing is left;
 * - invalid_argument "qty" on a line: a negative count; "lines": no unit asked for;
 * - internal: the committed figures contradict each other (a bug or a damaged row). */
int pt_refund_price(const pt_refund_in *in, pt_refund_line *lines_out, pt_refund *out,
                    pt_price_err *err);

#endif
