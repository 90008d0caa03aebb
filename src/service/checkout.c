/* Checkout, refunds and orders: the service reads what the price depends on, the core
 * prices it, and a commit writes every consequence in the one transaction. */
#include "service/checkout.h"

#include <stdio.h>
#include <string.h>

#include "core/coupon_code.h"
#include "core/pricing.h"
#include "service/audit.h"
#include "service/basis.h"
#include "service/catalog.h"
#include "service/market.h"
#include "service/points.h"
#include "service/security.h"
#include "service/tiers.h"
#include "store/repo_orders.h"
#include "util/clock.h"

enum { MAX_PROMOTIONS = 200 };

/* Everything a price depends on, read from the database. */
typedef struct {
	pt_ctx *ctx;
	const pt_checkout_request *in;
	pt_store store;
	pt_member member;
	bool has_member;
	pt_points_rules rules;
	pt_tier tier;
	bool has_tier;
	pt_product *products; /* per item; id 0 for open items */
	pt_price_line_in *lines;
	pt_price_promo *promos;
	const pt_promotion **promo_rows;
	int npromos;
	int64_t promo_multiplier, birthday_multiplier;
	pt_coupon coupon;
	pt_price_coupon price_coupon;
	bool has_coupon;
	int64_t spendable;
	const char *member_fp; /* the member's row as read (pt_repo_member_fingerprint) */
	int64_t generation;    /* of the pricing basis read, when in a read transaction: the
	                          products may come from memory (service/basis.h); else -1 */
	int64_t now;           /* the time of the sale */
	/* results */
	pt_price_line *out_lines;
	pt_adjustment *adj;
	pt_price price;
	json_t *priced;          /* the answer, the arena's */
	const char *priced_head; /* written out before the order's own fields are added */
	const char *priced_text; /* the committed order's JSON, as stored */
} basket;

/* A basket priced outside the write transaction (pt_svc_checkout_prepare), and what it rests
 * on besides what it read: if none of it has changed when the sale commits, the price holds. */
struct pt_checkout_prepared {
	basket b;
	pt_checkout_request in; /* b's: the caller's copy may not outlive the call */
	int64_t generation;     /* of the pricing basis: stores, settings, tiers, products, ... */
	char today[11];         /* expired points do not count from the day after they expire */
	const char *coupon_fp;
};

static json_t *time_json(int64_t ms)
{
	char buf[32];
	pt_clock_format_rfc3339(ms, buf);
	return json_string(buf);
}

static const char *item_field(pt_arena *a, int i, const char *name)
{
	return pt_arena_printf(a, "items[%d].%s", i, name);
}

static int load_items(pt_db *db, basket *b, pt_err *err)
{
	pt_arena *a = b->ctx->arena;
	int n = b->in->nitems;
	b->products = pt_arena_alloc(a, sizeof(pt_product) * (size_t)n);
	b->lines = pt_arena_alloc(a, sizeof(pt_price_line_in) * (size_t)n);
	if (!b->products || !b->lines)
		return pt_err_oom(err);
	for (int i = 0; i < n; i++) {
		const pt_checkout_item *it = &b->in->items[i];
		pt_price_line_in *l = &b->lines[i];
		if (!it->sku) {
			b->products[i] =
			    (pt_product){.name = it->name, .points_multiplier_bp = 10000};
			*l = (pt_price_line_in){.unit_price = it->unit_price,
			                        .qty = it->qty,
			                        .discountable = true,
			                        .points_multiplier_bp = 10000};
			continue;
		}
		bool found = false;
		if ((b->generation >= 0 ? pt_basis_product_by_sku(db, a, b->generation, it->sku,
		                                                  &b->products[i], &found, err)
		                        : pt_repo_product_find(db, a, "sku", it->sku,
		                                               &b->products[i], &found, err)) != 0)
			return -1;
		if (!found)
			return pt_err_set(err, PT_INVALID_ARGUMENT, item_field(a, i, "sku"),
			                  "no product with SKU %s", "没有 SKU 为 %s 的商品",
			                  it->sku);
		const pt_product *p = &b->products[i];
		*l = (pt_price_line_in){.unit_price = p->price,
		                        .qty = it->qty,
		                        .has_member_price =
		                            p->has_member_price && p->member_price <= p->price,
		                        .member_price = p->member_price,
		                        .discountable = p->discountable,
		                        .points_multiplier_bp = p->points_multiplier_bp};
	}
	return 0;
}

