/* The pricing and refund engine: API.md's worked example to the fen, each step alone, the
 * rounding and allocation rules at their edges, overflow, and random baskets and refunds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/pricing.h"

__extension__ typedef __int128 i128;

enum { MAXL = 16 };

/* One basket with room for its outputs. */
typedef struct {
	pt_price_line_in in[MAXL];
	pt_promo_level levels[4][4];
	pt_price_promo promos[4];
	pt_price_coupon coupon;
	pt_points_rules rules;
	pt_basket b;
	pt_price_line lines[MAXL];
	pt_adjustment adj[PT_PRICE_ADJ_MAX(MAXL)];
	pt_price out;
	pt_price_err err;
} fixture;

/* A member with no tier and no promotions: every multiplier 10000, rules as API.md's example. */
static void fixture_init(fixture *f)
{
	memset(f, 0, sizeof(*f));
	pt_points_rules_default(&f->rules); /* 1 point per 100, 100 points = 100, cap 50% */
	f->b = (pt_basket){
	    .lines = f->in,
	    .member = true,
	    .tier_discount_bp = 10000,
	    .tier_points_multiplier_bp = 10000,
	    .spendable = 0,
	    .promotions = f->promos,
	    .promo_multiplier_bp = 10000,
	    .birthday_multiplier_bp = 10000,
	    .rules = &f->rules,
	};
}

static void add_line(fixture *f, int64_t unit_price, int64_t qty, bool discountable)
{
	f->in[f->b.n_lines++] = (pt_price_line_in){.unit_price = unit_price,
	                                           .qty = qty,
	                                           .discountable = discountable,
	                                           .points_multiplier_bp = 10000};
}

static pt_price_promo *add_promo(fixture *f, int64_t id, bool repeat)
{
	int p = f->b.n_promotions++;
	f->promos[p] = (pt_price_promo){.id = id, .levels = f->levels[p], .repeat = repeat};
	return &f->promos[p];
}

static void add_level(pt_price_promo *p, int64_t min_spend, int64_t off)
{
	pt_promo_level *levels = (pt_promo_level *)p->levels;
	levels[p->n_levels++] = (pt_promo_level){min_spend, off};
}

static void set_coupon(fixture *f, pt_coupon_kind kind, int64_t value, int64_t min_spend)
{
	f->coupon =
	    (pt_price_coupon){.id = 99, .kind = kind, .value = value, .min_spend = min_spend};
	f->b.coupon = &f->coupon;
}

static void set_redeem(fixture *f, int64_t points)
{
	f->b.redeem = true;
	f->b.redeem_points = points;
}

static int price(fixture *f)
{
	memset(&f->err, 0, sizeof(f->err));
	return pt_price_basket(&f->b, f->lines, f->adj, &f->out, &f->err);
}

static void expect_ok(fixture *f)
{
	int rc = price(f);
	if (rc != 0)
		fail_msg("refused: %s field %s line %d have %lld want %lld",
		         pt_code_name(f->err.code), f->err.field ? f->err.field : "-", f->err.line,
		         (long long)f->err.have, (long long)f->err.want);
}

static void expect_err(fixture *f, pt_code code, pt_price_why why, const char *field, int line)
{
	assert_int_equal(price(f), -1);
	assert_int_equal(f->err.code, code);
	assert_int_equal(f->err.why, why);
	assert_non_null(f->err.field);
	assert_string_equal(f->err.field, field);
	assert_int_equal(f->err.line, line);
}

static void expect_line(const pt_price_line *l, int64_t gross, int64_t md, int64_t pd, int64_t cd,
                        int64_t net, int64_t pr, int64_t pv, int64_t cash)
{
	assert_int_equal(l->gross, gross);
	assert_int_equal(l->member_discount, md);
	assert_int_equal(l->promotion_discount, pd);
	assert_int_equal(l->coupon_discount, cd);
	assert_int_equal(l->net, net);
	assert_int_equal(l->points_redeemed, pr);
	assert_int_equal(l->points_value, pv);
	assert_int_equal(l->cash, cash);
}

/* API.md's worked example: Gold 95% and 1.5× points; A ¥50.00, B ¥30.00 (member ¥25.00), C
 * ¥20.00 not discountable; 满100减10 / 满200减30; ¥5 off over ¥50; A×2, B, C; 1000 points. */
static void example_basket(fixture *f)
{
	fixture_init(f);
	f->b.tier_discount_bp = 9500;
	f->b.tier_points_multiplier_bp = 15000;
	f->b.spendable = 8000;
	add_line(f, 5000, 2, true);
	add_line(f, 3000, 1, true);
	f->in[1].has_member_price = true;
	f->in[1].member_price = 2500;
	add_line(f, 2000, 1, false);
	pt_price_promo *p = add_promo(f, 7, false);
	add_level(p, 20000, 3000); /* stored out of order on purpose */
	add_level(p, 10000, 1000);
	set_coupon(f, PT_COUPON_AMOUNT_OFF, 500, 5000);
	set_redeem(f, 1000);
}

static void worked_example(void **state)
{
	(void)state;
	fixture f;
	example_basket(&f);
	expect_ok(&f);
	/* A 10000→9500, promotion 792, coupon 396, net 8312, points 665, cash 7647. */
	expect_line(&f.lines[0], 10000, 500, 792, 396, 8312, 665, 665, 7647);
	expect_line(&f.lines[1], 3000, 500, 208, 104, 2188, 175, 175, 2013);
	expect_line(&f.lines[2], 2000, 0, 0, 0, 2000, 160, 160, 1840);
	assert_int_equal(f.out.gross, 15000);
	assert_int_equal(f.out.member_discount, 1000);
	assert_int_equal(f.out.promotion_discount, 1000);
	assert_int_equal(f.out.coupon_discount, 500);
	assert_int_equal(f.out.total, 12500);
	assert_int_equal(f.out.points_redeemed, 1000);
	assert_int_equal(f.out.points_value, 1000);
	assert_int_equal(f.out.cash_due, 11500);
	assert_int_equal(f.out.points_earned, 172);
	/* The cap is 6250, so 62 steps of 100 points; the balance (8000) allows more. */
	assert_int_equal(f.out.max_redeemable_points, 6200);

	assert_int_equal(f.out.n_adjustments, 5);
	const pt_adjustment *a = f.adj;
	assert_int_equal(a[0].kind, PT_ADJ_TIER_DISCOUNT);
	assert_int_equal(a[0].amount, 500);
	assert_int_equal(a[0].line, 0);
	assert_int_equal(a[1].kind, PT_ADJ_MEMBER_PRICE);
	assert_int_equal(a[1].amount, 500);
	assert_int_equal(a[1].line, 1);
	assert_int_equal(a[2].kind, PT_ADJ_PROMOTION);
	assert_int_equal(a[2].amount, 1000);
	assert_int_equal(a[2].promotion_id, 7);
	assert_int_equal(a[2].level, 1); /* 满100减10, the second stored level */
	assert_int_equal(a[2].times, 1);
	assert_int_equal(a[3].kind, PT_ADJ_COUPON);
	assert_int_equal(a[3].amount, 500);
	assert_int_equal(a[3].coupon_id, 99);
	assert_int_equal(a[4].kind, PT_ADJ_POINTS);
	assert_int_equal(a[4].amount, 1000);
	assert_int_equal(a[4].points, 1000);
	assert_string_equal(pt_adj_kind_name(a[0].kind), "tier_discount");
	assert_string_equal(pt_adj_kind_name(a[1].kind), "member_price");
	assert_string_equal(pt_adj_kind_name(a[2].kind), "promotion");
	assert_string_equal(pt_adj_kind_name(a[3].kind), "coupon");
	assert_string_equal(pt_adj_kind_name(a[4].kind), "points");
}

/* --- Each step alone ---------------------------------------------------------------------- */

