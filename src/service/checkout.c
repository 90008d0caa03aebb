/* Checkout, refunds and orders: the service reads what the price depends on, the core
 * prices it, and a commit writes every consequence in the one transaction. */
#include "service/checkout.h"

#include <stdio.h>
#include <string.h>

#include "core/coupon_code.h"
#include "core/pricing.h"
#include "service/audit.h"
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
	/* results */
	pt_price_line *out_lines;
	pt_adjustment *adj;
	pt_price price;
	const char *priced_text; /* the committed order's JSON, as stored */
} basket;

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
		if (pt_repo_product_find(db, a, "sku", it->sku, &b->products[i], &found, err) != 0)
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
	if (pt_repo_member_get(db, a, b->in->member_id, &b->member, &found, err) != 0)
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

/* Writes the order and all it causes. */
static int commit_order(pt_db *db, basket *b, int64_t now, json_t *priced, pt_err *err)
{
	pt_ctx *ctx = b->ctx;
	pt_arena *a = ctx->arena;
	const pt_price *p = &b->price;
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
	int64_t orders = 0;
	if (b->member.referrer_id && b->rules.referral_on_first_purchase &&
	    b->rules.referrer_points > 0) {
		if (pt_repo_member_order_count(db, a, b->member.id, &orders, err) != 0)
			return -1;
		pt_posted referrer;
		pt_posting bonus = {.kind = "bonus_referral",
		                    .account = "issued",
		                    .member_id = b->member.referrer_id,
		                    .store_id = b->store.id,
		                    .order_id = o.id,
		                    .points = b->rules.referrer_points,
		                    .reason = "referee's first purchase"};
		if (orders == 1 && pt_svc_points_post(ctx, &b->rules, &bonus, &referrer, err) != 0)
			return -1;
	}
	json_object_set_new(priced, "points_balance", json_integer(posted.spendable));
done:;
	char *text = json_dumps(priced, JSON_COMPACT);
	if (!text || pt_arena_defer(a, free, text) != 0) {
		free(text);
		return pt_err_oom(err);
	}
	b->priced_text = text;
	return pt_repo_order_set_priced(db, o.id, text, err);
}

typedef struct {
	pt_ctx *ctx;
	const pt_checkout_request *in;
	bool commit;
	json_t **out;
	const char **text;
} checkout_args;

static int checkout_tx(pt_db *db, void *arg, pt_err *err)
{
	checkout_args *x = arg;
	basket b = {.ctx = x->ctx, .in = x->in};
	int64_t now = pt_clock_now_ms();
	bool found = false;
	*x->out = NULL;
	if (pt_repo_store_get(db, x->ctx->arena, x->in->store_id, &b.store, &found, err) != 0)
		return -1;
	if (found && !pt_ctx_store_ok(x->ctx, b.store.id))
		return pt_svc_store_hidden(b.store.id, err);
	if (!found)
		return pt_err_set(err, PT_INVALID_ARGUMENT, "store_id", "store %lld does not exist",
		                  "门店 %lld 不存在", (long long)x->in->store_id);
	if (pt_svc_points_rules(db, x->ctx->arena, &b.rules, err) != 0 ||
	    load_member(db, &b, x->commit, err) != 0 || load_items(db, &b, err) != 0 ||
	    load_promotions(db, &b, now, err) != 0 || load_coupon(db, &b, now, err) != 0)
		return -1;
	birthday_rule(&b);
	if (run_pricing(&b, err) != 0)
		return -1;
	json_t *priced = priced_json(&b);
	if (!priced)
		return pt_err_oom(err);
	pt_arena_defer(x->ctx->arena, (void (*)(void *))json_decref, priced);
	if (x->commit && commit_order(db, &b, now, priced, err) != 0)
		return -1;
	*x->out = priced;
	if (x->text)
		*x->text = b.priced_text;
	return 0;
}

