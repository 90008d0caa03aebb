/* fuzz_pricing: baskets and refunds built from the fuzzer's bytes, through the pure engine of
 * src/core/pricing.h, with every invariant checked after every call.
 *
 * A basket: up to 16 lines (price, quantity, member price, discountable, points multiplier),
 * a member or none with a tier discount and multipliers, up to 4 spend-threshold promotions of
 * up to 4 levels, a coupon, a redemption and the points rules. Mostly values the endpoints
 * accept, with amounts anywhere from 0 to the edge of 64 bits; one input in two also carries
 * "wild" values (negative, rates above 10000) that only a damaged row could hold.
 *
 * A priced basket must add up: each line's net is its gross less its three discounts, its cash
 * its net less the points' value, none negative; the totals are the sums of the lines; each
 * order-level discount is the promotion or coupon the rules pick, split over the lines by
 * largest remainder; the points respect the cap and the balance. A refusal names a reason that
 * the input really has; a basket with nothing wrong stored is never an internal error.
 * A priced basket is then refunded in up to 4 rounds of random units: no refund, nor all of
 * them together, returns more cash or points than were paid, points kept always follow the
 * cash kept, and the last unit brings every total back to zero. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "core/pricing.h"

__extension__ typedef __int128 i128;

enum { MAX_LINES = 16, MAX_PROMOS = 4, MAX_LEVELS = 4, MAX_ROUNDS = 4 };

typedef struct {
	pt_price_line_in lines[MAX_LINES];
	pt_promo_level levels[MAX_PROMOS][MAX_LEVELS];
	pt_price_promo promos[MAX_PROMOS];
	pt_price_coupon coupon;
	pt_points_rules rules;
	pt_basket b;
} basket;

static const basket *shown; /* for fz_dump */

static void dump_basket(void)
{
	if (!shown)
		return;
	const pt_basket *b = &shown->b;
	fprintf(stderr,
	        "basket: member=%d tier_discount_bp=%lld T=%lld P=%lld B=%lld "
	        "spendable=%lld redeem=%d redeem_points=%lld\n",
	        b->member, (long long)b->tier_discount_bp, (long long)b->tier_points_multiplier_bp,
	        (long long)b->promo_multiplier_bp, (long long)b->birthday_multiplier_bp,
	        (long long)b->spendable, b->redeem, (long long)b->redeem_points);
	const pt_points_rules *r = b->rules;
	fprintf(stderr, "rules: earn %lld per %lld, redeem %lld points = %lld, max_ratio_bp %lld\n",
	        (long long)r->earn_points, (long long)r->earn_per_amount,
	        (long long)r->redeem_points, (long long)r->redeem_amount,
	        (long long)r->redeem_max_ratio_bp);
	for (int i = 0; i < b->n_lines; i++) {
		const pt_price_line_in *l = &b->lines[i];
		fprintf(stderr,
		        "line %d: unit_price=%lld qty=%lld member_price=%s%lld discountable=%d "
		        "m=%lld\n",
		        i, (long long)l->unit_price, (long long)l->qty,
		        l->has_member_price ? "" : "(none) ", (long long)l->member_price,
		        l->discountable, (long long)l->points_multiplier_bp);
	}
	for (int p = 0; p < b->n_promotions; p++) {
		const pt_price_promo *pr = &b->promotions[p];
		fprintf(stderr,
		        "promotion id=%lld repeat=%d max_off=%s%lld levels:", (long long)pr->id,
		        pr->repeat, pr->has_max_off ? "" : "(none) ", (long long)pr->max_off);
		for (int l = 0; l < pr->n_levels; l++)
			fprintf(stderr, " %lld/%lld", (long long)pr->levels[l].min_spend,
			        (long long)pr->levels[l].off);
		fprintf(stderr, "\n");
	}
	if (b->coupon)
		fprintf(stderr, "coupon: %s value=%lld min_spend=%lld max_off=%s%lld\n",
		        b->coupon->kind == PT_COUPON_AMOUNT_OFF ? "amount_off" : "percent_off",
		        (long long)b->coupon->value, (long long)b->coupon->min_spend,
		        b->coupon->has_max_off ? "" : "(none) ", (long long)b->coupon->max_off);
}