static void member_pricing(void **state)
{
	(void)state;
	fixture f;
	fixture_init(&f);
	f.b.tier_discount_bp = 9000;
	add_line(&f, 1000, 3, true);  /* tier: 3000 → 2700 */
	add_line(&f, 1000, 2, false); /* member price on a non-discountable product: 2000 → 1600 */
	f.in[1].has_member_price = true;
	f.in[1].member_price = 800;
	add_line(&f, 500, 1, false); /* untouched */
	add_line(&f, 700, 1, true);  /* member price equal to the price: no adjustment */
	f.in[3].has_member_price = true;
	f.in[3].member_price = 700;
	expect_ok(&f);
	expect_line(&f.lines[0], 3000, 300, 0, 0, 2700, 0, 0, 2700);
	expect_line(&f.lines[1], 2000, 400, 0, 0, 1600, 0, 0, 1600);
	expect_line(&f.lines[2], 500, 0, 0, 0, 500, 0, 0, 500);
	expect_line(&f.lines[3], 700, 0, 0, 0, 700, 0, 0, 700);
	assert_int_equal(f.out.member_discount, 700);
	assert_int_equal(f.out.total, 5500);
	assert_int_equal(f.out.n_adjustments, 2);
	assert_int_equal(f.adj[0].kind, PT_ADJ_TIER_DISCOUNT);
	assert_int_equal(f.adj[0].line, 0);
	assert_int_equal(f.adj[1].kind, PT_ADJ_MEMBER_PRICE);
	assert_int_equal(f.adj[1].line, 1);

	/* Without a member there is no member pricing, and no points either way. */
	f.b.member = false;
	f.b.rules = NULL;
	expect_ok(&f);
	assert_int_equal(f.out.member_discount, 0);
	assert_int_equal(f.out.total, 6200);
	assert_int_equal(f.out.n_adjustments, 0);
	assert_int_equal(f.out.points_earned, 0);
	assert_int_equal(f.out.max_redeemable_points, 0);
}

static void rounding_halves(void **state)
{
	(void)state;
	/* gross, discount_bp, net: round_half_up of gross × bp / 10000 */
	static const int64_t cases[][3] = {
	    {5, 9000, 5},         /* 4.5 → 5 */
	    {15, 9000, 14},       /* 13.5 → 14 */
	    {25, 9000, 23},       /* 22.5 → 23 */
	    {1, 5000, 1},         /* 0.5 → 1 */
	    {3, 5000, 2},         /* 1.5 → 2 */
	    {1, 4999, 0},         /* 0.4999 → 0 */
	    {1, 5001, 1},         /* 0.5001 → 1 */
	    {10001, 9999, 10000}, /* 9999.9999 → 10000 */
	    {199, 9950, 198},     /* 198.005 → 198 */
	    {2, 7500, 2},         /* 1.5 → 2 */
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		fixture f;
		fixture_init(&f);
		f.b.tier_discount_bp = cases[c][1];
		add_line(&f, cases[c][0], 1, true);
		expect_ok(&f);
		assert_int_equal(f.lines[0].net, cases[c][2]);
	}
	/* A percent coupon rounds what is paid, so off is the base less the rounded rest:
	 * 15 at 50% pays round_half_up(7.5) = 8 and takes 7. */
	fixture f;
	fixture_init(&f);
	add_line(&f, 15, 1, true);
	set_coupon(&f, PT_COUPON_PERCENT_OFF, 5000, 0);
	expect_ok(&f);
	assert_int_equal(f.out.coupon_discount, 7);
	assert_int_equal(f.out.total, 8);
}

static void promotion_levels(void **state)
{
	(void)state;
	fixture f;
	fixture_init(&f);
	add_line(&f, 15000, 1, true);
	add_line(&f, 9000, 1, false); /* not in the base */
	pt_price_promo *p = add_promo(&f, 3, false);
	add_level(p, 20000, 3000);
	add_level(p, 10000, 1000);
	add_level(p, 15000, 1500);
	expect_ok(&f); /* base 15000: the highest level reached is 15000, exactly at its line */
	assert_int_equal(f.out.promotion_discount, 1500);
	assert_int_equal(f.adj[0].level, 2);
	assert_int_equal(f.lines[0].promotion_discount, 1500);
	assert_int_equal(f.lines[1].promotion_discount, 0);
	f.in[0].unit_price = 14999; /* one below: the next level down */
	expect_ok(&f);
	assert_int_equal(f.out.promotion_discount, 1000);
	assert_int_equal(f.adj[0].level, 1);
	f.in[0].unit_price = 9999; /* below every level: no promotion at all */
	expect_ok(&f);
	assert_int_equal(f.out.promotion_discount, 0);
	assert_int_equal(f.out.n_adjustments, 0);
	f.in[0].unit_price = 25000; /* above the top */
	expect_ok(&f);
	assert_int_equal(f.out.promotion_discount, 3000);
	assert_int_equal(f.adj[0].level, 0);
	assert_int_equal(f.adj[0].times, 1);
	p->has_max_off = true; /* max_off caps */
	p->max_off = 2000;
	expect_ok(&f);
	assert_int_equal(f.out.promotion_discount, 2000);

	/* The base is after member pricing: 10500 at 95% is 9975, below 满100. */
	fixture g;
	fixture_init(&g);
	g.b.tier_discount_bp = 9500;
	add_line(&g, 10500, 1, true);
	p = add_promo(&g, 1, false);
	add_level(p, 10000, 1000);
	expect_ok(&g);
	assert_int_equal(g.out.promotion_discount, 0);
	g.b.member = false; /* without a member the base is 10500 */
	expect_ok(&g);
	assert_int_equal(g.out.promotion_discount, 1000);
}

static void promotion_repeat(void **state)
{
	(void)state;
	fixture f;
	fixture_init(&f);
	add_line(&f, 25000, 1, true);
	pt_price_promo *p = add_promo(&f, 4, true);
	add_level(p, 20000, 3000);
	add_level(p, 10000, 1000);
	/* With repeat every full 10000 (the lowest level) gives 1000: 2 × 1000, not 3000. */
	expect_ok(&f);
	assert_int_equal(f.out.promotion_discount, 2000);
	assert_int_equal(f.adj[0].level, 1);
	assert_int_equal(f.adj[0].times, 2);
	f.in[0].unit_price = 39999;
	expect_ok(&f);
	assert_int_equal(f.out.promotion_discount, 3000);
	assert_int_equal(f.adj[0].times, 3);
	f.in[0].unit_price = 9999;
	expect_ok(&f);
	assert_int_equal(f.out.promotion_discount, 0);
	assert_int_equal(f.out.n_adjustments, 0);
	f.in[0].unit_price = 100000;
	p->has_max_off = true;
	p->max_off = 4500;
	expect_ok(&f);
	assert_int_equal(f.out.promotion_discount, 4500);
	assert_int_equal(f.adj[0].times, 10);
	/* An off above its min_spend never takes more than the base. */
	p->has_max_off = false;
	((pt_promo_level *)p->levels)[1] = (pt_promo_level){100, 500};
	f.in[0].unit_price = 250;
	expect_ok(&f);
	assert_int_equal(f.out.promotion_discount, 250);
	assert_int_equal(f.out.total, 0);
	/* A repeat of a 0 min_spend has no end: the promotion is refused as stored. */
	((pt_promo_level *)p->levels)[1] = (pt_promo_level){0, 500};
	expect_err(&f, PT_INTERNAL, PT_WHY_SETTING, "levels.min_spend", -1);
}

static void promotion_choice(void **state)
{
	(void)state;
	fixture f;
	fixture_init(&f);
	add_line(&f, 20000, 1, true);
	pt_price_promo *a = add_promo(&f, 9, false);
	add_level(a, 10000, 1500);
	pt_price_promo *b = add_promo(&f, 5, false);
	add_level(b, 20000, 1400);
	pt_price_promo *c = add_promo(&f, 2, false);
	add_level(c, 30000, 9000); /* not reached */
	expect_ok(&f);
	assert_int_equal(f.out.promotion_discount, 1500);
	assert_int_equal(f.adj[0].promotion_id, 9);
	/* They do not stack, and a tie goes to the lowest id, wherever it stands. */
	((pt_promo_level *)b->levels)[0].off = 1500;
	expect_ok(&f);
	assert_int_equal(f.out.promotion_discount, 1500);
	assert_int_equal(f.adj[0].promotion_id, 5);
	/* A max_off decides the comparison: the capped one loses. */
	b->has_max_off = true;
	b->max_off = 1499;
	expect_ok(&f);
	assert_int_equal(f.adj[0].promotion_id, 9);
	assert_int_equal(f.out.n_adjustments, 1);
	/* The largest wins wherever it stands in the list. */
	((pt_promo_level *)a->levels)[0].off = 1000;
	expect_ok(&f);
	assert_int_equal(f.adj[0].promotion_id, 5);
	assert_int_equal(f.out.promotion_discount, 1499);
}