static int load_member(pt_db *db, basket *b, bool lock, pt_err *err)
{
	pt_arena *a = b->ctx->arena;
	bool found = false;
	int64_t balance;
	if (!b->in->member_id)
		return 0;
	if (lock && pt_repo_member_lock(db, a, b->in->member_id, &balance, &found, err) != 0)
		return -1;
	if (pt_repo_member_for_sale(db, a, b->in->member_id, &b->member, &b->member_fp, &found,
	                            err) != 0)
		return -1;
	if (!found)
		return pt_err_set(err, PT_INVALID_ARGUMENT, "member_id", "no member %lld",
		                  "会员 %lld 不存在", (long long)b->in->member_id);
	b->has_member = true;
	if (b->member.tier_id &&
	    pt_repo_tier_get(db, a, b->member.tier_id, &b->tier, &b->has_tier, err) != 0)
		return -1;
	return pt_svc_points_of(db, a, &b->rules, b->member.id, b->member.points, &b->spendable,
	                        NULL, NULL, err);
}

static int load_promotions(pt_db *db, basket *b, int64_t now, pt_err *err)
{
	pt_arena *a = b->ctx->arena;
	pt_promotion *rows;
	int n;
	b->promo_multiplier = 10000;
	if (pt_repo_promotion_list(db, a, now, 0, MAX_PROMOTIONS, &rows, &n, err) != 0)
		return -1;
	b->promos = pt_arena_alloc(a, sizeof(pt_price_promo) * (size_t)(n + 1));
	b->promo_rows = pt_arena_alloc(a, sizeof(pt_promotion *) * (size_t)(n + 1));
	if (!b->promos || !b->promo_rows)
		return pt_err_oom(err);
	for (int i = 0; i < n; i++) {
		const pt_promotion *p = &rows[i];
		if (!pt_id_list_allows(p->store_ids, b->store.id))
			continue;
		json_error_t jerr;
		json_t *tiers = json_loads(p->tier_ids, 0, &jerr);
		bool tier_ok = !tiers || json_array_size(tiers) == 0 ||
		               (b->has_member && pt_id_list_allows(p->tier_ids, b->member.tier_id));
		json_decref(tiers);
		if (!tier_ok)
			continue;
		if (strcmp(p->kind, "points_multiplier") == 0) {
			if (b->has_member && p->multiplier_bp > b->promo_multiplier)
				b->promo_multiplier = p->multiplier_bp;
			continue;
		}
		json_t *levels = json_loads(p->levels, 0, &jerr);
		int nl = levels ? (int)json_array_size(levels) : 0;
		pt_promo_level *lv = pt_arena_alloc(a, sizeof(pt_promo_level) * (size_t)(nl + 1));
		if (!lv) {
			json_decref(levels);
			return pt_err_oom(err);
		}
		for (int k = 0; k < nl; k++) {
			json_t *l = json_array_get(levels, (size_t)k);
			lv[k].min_spend = json_integer_value(json_object_get(l, "min_spend"));
			lv[k].off = json_integer_value(json_object_get(l, "off"));
		}
		json_decref(levels);
		b->promo_rows[b->npromos] = p;
		b->promos[b->npromos++] = (pt_price_promo){.id = p->id,
		                                           .levels = lv,
		                                           .n_levels = nl,
		                                           .repeat = p->repeat,
		                                           .has_max_off = p->has_max_off,
		                                           .max_off = p->max_off};
	}
	return 0;
}

