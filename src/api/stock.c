#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "service/catalog.h"

#define ID_MAX ((INT64_C(1) << 53) - 1)

static json_t *stock_json(const pt_stock_row *s)
{
	return json_pack("{s:I, s:s, s:s, s:I, s:I, s:b, s:o}", "store_id", (json_int_t)s->store_id,
	                 "sku", s->sku, "name", s->name, "qty", (json_int_t)s->qty, "low_threshold",
	                 (json_int_t)s->low_threshold, "low", s->qty < s->low_threshold,
	                 "updated_at", pt_json_time(s->updated_at));
}

int pt_api_stock_move(pt_req *req, pt_err *err)
{
	static const char *const allowed[] = {"store_id",    "sku",  "kind", "qty",
	                                      "to_store_id", "note", NULL};
	pt_field store, sku, kind, qty, to, note;
	json_t *b = req->body;
	if (pt_json_only(b, allowed, err) ||
	    pt_json_int(b, "store_id", PT_F_REQUIRED, 1, ID_MAX, &store, err) ||
	    pt_json_text(b, "sku", PT_F_REQUIRED, 1, 64, &sku, err) ||
	    pt_json_text(b, "kind", PT_F_REQUIRED, 1, 16, &kind, err) ||
	    pt_json_int(b, "qty", PT_F_REQUIRED, -1000000000, 1000000000, &qty, err) ||
	    pt_json_int(b, "to_store_id", PT_F_NULLABLE, 1, ID_MAX, &to, err) ||
	    pt_json_text(b, "note", PT_F_NULLABLE | PT_F_MULTILINE, 0, 200, &note, err))
		return -1;
	bool receive = !strcmp(kind.s, "receive"), adjust = !strcmp(kind.s, "adjust"),
	     transfer = !strcmp(kind.s, "transfer");
	if (!receive && !adjust && !transfer)
		return pt_err_set(err, PT_INVALID_ARGUMENT, "kind",
		                  "kind must be receive, adjust or transfer",
		                  "kind 须为 receive、adjust 或 transfer");
	if ((receive || transfer) && qty.i <= 0)
		return pt_err_set(err, PT_INVALID_ARGUMENT, "qty",
		                  "qty must be a positive number of units", "qty 须为正整数件数");
	if (adjust && qty.i == 0)
		return pt_err_set(err, PT_INVALID_ARGUMENT, "qty",
		                  "qty must not be 0: + adds units, - takes them away",
		                  "qty 不能为 0：正数增加，负数减少");
	if (transfer != (to.present && !to.is_null))
		return pt_err_set(err, PT_INVALID_ARGUMENT, "to_store_id",
		                  "to_store_id is given for a transfer, and only for one",
		                  "仅调拨（transfer）需要且只能填写 to_store_id");
	if (transfer && to.i == store.i)
		return pt_err_set(err, PT_INVALID_ARGUMENT, "to_store_id",
		                  "a transfer goes to another store", "调拨须调往另一门店");
	pt_stock_request in = {.store_id = store.i,
	                       .to_store_id = transfer ? to.i : 0,
	                       .qty = qty.i,
	                       .sku = sku.s,
	                       .kind = kind.s,
	                       .note = note.s};
	pt_stock_result out;
	if (pt_svc_stock_move(&req->ctx, &in, &out, err) != 0)
		return -1;
	json_t *body = json_pack("{s:I, s:o}", "movement_id", (json_int_t)out.movement_id, "stock",
	                         stock_json(&out.stock));
	if (transfer)
		json_object_set_new(body, "to_stock", stock_json(&out.to_stock));
	return pt_reply_json(req, 201, body);
}

static int query_store(pt_req *req, bool required, int64_t *out, pt_err *err)
{
	const char *s = pt_req_query(req, "store_id");
	char *end = NULL;
	*out = 0;
	if (!s) {
		if (required)
			return pt_err_set(err, PT_INVALID_ARGUMENT, "store_id",
			                  "store_id is required", "缺少 store_id");
		return 0;
	}
	*out = strtoll(s, &end, 10);
	if (!*s || *end || *out < 1 || *out > ID_MAX)
		return pt_err_set(err, PT_INVALID_ARGUMENT, "store_id",
		                  "store_id must be a positive id", "store_id 须为正整数 id");
	return 0;
}

static int list(pt_req *req, bool only_low, pt_err *err)
{
	int64_t store, after;
	int limit, n;
	pt_stock_row *rows;
	if (query_store(req, false, &store, err) || pt_list_params(req, &after, &limit, err) ||
	    pt_svc_stock_list(&req->ctx, store, only_low, after, limit + 1, &rows, &n, err))
		return -1;
	json_t *items = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(items, stock_json(&rows[i]));
	int64_t last =
	    n > limit ? rows[limit - 1].store_id * INT64_C(4294967296) + rows[limit - 1].product_id
	              : 0;
	return pt_list_reply(req, items, limit, last);
}

int pt_api_stock_list(pt_req *req, pt_err *err)
{
	return list(req, false, err);
}

int pt_api_stock_alerts(pt_req *req, pt_err *err)
{
	return list(req, true, err);
}

int pt_api_stock_threshold(pt_req *req, pt_err *err)
{
	static const char *const allowed[] = {"store_id", "sku", "low_threshold", NULL};
	pt_field store, sku, threshold;
	pt_stock_row row;
	if (pt_json_only(req->body, allowed, err) ||
	    pt_json_int(req->body, "store_id", PT_F_REQUIRED, 1, ID_MAX, &store, err) ||
	    pt_json_text(req->body, "sku", PT_F_REQUIRED, 1, 64, &sku, err) ||
	    pt_json_int(req->body, "low_threshold", PT_F_REQUIRED, 0, 1000000000, &threshold,
	                err) ||
	    pt_svc_stock_threshold(&req->ctx, store.i, sku.s, threshold.i, &row, err))
		return -1;
	return pt_reply_json(req, 200, stock_json(&row));
}