static void coupon_after_promotion(void **state)
{
	(void)state;
	fixture f;
	fixture_init(&f);
	add_line(&f, 12000, 1, true);
	add_line(&f, 5000, 1, false);
	pt_price_promo *p = add_promo(&f, 1, false);
	add_level(p, 10000, 1000);
	/* min_spend is compared with the discountable base after the promotion: 11000. */
	set_coupon(&f, PT_COUPON_AMOUNT_OFF, 800, 11000);
	expect_ok(&f);
	assert_int_equal(f.out.coupon_discount, 800);
	assert_int_equal(f.lines[0].coupon_discount, 800);
	assert_int_equal(f.lines[1].coupon_discount, 0);
	assert_int_equal(f.out.total, 12000 - 1000 - 800 + 5000);
	f.coupon.min_spend = 11001;
	expect_err(&f, PT_COUPON_NOT_APPLICABLE, PT_WHY_MIN_SPEND, "coupon_code", -1);
	assert_int_equal(f.err.have, 11000);
	assert_int_equal(f.err.want, 11001);
	/* The non-discountable line does not count towards min_spend. */
	f.coupon.min_spend = 16000;
	expect_err(&f, PT_COUPON_NOT_APPLICABLE, PT_WHY_MIN_SPEND, "coupon_code", -1);
	/* max_off caps an amount_off as well. */
	f.coupon.min_spend = 0;
	f.coupon.has_max_off = true;
	f.coupon.max_off = 300;
	expect_ok(&f);
	assert_int_equal(f.out.coupon_discount, 300);
}

static void coupon_percent(void **state)
{
	(void)state;
	fixture f;
	fixture_init(&f);
	add_line(&f, 11000, 1, true);
	set_coupon(&f, PT_COUPON_PERCENT_OFF, 8500, 0); /* 85折: 11000 − 9350 */
	expect_ok(&f);
	assert_int_equal(f.out.coupon_discount, 1650);
	assert_int_equal(f.adj[0].kind, PT_ADJ_COUPON);
	assert_int_equal(f.adj[0].amount, 1650);
	f.coupon.has_max_off = true;
	f.coupon.max_off = 1000;
	expect_ok(&f);
	assert_int_equal(f.out.coupon_discount, 1000);
	assert_int_equal(f.out.total, 10000);
	f.coupon.value = 10001; /* more than the whole price is a damaged template */
	expect_err(&f, PT_INTERNAL, PT_WHY_SETTING, "coupon.value", -1);
}

static void coupon_larger_than_base(void **state)
{
	(void)state;
	fixture f;
	fixture_init(&f);
	add_line(&f, 1000, 2, true);
	add_line(&f, 999, 1, true);
	add_line(&f, 700, 1, false);
	set_coupon(&f, PT_COUPON_AMOUNT_OFF, 100000, 0);
	expect_ok(&f);
	assert_int_equal(f.out.coupon_discount, 2999);
	assert_int_equal(f.adj[0].amount, 2999);
	expect_line(&f.lines[0], 2000, 0, 0, 2000, 0, 0, 0, 0);
	expect_line(&f.lines[1], 999, 0, 0, 999, 0, 0, 0, 0);
	expect_line(&f.lines[2], 700, 0, 0, 0, 700, 0, 0, 700);
	assert_int_equal(f.out.total, 700);
}

static void hundred_percent_discount(void **state)
{
	(void)state;
	fixture f;
	fixture_init(&f);
	f.b.tier_discount_bp = 0; /* a tier that pays nothing */
	add_line(&f, 1234, 3, true);
	expect_ok(&f);
	expect_line(&f.lines[0], 3702, 3702, 0, 0, 0, 0, 0, 0);
	/* Nothing left to discount: a coupon still applies (it is used) and takes nothing. */
	set_coupon(&f, PT_COUPON_PERCENT_OFF, 0, 0);
	expect_ok(&f);
	assert_int_equal(f.out.coupon_discount, 0);
	assert_int_equal(f.out.n_adjustments, 2);
	assert_int_equal(f.adj[1].kind, PT_ADJ_COUPON);
	assert_int_equal(f.adj[1].amount, 0);
	/* A percent_off of value 0 takes the whole base. */
	f.b.tier_discount_bp = 10000;
	f.b.spendable = 100000;
	expect_ok(&f);
	expect_line(&f.lines[0], 3702, 0, 0, 3702, 0, 0, 0, 0);
	assert_int_equal(f.out.total, 0);
	assert_int_equal(f.out.cash_due, 0);
	assert_int_equal(f.out.points_earned, 0);
	assert_int_equal(f.out.max_redeemable_points, 0);
	set_redeem(&f, 100); /* a total of 0 caps points at 0 */
	expect_err(&f, PT_INVALID_ARGUMENT, PT_WHY_CAP, "redeem_points", -1);
	assert_int_equal(f.err.have, 0);
	assert_int_equal(f.err.want, 100);
}

static void allocation_largest_remainder(void **state)
{
	(void)state;
	fixture f;
	/* Equal remainders: the earlier line. 500 over 333/667 is 166.5 / 333.5. */
	fixture_init(&f);
	add_line(&f, 333, 1, true);
	add_line(&f, 667, 1, true);
	set_coupon(&f, PT_COUPON_AMOUNT_OFF, 500, 0);
	expect_ok(&f);
	assert_int_equal(f.lines[0].coupon_discount, 167);
	assert_int_equal(f.lines[1].coupon_discount, 333);
	/* The larger remainder wins even when it is later: 1 over 100/200. */
	f.in[0].unit_price = 100;
	f.in[1].unit_price = 200;
	f.coupon.value = 1;
	expect_ok(&f);
	assert_int_equal(f.lines[0].coupon_discount, 0);
	assert_int_equal(f.lines[1].coupon_discount, 1);
	/* Three equal lines: 2 goes to the first two; a non-discountable line between them
	 * takes nothing and does not count as a line. */
	fixture_init(&f);
	add_line(&f, 100, 1, true);
	add_line(&f, 100, 1, false);
	add_line(&f, 100, 1, true);
	add_line(&f, 100, 1, true);
	set_coupon(&f, PT_COUPON_AMOUNT_OFF, 2, 0);
	expect_ok(&f);
	assert_int_equal(f.lines[0].coupon_discount, 1);
	assert_int_equal(f.lines[1].coupon_discount, 0);
	assert_int_equal(f.lines[2].coupon_discount, 1);
	assert_int_equal(f.lines[3].coupon_discount, 0);
	/* Several units left over, among unequal remainders: 10 over 7 lines of 1..7 (sum 28):
	 * exact shares 10k/28; floors 0,0,1,1,1,2,2 = 7; remainders 10,20,2,12,22,4,14 → the
	 * three largest are lines 4 (22), 1 (20) and 6 (14). */
	fixture_init(&f);
	for (int i = 1; i <= 7; i++)
		add_line(&f, i, 1, true);
	set_coupon(&f, PT_COUPON_AMOUNT_OFF, 10, 0);
	expect_ok(&f);
	static const int64_t want[] = {0, 1, 1, 1, 2, 2, 3};
	for (int i = 0; i < 7; i++)
		assert_int_equal(f.lines[i].coupon_discount, want[i]);
	/* Points are spread over all lines, the non-discountable too, by net. */
	fixture_init(&f);
	f.b.spendable = 1000;
	add_line(&f, 1000, 1, false);
	add_line(&f, 1000, 1, true);
	add_line(&f, 1000, 1, false);
	set_redeem(&f, 100);
	expect_ok(&f);
	assert_int_equal(f.lines[0].points_value, 34);
	assert_int_equal(f.lines[1].points_value, 33);
	assert_int_equal(f.lines[2].points_value, 33);
	assert_int_equal(f.lines[0].points_redeemed, 34);
}