/* --- Building a basket ---------------------------------------------------------------------- */

static int64_t nonneg(int64_t v)
{
	return v < 0 ? -(v + 1) : v;
}

static int64_t positive(fz_bytes *in)
{
	int64_t v = nonneg(fz_amount(in));
	return v < 1 ? 1 : v;
}

static int64_t money(fz_bytes *in, bool wild)
{
	int64_t v = fz_amount(in);
	return wild ? v : nonneg(v);
}

/* A rate where 10000 is the whole price. */
static int64_t rate(fz_bytes *in, bool wild)
{
	return wild && fz_u8(in) < 32 ? fz_amount(in) : fz_range(in, 0, 10000);
}

/* A multiplier: 10000 is ×1. */
static int64_t multiplier(fz_bytes *in, bool wild)
{
	uint8_t m = fz_u8(in);
	if (m < 128)
		return 10000;
	if (m < 224)
		return fz_range(in, 0, 50000);
	return money(in, wild);
}

static void build(fz_bytes *in, basket *k)
{
	memset(k, 0, sizeof(*k));
	uint8_t shape = fz_u8(in);
	bool wild = shape & 1;
	pt_basket *b = &k->b;
	b->lines = k->lines;
	b->n_lines = (int)fz_range(in, wild ? 0 : 1, MAX_LINES);
	for (int i = 0; i < b->n_lines; i++) {
		pt_price_line_in *l = &k->lines[i];
		uint8_t f = fz_u8(in);
		l->unit_price = money(in, wild);
		l->qty = f & 1 ? fz_range(in, 1, 20) : money(in, wild);
		if (!wild && l->qty < 1)
			l->qty = 1;
		l->has_member_price = f & 2;
		l->member_price =
		    wild ? fz_amount(in) : (int64_t)((i128)l->unit_price * fz_u8(in) / 255);
		l->discountable = !(f & 4);
		l->points_multiplier_bp = f & 8 ? multiplier(in, wild) : 10000;
	}

	pt_points_rules_default(&k->rules);
	b->rules = &k->rules;
	b->member = shape & 2;
	b->tier_discount_bp = shape & 4 ? rate(in, wild) : 10000;
	b->tier_points_multiplier_bp = multiplier(in, wild);
	b->promo_multiplier_bp = multiplier(in, wild);
	b->birthday_multiplier_bp = multiplier(in, wild);
	b->spendable = fz_amount(in); /* a debt makes it negative */
	if (shape & 8) {
		pt_points_rules *r = &k->rules;
		r->earn_per_amount = wild ? fz_amount(in) : positive(in);
		r->earn_points = money(in, wild);
		r->redeem_points = wild ? fz_amount(in) : positive(in);
		r->redeem_amount = money(in, wild);
		r->redeem_max_ratio_bp = rate(in, wild);
	}

	b->promotions = k->promos;
	b->n_promotions = shape & 16 ? (int)fz_range(in, 1, MAX_PROMOS) : 0;
	for (int p = 0; p < b->n_promotions; p++) {
		pt_price_promo *pr = &k->promos[p];
		uint8_t f = fz_u8(in);
		pr->id = fz_range(in, 1, 8); /* equal ids happen: ties go to the lower */
		pr->levels = k->levels[p];
		pr->n_levels = (int)fz_range(in, wild ? 0 : 1, MAX_LEVELS);
		pr->repeat = f & 1;
		pr->has_max_off = f & 2;
		pr->max_off = money(in, wild);
		for (int l = 0; l < pr->n_levels; l++) {
			k->levels[p][l].min_spend = money(in, wild);
			/* The promotion endpoint takes min_spend from 1. */
			if (!wild && k->levels[p][l].min_spend < 1)
				k->levels[p][l].min_spend = 1;
			k->levels[p][l].off = money(in, wild);
		}
	}
	if (shape & 32) {
		pt_price_coupon *c = &k->coupon;
		uint8_t f = fz_u8(in);
		c->id = 77;
		c->kind = f & 1 ? PT_COUPON_PERCENT_OFF : PT_COUPON_AMOUNT_OFF;
		c->value = c->kind == PT_COUPON_PERCENT_OFF ? rate(in, wild) : money(in, wild);
		c->min_spend = f & 2 ? money(in, wild) : 0;
		c->has_max_off = f & 4;
		c->max_off = money(in, wild);
		b->coupon = c;
	}
	b->redeem = shape & 64;
	if (b->redeem) {
		int64_t rp = k->rules.redeem_points;
		b->redeem_points = fz_u8(in) < 200 && rp > 0 && rp <= INT64_MAX / 256
		                       ? rp * fz_range(in, 0, 255)
		                       : fz_amount(in);
	}
}

