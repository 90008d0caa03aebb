#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "service/checkout.h"
#include "util/clock.h"

#define ID_MAX    ((INT64_C(1) << 53) - 1)
#define MONEY_MAX INT64_C(10000000000)
#define QTY_MAX   100000

static int read_checkout(pt_req *req, pt_checkout_request *out, pt_err *err)
{
	static const char *const allowed[] = {"store_id",      "member_id", "items", "coupon_code",
	                                      "redeem_points", "note",      NULL};
	json_t *b = req->body;
	pt_field store, member, items, coupon, redeem, note;
	if (pt_json_only(b, allowed, err) ||
	    pt_json_int(b, "store_id", PT_F_REQUIRED, 1, ID_MAX, &store, err) ||
	    pt_json_int(b, "member_id", PT_F_NULLABLE, 1, ID_MAX, &member, err) ||
	    pt_json_array(b, "items", PT_F_REQUIRED, 200, &items, err) ||
	    pt_json_text(b, "coupon_code", PT_F_NULLABLE, 1, 32, &coupon, err) ||
	    pt_json_int(b, "redeem_points", PT_F_NULLABLE, 0, INT64_C(1000000000000), &redeem,
	                err) ||
	    pt_json_text(b, "note", PT_F_NULLABLE | PT_F_MULTILINE, 0, 200, &note, err))
		return -1;
	int n = (int)json_array_size(items.j);
	if (n == 0)
		return pt_err_set(err, PT_INVALID_ARGUMENT, "items", "the basket is empty",
		                  "购物篮为空");
	pt_checkout_item *list = pt_arena_alloc(req->ctx.arena, sizeof(*list) * (size_t)n);
	if (!list)
		return pt_err_oom(err);
	for (int i = 0; i < n; i++) {
		static const char *const item_keys[] = {"sku", "qty", "name", "unit_price", NULL};
		json_t *it = json_array_get(items.j, (size_t)i);
		pt_field sku, qty, name, price;
		char prefix[32];
		snprintf(prefix, sizeof(prefix), "items[%d]", i);
		if (!json_is_object(it))
			return pt_err_set(err, PT_INVALID_ARGUMENT, prefix, "%s must be an object",
			                  "%s 须为对象", prefix);
		if (pt_json_only(it, item_keys, err) ||
		    pt_json_text(it, "sku", 0, 1, 64, &sku, err) ||
		    pt_json_int(it, "qty", PT_F_REQUIRED, 1, QTY_MAX, &qty, err) ||
		    pt_json_text(it, "name", 0, 1, 128, &name, err) ||
		    pt_json_int(it, "unit_price", 0, 0, MONEY_MAX, &price, err)) {
			/* Name the item: items[2].qty, not qty. */
			char inner[64];
			memcpy(inner, err->field, sizeof(inner));
			snprintf(err->field, sizeof(err->field), "%.20s.%.40s", prefix, inner);
			return -1;
		}
		if (sku.present && (name.present || price.present))
			return pt_err_set(
			    err, PT_INVALID_ARGUMENT, prefix,
			    "%s: a product item has sku and qty; an open item has "
			    "name, unit_price and qty",
			    "%s：商品行填写 sku 和 qty；自定义行填写 name、unit_price 和 qty",
			    prefix);
		if (!sku.present && (!name.present || !price.present))
			return pt_err_set(err, PT_INVALID_ARGUMENT,
			                  pt_arena_printf(req->ctx.arena, "%s.%s", prefix,
			                                  name.present ? "unit_price" : "name"),
			                  "%s: an item without sku needs name and unit_price",
			                  "%s：没有 sku 的行需要 name 和 unit_price", prefix);
		list[i] = (pt_checkout_item){
		    .sku = sku.s, .name = name.s, .unit_price = price.i, .qty = qty.i};
	}
	*out = (pt_checkout_request){.store_id = store.i,
	                             .member_id = member.i,
	                             .items = list,
	                             .nitems = n,
	                             .coupon_code = coupon.s,
	                             .redeem = redeem.present && !redeem.is_null,
	                             .redeem_points = redeem.i,
	                             .note = note.s};
	return 0;
}

static int checkout(pt_req *req, bool commit, pt_err *err)
{
	pt_checkout_request in;
	json_t *priced;
	const char *text = NULL;
	if (read_checkout(req, &in, err) ||
	    pt_svc_checkout(&req->ctx, &in, commit, req->prepared, &priced, &text, err))
		return -1;
	if (commit)
		req->location = pt_arena_printf(
		    req->ctx.arena, "/api/v1/orders/%lld",
		    (long long)json_integer_value(json_object_get(priced, "order_id")));
	pt_reply_json(req, commit ? 201 : 200, json_incref(priced));
	req->reply_json_text = text; /* the order's JSON as stored: sent as it is */
	return 0;
}

int pt_api_checkout_quote(pt_req *req, pt_err *err)
{
	return checkout(req, false, err);
}