/* redeem.points and redeem.amount that differ: points and value are split separately. */
static void points_and_value_split_separately(void **state)
{
	(void)state;
	fixture f;
	fixture_init(&f);
	f.rules.redeem_points = 100;
	f.rules.redeem_amount = 30; /* 100 points = ¥0.30 */
	f.b.spendable = 10000;
	add_line(&f, 100, 1, true);
	add_line(&f, 200, 1, true);
	set_redeem(&f, 500); /* value 150 of total 300: exactly at the 50% cap */
	expect_ok(&f);
	assert_int_equal(f.out.points_value, 150);
	assert_int_equal(f.lines[0].points_value, 50);
	assert_int_equal(f.lines[1].points_value, 100);
	/* 500 points over 100/200: 166.67 / 333.33 → 167 / 333. */
	assert_int_equal(f.lines[0].points_redeemed, 167);
	assert_int_equal(f.lines[1].points_redeemed, 333);
	assert_int_equal(f.lines[0].cash, 50);
	assert_int_equal(f.lines[1].cash, 100);
	/* floor(150 / 30) = 5 steps of 100. */
	assert_int_equal(f.out.max_redeemable_points, 500);
}

static void points_cap_boundary(void **state)
{
	(void)state;
	fixture f;
	example_basket(&f); /* total 12500, cap 6250 */
	f.b.spendable = 100000;
	set_redeem(&f, 6200); /* the last step within the cap */
	expect_ok(&f);
	assert_int_equal(f.out.points_value, 6200);
	assert_int_equal(f.out.cash_due, 6300);
	set_redeem(&f, 6300); /* one step over */
	expect_err(&f, PT_INVALID_ARGUMENT, PT_WHY_CAP, "redeem_points", -1);
	assert_int_equal(f.err.have, 6250);
	assert_int_equal(f.err.want, 6300);

	/* A cap that is a whole number of steps: exactly at it passes. */
	fixture_init(&f);
	f.b.spendable = 100000;
	add_line(&f, 10000, 1, true);
	set_redeem(&f, 5000);
	expect_ok(&f);
	assert_int_equal(f.out.points_value, 5000);
	assert_int_equal(f.out.cash_due, 5000);
	assert_int_equal(f.out.max_redeemable_points, 5000);
	set_redeem(&f, 5100);
	expect_err(&f, PT_INVALID_ARGUMENT, PT_WHY_CAP, "redeem_points", -1);
	f.rules.redeem_max_ratio_bp = 10000; /* the whole total may be paid with points */
	set_redeem(&f, 10000);
	expect_ok(&f);
	assert_int_equal(f.out.cash_due, 0);
	assert_int_equal(f.lines[0].cash, 0);
	assert_int_equal(f.out.points_earned, 0);
	f.rules.redeem_max_ratio_bp = 5000;

	/* The balance, at and one step over. */
	f.b.spendable = 3000;
	set_redeem(&f, 3000);
	expect_ok(&f);
	assert_int_equal(f.out.max_redeemable_points, 3000);
	f.b.spendable = 2999;
	expect_err(&f, PT_INSUFFICIENT_POINTS, PT_WHY_BALANCE, "redeem_points", -1);
	assert_int_equal(f.err.have, 2999);
	assert_int_equal(f.err.want, 3000);
	/* max_redeemable_points: the balance bounds it, in whole steps; a debt allows none. */
	f.b.redeem = false;
	expect_ok(&f);
	assert_int_equal(f.out.max_redeemable_points, 2900);
	f.b.spendable = -50;
	expect_ok(&f);
	assert_int_equal(f.out.max_redeemable_points, 0);
	set_redeem(&f, 100);
	expect_err(&f, PT_INSUFFICIENT_POINTS, PT_WHY_BALANCE, "redeem_points", -1);
}

static void redeem_request_checks(void **state)
{
	(void)state;
	fixture f;
	fixture_init(&f);
	f.b.spendable = 100000;
	add_line(&f, 10000, 1, true);
	static const int64_t bad[] = {0, -100, 150, 99, 1};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		set_redeem(&f, bad[i]);
		expect_err(&f, PT_INVALID_ARGUMENT, PT_WHY_NOT_MULTIPLE, "redeem_points", -1);
		assert_int_equal(f.err.want, 100);
	}
	/* A value too large for 64 bits is above the cap, not an overflow. */
	f.rules.redeem_amount = INT64_MAX;
	set_redeem(&f, 200);
	expect_err(&f, PT_INVALID_ARGUMENT, PT_WHY_CAP, "redeem_points", -1);
	assert_int_equal(f.err.want, INT64_MAX);
	f.rules.redeem_amount = 100;
	/* Without a member, any redemption is refused. */
	f.b.member = false;
	set_redeem(&f, 100);
	expect_err(&f, PT_INVALID_ARGUMENT, PT_WHY_NO_MEMBER, "redeem_points", -1);
	f.b.redeem = false;
	expect_ok(&f);
	assert_int_equal(f.out.points_value, 0);
}

/* One line of cash 10000, 1 point per 100: 100 points before multipliers. */
static void points_earned_multipliers(void **state)
{
	(void)state;
	fixture f;
	fixture_init(&f);
	add_line(&f, 10000, 1, true);
	expect_ok(&f);
	assert_int_equal(f.out.points_earned, 100);
	f.b.tier_points_multiplier_bp = 15000; /* T */
	expect_ok(&f);
	assert_int_equal(f.out.points_earned, 150);
	f.b.tier_points_multiplier_bp = 10000;
	f.b.promo_multiplier_bp = 20000; /* P */
	expect_ok(&f);
	assert_int_equal(f.out.points_earned, 200);
	f.b.promo_multiplier_bp = 10000;
	f.b.birthday_multiplier_bp = 30000; /* B */
	expect_ok(&f);
	assert_int_equal(f.out.points_earned, 300);
	f.b.birthday_multiplier_bp = 10000;
	f.in[0].points_multiplier_bp = 5000; /* the product's */
	expect_ok(&f);
	assert_int_equal(f.out.points_earned, 50);
	f.rules.earn_points = 3; /* 3 points per ¥1 */
	expect_ok(&f);
	assert_int_equal(f.out.points_earned, 150);
	f.rules.earn_points = 1;
	/* All together, with one floor at the end: 10000 × 0.5 × 1.5 × 2 × 3 / 100 = 450, and
	 * with odd rates 10000 × 1.2345 × 1.1111 × 1.0001 × 0.9999 / 100 = 137.16… → 137. */
	f.b.tier_points_multiplier_bp = 15000;
	f.b.promo_multiplier_bp = 20000;
	f.b.birthday_multiplier_bp = 30000;
	expect_ok(&f);
	assert_int_equal(f.out.points_earned, 450);
	f.in[0].points_multiplier_bp = 12345;
	f.b.tier_points_multiplier_bp = 11111;
	f.b.promo_multiplier_bp = 10001;
	f.b.birthday_multiplier_bp = 9999;
	expect_ok(&f);
	assert_int_equal(f.out.points_earned, 137);
	/* A zero multiplier earns nothing. */
	f.b.birthday_multiplier_bp = 0;
	expect_ok(&f);
	assert_int_equal(f.out.points_earned, 0);

	/* One floor over the sum, not per line: two lines of 1.5 points earn 3, not 2. */
	fixture_init(&f);
	add_line(&f, 150, 1, true);
	add_line(&f, 150, 1, false);
	expect_ok(&f);
	assert_int_equal(f.out.points_earned, 3);
	/* Line multipliers weigh each line's own cash: 150 × 1 + 150 × 2.5 = 525 → 5. */
	f.in[1].points_multiplier_bp = 25000;
	expect_ok(&f);
	assert_int_equal(f.out.points_earned, 5);
	/* Nothing is earned on the part paid with points: 300 − 100 paid. */
	f.in[1].points_multiplier_bp = 10000;
	f.b.spendable = 100;
	set_redeem(&f, 100);
	expect_ok(&f);
	assert_int_equal(f.out.cash_due, 200);
	assert_int_equal(f.out.points_earned, 2);
	/* Without a member, nothing. */
	f.b.member = false;
	f.b.redeem = false;
	expect_ok(&f);
	assert_int_equal(f.out.points_earned, 0);
}