/* The birthday multiplier applies on the member's birthday (or in its month), local time. */
static void birthday_rule(basket *b)
{
	char today[11];
	b->birthday_multiplier = 10000;
	if (!b->has_member || !b->member.birthday || b->rules.birthday_multiplier_bp == 10000)
		return;
	pt_svc_today(&b->rules, today);
	const char *bd = b->member.birthday;
	bool month = strncmp(bd + 5, today + 5, 2) == 0;
	bool day = month && strcmp(bd + 8, today + 8) == 0;
	/* Born on 29 February: the 28th in years without one. */
	if (month && !day && strcmp(bd + 5, "02-29") == 0 && strcmp(today + 5, "02-28") == 0) {
		int y = (today[0] - '0') * 1000 + (today[1] - '0') * 100 + (today[2] - '0') * 10 +
		        (today[3] - '0');
		day = !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0);
	}
	if (b->rules.birthday_month ? month : day)
		b->birthday_multiplier = b->rules.birthday_multiplier_bp;
}

static int load_coupon(pt_db *db, basket *b, int64_t now, pt_err *err)
{
	const char *typed = b->in->coupon_code;
	char code[PT_COUPON_CODE_LEN + 1];
	bool found = false;
	if (!typed)
		return 0;
	int rc = pt_coupon_code_normalize(typed, code);
	if (rc == -2)
		return pt_err_set(err, PT_INVALID_ARGUMENT, "coupon_code",
		                  "coupon code %s has a wrong check character: probably mistyped",
		                  "优惠券码 %s 校验位不符，可能输错了", typed);
	if (rc == 0 &&
	    pt_repo_coupon_find(db, b->ctx->arena, "code", code, 0, &b->coupon, &found, err) != 0)
		return -1;
	if (!found)
		return pt_err_set(err, PT_COUPON_NOT_APPLICABLE, "coupon_code", "no coupon %s",
		                  "优惠券 %s 不存在", typed);
	if (!b->has_member)
		return pt_coupon_refuse("no_member", &b->coupon, err);
	const char *why = pt_coupon_refusal(&b->coupon, b->member.id, b->store.id, -1, now);
	if (why)
		return pt_coupon_refuse(why, &b->coupon, err);
	b->has_coupon = true;
	b->price_coupon = (pt_price_coupon){.id = b->coupon.id,
	                                    .kind = strcmp(b->coupon.t.kind, "percent_off") == 0
	                                                ? PT_COUPON_PERCENT_OFF
	                                                : PT_COUPON_AMOUNT_OFF,
	                                    .value = b->coupon.t.value,
	                                    .min_spend = b->coupon.t.min_spend,
	                                    .has_max_off = b->coupon.t.has_max_off,
	                                    .max_off = b->coupon.t.max_off};
	return 0;
}

static int price_error(basket *b, const pt_price_err *pe, pt_err *err)
{
	pt_arena *a = b->ctx->arena;
	const char *field = pe->field ? pe->field : "items";
	if (pe->line >= 0)
		field = item_field(a, pe->line, field);
	switch (pe->why) {
	case PT_WHY_MIN_SPEND:
		return pt_err_set(err, PT_COUPON_NOT_APPLICABLE, "coupon_code",
		                  "coupon %s needs %lld of discountable spend; the basket has %lld",
		                  "优惠券 %s 需要可折扣消费满 %lld，本单为 %lld", b->coupon.code,
		                  (long long)pe->want, (long long)pe->have);
	case PT_WHY_BALANCE:
		return pt_err_set(err, PT_INSUFFICIENT_POINTS, "redeem_points",
		                  "member %lld has %lld points; %lld requested",
		                  "会员 %lld 有 %lld 积分，需要 %lld", (long long)b->member.id,
		                  (long long)(pe->have > 0 ? pe->have : 0), (long long)pe->want);
	case PT_WHY_CAP:
		return pt_err_set(err, PT_INVALID_ARGUMENT, "redeem_points",
		                  "points may pay at most %lld of this bill; %lld asked",
		                  "积分最多可抵 %lld，请求抵 %lld", (long long)pe->have,
		                  (long long)pe->want);
	case PT_WHY_NOT_MULTIPLE:
		return pt_err_set(err, PT_INVALID_ARGUMENT, "redeem_points",
		                  "redeem_points must be a positive multiple of %lld",
		                  "redeem_points 须为 %lld 的正整数倍", (long long)pe->want);
	case PT_WHY_NO_MEMBER:
		return pt_err_set(err, PT_INVALID_ARGUMENT, "redeem_points",
		                  "points can be redeemed only with a member",
		                  "只有会员才能使用积分抵扣");
	case PT_WHY_OVERFLOW:
		return pt_err_set(err, PT_INVALID_ARGUMENT, field, "the totals would overflow (%s)",
		                  "金额合计溢出（%s）", field);
	case PT_WHY_SETTING:
	case PT_WHY_DAMAGED:
		return pt_err_set(err, PT_INTERNAL, field, "a stored value is out of range (%s)",
		                  "存储的数值超出范围（%s）", field);
	default:
		return pt_err_set(err, pe->code == PT_OK ? PT_INVALID_ARGUMENT : pe->code, field,
		                  "%s is out of range", "%s 超出范围", field);
	}
}