/* Prices the sale before its write transaction (PT_ROUTE_PREPARES), which then commits that
 * price if nothing it rests on changed meanwhile. */
static int prepare_checkout(pt_req *req, pt_err *err)
{
	pt_checkout_request in;
	pt_checkout_prepared *prepared;
	if (read_checkout(req, &in, err) || pt_svc_checkout_prepare(&req->ctx, &in, &prepared, err))
		return -1;
	req->prepared = prepared;
	return 0;
}

int pt_api_checkout_commit(pt_req *req, pt_err *err)
{
	return req->preparing ? prepare_checkout(req, err) : checkout(req, true, err);
}

int pt_api_orders_refund(pt_req *req, pt_err *err)
{
	static const char *const allowed[] = {"lines", NULL};
	int64_t id;
	pt_field lines;
	if (pt_req_id(req, "id", &id, err) || pt_json_only(req->body, allowed, err) ||
	    pt_json_array(req->body, "lines", PT_F_NULLABLE, 200, &lines, err))
		return -1;
	pt_refund_item *items = NULL;
	int n = 0;
	if (lines.present && !lines.is_null) {
		n = (int)json_array_size(lines.j);
		if (n == 0)
			return pt_err_set(
			    err, PT_INVALID_ARGUMENT, "lines",
			    "lines names what to refund; send {} to refund everything "
			    "left",
			    "lines 列出要退的商品；退全部剩余商品请发送 {}");
		items = pt_arena_alloc(req->ctx.arena, sizeof(*items) * (size_t)n);
		if (!items)
			return pt_err_oom(err);
	}
	for (int i = 0; i < n; i++) {
		static const char *const keys[] = {"sku", "line", "qty", NULL};
		json_t *it = json_array_get(lines.j, (size_t)i);
		pt_field sku, line, qty;
		char prefix[32];
		snprintf(prefix, sizeof(prefix), "lines[%d]", i);
		if (!json_is_object(it) || pt_json_only(it, keys, err) ||
		    pt_json_text(it, "sku", 0, 1, 64, &sku, err) ||
		    pt_json_int(it, "line", 0, 0, 199, &line, err) ||
		    pt_json_int(it, "qty", PT_F_REQUIRED, 1, QTY_MAX, &qty, err) ||
		    sku.present == line.present)
			return pt_err_set(err, PT_INVALID_ARGUMENT, prefix,
			                  "%s is {\"sku\", \"qty\"} or {\"line\", \"qty\"}",
			                  "%s 须为 {\"sku\", \"qty\"} 或 {\"line\", \"qty\"}",
			                  prefix);
		items[i] = (pt_refund_item){.sku = sku.s, .line = (int)line.i, .qty = qty.i};
	}
	json_t *body;
	if (pt_svc_refund(&req->ctx, id, items, n, &body, err) != 0)
		return -1;
	return pt_reply_json(req, 201, json_incref(body));
}

int pt_api_orders_get(pt_req *req, pt_err *err)
{
	int64_t id;
	json_t *order;
	if (pt_req_id(req, "id", &id, err) || pt_svc_order_get(&req->ctx, id, &order, err))
		return -1;
	return pt_reply_json(req, 200, order);
}

static int query_number(pt_req *req, const char *key, int64_t *out, pt_err *err)
{
	const char *s = pt_req_query(req, key);
	char *end;
	*out = 0;
	if (!s)
		return 0;
	*out = strtoll(s, &end, 10);
	if (!*s || *end || *out < 1 || *out > ID_MAX)
		return pt_err_set(err, PT_INVALID_ARGUMENT, key, "%s must be a positive id",
		                  "%s 须为正整数 id", key);
	return 0;
}

static int query_time(pt_req *req, const char *key, int64_t *out, pt_err *err)
{
	const char *s = pt_req_query(req, key);
	*out = 0;
	if (s && pt_clock_parse_rfc3339(s, out) != 0)
		return pt_err_set(err, PT_INVALID_ARGUMENT, key,
		                  "%s must be an RFC 3339 time such as 2026-11-23T08:00:00Z",
		                  "%s 须为 RFC 3339 时间", key);
	return 0;
}

int pt_api_orders_list(pt_req *req, pt_err *err)
{
	pt_order_query q = {0};
	json_t *items;
	int64_t last = 0;
	if (query_number(req, "member_id", &q.member_id, err) ||
	    query_number(req, "store_id", &q.store_id, err) ||
	    query_time(req, "from", &q.from, err) || query_time(req, "to", &q.to, err) ||
	    pt_list_params(req, &q.after_id, &q.limit, err))
		return -1;
	int limit = q.limit;
	q.limit = limit + 1;
	if (pt_svc_order_list(&req->ctx, &q, &items, &last, err) != 0)
		return -1;
	if ((int)json_array_size(items) > limit)
		last = json_integer_value(
		    json_object_get(json_array_get(items, (size_t)limit - 1), "order_id"));
	return pt_list_reply(req, items, limit, last);
}