static void overflow_refused(void **state)
{
	(void)state;
	fixture f;
	fixture_init(&f);
	add_line(&f, INT64_MAX / 2 + 1, 2, true); /* the line gross */
	expect_err(&f, PT_INVALID_ARGUMENT, PT_WHY_OVERFLOW, "qty", 0);
	fixture_init(&f);
	add_line(&f, INT64_MAX / 2 + 1, 1, true); /* the sum of lines */
	add_line(&f, INT64_MAX / 2 + 1, 1, false);
	expect_err(&f, PT_INVALID_ARGUMENT, PT_WHY_OVERFLOW, "items", -1);
	/* Just inside 64 bits, every step still works (128-bit products inside). */
	fixture_init(&f);
	f.b.tier_discount_bp = 9999;
	f.b.spendable = INT64_MAX;
	add_line(&f, INT64_MAX / 4, 2, true);
	add_line(&f, INT64_MAX / 4, 1, false);
	set_coupon(&f, PT_COUPON_PERCENT_OFF, 7777, 0);
	f.in[0].points_multiplier_bp = 0; /* keeps points earned small */
	f.in[1].points_multiplier_bp = 0;
	expect_ok(&f);
	assert_true(f.lines[0].net + f.lines[1].net == f.out.total);
	assert_true(f.out.max_redeemable_points > 0);
	set_redeem(&f, f.out.max_redeemable_points);
	expect_ok(&f);
	assert_true(f.lines[0].points_value + f.lines[1].points_value == f.out.points_value);
	assert_true(f.lines[0].points_redeemed + f.lines[1].points_redeemed ==
	            f.out.points_redeemed);
	/* Points earned beyond 128 bits before the division. */
	f.b.redeem = false;
	f.in[0].points_multiplier_bp = INT64_MAX;
	f.b.tier_points_multiplier_bp = INT64_MAX;
	expect_err(&f, PT_INVALID_ARGUMENT, PT_WHY_OVERFLOW, "points_earned", -1);
	/* A product of exactly 2^128, which a wrapping multiplication would take for 0:
	 * 2^62 cash × 4 × 2^32 × 2^32. */
	fixture_init(&f);
	add_line(&f, (int64_t)1 << 62, 1, true);
	f.in[0].points_multiplier_bp = 4;
	f.rules.earn_points = (int64_t)1 << 32;
	f.b.tier_points_multiplier_bp = (int64_t)1 << 32;
	f.b.promo_multiplier_bp = 1;
	f.b.birthday_multiplier_bp = 1;
	expect_err(&f, PT_INVALID_ARGUMENT, PT_WHY_OVERFLOW, "points_earned", -1);
	/* Within 128 bits but a result beyond 64: 2^62 cash × 4 at 1 point per fen = 2^64. */
	fixture_init(&f);
	f.rules.earn_per_amount = 1;
	add_line(&f, (int64_t)1 << 62, 1, true);
	f.in[0].points_multiplier_bp = 40000;
	expect_err(&f, PT_INVALID_ARGUMENT, PT_WHY_OVERFLOW, "points_earned", -1);
	/* And 2^62 points (at 1×) is still a number. */
	f.in[0].points_multiplier_bp = 10000;
	expect_ok(&f);
	assert_true(f.out.points_earned == (int64_t)1 << 62);
}

static void input_checks(void **state)
{
	(void)state;
	fixture f;
	fixture_init(&f);
	expect_err(&f, PT_INVALID_ARGUMENT, PT_WHY_NO_ITEMS, "items", -1); /* no lines */
	add_line(&f, 100, 1, true);
	add_line(&f, 100, 0, true);
	expect_err(&f, PT_INVALID_ARGUMENT, PT_WHY_RANGE, "qty", 1);
	f.in[1].qty = -3;
	expect_err(&f, PT_INVALID_ARGUMENT, PT_WHY_RANGE, "qty", 1);
	f.in[1].qty = 1;
	f.in[1].unit_price = -1;
	expect_err(&f, PT_INVALID_ARGUMENT, PT_WHY_RANGE, "unit_price", 1);
	f.in[1].unit_price = 0; /* a free item is fine */
	expect_ok(&f);
	assert_int_equal(f.out.total, 100);
	/* Stored values out of range are a bug elsewhere, not bad input. */
	f.in[1].has_member_price = true;
	f.in[1].member_price = 1;
	expect_err(&f, PT_INTERNAL, PT_WHY_SETTING, "member_price", 1);
	f.in[1].has_member_price = false;
	f.in[0].points_multiplier_bp = -1;
	expect_err(&f, PT_INTERNAL, PT_WHY_SETTING, "points_multiplier_bp", 0);
	f.in[0].points_multiplier_bp = 10000;
	f.b.tier_discount_bp = 10001;
	expect_err(&f, PT_INTERNAL, PT_WHY_SETTING, "discount_bp", -1);
	f.b.tier_discount_bp = 10000;
	f.rules.redeem_points = 0;
	expect_err(&f, PT_INTERNAL, PT_WHY_SETTING, "redeem.points", -1);
	f.rules.redeem_points = 100;
	f.rules.earn_per_amount = 0;
	expect_err(&f, PT_INTERNAL, PT_WHY_SETTING, "earn.per_amount", -1);
	f.rules.earn_per_amount = 100;
	pt_price_promo *p = add_promo(&f, 1, false);
	add_level(p, 50, -1);
	expect_err(&f, PT_INTERNAL, PT_WHY_SETTING, "levels.off", -1);
	((pt_promo_level *)p->levels)[0].off = 10;
	expect_ok(&f);
	assert_int_equal(f.out.promotion_discount, 10);
	set_coupon(&f, PT_COUPON_AMOUNT_OFF, -5, 0);
	expect_err(&f, PT_INTERNAL, PT_WHY_SETTING, "coupon.value", -1);
}

/* --- Random baskets ------------------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: the same baskets on every machine and every run. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static int64_t rnd_in(int64_t lo, int64_t hi)
{
	return lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1));
}

/* An allocation of amount over weights (w[i] < 0: the line takes no part) is the largest
 * remainder split: each share is the floor of its exact proportion or one more, the shares sum
 * to amount, and a line gets one more only ahead of every line with a smaller remainder, or an
 * equal one further down. Checked by brute force, independent of the engine's method. */
static void assert_largest_remainder(const int64_t *share, const int64_t *w, int n, int64_t amount)
{
	i128 total = 0, sum = 0;
	for (int i = 0; i < n; i++)
		if (w[i] >= 0)
			total += w[i];
	for (int i = 0; i < n; i++) {
		if (w[i] < 0 || total == 0) {
			assert_int_equal(share[i], 0);
			continue;
		}
		sum += share[i];
		i128 fl = (i128)amount * w[i] / total, ri = (i128)amount * w[i] % total;
		assert_true(share[i] == fl || (share[i] == fl + 1 && ri > 0));
		if (share[i] != fl + 1)
			continue;
		for (int j = 0; j < n; j++) {
			if (w[j] < 0 || j == i)
				continue;
			i128 fj = (i128)amount * w[j] / total, rj = (i128)amount * w[j] % total;
			if (share[j] == fj) /* j got no extra unit: i must rank above it */
				assert_true(ri > rj || (ri == rj && i < j));
		}
	}
	assert_true(sum == (total == 0 ? 0 : amount));
}