/* --- What the header promises ----------------------------------------------------------------- */

/* Nothing stored is out of range (pricing.h: "internal, SETTING ..."). */
static bool stored_ok(const pt_basket *b)
{
	const pt_points_rules *r = b->rules;
	if (b->member && (r->earn_per_amount < 1 || r->earn_points < 0 || r->redeem_points < 1 ||
	                  r->redeem_amount < 0 || r->redeem_max_ratio_bp < 0 ||
	                  r->redeem_max_ratio_bp > 10000 || b->tier_discount_bp < 0 ||
	                  b->tier_discount_bp > 10000 || b->tier_points_multiplier_bp < 0 ||
	                  b->promo_multiplier_bp < 0 || b->birthday_multiplier_bp < 0))
		return false;
	for (int p = 0; p < b->n_promotions; p++) {
		const pt_price_promo *pr = &b->promotions[p];
		int64_t lowest = INT64_MAX;
		for (int l = 0; l < pr->n_levels; l++) {
			if (pr->levels[l].min_spend < 0 || pr->levels[l].off < 0)
				return false;
			if (pr->levels[l].min_spend < lowest)
				lowest = pr->levels[l].min_spend;
		}
		if ((pr->has_max_off && pr->max_off < 0) || (pr->repeat && lowest == 0))
			return false;
	}
	const pt_price_coupon *c = b->coupon;
	if (c && (c->value < 0 || (c->kind == PT_COUPON_PERCENT_OFF && c->value > 10000) ||
	          c->min_spend < 0 || (c->has_max_off && c->max_off < 0)))
		return false;
	for (int i = 0; i < b->n_lines; i++) {
		const pt_price_line_in *l = &b->lines[i];
		if (l->points_multiplier_bp < 0 ||
		    (l->has_member_price &&
		     (l->member_price < 0 || l->member_price > l->unit_price)))
			return false;
	}
	return true;
}

static i128 round_bp(i128 a, int64_t bp)
{
	return (a * bp + 5000) / 10000;
}

/* What promotion p takes off base, by API.md: the level reached (repeat: the lowest, every
 * full min_spend), capped by max_off and by the base. */
static i128 promo_off(const pt_price_promo *p, i128 base, int *level, i128 *times)
{
	int pick = -1;
	for (int l = 0; l < p->n_levels; l++) {
		const pt_promo_level *v = &p->levels[l];
		const pt_promo_level *w = pick >= 0 ? &p->levels[pick] : NULL;
		if (p->repeat) {
			if (!w || v->min_spend < w->min_spend ||
			    (v->min_spend == w->min_spend && v->off > w->off))
				pick = l;
		} else if (v->min_spend <= base) {
			if (!w || v->min_spend > w->min_spend ||
			    (v->min_spend == w->min_spend && v->off > w->off))
				pick = l;
		}
	}
	*level = pick;
	*times = 0;
	if (pick < 0)
		return 0;
	*times = p->repeat ? base / p->levels[pick].min_spend : 1;
	i128 off = *times * p->levels[pick].off;
	if (p->has_max_off && off > p->max_off)
		off = p->max_off;
	return off > base ? base : off;
}

/* A largest-remainder share: floor(amount × w / total), or one more. */
static void check_share(i128 share, i128 amount, i128 w, i128 total)
{
	if (total == 0) {
		FZ_CHECK(share == 0);
		return;
	}
	i128 q = amount * w / total, r = amount * w % total;
	FZ_CHECK(share == q || (r != 0 && share == q + 1));
}

/* --- A priced basket ---------------------------------------------------------------------- */