static int run_pricing(basket *b, pt_err *err)
{
	pt_arena *a = b->ctx->arena;
	int n = b->in->nitems;
	b->out_lines = pt_arena_alloc(a, sizeof(pt_price_line) * (size_t)n);
	b->adj = pt_arena_alloc(a, sizeof(pt_adjustment) * (size_t)PT_PRICE_ADJ_MAX(n));
	if (!b->out_lines || !b->adj)
		return pt_err_oom(err);
	pt_basket in = {.lines = b->lines,
	                .n_lines = n,
	                .member = b->has_member,
	                .tier_discount_bp = b->has_tier ? b->tier.discount_bp : 10000,
	                .tier_points_multiplier_bp =
	                    b->has_tier ? b->tier.points_multiplier_bp : 10000,
	                .spendable = b->spendable,
	                .promotions = b->promos,
	                .n_promotions = b->npromos,
	                .promo_multiplier_bp = b->promo_multiplier,
	                .birthday_multiplier_bp = b->birthday_multiplier,
	                .coupon = b->has_coupon ? &b->price_coupon : NULL,
	                .redeem = b->in->redeem,
	                .redeem_points = b->in->redeem_points,
	                .rules = &b->rules};
	pt_price_err pe = {0};
	if (pt_price_basket(&in, b->out_lines, b->adj, &b->price, &pe) != 0)
		return price_error(b, &pe, err);
	return 0;
}

static json_t *adjustment_json(const basket *b, const pt_adjustment *adj)
{
	json_t *o = json_pack("{s:s, s:I}", "kind", pt_adj_kind_name(adj->kind), "amount",
	                      (json_int_t)adj->amount);
	switch (adj->kind) {
	case PT_ADJ_MEMBER_PRICE:
	case PT_ADJ_TIER_DISCOUNT: {
		const pt_product *p = &b->products[adj->line];
		json_object_set_new(o, "line", json_integer(adj->line));
		json_object_set_new(o, "sku", p->sku ? json_string(p->sku) : json_null());
		if (adj->kind == PT_ADJ_MEMBER_PRICE) {
			json_object_set_new(o, "member_price", json_integer(p->member_price));
		} else {
			json_object_set_new(o, "tier_id", json_integer(b->tier.id));
			json_object_set_new(o, "tier", json_string(b->tier.name));
			json_object_set_new(o, "discount_bp", json_integer(b->tier.discount_bp));
		}
		break;
	}
	case PT_ADJ_PROMOTION:
		for (int i = 0; i < b->npromos; i++)
			if (b->promos[i].id == adj->promotion_id) {
				const pt_promo_level *l = &b->promos[i].levels[adj->level];
				json_object_set_new(o, "promotion_id",
				                    json_integer(adj->promotion_id));
				json_object_set_new(o, "name", json_string(b->promo_rows[i]->name));
				json_object_set_new(o, "level",
				                    json_pack("{s:I, s:I}", "min_spend",
				                              (json_int_t)l->min_spend, "off",
				                              (json_int_t)l->off));
				json_object_set_new(o, "times", json_integer(adj->times));
			}
		break;
	case PT_ADJ_COUPON:
		json_object_set_new(o, "coupon_code", json_string(b->coupon.code));
		json_object_set_new(o, "coupon", json_string(b->coupon.t.name));
		break;
	case PT_ADJ_POINTS:
		json_object_set_new(o, "points", json_integer(adj->points));
		break;
	}
	return o;
}