/* Refunds the order in random parts until nothing is left; the parts add up to the whole. */
static void refund_in_parts(const fixture *f)
{
	pt_refund_line_in rl[MAXL];
	int n = f->b.n_lines;
	for (int i = 0; i < n; i++)
		rl[i] =
		    (pt_refund_line_in){f->in[i].qty, f->lines[i].cash, f->lines[i].points_value,
		                        f->lines[i].points_redeemed, 0};
	pt_refund_in r = {.lines = rl,
	                  .n_lines = n,
	                  .points_earned = f->out.points_earned,
	                  .cash_original = f->out.cash_due};
	int64_t units[MAXL], returned = 0, value = 0, clawed = 0;
	pt_refund_line out[MAXL];
	pt_refund total;
	pt_price_err err;
	for (int part = 0;; part++) {
		bool whole = rnd() % 4 == 0;
		bool any = false;
		for (int i = 0; i < n; i++) {
			units[i] = rnd_in(0, rl[i].qty - rl[i].refunded_qty);
			any |= units[i] > 0;
		}
		r.units = whole ? NULL : units;
		int rc = pt_refund_price(&r, out, &total, &err);
		if (!whole && !any) {
			assert_int_equal(rc, -1);
			assert_int_equal(err.code, PT_INVALID_ARGUMENT);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_true(total.points_clawback >= 0);
		int64_t c = 0;
		for (int i = 0; i < n; i++) {
			assert_true(out[i].cash >= 0 && out[i].points_redeemed >= 0);
			c += out[i].cash;
			rl[i].refunded_qty += out[i].units;
		}
		assert_int_equal(c, total.cash);
		r.cash_refunded += total.cash;
		r.points_clawed_back += total.points_clawback;
		returned += total.points_returned;
		value += total.points_value;
		clawed += total.points_clawback;
		/* The clawback keeps exactly what the cash kept justifies. */
		if (r.cash_original > 0)
			assert_true(f->out.points_earned - clawed ==
			            (int64_t)((i128)f->out.points_earned *
			                      (r.cash_original - r.cash_refunded) /
			                      r.cash_original));
		if (total.complete)
			break;
		assert_true(part < 1000);
	}
	assert_int_equal(r.cash_refunded, f->out.cash_due);
	assert_int_equal(returned, f->out.points_redeemed);
	assert_int_equal(value, f->out.points_value);
	assert_int_equal(clawed, f->out.points_earned);
	r.units = NULL; /* nothing left */
	assert_int_equal(pt_refund_price(&r, out, &total, &err), -1);
	assert_int_equal(err.code, PT_CONFLICT);
	assert_int_equal(err.why, PT_WHY_NOTHING_LEFT);
}

static void random_basket(fixture *f)
{
	fixture_init(f);
	f->b.member = rnd() % 5 != 0;
	f->b.tier_discount_bp = rnd() % 3 ? rnd_in(8000, 10000) : rnd_in(0, 10000);
	f->b.tier_points_multiplier_bp = rnd_in(5000, 30000);
	f->b.promo_multiplier_bp = rnd() % 2 ? 10000 : rnd_in(10000, 50000);
	f->b.birthday_multiplier_bp = rnd() % 4 ? 10000 : rnd_in(10000, 30000);
	f->b.spendable = rnd_in(-500, 200000);
	f->rules.earn_per_amount = rnd_in(1, 1000);
	f->rules.earn_points = rnd_in(0, 5);
	f->rules.redeem_points = rnd() % 2 ? 100 : rnd_in(1, 500);
	f->rules.redeem_amount = rnd() % 2 ? 100 : rnd_in(1, 500);
	f->rules.redeem_max_ratio_bp = rnd_in(0, 10000);
	int n = (int)rnd_in(1, MAXL);
	int64_t scale = rnd() % 10 ? 10000 : 100000000000LL; /* now and then, huge amounts */
	for (int i = 0; i < n; i++) {
		add_line(f, rnd_in(0, scale), rnd_in(1, 5), rnd() % 4 != 0);
		f->in[i].points_multiplier_bp = rnd() % 3 ? 10000 : rnd_in(0, 30000);
		if (rnd() % 4 == 0) {
			f->in[i].has_member_price = true;
			f->in[i].member_price = rnd_in(0, f->in[i].unit_price);
		}
	}
	int np = (int)rnd_in(0, 3);
	for (int p = 0; p < np; p++) {
		pt_price_promo *pr = add_promo(f, rnd_in(1, 4), rnd() % 3 == 0);
		int nl = (int)rnd_in(0, 4);
		for (int l = 0; l < nl; l++)
			add_level(pr, rnd_in(1, scale * 3), rnd_in(0, scale));
		if (rnd() % 3 == 0) {
			pr->has_max_off = true;
			pr->max_off = rnd_in(0, scale);
		}
	}
	if (rnd() % 2) {
		bool pct = rnd() % 2;
		set_coupon(f, pct ? PT_COUPON_PERCENT_OFF : PT_COUPON_AMOUNT_OFF,
		           pct ? rnd_in(0, 10000) : rnd_in(0, scale * 2),
		           rnd() % 2 ? 0 : rnd_in(0, scale * 3));
		if (rnd() % 3 == 0) {
			f->coupon.has_max_off = true;
			f->coupon.max_off = rnd_in(0, scale);
		}
	}
}

/* The figures of API.md's steps 2, 3, 4 and 7 computed again, plainly, for the random test. */
static int64_t ref_member_net(const fixture *f, int i)
{
	const pt_price_line_in *l = &f->in[i];
	int64_t gross = l->unit_price * l->qty;
	if (!f->b.member)
		return gross;
	if (l->has_member_price)
		return l->member_price * l->qty;
	if (!l->discountable)
		return gross;
	i128 x = (i128)gross * f->b.tier_discount_bp;
	return (int64_t)(x / 10000 + (x % 10000 >= 5000));
}

static int64_t ref_promotion(const fixture *f, int64_t base)
{
	int64_t best = 0;
	for (int p = 0; p < f->b.n_promotions; p++) {
		const pt_price_promo *pr = &f->promos[p];
		i128 off = 0;
		if (pr->repeat) {
			int lo = -1;
			for (int l = 0; l < pr->n_levels; l++)
				if (lo < 0 || pr->levels[l].min_spend < pr->levels[lo].min_spend ||
				    (pr->levels[l].min_spend == pr->levels[lo].min_spend &&
				     pr->levels[l].off > pr->levels[lo].off))
					lo = l;
			if (lo >= 0)
				off = (i128)(base / pr->levels[lo].min_spend) * pr->levels[lo].off;
		} else {
			int64_t reached = -1;
			for (int l = 0; l < pr->n_levels; l++)
				if (pr->levels[l].min_spend <= base &&
				    (pr->levels[l].min_spend > reached ||
				     (pr->levels[l].min_spend == reached &&
				      pr->levels[l].off > off))) {
					reached = pr->levels[l].min_spend;
					off = pr->levels[l].off;
				}
		}
		if (pr->has_max_off && off > pr->max_off)
			off = pr->max_off;
		if (off > base)
			off = base;
		if (off > best)
			best = (int64_t)off;
	}
	return best;
}

static int64_t ref_coupon(const pt_price_coupon *c, int64_t base)
{
	i128 off;
	if (c->kind == PT_COUPON_AMOUNT_OFF) {
		off = c->value < base ? c->value : base;
	} else {
		i128 x = (i128)base * c->value;
		off = base - (x / 10000 + (x % 10000 >= 5000));
	}
	if (c->has_max_off && off > c->max_off)
		off = c->max_off;
	return (int64_t)off;
}

static int64_t ref_earned(const fixture *f)
{
	if (!f->b.member)
		return 0;
	i128 sum = 0;
	for (int i = 0; i < f->b.n_lines; i++)
		sum += (i128)f->lines[i].cash * f->in[i].points_multiplier_bp;
	sum = sum * f->rules.earn_points * f->b.tier_points_multiplier_bp *
	      f->b.promo_multiplier_bp * f->b.birthday_multiplier_bp;
	return (int64_t)(sum / ((i128)f->rules.earn_per_amount * 10000 * 10000 * 10000 * 10000));
}

static void random_baskets(void **state)
{
	(void)state;
	rng_state = 0x5eed5eed12345678ULL;
	int ok = 0, redeemed = 0, refused = 0;
	for (int iter = 0; iter < 20000; iter++) {
		fixture f;
		random_basket(&f);
		int n = f.b.n_lines;
		if (price(&f) != 0) {
			/* Only the coupon can refuse such a basket. */
			assert_int_equal(f.err.code, PT_COUPON_NOT_APPLICABLE);
			refused++;
			continue;
		}
		/* Redeem a random number of steps up to the maximum, now and then beyond it. */
		if (f.b.member && rnd() % 3 != 0) {
			int64_t step = f.rules.redeem_points;
			int64_t most = f.out.max_redeemable_points / step;
			int64_t k = rnd_in(0, most + 1);
			set_redeem(&f, k * step);
			int rc = price(&f);
			if (k == 0 || k > most) {
				assert_int_equal(rc, -1);
				assert_true(f.err.code == PT_INVALID_ARGUMENT ||
				            f.err.code == PT_INSUFFICIENT_POINTS);
				f.b.redeem = false;
				expect_ok(&f);
			} else {
				assert_int_equal(rc, 0);
				redeemed++;
			}
		}
		ok++;
		const pt_price *o = &f.out;
		int64_t sum[8] = {0}, adj_member = 0, adj_promo = 0, adj_coupon = 0, adj_points = 0;
		for (int i = 0; i < n; i++) {
			const pt_price_line *l = &f.lines[i];
			assert_true(l->gross == f.in[i].unit_price * f.in[i].qty);
			assert_true(l->member_discount >= 0 && l->promotion_discount >= 0 &&
			            l->coupon_discount >= 0 && l->net >= 0 &&
			            l->points_value >= 0 && l->points_redeemed >= 0 &&
			            l->cash >= 0);
			assert_true(l->net == l->gross - l->member_discount -
			                          l->promotion_discount - l->coupon_discount);
			assert_true(l->cash == l->net - l->points_value);
			if (!f.in[i].discountable)
				assert_true(l->promotion_discount == 0 && l->coupon_discount == 0);
			if (!f.b.member)
				assert_true(l->member_discount == 0);
			int64_t cols[8] = {
			    l->gross, l->member_discount, l->promotion_discount, l->coupon_discount,
			    l->net,   l->points_redeemed, l->points_value,       l->cash};
			for (int c = 0; c < 8; c++)
				sum[c] += cols[c];
		}
		assert_true(sum[0] == o->gross);
		assert_true(sum[1] == o->member_discount);
		assert_true(sum[2] == o->promotion_discount);
		assert_true(sum[3] == o->coupon_discount);
		assert_true(sum[4] == o->total);
		assert_true(sum[5] == o->points_redeemed);
		assert_true(sum[6] == o->points_value);
		assert_true(sum[7] == o->cash_due);
		assert_true(o->total == o->gross - o->member_discount - o->promotion_discount -
		                            o->coupon_discount);
		assert_true(o->cash_due == o->total - o->points_value);
		/* Each step's figure, computed again. */
		int64_t base = 0;
		for (int i = 0; i < n; i++) {
			assert_true(f.lines[i].gross - f.lines[i].member_discount ==
			            ref_member_net(&f, i));
			if (f.in[i].discountable)
				base += ref_member_net(&f, i);
		}
		assert_true(o->promotion_discount == ref_promotion(&f, base));
		if (f.b.coupon)
			assert_true(o->coupon_discount ==
			            ref_coupon(&f.coupon, base - o->promotion_discount));
		assert_true(o->points_earned == ref_earned(&f));
		/* Each allocation is the largest remainder split of API.md. */
		int64_t w[MAXL], sh[MAXL];
		for (int i = 0; i < n; i++) {
			const pt_price_line *l = &f.lines[i];
			w[i] = f.in[i].discountable ? l->gross - l->member_discount : -1;
			sh[i] = l->promotion_discount;
		}
		assert_largest_remainder(sh, w, n, o->promotion_discount);
		for (int i = 0; i < n; i++) {
			if (f.in[i].discountable)
				w[i] -= f.lines[i].promotion_discount;
			sh[i] = f.lines[i].coupon_discount;
		}
		assert_largest_remainder(sh, w, n, o->coupon_discount);
		for (int i = 0; i < n; i++) {
			w[i] = f.lines[i].net;
			sh[i] = f.lines[i].points_value;
		}
		assert_largest_remainder(sh, w, n, o->points_value);
		for (int i = 0; i < n; i++)
			sh[i] = f.lines[i].points_redeemed;
		assert_largest_remainder(sh, w, n, o->points_redeemed);
		/* The adjustments tell the same story, in order. */
		int last = -1;
		for (int a = 0; a < o->n_adjustments; a++) {
			const pt_adjustment *x = &f.adj[a];
			assert_true((int)x->kind >= last || x->kind <= PT_ADJ_TIER_DISCOUNT);
			last = x->kind <= PT_ADJ_TIER_DISCOUNT ? last : (int)x->kind;
			assert_true(x->amount >= 0);
			switch (x->kind) {
			case PT_ADJ_MEMBER_PRICE:
			case PT_ADJ_TIER_DISCOUNT:
				assert_true(x->amount > 0);
				assert_true(x->amount == f.lines[x->line].member_discount);
				assert_true(f.in[x->line].has_member_price ==
				            (x->kind == PT_ADJ_MEMBER_PRICE));
				adj_member += x->amount;
				break;
			case PT_ADJ_PROMOTION:
				adj_promo += x->amount;
				break;
			case PT_ADJ_COUPON:
				assert_true(x->coupon_id == 99);
				adj_coupon += x->amount;
				break;
			case PT_ADJ_POINTS:
				assert_true(x->points == o->points_redeemed);
				adj_points += x->amount;
				break;
			}
		}
		assert_true(adj_member == o->member_discount);
		assert_true(adj_promo == o->promotion_discount);
		assert_true(adj_coupon == o->coupon_discount);
		assert_true(adj_points == o->points_value);
		/* max_redeemable_points: whole steps, within the cap and the balance, and the next
		 * step breaks one of them. */
		if (f.b.member) {
			int64_t m = o->max_redeemable_points, step = f.rules.redeem_points;
			i128 cap = (i128)o->total * f.rules.redeem_max_ratio_bp / 10000;
			assert_true(m >= 0 && m % step == 0);
			assert_true((i128)(m / step) * f.rules.redeem_amount <= cap);
			assert_true(m <= f.b.spendable || m == 0);
			assert_true((i128)(m / step + 1) * f.rules.redeem_amount > cap ||
			            m + step > f.b.spendable);
		} else {
			assert_true(o->max_redeemable_points == 0 && o->points_earned == 0);
		}
		refund_in_parts(&f);
	}
	/* The generator must reach every branch often enough to matter. */
	assert_true(ok > 15000);
	assert_true(redeemed > 5000);
	assert_true(refused > 100);
}

/* --- Refunds -------------------------------------------------------------------------------- */

static const pt_refund_line_in example_lines[] = {
    {2, 7647, 665, 665, 0}, /* A */
    {1, 2013, 175, 175, 0}, /* B */
    {1, 1840, 160, 160, 0}, /* C */
};

static pt_refund_in example_order(pt_refund_line_in *lines)
{
	memcpy(lines, example_lines, sizeof(example_lines));
	return (pt_refund_in){
	    .lines = lines, .n_lines = 3, .points_earned = 172, .cash_original = 11500};
}

static void refund_example(void **state)
{
	(void)state;
	/* The committed lines are the worked example's, straight from the engine. */
	fixture f;
	example_basket(&f);
	expect_ok(&f);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(f.lines[i].cash, example_lines[i].cash);
		assert_int_equal(f.lines[i].points_value, example_lines[i].points_value);
		assert_int_equal(f.lines[i].points_redeemed, example_lines[i].points_redeemed);
	}
	pt_refund_line_in lines[3];
	pt_refund_in r = example_order(lines);
	int64_t units[3] = {0, 0, 1};
	r.units = units;
	pt_refund_line out[3];
	pt_refund t;
	pt_price_err err;
	assert_int_equal(pt_refund_price(&r, out, &t, &err), 0);
	assert_int_equal(t.cash, 1840);
	assert_int_equal(t.points_returned, 160);
	assert_int_equal(t.points_value, 160);
	assert_int_equal(t.points_clawback, 28); /* 172 − floor(172 × 9660 / 11500) */
	assert_false(t.complete);
	assert_int_equal(out[2].units, 1);
	assert_int_equal(out[2].cash, 1840);
	assert_int_equal(out[0].units, 0);
	assert_int_equal(out[0].cash, 0);
	assert_int_equal(out[1].cash, 0);
}