int pt_svc_checkout(pt_ctx *ctx, const pt_checkout_request *in, bool commit, json_t **out,
                    const char **text, pt_err *err)
{
	checkout_args x = {ctx, in, commit, out, text};
	return pt_db_tx(ctx->db, commit, checkout_tx, &x, err);
}

/* ---- Refunds ---- */

typedef struct {
	pt_ctx *ctx;
	int64_t order_id;
	const pt_refund_item *items;
	int nitems;
	json_t **out;
} refund_args;

/* Turns the request's lines (by SKU or line index) into units per order line. */
static int refund_units(pt_arena *a, const pt_order_line *lines, int n, const pt_refund_item *items,
                        int nitems, int64_t *units, pt_err *err)
{
	memset(units, 0, sizeof(int64_t) * (size_t)n);
	for (int i = 0; i < nitems; i++) {
		const pt_refund_item *it = &items[i];
		int64_t want = it->qty;
		if (!it->sku) {
			if (it->line >= n)
				return pt_err_set(err, PT_INVALID_ARGUMENT,
				                  pt_arena_printf(a, "lines[%d].line", i),
				                  "the order has no line %d", "订单没有第 %d 行",
				                  it->line);
			if (want >
			    lines[it->line].qty - lines[it->line].refunded_qty - units[it->line])
				return pt_err_set(err, PT_CONFLICT,
				                  pt_arena_printf(a, "lines[%d].qty", i),
				                  "more of line %d than is left to refund",
				                  "退货数量超过第 %d 行的可退数量", it->line);
			units[it->line] += want;
			continue;
		}
		/* A SKU on several lines takes the units left on each, in order. */
		bool named = false;
		for (int k = 0; k < n && want > 0; k++) {
			if (!lines[k].sku || strcmp(lines[k].sku, it->sku) != 0)
				continue;
			named = true;
			int64_t left = lines[k].qty - lines[k].refunded_qty - units[k];
			int64_t take = left < want ? (left > 0 ? left : 0) : want;
			units[k] += take;
			want -= take;
		}
		if (!named)
			return pt_err_set(err, PT_CONFLICT, pt_arena_printf(a, "lines[%d].sku", i),
			                  "the order has no %s to refund", "订单中没有可退的 %s",
			                  it->sku);
		if (want > 0)
			return pt_err_set(err, PT_CONFLICT, pt_arena_printf(a, "lines[%d].qty", i),
			                  "more %s than are left to refund",
			                  "退货数量超过可退的 %s", it->sku);
	}
	return 0;
}

/* Gives returned points back to the lots the order's redemption took them from, soonest
 * expiring first, less what earlier refunds gave back. */
static int return_points(pt_db *db, pt_ctx *ctx, const pt_points_rules *rules, const pt_order *o,
                         int64_t points, pt_posted *posted, pt_err *err)
{
	pt_arena *a = ctx->arena;
	pt_lot_share *taken, *returned;
	int nt, nr;
	if (pt_repo_order_lot_shares(db, a, o->id, "redeem", &taken, &nt, err) != 0 ||
	    pt_repo_order_lot_shares(db, a, o->id, "refund_return", &returned, &nr, err) != 0)
		return -1;
	int64_t *lots = pt_arena_alloc(a, sizeof(int64_t) * (size_t)(nt + 1));
	int64_t *amounts = pt_arena_alloc(a, sizeof(int64_t) * (size_t)(nt + 1));
	if (!lots || !amounts)
		return pt_err_oom(err);
	int k = 0;
	int64_t left = points;
	for (int i = 0; i < nt && left > 0; i++) {
		int64_t open = -taken[i].points;
		for (int j = 0; j < nr; j++)
			if (returned[j].lot_id == taken[i].lot_id)
				open -= returned[j].points;
		int64_t give = open < left ? open : left;
		if (give <= 0)
			continue;
		lots[k] = taken[i].lot_id;
		amounts[k++] = give;
		left -= give;
	}
	if (left != 0)
		return pt_err_set(err, PT_INTERNAL, NULL,
		                  "order %lld: redeemed points not found in lots",
		                  "订单 %lld：找不到所用积分的来源", (long long)o->id);
	pt_posting p = {.kind = "refund_return",
	                .account = "redeemed",
	                .member_id = o->member_id,
	                .store_id = o->store_id,
	                .order_id = o->id,
	                .points = points,
	                .return_lots = lots,
	                .return_points = amounts,
	                .nreturn = k};
	return pt_svc_points_post(ctx, rules, &p, posted, err);
}