typedef struct {
	i128 weight_promo, weight_coupon, weight_points; /* per line, -1: takes no part */
} weights;

static void check_price(const pt_basket *b, const pt_price_line *lo, const pt_adjustment *adj,
                        const pt_price *out)
{
	const pt_points_rules *r = b->rules;
	const int n = b->n_lines;
	i128 gross = 0, md = 0, pd = 0, cd = 0, net = 0, pv = 0, pr = 0, cash = 0;
	i128 promo_base = 0;

	FZ_CHECK(stored_ok(b));
	for (int i = 0; i < n; i++) {
		const pt_price_line_in *li = &b->lines[i];
		const pt_price_line *l = &lo[i];
		FZ_CHECK(li->qty >= 1 && li->unit_price >= 0);
		FZ_CHECK(l->gross == (i128)li->unit_price * li->qty);
		FZ_CHECK(l->member_discount >= 0 && l->promotion_discount >= 0 &&
		         l->coupon_discount >= 0 && l->net >= 0);
		FZ_CHECK(l->points_value >= 0 && l->points_redeemed >= 0 && l->cash >= 0);
		FZ_CHECK((i128)l->net == (i128)l->gross - l->member_discount -
		                             l->promotion_discount - l->coupon_discount);
		FZ_CHECK(l->points_value <= l->net);
		FZ_CHECK((i128)l->cash == (i128)l->net - l->points_value);
		/* 2. Member pricing: the member price, else the tier's rate on discountable lines.
		 */
		i128 after_member = l->gross;
		if (b->member && li->has_member_price)
			after_member = (i128)li->member_price * li->qty;
		else if (b->member && li->discountable)
			after_member = round_bp(l->gross, b->tier_discount_bp);
		FZ_CHECK(l->member_discount == l->gross - after_member);
		if (!li->discountable)
			FZ_CHECK(l->promotion_discount == 0 && l->coupon_discount == 0);
		else
			promo_base += after_member;
		if (!b->member)
			FZ_CHECK(l->points_value == 0 && l->points_redeemed == 0);
		gross += l->gross;
		md += l->member_discount;
		pd += l->promotion_discount;
		cd += l->coupon_discount;
		net += l->net;
		pv += l->points_value;
		pr += l->points_redeemed;
		cash += l->cash;
	}
	/* The totals are the sums of the lines. */
	FZ_CHECK(out->gross == gross && out->member_discount == md &&
	         out->promotion_discount == pd && out->coupon_discount == cd && out->total == net);
	FZ_CHECK(out->points_value == pv && out->points_redeemed == pr && out->cash_due == cash);
	FZ_CHECK((i128)out->total == gross - md - pd - cd);
	FZ_CHECK((i128)out->cash_due == (i128)out->total - out->points_value);
	FZ_CHECK(out->cash_due >= 0 && out->total >= 0);

	/* 3. The promotion giving the most (ties: the lowest id), split over discountable lines. */
	i128 best_off = 0;
	const pt_price_promo *best = NULL;
	int best_level = -1;
	i128 best_times = 0;
	for (int p = 0; p < b->n_promotions; p++) {
		int level;
		i128 times;
		i128 off = promo_off(&b->promotions[p], promo_base, &level, &times);
		if (off > 0 &&
		    (off > best_off || (off == best_off && b->promotions[p].id < best->id))) {
			best_off = off;
			best = &b->promotions[p];
			best_level = level;
			best_times = times;
		}
	}
	FZ_CHECK(out->promotion_discount == best_off);
	i128 coupon_base = promo_base - best_off;
	for (int i = 0; i < n; i++)
		if (b->lines[i].discountable)
			check_share(lo[i].promotion_discount, best_off,
			            (i128)lo[i].gross - lo[i].member_discount, promo_base);

	/* 4. The coupon on what the promotion left. */
	i128 coupon_off = 0;
	if (b->coupon) {
		const pt_price_coupon *c = b->coupon;
		FZ_CHECK(coupon_base >= c->min_spend);
		coupon_off = c->kind == PT_COUPON_AMOUNT_OFF
		                 ? (c->value < coupon_base ? c->value : coupon_base)
		                 : coupon_base - round_bp(coupon_base, c->value);
		if (c->has_max_off && coupon_off > c->max_off)
			coupon_off = c->max_off;
	}
	FZ_CHECK(out->coupon_discount == coupon_off);
	for (int i = 0; i < n; i++)
		if (b->lines[i].discountable)
			check_share(lo[i].coupon_discount, coupon_off,
			            (i128)lo[i].gross - lo[i].member_discount -
			                lo[i].promotion_discount,
			            coupon_base);

	/* 6. Points as payment. */
	i128 cap = b->member ? (i128)out->total * r->redeem_max_ratio_bp / 10000 : 0;
	if (b->redeem) {
		FZ_CHECK(b->member && b->redeem_points >= 1 &&
		         b->redeem_points % r->redeem_points == 0);
		FZ_CHECK(out->points_redeemed == b->redeem_points);
		FZ_CHECK(out->points_value ==
		         (i128)(b->redeem_points / r->redeem_points) * r->redeem_amount);
		FZ_CHECK(out->points_value <= cap && r->redeem_amount > 0);
		FZ_CHECK(b->redeem_points <= b->spendable);
		for (int i = 0; i < n; i++) {
			check_share(lo[i].points_value, out->points_value, lo[i].net, out->total);
			check_share(lo[i].points_redeemed, out->points_redeemed, lo[i].net,
			            out->total);
		}
	} else {
		FZ_CHECK(out->points_value == 0 && out->points_redeemed == 0);
	}
	/* The most that could be redeemed: a multiple of redeem.points, within cap and balance,
	 * and one more step would break one of them. */
	int64_t mr = out->max_redeemable_points;
	FZ_CHECK(mr >= 0);
	if (!b->member || r->redeem_amount == 0) {
		FZ_CHECK(mr == 0);
	} else {
		FZ_CHECK(mr % r->redeem_points == 0);
		i128 steps = mr / r->redeem_points;
		FZ_CHECK(steps * r->redeem_amount <= cap &&
		         mr <= (b->spendable > 0 ? b->spendable : 0));
		FZ_CHECK((steps + 1) * r->redeem_amount > cap ||
		         (i128)mr + r->redeem_points > b->spendable);
	}

	/* 7. Points earned: Σ cash × m × earn.points × T × P × B / (per_amount × 10000⁴), one
	 * floor at the end. */
	FZ_CHECK(out->points_earned >= 0);
	if (!b->member) {
		FZ_CHECK(out->points_earned == 0);
	} else {
		i128 sum = 0;
		bool fits = true;
		for (int i = 0; i < n && fits; i++)
			fits = !__builtin_add_overflow(
			    sum, (i128)lo[i].cash * b->lines[i].points_multiplier_bp, &sum);
		const int64_t f[] = {r->earn_points, b->tier_points_multiplier_bp,
		                     b->promo_multiplier_bp, b->birthday_multiplier_bp};
		for (int j = 0; j < 4 && fits; j++)
			fits = !__builtin_mul_overflow(sum, (i128)f[j], &sum);
		FZ_CHECK(fits); /* else the engine should have refused */
		i128 den = (i128)r->earn_per_amount * 10000 * 10000 * 10000 * 10000;
		FZ_CHECK(out->points_earned == sum / den);
	}

	/* The adjustments: one per line discounted by the member price or tier, then the
	 * promotion, the coupon (even at 0) and the points, each matching its total. */
	FZ_CHECK(out->n_adjustments >= 0 && out->n_adjustments <= PT_PRICE_ADJ_MAX(n));
	i128 member_adj = 0;
	int promos = 0, coupons = 0, points = 0;
	bool line_seen[MAX_LINES] = {false};
	for (int a = 0; a < out->n_adjustments; a++) {
		const pt_adjustment *x = &adj[a];
		FZ_CHECK(x->amount >= 0);
		switch (x->kind) {
		case PT_ADJ_MEMBER_PRICE:
		case PT_ADJ_TIER_DISCOUNT:
			FZ_CHECK(x->line >= 0 && x->line < n && !line_seen[x->line]);
			line_seen[x->line] = true;
			FZ_CHECK(x->amount > 0 && x->amount == lo[x->line].member_discount);
			FZ_CHECK((x->kind == PT_ADJ_MEMBER_PRICE) ==
			         b->lines[x->line].has_member_price);
			member_adj += x->amount;
			break;
		case PT_ADJ_PROMOTION:
			promos++;
			FZ_CHECK(best && x->amount == best_off && x->promotion_id == best->id);
			FZ_CHECK(x->level == best_level && x->times == best_times && x->times >= 1);
			break;
		case PT_ADJ_COUPON:
			coupons++;
			FZ_CHECK(b->coupon && x->amount == coupon_off &&
			         x->coupon_id == b->coupon->id);
			break;
		case PT_ADJ_POINTS:
			points++;
			FZ_CHECK(x->amount == out->points_value &&
			         x->points == out->points_redeemed);
			break;
		default:
			fz_fail("adjustment %d is of no known kind (%d)", a, (int)x->kind);
		}
		FZ_CHECK(pt_adj_kind_name(x->kind)[0] != '\0');
	}
	FZ_CHECK(member_adj == out->member_discount);
	FZ_CHECK(promos == (best ? 1 : 0) && coupons == (b->coupon ? 1 : 0) &&
	         points == (b->redeem ? 1 : 0));
}

