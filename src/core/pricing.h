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
	int64_t member_price; /* per unit, never above unit_price; applies to a member even on a
	                       * line that is not discountable, as API.md step 2 reads */
	bool discountable;
	int64_t points_multiplier_bp;
} pt_price_line_in;

typedef struct {
	int64_t min_spend, off;
} pt_promo_level;

/* A spend-threshold promotion the service has found applicable (time, store, tier). Of two
 * levels with the same min_spend, the one with the larger off counts. */
typedef struct {
	int64_t id;
	const pt_promo_level *levels; /* in any order */
	int n_levels;
	bool repeat;
	bool has_max_off;
	int64_t max_off;
} pt_price_promo;

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
} pt_price_coupon;

typedef struct {
	const pt_price_line_in *lines;
	int n_lines; /* at least 1 */

	bool member; /* without a member: no member pricing, no redemption, no points earned */
	int64_t tier_discount_bp;          /* the rate paid, 9500 = 5% off; 10000 without a tier */
	int64_t tier_points_multiplier_bp; /* T, before this order; 10000 without a tier */
	int64_t spendable;                 /* the member's spendable points now; may be < 0 */

	const pt_price_promo *promotions; /* the applicable spend-threshold promotions */
	int n_promotions;
	int64_t promo_multiplier_bp;    /* P: the highest applicable, 10000 when none */
	int64_t birthday_multiplier_bp; /* B: 10000 when the birthday rule does not apply */

	const pt_price_coupon *coupon; /* NULL: none */

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

/* Why a basket or refund was refused, for the message; code is what the caller answers. */
typedef enum {
	PT_WHY_NONE,
	PT_WHY_RANGE,         /* a request value out of range: qty < 1, a negative price */
	PT_WHY_NO_ITEMS,      /* no lines */
	PT_WHY_OVERFLOW,      /* a product or sum beyond 64 bits (points earned: 128, then 64) */
	PT_WHY_NO_MEMBER,     /* redeem_points without a member */
	PT_WHY_NOT_MULTIPLE,  /* redeem_points not a positive multiple (want = redeem.points) */
	PT_WHY_CAP,           /* the points' value above the cap (have = cap, want = value) */
	PT_WHY_BALANCE,       /* more points than spendable (have = spendable, want = asked) */
	PT_WHY_MIN_SPEND,     /* coupon below min_spend (have = base after promotion, want =
	                       * min_spend) */
	PT_WHY_SETTING,       /* a stored value its own endpoint should have refused (have = it,
	                       * or the promotion's or coupon's id) */
	PT_WHY_TOO_MANY,      /* refund: more units than are left (have = left, want = asked) */
	PT_WHY_NOTHING_LEFT,  /* refund: everything left asked for, and nothing is left */
	PT_WHY_NOTHING_ASKED, /* refund: no unit asked for */
	PT_WHY_DAMAGED,       /* refund: the committed figures contradict each other */
} pt_price_why;

/* The refusal: the API.md code, the reason, the request field to blame (a static string; with
 * line >= 0 it is a field of that item or refund line, else of the request or, for
 * PT_WHY_SETTING, the stored setting), and two figures for the message. */
typedef struct {
	pt_code code;
	pt_price_why why;
	const char *field;
	int line;
	int64_t have, want;
} pt_price_err;

/* Prices a basket: lines_out gets n_lines rows, adj_out up to PT_PRICE_ADJ_MAX(n_lines)
 * adjustments, out the totals. Returns 0, or -1 with err filled (outputs then unspecified):
 * - invalid_argument "qty" on a line: qty < 1 (RANGE), unit_price × qty beyond 64 bits
 *   (OVERFLOW); "unit_price" on a line: a negative price (RANGE);
 * - invalid_argument "items": no lines (NO_ITEMS), a sum of lines beyond 64 bits (OVERFLOW);
 * - invalid_argument "redeem_points": NO_MEMBER, NOT_MULTIPLE, CAP;
 * - invalid_argument "points_earned": OVERFLOW;
 * - coupon_not_applicable "coupon_code": MIN_SPEND;
 * - insufficient_points "redeem_points": BALANCE;
 * - internal, SETTING: negative amounts or multipliers, a rate above 10000 where 10000 is the
 *   whole price, a member price above the price, repeat with a 0 min_spend, redeem.points,
 *   redeem.amount or earn.per_amount below 1.
 * Stored values are checked first, then the request, then the steps run in API.md's order
 * and the first that fails names the error (a coupon below min_spend before the points). */
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
 * - conflict "qty" on a line: TOO_MANY; conflict "lines": NOTHING_LEFT;
 * - invalid_argument "qty" on a line: a negative count (RANGE); "lines": NOTHING_ASKED;
 * - internal: DAMAGED (a bug or a damaged row; nothing is refunded from it).
 * The clawback is earned_left − floor(earned × cash_left_after / cash_original); with
 * cash_original 0, all that is left goes with the last unit. */
int pt_refund_price(const pt_refund_in *in, pt_refund_line *lines_out, pt_refund *out,
                    pt_price_err *err);

#endif