static int refund_tx(pt_db *db, void *arg, pt_err *err)
{
	refund_args *x = arg;
	pt_ctx *ctx = x->ctx;
	pt_arena *a = ctx->arena;
	pt_order o;
	pt_order_line *lines;
	int n;
	bool found = false;
	int64_t now = pt_clock_now_ms();
	*x->out = NULL;
	if (pt_repo_order_get(db, a, x->order_id, true, &o, &found, err) != 0)
		return -1;
	if (!found || !pt_ctx_store_ok(ctx, o.store_id))
		return pt_err_set(err, PT_NOT_FOUND, NULL, "no order %lld", "订单 %lld 不存在",
		                  (long long)x->order_id);
	if (pt_repo_order_lines(db, a, o.id, &lines, &n, err) != 0)
		return -1;
	int64_t *units = NULL;
	if (x->items) {
		units = pt_arena_alloc(a, sizeof(int64_t) * (size_t)(n + 1));
		if (!units)
			return pt_err_oom(err);
		if (refund_units(a, lines, n, x->items, x->nitems, units, err) != 0)
			return -1;
	}
	pt_refund_line_in *in_lines = pt_arena_alloc(a, sizeof(*in_lines) * (size_t)(n + 1));
	pt_refund_line *out_lines = pt_arena_alloc(a, sizeof(*out_lines) * (size_t)(n + 1));
	if (!in_lines || !out_lines)
		return pt_err_oom(err);
	for (int i = 0; i < n; i++)
		in_lines[i] = (pt_refund_line_in){.qty = lines[i].qty,
		                                  .cash = lines[i].cash,
		                                  .points_value = lines[i].points_value,
		                                  .points_redeemed = lines[i].points_redeemed,
		                                  .refunded_qty = lines[i].refunded_qty};
	pt_refund_in in = {.lines = in_lines,
	                   .n_lines = n,
	                   .points_earned = o.points_earned,
	                   .cash_original = o.cash_due,
	                   .cash_refunded = o.cash_refunded,
	                   .points_clawed_back = o.points_clawed_back,
	                   .units = units};
	pt_refund r;
	pt_price_err pe = {0};
	if (pt_refund_price(&in, out_lines, &r, &pe) != 0) {
		const char *field = pe.line >= 0 ? pt_arena_printf(a, "lines[%d].%s", pe.line,
		                                                   pe.field ? pe.field : "qty")
		                                 : (pe.field ? pe.field : "lines");
		if (pe.code == PT_CONFLICT)
			return pt_err_set(err, PT_CONFLICT, field,
			                  "that is more than is left to refund of order %lld",
			                  "超过订单 %lld 的可退数量", (long long)o.id);
		return pt_err_set(err, pe.code, field, "cannot refund order %lld as asked",
		                  "无法按要求退订单 %lld", (long long)o.id);
	}
	if (ctx->role && strcmp(ctx->role, "cashier") == 0) {
		pt_security_rules sec;
		if (pt_svc_security_rules(db, a, &sec, err) != 0)
			return -1;
		if (sec.has_refund_limit && r.cash > sec.cashier_refund_limit)
			return pt_err_set(err, PT_PERMISSION_DENIED, "lines",
			                  "a cashier may refund up to %lld at once; ask a manager",
			                  "收银员单次最多可退 %lld，请找店长处理",
			                  (long long)sec.cashier_refund_limit);
	}
	pt_refund_row row = {.order_id = o.id,
	                     .member_id = o.member_id,
	                     .cash = r.cash,
	                     .points_returned = r.points_returned,
	                     .points_clawback = r.points_clawback,
	                     .created_at = now};
	int64_t refund_id;
	if (pt_repo_refund_insert(db, a, &row, &refund_id, err) != 0 ||
	    pt_repo_order_refunded(db, o.id, r.cash, r.points_clawback, err) != 0)
		return -1;
	json_t *jlines = json_array();
	for (int i = 0; i < n; i++) {
		if (!out_lines[i].units)
			continue;
		if (pt_repo_order_line_refunded(db, lines[i].id, out_lines[i].units, err) != 0)
			return -1;
		if (lines[i].product_id) {
			pt_product p = {.id = lines[i].product_id, .sku = lines[i].sku};
			if (pt_svc_stock_apply(ctx, o.store_id, &p, out_lines[i].units, "refund",
			                       o.id, refund_id, err) != 0)
				return -1;
		}
		json_array_append_new(
		    jlines, json_pack("{s:i, s:o, s:s, s:I, s:I, s:I, s:I}", "line", i, "sku",
		                      lines[i].sku ? json_string(lines[i].sku) : json_null(),
		                      "name", lines[i].name, "qty", (json_int_t)out_lines[i].units,
		                      "cash", (json_int_t)out_lines[i].cash, "points_value",
		                      (json_int_t)out_lines[i].points_value, "points_redeemed",
		                      (json_int_t)out_lines[i].points_redeemed));
	}
	json_t *body =
	    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "refund_id",
	              (json_int_t)refund_id, "order_id", (json_int_t)o.id, "cash",
	              (json_int_t)r.cash, "points_value", (json_int_t)r.points_value,
	              "points_returned", (json_int_t)r.points_returned, "points_clawback",
	              (json_int_t)r.points_clawback, "lines", jlines, "created_at", time_json(now));
	if (!body)
		return pt_err_oom(err);
	pt_arena_defer(a, (void (*)(void *))json_decref, body);
	bool restored = false;
	if (r.complete && o.coupon_id) {
		pt_coupon c;
		if (pt_repo_coupon_find(db, a, "id", NULL, o.coupon_id, &c, &found, err) != 0)
			return -1;
		restored = found && now < c.valid_until;
		if (restored && pt_repo_coupon_restore(db, c.id, err) != 0)
			return -1;
	}
	json_object_set_new(body, "coupon_restored", json_boolean(restored));
	if (o.member_id) {
		pt_points_rules rules;
		pt_posted posted = {0};
		char today[11];
		if (pt_svc_points_rules(db, a, &rules, err) != 0)
			return -1;
		if (r.points_returned > 0 &&
		    return_points(db, ctx, &rules, &o, r.points_returned, &posted, err) != 0)
			return -1;
		if (r.points_clawback > 0) {
			pt_posting claw = {.kind = "refund_clawback",
			                   .account = "issued",
			                   .member_id = o.member_id,
			                   .store_id = o.store_id,
			                   .order_id = o.id,
			                   .points = -r.points_clawback,
			                   .allow_negative = true};
			if (pt_svc_points_post(ctx, &rules, &claw, &posted, err) != 0)
				return -1;
		}
		pt_svc_today(&rules, today);
		int64_t balance;
		if (pt_repo_spend_add(db, o.member_id, today, -(r.cash + r.points_value), err) !=
		        0 ||
		    pt_repo_member_lock(db, a, o.member_id, &balance, &found, err) != 0 ||
		    pt_svc_points_of(db, a, &rules, o.member_id, balance, &posted.spendable, NULL,
		                     NULL, err) != 0)
			return -1;
		json_object_set_new(body, "points_balance", json_integer(posted.spendable));
	}
	if (pt_svc_audit(ctx, "order.refund", "order", o.id,
	                 json_pack("{s:I, s:I, s:I, s:I}", "refund_id", (json_int_t)refund_id,
	                           "cash", (json_int_t)r.cash, "points_returned",
	                           (json_int_t)r.points_returned, "points_clawback",
	                           (json_int_t)r.points_clawback),
	                 err) != 0)
		return -1;
	char *text = json_dumps(body, JSON_COMPACT);
	int rc = text ? pt_repo_refund_set_detail(db, refund_id, text, err) : pt_err_oom(err);
	free(text);
	if (rc == 0)
		*x->out = body;
	return rc;
}