static json_t *priced_json(const basket *b)
{
	const pt_price *p = &b->price;
	json_t *lines = json_array(), *adjs = json_array();
	for (int i = 0; i < b->in->nitems; i++) {
		const pt_price_line *l = &b->out_lines[i];
		const pt_product *prod = &b->products[i];
		json_array_append_new(
		    lines,
		    json_pack("{s:i, s:o, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		              "line", i, "sku", prod->sku ? json_string(prod->sku) : json_null(),
		              "name", prod->name, "qty", (json_int_t)b->lines[i].qty, "unit_price",
		              (json_int_t)b->lines[i].unit_price, "gross", (json_int_t)l->gross,
		              "member_discount", (json_int_t)l->member_discount,
		              "promotion_discount", (json_int_t)l->promotion_discount,
		              "coupon_discount", (json_int_t)l->coupon_discount, "net",
		              (json_int_t)l->net, "points_redeemed", (json_int_t)l->points_redeemed,
		              "points_value", (json_int_t)l->points_value, "cash",
		              (json_int_t)l->cash));
	}
	for (int i = 0; i < p->n_adjustments; i++)
		json_array_append_new(adjs, adjustment_json(b, &b->adj[i]));
	return json_pack("{s:I, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, "
	                 "s:o, s:o}",
	                 "store_id", (json_int_t)b->store.id, "member_id",
	                 b->has_member ? json_integer(b->member.id) : json_null(), "coupon_code",
	                 b->has_coupon ? json_string(b->coupon.code) : json_null(), "gross",
	                 (json_int_t)p->gross, "member_discount", (json_int_t)p->member_discount,
	                 "promotion_discount", (json_int_t)p->promotion_discount, "coupon_discount",
	                 (json_int_t)p->coupon_discount, "total", (json_int_t)p->total,
	                 "points_redeemed", (json_int_t)p->points_redeemed, "points_value",
	                 (json_int_t)p->points_value, "cash_due", (json_int_t)p->cash_due,
	                 "points_earned", (json_int_t)p->points_earned, "max_redeemable_points",
	                 (json_int_t)p->max_redeemable_points, "lines", lines, "adjustments", adjs,
	                 "note", b->in->note ? json_string(b->in->note) : json_null());
}

/* The priced JSON as written out before, with the order's own fields added at its end: what
 * json_dumps of the whole would give, without writing the basket out again. */
static const char *with_order_fields(pt_arena *a, const char *head, json_t *fields)
{
	char *tail = json_dumps(fields, JSON_COMPACT);
	size_t n = strlen(head);
	char *text =
	    tail && n >= 2 ? pt_arena_printf(a, "%.*s,%s", (int)(n - 1), head, tail + 1) : NULL;
	free(tail);
	return text;
}

/* With the referral bonuses due on the new member's first purchase ("on": "first_purchase"),
 * both sides get theirs with it: the referrer's, and the member's own, which then counts in
 * the points_balance the sale answers. */