/* A refusal: the code goes with its reason, and the reason is in the input. */
static void check_refusal(const pt_basket *b, const pt_price_err *err)
{
	const pt_points_rules *r = b->rules;
	FZ_CHECK(err->field && err->field[0]);
	FZ_CHECK(err->line >= -1 && err->line < b->n_lines);
	const pt_price_line_in *li = err->line >= 0 ? &b->lines[err->line] : NULL;
	switch (err->why) {
	case PT_WHY_SETTING:
		FZ_CHECK(err->code == PT_INTERNAL && !stored_ok(b));
		return;
	case PT_WHY_RANGE:
		FZ_CHECK(err->code == PT_INVALID_ARGUMENT && li &&
		         (li->qty < 1 || li->unit_price < 0));
		break;
	case PT_WHY_NO_ITEMS:
		FZ_CHECK(err->code == PT_INVALID_ARGUMENT && b->n_lines < 1);
		return;
	case PT_WHY_OVERFLOW:
		FZ_CHECK(err->code == PT_INVALID_ARGUMENT);
		if (li) {
			FZ_CHECK((i128)li->unit_price * li->qty > INT64_MAX);
		} else if (strcmp(err->field, "items") == 0) {
			/* Lines are added in order: some running sum went past 64 bits. */
			i128 sum = 0;
			bool over = false;
			for (int i = 0; i < b->n_lines && !over; i++) {
				sum += (i128)b->lines[i].unit_price * b->lines[i].qty;
				over = sum > INT64_MAX;
			}
			FZ_CHECK(over);
		} else {
			FZ_CHECK(strcmp(err->field, "points_earned") == 0 && b->member);
		}
		break;
	case PT_WHY_NO_MEMBER:
		FZ_CHECK(err->code == PT_INVALID_ARGUMENT && b->redeem && !b->member);
		break;
	case PT_WHY_NOT_MULTIPLE:
		FZ_CHECK(err->code == PT_INVALID_ARGUMENT && b->redeem);
		FZ_CHECK(b->redeem_points < 1 || b->redeem_points % r->redeem_points != 0);
		break;
	case PT_WHY_CAP:
		FZ_CHECK(err->code == PT_INVALID_ARGUMENT && b->redeem);
		FZ_CHECK(err->want > err->have || r->redeem_amount == 0);
		break;
	case PT_WHY_BALANCE:
		FZ_CHECK(err->code == PT_INSUFFICIENT_POINTS && b->redeem);
		FZ_CHECK(err->want == b->redeem_points && err->have == b->spendable &&
		         b->redeem_points > b->spendable);
		break;
	case PT_WHY_MIN_SPEND:
		FZ_CHECK(err->code == PT_COUPON_NOT_APPLICABLE && b->coupon);
		FZ_CHECK(err->want == b->coupon->min_spend && err->have < err->want);
		break;
	default:
		fz_fail("a basket refused for a refund's reason (%d)", (int)err->why);
	}
	/* Not a stored value: so nothing stored was wrong, or it was not reached yet. */
	FZ_CHECK(err->code != PT_INTERNAL);
}