static void refund_unit_split(void **state)
{
	(void)state;
	/* 10 over 3 units is 4, 3, 3; 2 over 3 units is 1, 1, 0; one unit at a time. */
	pt_refund_line_in line = {3, 10, 2, 5, 0};
	pt_refund_in r = {.lines = &line, .n_lines = 1, .points_earned = 0, .cash_original = 10};
	int64_t one = 1;
	r.units = &one;
	static const int64_t cash[] = {4, 3, 3}, value[] = {1, 1, 0}, points[] = {2, 2, 1};
	for (int u = 0; u < 3; u++) {
		pt_refund_line out;
		pt_refund t;
		pt_price_err err;
		assert_int_equal(pt_refund_price(&r, &out, &t, &err), 0);
		assert_int_equal(out.cash, cash[u]);
		assert_int_equal(out.points_value, value[u]);
		assert_int_equal(out.points_redeemed, points[u]);
		assert_int_equal(t.complete, u == 2);
		line.refunded_qty++;
		r.cash_refunded += t.cash;
	}
	/* Two units at once from the second: 3 + 3; from the first, 4 + 3. */
	line.refunded_qty = 1;
	r.cash_refunded = 4;
	int64_t two = 2;
	r.units = &two;
	pt_refund_line out;
	pt_refund t;
	pt_price_err err;
	assert_int_equal(pt_refund_price(&r, &out, &t, &err), 0);
	assert_int_equal(out.cash, 6);
	line.refunded_qty = 0;
	r.cash_refunded = 0;
	assert_int_equal(pt_refund_price(&r, &out, &t, &err), 0);
	assert_int_equal(out.cash, 7);
	assert_int_equal(out.points_redeemed, 4);
	/* A large split: 1000003 over 1000 units; units 2..5 carry 1001 each (3 heavy ones). */
	pt_refund_line_in big = {1000, 1000003, 0, 0, 1};
	pt_refund_in rb = {
	    .lines = &big, .n_lines = 1, .cash_original = 1000003, .cash_refunded = 1001};
	int64_t four = 4;
	rb.units = &four;
	assert_int_equal(pt_refund_price(&rb, &out, &t, &err), 0);
	assert_int_equal(out.cash, 1001 + 1001 + 1000 + 1000);
}