static int first_purchase_bonuses(pt_ctx *ctx, const basket *b, int64_t order_id, pt_posted *member,
                                  pt_err *err)
{
	int64_t orders = 0;
	if (pt_repo_member_order_count(ctx->db, ctx->arena, b->member.id, &orders, err) != 0)
		return -1;
	if (orders != 1)
		return 0;
	pt_posted referrer;
	pt_posting to_referrer = {.kind = "bonus_referral",
	                          .account = "issued",
	                          .member_id = b->member.referrer_id,
	                          .store_id = b->store.id,
	                          .order_id = order_id,
	                          .points = b->rules.referrer_points,
	                          .reason = "referee's first purchase"};
	pt_posting to_member = {.kind = "bonus_referral",
	                        .account = "issued",
	                        .member_id = b->member.id,
	                        .store_id = b->store.id,
	                        .order_id = order_id,
	                        .points = b->rules.referee_points,
	                        .reason = "referred",
	                        .known = member};
	return (b->rules.referrer_points > 0 &&
	        pt_svc_points_post(ctx, &b->rules, &to_referrer, &referrer, err) != 0) ||
	       (b->rules.referee_points > 0 &&
	        pt_svc_points_post(ctx, &b->rules, &to_member, member, err) != 0);
}

/* Writes the order and all it causes. */
static int commit_order(pt_db *db, basket *b, pt_err *err)
{
	pt_ctx *ctx = b->ctx;
	pt_arena *a = ctx->arena;
	const pt_price *p = &b->price;
	json_t *priced = b->priced;
	int64_t now = b->now;
	pt_order o = {.store_id = b->store.id,
	              .member_id = b->has_member ? b->member.id : 0,
	              .staff_id = ctx->staff_id,
	              .api_key_id = ctx->api_key_id,
	              .gross = p->gross,
	              .total = p->total,
	              .cash_due = p->cash_due,
	              .points_redeemed = p->points_redeemed,
	              .points_value = p->points_value,
	              .points_earned = p->points_earned,
	              .coupon_id = b->has_coupon ? b->coupon.id : 0,
	              .note = b->in->note,
	              .created_at = now};
	if (pt_repo_order_insert(db, a, &o, &o.id, err) != 0)
		return -1;
	if (b->has_coupon) {
		bool ok = false;
		if (pt_repo_coupon_use(db, b->coupon.id, o.id, now, &ok, err) != 0)
			return -1;
		if (!ok)
			return pt_coupon_refuse("used", &b->coupon, err);
	}
	for (int i = 0; i < b->in->nitems; i++) {
		const pt_product *prod = &b->products[i];
		const pt_price_line *l = &b->out_lines[i];
		pt_order_line line = {.order_id = o.id,
		                      .line_no = i,
		                      .product_id = prod->id,
		                      .sku = prod->sku,
		                      .name = prod->name,
		                      .qty = b->lines[i].qty,
		                      .unit_price = b->lines[i].unit_price,
		                      .net = l->net,
		                      .cash = l->cash,
		                      .points_value = l->points_value,
		                      .points_redeemed = l->points_redeemed};
		if (pt_repo_order_line_insert(db, &line, err) != 0)
			return -1;
		if (prod->id && pt_svc_stock_apply(ctx, b->store.id, prod, -b->lines[i].qty, "sale",
		                                   o.id, 0, err) != 0) {
			if (err->code == PT_OUT_OF_STOCK)
				snprintf(err->field, sizeof(err->field), "items[%d].sku", i);
			return -1;
		}
	}
	json_object_set_new(priced, "order_id", json_integer(o.id));
	json_object_set_new(priced, "created_at", time_json(now));
	if (!b->has_member)
		goto done;
	/* The member's row is locked and read in this transaction: the postings need not read
	 * the balance again. */
	pt_posted posted = {.balance = b->member.points, .spendable = b->spendable};
	if (p->points_redeemed > 0) {
		pt_posting redeem = {.kind = "redeem",
		                     .account = "redeemed",
		                     .member_id = b->member.id,
		                     .store_id = b->store.id,
		                     .order_id = o.id,
		                     .points = -p->points_redeemed,
		                     .known = &posted};
		if (pt_svc_points_post(ctx, &b->rules, &redeem, &posted, err) != 0)
			return -1;
	}
	if (p->points_earned > 0) {
		pt_posting earn = {.kind = "earn",
		                   .account = "issued",
		                   .member_id = b->member.id,
		                   .store_id = b->store.id,
		                   .order_id = o.id,
		                   .points = p->points_earned,
		                   .known = &posted};
		if (pt_svc_points_post(ctx, &b->rules, &earn, &posted, err) != 0)
			return -1;
	}
	if (pt_svc_tier_after_sale(db, a, &b->rules, &b->member, p->total, err) != 0)
		return -1;
	if (b->member.referrer_id && b->rules.referral_on_first_purchase &&
	    first_purchase_bonuses(ctx, b, o.id, &posted, err) != 0)
		return -1;
	json_object_set_new(priced, "points_balance", json_integer(posted.spendable));
done:;
	json_t *fields =
	    json_pack("{s:I, s:o}", "order_id", (json_int_t)o.id, "created_at", time_json(now));
	if (fields && b->has_member)
		json_object_set(fields, "points_balance",
		                json_object_get(priced, "points_balance"));
	b->priced_text = fields ? with_order_fields(a, b->priced_head, fields) : NULL;
	json_decref(fields);
	if (!b->priced_text)
		return pt_err_oom(err);
	return pt_repo_order_set_priced(db, o.id, b->priced_text, err);
}

