/* The basket and refund arithmetic of API.md, kept in one place so quote, commit, refund and
 * every test agree to the fen. */
#include "core/pricing.h"

#include <stddef.h>

/* Products of two 64-bit amounts need 128 bits; GCC and Clang have them, ISO C does not. */
__extension__ typedef __int128 i128;

static const i128 BP = 10000;

static int fail(pt_price_err *err, pt_code code, pt_price_why why, const char *field, int line,
                int64_t have, int64_t want)
{
	if (err)
		*err = (pt_price_err){code, why, field, line, have, want};
	return -1;
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* round_half_up(a × bp / 10000) for a >= 0 and 0 <= bp <= 10000: never above a. */
static int64_t apply_bp(int64_t a, int64_t bp)
{
	return (int64_t)(((i128)a * bp + BP / 2) / BP);
}

/* Largest-remainder split of amount over weights, without scratch memory: each share is
 * floor(amount × w / W), and the leftover units go to the largest remainders (ties: the earlier
 * line). Rather than sort, find the remainder `cut` such that all remainders above it and the
 * first `ties` equal to it get one more; shares are then taken line by line, in order. */
typedef struct {
	int64_t amount, total; /* total: the sum of the weights */
	int64_t cut, ties;
} split;

static int64_t rem_of(const split *s, int64_t w)
{
	return (int64_t)((i128)s->amount * w % s->total);
}

/* The weight of line i, or -1 when the line takes no part. */
typedef int64_t (*weight_fn)(const pt_price_line *out, const pt_price_line_in *in, int i);

static int64_t weight_discountable(const pt_price_line *out, const pt_price_line_in *in, int i)
{
	return in[i].discountable ? out[i].net : -1;
}

static int64_t weight_all(const pt_price_line *out, const pt_price_line_in *in, int i)
{
	(void)in;
	return out[i].net;
}

static int64_t count_rem_at_least(const split *s, const pt_price_line *out,
                                  const pt_price_line_in *in, int n, weight_fn wf, int64_t t)
{
	int64_t c = 0;
	for (int i = 0; i < n; i++) {
		int64_t w = wf(out, in, i);
		if (w >= 0 && rem_of(s, w) >= t)
			c++;
	}
	return c;
}

static void split_init(split *s, int64_t amount, const pt_price_line *out,
                       const pt_price_line_in *in, int n, weight_fn wf)
{
	i128 total = 0, floors = 0;
	for (int i = 0; i < n; i++) {
		int64_t w = wf(out, in, i);
		if (w >= 0)
			total += w;
	}
	*s = (split){.amount = amount, .total = (int64_t)total, .cut = INT64_MAX, .ties = 0};
	if (amount == 0 || total == 0)
		return;
	for (int i = 0; i < n; i++) {
		int64_t w = wf(out, in, i);
		if (w >= 0)
			floors += (i128)amount * w / total;
	}
	int64_t left = (int64_t)(amount - floors);
	if (left == 0)
		return;
	/* The remainders sum to left × total and each is below total, so more than `left` lines
	 * have one: the cut is at least 1 and lines of weight 0 never get a unit. */
	int64_t lo = 1, hi = s->total - 1;
	while (lo < hi) {
		int64_t mid = lo + (hi - lo + 1) / 2;
		if (count_rem_at_least(s, out, in, n, wf, mid) >= left)
			lo = mid;
		else
			hi = mid - 1;
	}
	s->cut = lo;
	s->ties = left - count_rem_at_least(s, out, in, n, wf, lo + 1);
}

/* The share of the next line in order, of weight w. */
static int64_t split_take(split *s, int64_t w)
{
	if (s->total == 0)
		return 0;
	int64_t q = (int64_t)((i128)s->amount * w / s->total);
	int64_t r = rem_of(s, w);
	if (r > s->cut)
		return q + 1;
	if (r == s->cut && s->ties > 0) {
		s->ties--;
		return q + 1;
	}
	return q;
}

const char *pt_adj_kind_name(pt_adj_kind kind)
{
	switch (kind) {
	case PT_ADJ_MEMBER_PRICE:
		return "member_price";
	case PT_ADJ_TIER_DISCOUNT:
		return "tier_discount";
	case PT_ADJ_PROMOTION:
		return "promotion";
	case PT_ADJ_COUPON:
		return "coupon";
	case PT_ADJ_POINTS:
		return "points";
	}
	return "";
}

static pt_adjustment adj(pt_adj_kind kind, int64_t amount)
{
	return (pt_adjustment){.kind = kind, .amount = amount, .line = -1, .level = -1};
}

/* Stored values their own endpoints should have refused: a bug or a damaged row, not input. */
static int bad_setting(pt_price_err *err, const char *field, int line, int64_t have)
{
	return fail(err, PT_INTERNAL, PT_WHY_SETTING, field, line, have, 0);
}

static int check_settings(const pt_basket *in, pt_price_err *err)
{
	const pt_points_rules *r = in->rules;
	if (!in->member)
		return 0;
	if (r->earn_per_amount < 1)
		return bad_setting(err, "earn.per_amount", -1, r->earn_per_amount);
	if (r->earn_points < 0)
		return bad_setting(err, "earn.points", -1, r->earn_points);
	if (r->redeem_points < 1)
		return bad_setting(err, "redeem.points", -1, r->redeem_points);
	if (r->redeem_amount < 0) /* 0: points pay nothing at the till */
		return bad_setting(err, "redeem.amount", -1, r->redeem_amount);
	if (r->redeem_max_ratio_bp < 0 || r->redeem_max_ratio_bp > 10000)
		return bad_setting(err, "redeem.max_ratio_bp", -1, r->redeem_max_ratio_bp);
	if (in->tier_discount_bp < 0 || in->tier_discount_bp > 10000)
		return bad_setting(err, "discount_bp", -1, in->tier_discount_bp);
	if (in->tier_points_multiplier_bp < 0)
		return bad_setting(err, "points_multiplier_bp", -1, in->tier_points_multiplier_bp);
	if (in->promo_multiplier_bp < 0)
		return bad_setting(err, "multiplier_bp", -1, in->promo_multiplier_bp);
	if (in->birthday_multiplier_bp < 0)
		return bad_setting(err, "birthday.multiplier_bp", -1, in->birthday_multiplier_bp);
	return 0;
}

static int check_promotion(const pt_price_promo *p, pt_price_err *err)
{
	int64_t lowest = INT64_MAX;
	for (int l = 0; l < p->n_levels; l++) {
		if (p->levels[l].min_spend < 0)
			return bad_setting(err, "levels.min_spend", -1, p->id);
		if (p->levels[l].off < 0)
			return bad_setting(err, "levels.off", -1, p->id);
		lowest = min64(lowest, p->levels[l].min_spend);
	}
	if (p->has_max_off && p->max_off < 0)
		return bad_setting(err, "max_off", -1, p->id);
	/* "Every full min_spend" of nothing would be without end. */
	if (p->repeat && p->n_levels > 0 && lowest == 0)
		return bad_setting(err, "levels.min_spend", -1, p->id);
	return 0;
}

/* What promotion p takes off a discountable base: the level that applies and how often. */
static int64_t promotion_off(const pt_price_promo *p, int64_t base, int *level, int64_t *times)
{
	int pick = -1;
	*level = -1;
	*times = 0;
	for (int l = 0; l < p->n_levels; l++) {
		const pt_promo_level *v = &p->levels[l];
		if (p->repeat) {
			/* The lowest level; of equal ones, the larger off. */
			if (pick < 0 || v->min_spend < p->levels[pick].min_spend ||
			    (v->min_spend == p->levels[pick].min_spend &&
			     v->off > p->levels[pick].off))
				pick = l;
		} else if (v->min_spend <= base) {
			/* The highest level reached; of equal ones, the larger off. */
			if (pick < 0 || v->min_spend > p->levels[pick].min_spend ||
			    (v->min_spend == p->levels[pick].min_spend &&
			     v->off > p->levels[pick].off))
				pick = l;
		}
	}
	if (pick < 0)
		return 0;
	int64_t n = p->repeat ? base / p->levels[pick].min_spend : 1;
	if (n == 0)
		return 0;
	i128 off = (i128)n * p->levels[pick].off;
	if (p->has_max_off && off > p->max_off)
		off = p->max_off;
	if (off > base)
		off = base;
	*level = pick;
	*times = n;
	return (int64_t)off;
}

static int check_coupon(const pt_price_coupon *c, pt_price_err *err)
{
	if (c->value < 0 || (c->kind == PT_COUPON_PERCENT_OFF && c->value > 10000))
		return bad_setting(err, "coupon.value", -1, c->id);
	if (c->min_spend < 0)
		return bad_setting(err, "coupon.min_spend", -1, c->id);
	if (c->has_max_off && c->max_off < 0)
		return bad_setting(err, "coupon.max_off", -1, c->id);
	return 0;
}

static int64_t coupon_off(const pt_price_coupon *c, int64_t base)
{
	int64_t off = c->kind == PT_COUPON_AMOUNT_OFF ? min64(c->value, base)
	                                              : base - apply_bp(base, c->value);
	if (c->has_max_off)
		off = min64(off, c->max_off);
	return off;
}

/* Allocates an order-level discount to the discountable lines, in proportion to their net. */
static void allocate_discount(int64_t amount, const pt_price_line_in *li, pt_price_line *lo, int n,
                              bool coupon)
{
	split s;
	split_init(&s, amount, lo, li, n, weight_discountable);
	for (int i = 0; i < n; i++) {
		if (!li[i].discountable)
			continue;
		int64_t share = split_take(&s, lo[i].net);
		if (coupon)
			lo[i].coupon_discount = share;
		else
			lo[i].promotion_discount = share;
		lo[i].net -= share;
	}
}

/* Σ cash × m × earn.points × T × P × B / (per_amount × 10000⁴), one floor at the end. */
static int points_earned(const pt_basket *in, const pt_price_line *lo, int64_t *out,
                         pt_price_err *err)
{
	const pt_points_rules *r = in->rules;
	i128 sum = 0;
	for (int i = 0; i < in->n_lines; i++) {
		i128 term = (i128)lo[i].cash * in->lines[i].points_multiplier_bp;
		if (__builtin_add_overflow(sum, term, &sum))
			return fail(err, PT_INVALID_ARGUMENT, PT_WHY_OVERFLOW, "points_earned", -1,
			            0, 0);
	}
	const int64_t factors[] = {r->earn_points, in->tier_points_multiplier_bp,
	                           in->promo_multiplier_bp, in->birthday_multiplier_bp};
	for (size_t f = 0; f < sizeof(factors) / sizeof(factors[0]); f++)
		if (__builtin_mul_overflow(sum, (i128)factors[f], &sum))
			return fail(err, PT_INVALID_ARGUMENT, PT_WHY_OVERFLOW, "points_earned", -1,
			            0, 0);
	i128 den = (i128)r->earn_per_amount * BP * BP * BP * BP; /* below 2^117 */
	i128 earned = sum / den;
	if (earned > INT64_MAX)
		return fail(err, PT_INVALID_ARGUMENT, PT_WHY_OVERFLOW, "points_earned", -1, 0, 0);
	*out = (int64_t)earned;
	return 0;
}

int pt_price_basket(const pt_basket *in, pt_price_line *lo, pt_adjustment *adj_out, pt_price *out,
                    pt_price_err *err)
{
	const pt_price_line_in *li = in->lines;
	const pt_points_rules *rules = in->rules;
	const int n = in->n_lines;
	int na = 0;

	*out = (pt_price){0};
	if (n < 1)
		return fail(err, PT_INVALID_ARGUMENT, PT_WHY_NO_ITEMS, "items", -1, 0, 0);
	if (check_settings(in, err) != 0)
		return -1;
	for (int p = 0; p < in->n_promotions; p++)
		if (check_promotion(&in->promotions[p], err) != 0)
			return -1;
	if (in->coupon && check_coupon(in->coupon, err) != 0)
		return -1;
	if (in->redeem) {
		if (!in->member)
			return fail(err, PT_INVALID_ARGUMENT, PT_WHY_NO_MEMBER, "redeem_points", -1,
			            0, 0);
		if (in->redeem_points < 1 || in->redeem_points % rules->redeem_points != 0)
			return fail(err, PT_INVALID_ARGUMENT, PT_WHY_NOT_MULTIPLE, "redeem_points",
			            -1, 0, rules->redeem_points);
	}

	/* 1. Line gross; every later amount is at most the gross, so these checks suffice. */
	int64_t gross = 0;
	for (int i = 0; i < n; i++) {
		if (li[i].qty < 1)
			return fail(err, PT_INVALID_ARGUMENT, PT_WHY_RANGE, "qty", i, li[i].qty, 1);
		if (li[i].unit_price < 0)
			return fail(err, PT_INVALID_ARGUMENT, PT_WHY_RANGE, "unit_price", i,
			            li[i].unit_price, 0);
		if (li[i].points_multiplier_bp < 0)
			return bad_setting(err, "points_multiplier_bp", i,
			                   li[i].points_multiplier_bp);
		if (li[i].has_member_price &&
		    (li[i].member_price < 0 || li[i].member_price > li[i].unit_price))
			return bad_setting(err, "member_price", i, li[i].member_price);
		lo[i] = (pt_price_line){0};
		if (__builtin_mul_overflow(li[i].unit_price, li[i].qty, &lo[i].gross))
			return fail(err, PT_INVALID_ARGUMENT, PT_WHY_OVERFLOW, "qty", i, li[i].qty,
			            0);
		if (__builtin_add_overflow(gross, lo[i].gross, &gross))
			return fail(err, PT_INVALID_ARGUMENT, PT_WHY_OVERFLOW, "items", -1, 0, 0);
		lo[i].net = lo[i].gross;
	}

	/* 2. Member pricing. */
	if (in->member) {
		for (int i = 0; i < n; i++) {
			pt_adj_kind kind;
			if (li[i].has_member_price) {
				lo[i].net = li[i].member_price * li[i].qty; /* <= gross */
				kind = PT_ADJ_MEMBER_PRICE;
			} else if (li[i].discountable) {
				lo[i].net = apply_bp(lo[i].gross, in->tier_discount_bp);
				kind = PT_ADJ_TIER_DISCOUNT;
			} else {
				continue;
			}
			lo[i].member_discount = lo[i].gross - lo[i].net;
			if (lo[i].member_discount > 0) {
				adj_out[na] = adj(kind, lo[i].member_discount);
				adj_out[na++].line = i;
			}
		}
	}

	/* 3. The promotion giving the most; ties, the lowest id. */
	int64_t base = 0;
	for (int i = 0; i < n; i++)
		if (li[i].discountable)
			base += lo[i].net;
	int64_t promo = 0;
	const pt_price_promo *best = NULL;
	int best_level = -1;
	int64_t best_times = 0;
	for (int p = 0; p < in->n_promotions; p++) {
		const pt_price_promo *pr = &in->promotions[p];
		int level;
		int64_t times;
		int64_t off = promotion_off(pr, base, &level, &times);
		if (off > 0 && (off > promo || (off == promo && pr->id < best->id))) {
			promo = off;
			best = pr;
			best_level = level;
			best_times = times;
		}
	}
	if (best) {
		allocate_discount(promo, li, lo, n, false);
		adj_out[na] = adj(PT_ADJ_PROMOTION, promo);
		adj_out[na].promotion_id = best->id;
		adj_out[na].level = best_level;
		adj_out[na++].times = best_times;
	}

	/* 4. The coupon, on what the promotion left. */
	base -= promo;
	if (in->coupon) {
		const pt_price_coupon *c = in->coupon;
		if (base < c->min_spend)
			return fail(err, PT_COUPON_NOT_APPLICABLE, PT_WHY_MIN_SPEND, "coupon_code",
			            -1, base, c->min_spend);
		int64_t off = coupon_off(c, base);
		allocate_discount(off, li, lo, n, true);
		adj_out[na] = adj(PT_ADJ_COUPON, off);
		adj_out[na++].coupon_id = c->id;
	}

	/* 5. Totals of the discounts. */
	for (int i = 0; i < n; i++) {
		out->gross += lo[i].gross;
		out->member_discount += lo[i].member_discount;
		out->promotion_discount += lo[i].promotion_discount;
		out->coupon_discount += lo[i].coupon_discount;
		out->total += lo[i].net;
	}

	/* 6. Points as payment, capped by a share of the total and by the balance. */
	if (in->member) {
		int64_t cap = (int64_t)((i128)out->total * rules->redeem_max_ratio_bp / BP);
		int64_t steps =
		    rules->redeem_amount == 0
		        ? 0
		        : min64(cap / rules->redeem_amount,
		                in->spendable > 0 ? in->spendable / rules->redeem_points : 0);
		out->max_redeemable_points = steps * rules->redeem_points; /* <= spendable */
		if (in->redeem) {
			i128 value =
			    (i128)(in->redeem_points / rules->redeem_points) * rules->redeem_amount;
			if (value > cap || rules->redeem_amount == 0)
				return fail(err, PT_INVALID_ARGUMENT, PT_WHY_CAP, "redeem_points",
				            -1, cap,
				            value > INT64_MAX ? INT64_MAX : (int64_t)value);
			if (in->redeem_points > in->spendable)
				return fail(err, PT_INSUFFICIENT_POINTS, PT_WHY_BALANCE,
				            "redeem_points", -1, in->spendable, in->redeem_points);
			out->points_value = (int64_t)value;
			out->points_redeemed = in->redeem_points;
			/* Both splits weigh the nets as they stand, before either is taken. */
			split sv, sp;
			split_init(&sv, out->points_value, lo, li, n, weight_all);
			split_init(&sp, out->points_redeemed, lo, li, n, weight_all);
			for (int i = 0; i < n; i++) {
				lo[i].points_value = split_take(&sv, lo[i].net);
				lo[i].points_redeemed = split_take(&sp, lo[i].net);
			}
			adj_out[na] = adj(PT_ADJ_POINTS, out->points_value);
			adj_out[na++].points = out->points_redeemed;
		}
	}
	for (int i = 0; i < n; i++)
		lo[i].cash = lo[i].net - lo[i].points_value;
	out->cash_due = out->total - out->points_value;

	/* 7. Points earned on the cash. */
	if (in->member && points_earned(in, lo, &out->points_earned, err) != 0)
		return -1;
	out->n_adjustments = na;
	return 0;
}

/* The part of X, split over q units, that units [from, from + k) carry. */
static int64_t units_part(int64_t x, int64_t q, int64_t from, int64_t k)
{
	int64_t heavy = x % q; /* the first `heavy` units carry one more */
	int64_t extra = from + k < heavy ? k : (heavy > from ? heavy - from : 0);
	return k * (x / q) + extra;
}

static int damaged(pt_price_err *err, const char *field, int line)
{
	return fail(err, PT_INTERNAL, PT_WHY_DAMAGED, field, line, 0, 0);
}

int pt_refund_price(const pt_refund_in *in, pt_refund_line *lo, pt_refund *out, pt_price_err *err)
{
	const int n = in->n_lines;
	*out = (pt_refund){0};

	/* The committed figures must agree with each other before anything is taken from them. */
	if (n < 1)
		return damaged(err, "lines", -1);
	if (in->points_earned < 0 || in->points_clawed_back < 0 ||
	    in->points_clawed_back > in->points_earned)
		return damaged(err, "points_clawed_back", -1);
	if (in->cash_original < 0 || in->cash_refunded < 0 || in->cash_refunded > in->cash_original)
		return damaged(err, "cash_refunded", -1);
	int64_t cash_sum = 0, refunded_sum = 0;
	bool any_left = false, any_asked = false;
	for (int i = 0; i < n; i++) {
		const pt_refund_line_in *l = &in->lines[i];
		if (l->qty < 1 || l->refunded_qty < 0 || l->refunded_qty > l->qty || l->cash < 0 ||
		    l->points_value < 0 || l->points_redeemed < 0)
			return damaged(err, "lines", i);
		if (__builtin_add_overflow(cash_sum, l->cash, &cash_sum))
			return damaged(err, "lines", i);
		refunded_sum += units_part(l->cash, l->qty, 0, l->refunded_qty); /* <= cash_sum */
		any_left |= l->refunded_qty < l->qty;
	}
	if (cash_sum != in->cash_original)
		return damaged(err, "cash_original", -1);
	if (refunded_sum != in->cash_refunded)
		return damaged(err, "cash_refunded", -1);

	/* The units asked for. */
	if (!in->units && !any_left)
		return fail(err, PT_CONFLICT, PT_WHY_NOTHING_LEFT, "lines", -1, 0, 0);
	out->complete = true;
	for (int i = 0; i < n; i++) {
		const pt_refund_line_in *l = &in->lines[i];
		int64_t left = l->qty - l->refunded_qty;
		int64_t u = in->units ? in->units[i] : left;
		if (u < 0)
			return fail(err, PT_INVALID_ARGUMENT, PT_WHY_RANGE, "qty", i, u, 0);
		if (u > left)
			return fail(err, PT_CONFLICT, PT_WHY_TOO_MANY, "qty", i, left, u);
		any_asked |= u > 0;
		out->complete &= u == left;
	}
	if (!any_asked)
		return fail(err, PT_INVALID_ARGUMENT, PT_WHY_NOTHING_ASKED, "lines", -1, 0, 0);

	/* Each line's units, continuing from those refunded before. */
	for (int i = 0; i < n; i++) {
		const pt_refund_line_in *l = &in->lines[i];
		int64_t u = in->units ? in->units[i] : l->qty - l->refunded_qty;
		lo[i] = (pt_refund_line){
		    .units = u,
		    .cash = units_part(l->cash, l->qty, l->refunded_qty, u),
		    .points_value = units_part(l->points_value, l->qty, l->refunded_qty, u),
		    .points_redeemed = units_part(l->points_redeemed, l->qty, l->refunded_qty, u),
		};
		/* Each is at most the line's own figure, and the cash sums were checked above. */
		out->cash += lo[i].cash;
		if (__builtin_add_overflow(out->points_value, lo[i].points_value,
		                           &out->points_value) ||
		    __builtin_add_overflow(out->points_returned, lo[i].points_redeemed,
		                           &out->points_returned))
			return damaged(err, "lines", i);
	}

	/* The points earned that the cash kept still justifies; the rest is taken back. */
	int64_t earned_left = in->points_earned - in->points_clawed_back;
	int64_t cash_left_after = in->cash_original - in->cash_refunded - out->cash;
	if (in->cash_original == 0) {
		out->points_clawback = out->complete ? earned_left : 0;
	} else {
		int64_t keep =
		    (int64_t)((i128)in->points_earned * cash_left_after / in->cash_original);
		/* Never negative with a consistent history; never a way to give points. */
		out->points_clawback = earned_left > keep ? earned_left - keep : 0;
	}
	return 0;
}