int pt_svc_refund(pt_ctx *ctx, int64_t order_id, const pt_refund_item *items, int nitems,
                  json_t **out, pt_err *err)
{
	refund_args x = {ctx, order_id, items, nitems, out};
	return pt_db_tx(ctx->db, true, refund_tx, &x, err);
}

/* ---- Orders ---- */

static json_t *order_json(pt_db *db, pt_arena *a, const pt_order *o, pt_err *err)
{
	json_error_t jerr;
	json_t *priced = json_loads(o->priced && *o->priced ? o->priced : "{}", 0, &jerr);
	pt_refund_row *refunds;
	int n;
	if (!priced)
		return pt_err_set(err, PT_INTERNAL, NULL, "order %lld is unreadable",
		                  "订单 %lld 无法读取", (long long)o->id),
		       NULL;
	pt_arena_defer(a, (void (*)(void *))json_decref, priced);
	if (pt_repo_refunds_of(db, a, o->id, &refunds, &n, err) != 0)
		return NULL;
	json_t *list = json_array();
	for (int i = 0; i < n; i++) {
		json_t *r = json_loads(refunds[i].detail, 0, &jerr);
		json_array_append_new(list, r ? r : json_object());
	}
	json_object_set_new(priced, "refunds", list);
	json_object_set_new(priced, "cash_refunded", json_integer(o->cash_refunded));
	json_object_set_new(priced, "points_clawed_back", json_integer(o->points_clawed_back));
	return json_incref(priced);
}

