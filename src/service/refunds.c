/* Refunds (by unit, points back to the lots they came from) and orders as read back. */
#include <stdio.h>
#include <string.h>

#include "core/pricing.h"
#include "service/audit.h"
#include "service/catalog.h"
#include "service/checkout.h"
#include "service/market.h"
#include "service/points.h"
#include "service/security.h"
#include "store/repo_orders.h"
#include "util/clock.h"

static json_t *time_json(int64_t ms)
{
	char buf[32];
	pt_clock_format_rfc3339(ms, buf);
	return json_string(buf);
}

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
			int64_t *earned;
			int nearned;
			if (pt_repo_order_earned_lots(db, a, o.id, &earned, &nearned, err) != 0)
				return -1;
			pt_posting claw = {.kind = "refund_clawback",
			                   .account = "issued",
			                   .member_id = o.member_id,
			                   .store_id = o.store_id,
			                   .order_id = o.id,
			                   .points = -r.points_clawback,
			                   .allow_negative = true,
			                   .prefer_lots = earned,
			                   .nprefer = nearned};
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