/* --- Refunds ------------------------------------------------------------------------------ */

/* What units [0, k) of x split over q units carry: the first x mod q carry one more. */
static i128 carried(i128 x, i128 q, i128 k)
{
	return k * (x / q) + (k < x % q ? k : x % q);
}

static void refunds(fz_bytes *in, const pt_basket *b, const pt_price_line *lo, const pt_price *p)
{
	const int n = b->n_lines;
	pt_refund_line_in rl[MAX_LINES];
	for (int i = 0; i < n; i++)
		rl[i] = (pt_refund_line_in){.qty = b->lines[i].qty,
		                            .cash = lo[i].cash,
		                            .points_value = lo[i].points_value,
		                            .points_redeemed = lo[i].points_redeemed};
	pt_refund_in ri = {.lines = rl,
	                   .n_lines = n,
	                   .points_earned = p->points_earned,
	                   .cash_original = p->cash_due};
	i128 pv_back = 0, pr_back = 0;
	int rounds = (int)fz_range(in, 1, MAX_ROUNDS);
	for (int round = 0; round < rounds; round++) {
		/* Exactly sized, so a write past the lines is caught. */
		int64_t *units = malloc(sizeof(int64_t) * (size_t)n);
		pt_refund_line *out = malloc(sizeof(pt_refund_line) * (size_t)n);
		FZ_CHECK(units && out);
		bool all = fz_u8(in) < 32;
		bool any_left = false, asked = false;
		int expect_line = -1;
		pt_price_why expect = PT_WHY_NONE;
		for (int i = 0; i < n; i++) {
			int64_t left = rl[i].qty - rl[i].refunded_qty;
			uint8_t m = fz_u8(in);
			units[i] = m < 8 && left < INT64_MAX ? left + 1
			           : m < 12                  ? -fz_range(in, 1, 3)
			           : m < 64                  ? 0
			           : m < 160                 ? left
			                                     : fz_range(in, 0, left);
			any_left |= left > 0;
			int64_t u = all ? left : units[i];
			if (expect == PT_WHY_NONE && u < 0)
				expect = PT_WHY_RANGE, expect_line = i;
			else if (expect == PT_WHY_NONE && u > left)
				expect = PT_WHY_TOO_MANY, expect_line = i;
			asked |= u > 0;
		}
		if (all && !any_left)
			expect = PT_WHY_NOTHING_LEFT, expect_line = -1;
		else if (expect == PT_WHY_NONE && !asked)
			expect = PT_WHY_NOTHING_ASKED;
		ri.units = all ? NULL : units;

		pt_refund r;
		pt_price_err err = {0};
		int rc = pt_refund_price(&ri, out, &r, &err);
		if (rc != 0) {
			/* A consistent history is never "damaged"; the refusal is the one expected.
			 */
			FZ_CHECK(err.code != PT_INTERNAL && err.why != PT_WHY_DAMAGED);
			FZ_CHECK(err.why == expect && err.line == expect_line);
			FZ_CHECK(err.code ==
			         (expect == PT_WHY_RANGE || expect == PT_WHY_NOTHING_ASKED
			              ? PT_INVALID_ARGUMENT
			              : PT_CONFLICT));
			free(units);
			free(out);
			continue;
		}
		FZ_CHECK(expect == PT_WHY_NONE);
		i128 cash = 0, pv = 0, pr = 0;
		bool complete = true;
		for (int i = 0; i < n; i++) {
			const pt_refund_line_in *l = &rl[i];
			int64_t u = all ? l->qty - l->refunded_qty : units[i];
			FZ_CHECK(out[i].units == u);
			/* The units continue from those refunded before, in the committed order. */
			i128 to = (i128)l->refunded_qty + u;
			FZ_CHECK(out[i].cash == carried(l->cash, l->qty, to) -
			                            carried(l->cash, l->qty, l->refunded_qty));
			FZ_CHECK(out[i].points_value ==
			         carried(l->points_value, l->qty, to) -
			             carried(l->points_value, l->qty, l->refunded_qty));
			FZ_CHECK(out[i].points_redeemed ==
			         carried(l->points_redeemed, l->qty, to) -
			             carried(l->points_redeemed, l->qty, l->refunded_qty));
			FZ_CHECK(out[i].cash >= 0 && out[i].points_value >= 0 &&
			         out[i].points_redeemed >= 0);
			cash += out[i].cash;
			pv += out[i].points_value;
			pr += out[i].points_redeemed;
			complete &= to == l->qty;
		}
		FZ_CHECK(r.cash == cash && r.points_value == pv && r.points_returned == pr);
		FZ_CHECK(r.complete == complete && r.points_clawback >= 0);
		/* Never more back than was paid, together with every refund before. */
		i128 cash_back = (i128)ri.cash_refunded + r.cash;
		i128 clawed = (i128)ri.points_clawed_back + r.points_clawback;
		pv_back += r.points_value;
		pr_back += r.points_returned;
		FZ_CHECK(cash_back <= p->cash_due && pv_back <= p->points_value &&
		         pr_back <= p->points_redeemed && clawed <= p->points_earned);
		/* The points kept are what the cash kept earns, floored. */
		i128 cash_left = (i128)p->cash_due - cash_back;
		if (p->cash_due > 0)
			FZ_CHECK(p->points_earned - clawed ==
			         (i128)p->points_earned * cash_left / p->cash_due);
		else
			FZ_CHECK(clawed == (complete ? p->points_earned : 0));
		if (complete)
			FZ_CHECK(cash_back == p->cash_due && pv_back == p->points_value &&
			         pr_back == p->points_redeemed && clawed == p->points_earned);
		for (int i = 0; i < n; i++)
			rl[i].refunded_qty += out[i].units;
		ri.cash_refunded = (int64_t)cash_back;
		ri.points_clawed_back = (int64_t)clawed;
		free(units);
		free(out);
	}

	/* A damaged row: one committed figure changed. The engine may refuse or answer, but
	 * never crash, and an answer stays within what is left. */
	if (fz_u8(in) < 32) {
		int64_t *field[] = {&ri.points_earned,   &ri.cash_original,
		                    &ri.cash_refunded,   &ri.points_clawed_back,
		                    &rl[0].qty,          &rl[0].cash,
		                    &rl[0].points_value, &rl[0].points_redeemed,
		                    &rl[0].refunded_qty};
		int which = (int)fz_range(in, 0, sizeof(field) / sizeof(field[0]) - 1);
		*field[which] = fz_amount(in);
		ri.units = NULL;
		pt_refund_line *out = malloc(sizeof(pt_refund_line) * (size_t)n);
		FZ_CHECK(out);
		pt_refund r;
		pt_price_err err = {0};
		if (pt_refund_price(&ri, out, &r, &err) == 0) {
			FZ_CHECK(r.cash >= 0 &&
			         r.cash <= (i128)ri.cash_original - ri.cash_refunded);
			FZ_CHECK(r.points_clawback >= 0 && r.points_value >= 0);
		} else {
			FZ_CHECK(err.code > PT_OK && err.code < PT_CODE_COUNT && err.field);
		}
		free(out);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_bytes in = {data, size};
	basket k;
	build(&in, &k);
	shown = &k;
	const pt_basket *b = &k.b;
	/* Exactly sized, so a write past the lines or the adjustments is caught. */
	size_t n = b->n_lines > 0 ? (size_t)b->n_lines : 1;
	pt_price_line *lines = malloc(sizeof(*lines) * n);
	pt_adjustment *adj = malloc(sizeof(*adj) * (size_t)PT_PRICE_ADJ_MAX(n));
	FZ_CHECK(lines && adj);
	pt_price out;
	pt_price_err err = {0};
	int rc = pt_price_basket(b, lines, adj, &out, &err);
	if (rc == 0) {
		check_price(b, lines, adj, &out);
		refunds(&in, b, lines, &out);
	} else {
		check_refusal(b, &err);
	}
	free(lines);
	free(adj);
	shown = NULL;
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_dump = dump_basket;
	return 0;
}