int pt_svc_order_get(pt_ctx *ctx, int64_t id, json_t **out, pt_err *err)
{
	pt_order o;
	bool found = false;
	if (pt_repo_order_get(ctx->db, ctx->arena, id, false, &o, &found, err) != 0)
		return -1;
	if (!found || !pt_ctx_store_ok(ctx, o.store_id))
		return pt_err_set(err, PT_NOT_FOUND, NULL, "no order %lld", "订单 %lld 不存在",
		                  (long long)id);
	*out = order_json(ctx->db, ctx->arena, &o, err);
	return *out ? 0 : -1;
}

int pt_svc_order_list(pt_ctx *ctx, const pt_order_query *q, json_t **items, int64_t *last_id,
                      pt_err *err)
{
	pt_order_filter f = {.member_id = q->member_id,
	                     .store_id = q->store_id,
	                     .from = q->from,
	                     .to = q->to,
	                     .after_id = q->after_id,
	                     .limit = q->limit};
	json_t *list = json_array();
	int k = 0;
	/* A store-scoped caller pages through their own stores' orders only. */
	f.limit = ctx->nstores ? 200 : q->limit;
	for (;;) {
		pt_order *rows;
		int n;
		if (pt_repo_order_list(ctx->db, ctx->arena, &f, &rows, &n, err) != 0) {
			json_decref(list);
			return -1;
		}
		for (int i = 0; i < n && k < q->limit; i++) {
			f.after_id = rows[i].id;
			if (!pt_ctx_store_ok(ctx, rows[i].store_id))
				continue;
			json_t *o = order_json(ctx->db, ctx->arena, &rows[i], err);
			if (!o) {
				json_decref(list);
				return -1;
			}
			json_array_append_new(list, o);
			*last_id = rows[i].id;
			k++;
		}
		if (n < f.limit || k == q->limit)
			break;
	}
	*items = list;
	return 0;
}