/* Reads what the price depends on and prices the basket; lock: PostgreSQL locks the member's
 * row for the sale; head: also writes the answer out, for an order. */
static int price_basket(pt_db *db, basket *b, bool lock, bool head, pt_err *err)
{
	pt_arena *a = b->ctx->arena;
	bool found = false;
	if (pt_repo_store_get(db, a, b->in->store_id, &b->store, &found, err) != 0)
		return -1;
	if (found && !pt_ctx_store_ok(b->ctx, b->store.id))
		return pt_svc_store_hidden(b->store.id, err);
	if (!found)
		return pt_err_set(err, PT_INVALID_ARGUMENT, "store_id", "store %lld does not exist",
		                  "门店 %lld 不存在", (long long)b->in->store_id);
	if (pt_svc_points_rules(db, a, &b->rules, err) != 0 || load_member(db, b, lock, err) != 0 ||
	    load_items(db, b, err) != 0 || load_promotions(db, b, b->now, err) != 0 ||
	    load_coupon(db, b, b->now, err) != 0)
		return -1;
	birthday_rule(b);
	if (run_pricing(b, err) != 0)
		return -1;
	b->priced = priced_json(b);
	if (!b->priced)
		return pt_err_oom(err);
	pt_arena_defer(a, (void (*)(void *))json_decref, b->priced);
	if (!head)
		return 0;
	char *text = json_dumps(b->priced, JSON_COMPACT);
	if (!text || pt_arena_defer(a, free, text) != 0) {
		free(text);
		return pt_err_oom(err);
	}
	b->priced_head = text;
	return 0;
}

/* What a price rests on besides what it read itself, as it stands now. */
static int read_basis(pt_db *db, const basket *b, int64_t *generation, const char **member_fp,
                      const char **coupon_fp, pt_err *err)
{
	pt_arena *a = b->ctx->arena;
	*member_fp = *coupon_fp = "";
	return pt_repo_pricing_generation(db, a, generation, err) ||
	       (b->has_member && pt_repo_member_fingerprint(db, a, b->member.id, member_fp, err)) ||
	       (b->has_coupon && pt_repo_coupon_fingerprint(db, a, b->coupon.id, coupon_fp, err));
}

/* In one read transaction: the generation first, so the products may come from memory, then
 * the price; the member's fingerprint comes with the member. */
static int prepare_tx(pt_db *db, void *arg, pt_err *err)
{
	pt_checkout_prepared *p = arg;
	pt_arena *a = p->b.ctx->arena;
	p->coupon_fp = "";
	if (pt_repo_pricing_generation(db, a, &p->generation, err) != 0)
		return -1;
	p->b.generation = p->generation;
	if (price_basket(db, &p->b, false, true, err) != 0)
		return -1;
	/* The business's day, in its time zone: known once the basket has read the rules. */
	pt_svc_today(&p->b.rules, p->today);
	return p->b.has_coupon &&
	       pt_repo_coupon_fingerprint(db, a, p->b.coupon.id, &p->coupon_fp, err);
}