static void refund_in_several_parts(void **state)
{
	(void)state;
	pt_refund_line_in lines[3];
	pt_refund_in r = example_order(lines);
	pt_refund_line out[3];
	pt_refund t;
	pt_price_err err;
	int64_t cash = 0, points = 0, clawed = 0;
	/* One A: 3824 (7647 over 2 is 3824 + 3823), points 333. */
	int64_t p1[3] = {1, 0, 0};
	r.units = p1;
	assert_int_equal(pt_refund_price(&r, out, &t, &err), 0);
	assert_int_equal(t.cash, 3824);
	assert_int_equal(t.points_returned, 333);
	assert_int_equal(t.points_clawback, 172 - 172 * (11500 - 3824) / 11500); /* 58 */
	cash += t.cash, points += t.points_returned, clawed += t.points_clawback;
	lines[0].refunded_qty = 1;
	r.cash_refunded += t.cash;
	r.points_clawed_back += t.points_clawback;
	/* The other A and B together: 3823 + 2013. */
	int64_t p2[3] = {1, 1, 0};
	r.units = p2;
	assert_int_equal(pt_refund_price(&r, out, &t, &err), 0);
	assert_int_equal(out[0].cash, 3823);
	assert_int_equal(out[0].points_redeemed, 332);
	assert_int_equal(out[1].cash, 2013);
	assert_int_equal(t.cash, 5836);
	assert_int_equal(t.points_returned, 507);
	assert_int_equal(t.points_clawback, (172 - 58) - 172 * 1840 / 11500); /* 114 − 27 */
	assert_false(t.complete);
	cash += t.cash, points += t.points_returned, clawed += t.points_clawback;
	lines[0].refunded_qty = 2;
	lines[1].refunded_qty = 1;
	r.cash_refunded += t.cash;
	r.points_clawed_back += t.points_clawback;
	/* Everything left ({}): C, and the last of the points earned. */
	r.units = NULL;
	assert_int_equal(pt_refund_price(&r, out, &t, &err), 0);
	assert_int_equal(t.cash, 1840);
	assert_int_equal(out[2].units, 1);
	assert_int_equal(out[0].units, 0);
	assert_true(t.complete);
	cash += t.cash, points += t.points_returned, clawed += t.points_clawback;
	assert_int_equal(cash, 11500);
	assert_int_equal(points, 1000);
	assert_int_equal(clawed, 172);
}

static void refund_refusals(void **state)
{
	(void)state;
	pt_refund_line_in lines[3];
	pt_refund_in r = example_order(lines);
	pt_refund_line out[3];
	pt_refund t;
	pt_price_err err;
	int64_t units[3] = {3, 0, 0}; /* more than bought */
	r.units = units;
	assert_int_equal(pt_refund_price(&r, out, &t, &err), -1);
	assert_int_equal(err.code, PT_CONFLICT);
	assert_int_equal(err.why, PT_WHY_TOO_MANY);
	assert_string_equal(err.field, "qty");
	assert_int_equal(err.line, 0);
	assert_int_equal(err.have, 2);
	assert_int_equal(err.want, 3);
	lines[2].refunded_qty = 1; /* C already refunded */
	r.cash_refunded = 1840;
	units[0] = 0;
	units[2] = 1;
	assert_int_equal(pt_refund_price(&r, out, &t, &err), -1);
	assert_int_equal(err.code, PT_CONFLICT);
	assert_int_equal(err.line, 2);
	units[2] = -1;
	assert_int_equal(pt_refund_price(&r, out, &t, &err), -1);
	assert_int_equal(err.code, PT_INVALID_ARGUMENT);
	assert_int_equal(err.line, 2);
	units[2] = 0; /* nothing asked */
	assert_int_equal(pt_refund_price(&r, out, &t, &err), -1);
	assert_int_equal(err.code, PT_INVALID_ARGUMENT);
	assert_int_equal(err.why, PT_WHY_NOTHING_ASKED);
	assert_string_equal(err.field, "lines");
	/* Figures that contradict each other are a bug, never refunded from. */
	r.cash_refunded = 1000;
	units[0] = 1;
	assert_int_equal(pt_refund_price(&r, out, &t, &err), -1);
	assert_int_equal(err.code, PT_INTERNAL);
	assert_int_equal(err.why, PT_WHY_DAMAGED);
	r.cash_refunded = 1840;
	r.cash_original = 11501;
	assert_int_equal(pt_refund_price(&r, out, &t, &err), -1);
	assert_int_equal(err.code, PT_INTERNAL);
	assert_int_equal(err.why, PT_WHY_DAMAGED);
	r.cash_original = 11500;
	r.points_clawed_back = 173;
	assert_int_equal(pt_refund_price(&r, out, &t, &err), -1);
	assert_int_equal(err.code, PT_INTERNAL);
	assert_int_equal(err.why, PT_WHY_DAMAGED);
	r.points_clawed_back = 0;
	lines[1].refunded_qty = 2;
	assert_int_equal(pt_refund_price(&r, out, &t, &err), -1);
	assert_int_equal(err.code, PT_INTERNAL);
	assert_int_equal(err.why, PT_WHY_DAMAGED);
}

/* An order paid wholly with points has no cash to weigh: what was earned (here an imagined 5,
 * since such an order earns nothing) goes back with the last unit. */
static void refund_without_cash(void **state)
{
	(void)state;
	pt_refund_line_in lines[2] = {{2, 0, 500, 500, 0}, {1, 0, 300, 300, 0}};
	pt_refund_in r = {.lines = lines, .n_lines = 2, .points_earned = 5, .cash_original = 0};
	int64_t units[2] = {2, 0};
	r.units = units;
	pt_refund_line out[2];
	pt_refund t;
	pt_price_err err;
	assert_int_equal(pt_refund_price(&r, out, &t, &err), 0);
	assert_int_equal(t.cash, 0);
	assert_int_equal(t.points_returned, 500);
	assert_int_equal(t.points_clawback, 0);
	lines[0].refunded_qty = 2;
	units[0] = 0;
	units[1] = 1;
	assert_int_equal(pt_refund_price(&r, out, &t, &err), 0);
	assert_int_equal(t.points_returned, 300);
	assert_int_equal(t.points_clawback, 5);
	assert_true(t.complete);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(worked_example),
	    cmocka_unit_test(member_pricing),
	    cmocka_unit_test(rounding_halves),
	    cmocka_unit_test(promotion_levels),
	    cmocka_unit_test(promotion_repeat),
	    cmocka_unit_test(promotion_choice),
	    cmocka_unit_test(coupon_after_promotion),
	    cmocka_unit_test(coupon_percent),
	    cmocka_unit_test(coupon_larger_than_base),
	    cmocka_unit_test(hundred_percent_discount),
	    cmocka_unit_test(allocation_largest_remainder),
	    cmocka_unit_test(points_and_value_split_separately),
	    cmocka_unit_test(points_cap_boundary),
	    cmocka_unit_test(redeem_request_checks),
	    cmocka_unit_test(points_earned_multipliers),
	    cmocka_unit_test(overflow_refused),
	    cmocka_unit_test(input_checks),
	    cmocka_unit_test(random_baskets),
	    cmocka_unit_test(refund_example),
	    cmocka_unit_test(refund_unit_split),
	    cmocka_unit_test(refund_in_several_parts),
	    cmocka_unit_test(refund_refusals),
	    cmocka_unit_test(refund_without_cash),
	};
	return cmocka_run_group_tests_name("pricing", tests, NULL, NULL);
}