int pt_svc_checkout_prepare(pt_ctx *ctx, const pt_checkout_request *in, pt_checkout_prepared **out,
                            pt_err *err)
{
	*out = NULL;
	/* Where writes are serialised (SQLite's one writer) the price moves out of their turn;
	 * PostgreSQL prices in the sale's own transaction, beside the others. */
	if (pt_db_kind_of(ctx->db) != PT_DB_SQLITE)
		return 0;
	pt_checkout_prepared *p = pt_arena_alloc(ctx->arena, sizeof(*p));
	if (!p)
		return pt_err_oom(err);
	*p = (pt_checkout_prepared){
	    .b = {.ctx = ctx, .in = &p->in, .now = pt_clock_now_ms(), .generation = -1}, .in = *in};
	if (pt_db_tx(ctx->db, false, prepare_tx, p, err) != 0)
		return -1;
	*out = p;
	return 0;
}

/* Whether a basket priced before still holds in the sale's transaction: the same day, the
 * same pricing basis, the member's and the coupon's rows unchanged, and the same points
 * spendable (lots can change under an unchanged balance: a refund's return and clawback). */
static int still_holds(pt_db *db, const pt_checkout_prepared *p, bool *holds, pt_err *err)
{
	int64_t generation, expired;
	const char *member_fp, *coupon_fp;
	char today[11];
	*holds = false;
	pt_svc_today(&p->b.rules, today);
	if (strcmp(today, p->today) != 0)
		return 0;
	if (read_basis(db, &p->b, &generation, &member_fp, &coupon_fp, err) != 0)
		return -1;
	if (generation != p->generation ||
	    (p->b.has_member && strcmp(member_fp, p->b.member_fp) != 0) ||
	    strcmp(coupon_fp, p->coupon_fp) != 0)
		return 0;
	if (p->b.has_member) {
		if (pt_repo_lots_expired_sum(db, p->b.ctx->arena, p->b.member.id, today, &expired,
		                             err) != 0)
			return -1;
		if (p->b.member.points - expired != p->b.spendable)
			return 0;
	}
	*holds = true;
	return 0;
}

typedef struct {
	pt_ctx *ctx;
	const pt_checkout_request *in;
	bool commit;
	pt_checkout_prepared *prepared;
	json_t **out;
	const char **text;
	bool own_read; /* a quote in a read transaction of its own, on SQLite */
} checkout_args;

static int checkout_tx(pt_db *db, void *arg, pt_err *err)
{
	checkout_args *x = arg;
	basket fresh = {.ctx = x->ctx, .in = x->in, .now = pt_clock_now_ms(), .generation = -1};
	basket *b = &fresh;
	bool holds = false;
	*x->out = NULL;
	if (x->prepared && still_holds(db, x->prepared, &holds, err) != 0)
		return -1;
	/* A committed snapshot: the products may come from memory. */
	if (x->own_read &&
	    pt_repo_pricing_generation(db, x->ctx->arena, &fresh.generation, err) != 0)
		return -1;
	if (holds)
		b = &x->prepared->b;
	else if (price_basket(db, b, x->commit, x->commit, err) != 0)
		return -1;
	if (x->commit && commit_order(db, b, err) != 0)
		return -1;
	*x->out = b->priced;
	if (x->text)
		*x->text = b->priced_text;
	return 0;
}

int pt_svc_checkout(pt_ctx *ctx, const pt_checkout_request *in, bool commit,
                    pt_checkout_prepared *prepared, json_t **out, const char **text, pt_err *err)
{
	checkout_args x = {.ctx = ctx,
	                   .in = in,
	                   .commit = commit,
	                   .prepared = commit ? prepared : NULL,
	                   .out = out,
	                   .text = text,
	                   .own_read = !commit && !pt_db_in_tx(ctx->db) &&
	                               pt_db_kind_of(ctx->db) == PT_DB_SQLITE};
	return pt_db_tx(ctx->db, commit, checkout_tx, &x, err);
}
