#include "service/catalog.h"
#include "service/audit.h"

#include <string.h>

#include "util/clock.h"

static int product_missing(const char *sku, pt_err *err)
{
	return pt_err_set(err, PT_NOT_FOUND, NULL, "no product with SKU %s",
	                  "没有 SKU 为 %s 的商品", sku);
}

static int explain_conflict(pt_err *err, const pt_product *p)
{
	if (err->code != PT_CONFLICT)
		return -1;
	if (strcmp(err->field, "barcode") == 0)
		return pt_err_set(err, PT_CONFLICT, "barcode",
		                  "barcode %s belongs to another product", "条码 %s 已属于其他商品",
		                  p->barcode);
	return pt_err_set(err, PT_CONFLICT, "sku", "SKU %s is taken", "SKU %s 已被占用", p->sku);
}

typedef struct {
	pt_ctx *ctx;
	const char *sku;
	const pt_product_patch *in;
	pt_product *out;
} product_args;

static int create_tx(pt_db *db, void *arg, pt_err *err)
{
	product_args *x = arg;
	*x->out = x->in->p;
	x->out->created_at = x->out->updated_at = pt_clock_now_ms();
	if (pt_repo_product_insert(db, x->ctx->arena, x->out, &x->out->id, err) != 0)
		return explain_conflict(err, x->out);
	return pt_svc_audit(
	    x->ctx, "product.create", "product", x->out->id,
	    json_pack("{s:s, s:I}", "sku", x->out->sku, "price", (json_int_t)x->out->price), err);
}

int pt_svc_product_create(pt_ctx *ctx, const pt_product_patch *in, pt_product *out, pt_err *err)
{
	product_args x = {ctx, NULL, in, out};
	return pt_db_tx(ctx->db, true, create_tx, &x, err);
}

static int patch_tx(pt_db *db, void *arg, pt_err *err)
{
	product_args *x = arg;
	const pt_product_patch *in = x->in;
	pt_product *p = x->out;
	bool found = false;
	if (pt_repo_product_find(db, x->ctx->arena, "sku", x->sku, p, &found, err) != 0)
		return -1;
	if (!found)
		return product_missing(x->sku, err);
	if (in->set_sku)
		p->sku = in->p.sku;
	if (in->set_name)
		p->name = in->p.name;
	if (in->set_price)
		p->price = in->p.price;
	if (in->set_member_price) {
		p->member_price = in->p.member_price;
		p->has_member_price = in->p.has_member_price;
	}
	if (in->set_barcode)
		p->barcode = in->p.barcode;
	if (in->set_category)
		p->category = in->p.category;
	if (in->set_cost) {
		p->cost = in->p.cost;
		p->has_cost = in->p.has_cost;
	}
	if (in->set_multiplier)
		p->points_multiplier_bp = in->p.points_multiplier_bp;
	if (in->set_discountable)
		p->discountable = in->p.discountable;
	p->updated_at = pt_clock_now_ms();
	if (pt_repo_product_update(db, p, err) != 0)
		return explain_conflict(err, p);
	return pt_svc_audit(x->ctx, "product.update", "product", p->id,
	                    json_pack("{s:s, s:I}", "sku", p->sku, "price", (json_int_t)p->price),
	                    err);
}

int pt_svc_product_patch(pt_ctx *ctx, const char *sku, const pt_product_patch *in, pt_product *out,
                         pt_err *err)
{
	product_args x = {ctx, sku, in, out};
	return pt_db_tx(ctx->db, true, patch_tx, &x, err);
}

int pt_svc_product_get(pt_ctx *ctx, const char *sku, pt_product *out, pt_err *err)
{
	bool found = false;
	if (pt_repo_product_find(ctx->db, ctx->arena, "sku", sku, out, &found, err) != 0)
		return -1;
	return found ? 0 : product_missing(sku, err);
}

int pt_svc_product_search(pt_ctx *ctx, const char *q, const char *category, int64_t after_id,
                          int limit, pt_product **out, int *n, pt_err *err)
{
	return pt_repo_product_search(ctx->db, ctx->arena, q, category, after_id, limit, out, n,
	                              err);
}

static int store_exists(pt_ctx *ctx, pt_db *db, pt_arena *a, int64_t id, const char *field,
                        pt_err *err)
{
	pt_store s;
	bool found = false;
	if (!pt_ctx_store_ok(ctx, id))
		return pt_svc_store_hidden(id, err);
	if (pt_repo_store_get(db, a, id, &s, &found, err) != 0)
		return -1;
	if (!found)
		return pt_err_set(err, PT_INVALID_ARGUMENT, field, "store %lld does not exist",
		                  "门店 %lld 不存在", (long long)id);
	return 0;
}

int pt_svc_stock_apply(pt_ctx *ctx, int64_t store_id, const pt_product *p, int64_t delta,
                       const char *kind, int64_t order_id, int64_t refund_id, pt_err *err)
{
	bool ok = false;
	int64_t after = 0, id, now = pt_clock_now_ms();
	if (pt_repo_stock_change(ctx->db, ctx->arena, store_id, p->id, delta, now, &ok, &after,
	                         err) != 0)
		return -1;
	if (!ok)
		return pt_err_set(err, PT_OUT_OF_STOCK, "sku",
		                  "not enough stock of %s in store %lld for %lld units",
		                  "%s 在门店 %lld 的库存不足 %lld 件", p->sku, (long long)store_id,
		                  (long long)-delta);
	pt_stock_move m = {.store_id = store_id,
	                   .product_id = p->id,
	                   .kind = kind,
	                   .qty = delta,
	                   .qty_after = after,
	                   .order_id = order_id,
	                   .refund_id = refund_id,
	                   .staff_id = ctx->staff_id,
	                   .api_key_id = ctx->api_key_id,
	                   .created_at = now};
	return pt_repo_stock_move_insert(ctx->db, ctx->arena, &m, &id, err);
}

typedef struct {
	pt_ctx *ctx;
	const pt_stock_request *in;
	pt_stock_result *out;
} move_args;

static int move_tx(pt_db *db, void *arg, pt_err *err)
{
	move_args *x = arg;
	const pt_stock_request *in = x->in;
	pt_arena *a = x->ctx->arena;
	pt_product p;
	bool found = false, ok = false;
	int64_t after, now = pt_clock_now_ms();
	if (store_exists(x->ctx, db, a, in->store_id, "store_id", err) != 0 ||
	    (in->to_store_id &&
	     store_exists(x->ctx, db, a, in->to_store_id, "to_store_id", err) != 0) ||
	    pt_repo_product_find(db, a, "sku", in->sku, &p, &found, err) != 0)
		return -1;
	if (!found)
		return pt_err_set(err, PT_INVALID_ARGUMENT, "sku", "no product with SKU %s",
		                  "没有 SKU 为 %s 的商品", in->sku);
	bool transfer = strcmp(in->kind, "transfer") == 0;
	int64_t delta = transfer ? -in->qty : in->qty;
	if (pt_repo_stock_change(db, a, in->store_id, p.id, delta, now, &ok, &after, err) != 0)
		return -1;
	if (!ok)
		return pt_err_set(err, PT_OUT_OF_STOCK, "qty",
		                  "store %lld has not enough %s for this",
		                  "门店 %lld 的 %s 库存不足", (long long)in->store_id, in->sku);
	pt_stock_move m = {.store_id = in->store_id,
	                   .product_id = p.id,
	                   .kind = transfer ? "transfer_out" : in->kind,
	                   .qty = delta,
	                   .qty_after = after,
	                   .to_store_id = in->to_store_id,
	                   .note = in->note,
	                   .staff_id = x->ctx->staff_id,
	                   .api_key_id = x->ctx->api_key_id,
	                   .created_at = now};
	if (pt_repo_stock_move_insert(db, a, &m, &x->out->movement_id, err) != 0 ||
	    pt_repo_stock_get(db, a, in->store_id, p.id, &x->out->stock, &found, err) != 0)
		return -1;
	/* Counts corrected by hand are where stock goes missing. */
	if (strcmp(in->kind, "adjust") == 0 &&
	    pt_svc_audit(x->ctx, "stock.adjust", "store", in->store_id,
	                 json_pack("{s:s, s:I, s:I}", "sku", in->sku, "qty", (json_int_t)delta,
	                           "qty_after", (json_int_t)after),
	                 err) != 0)
		return -1;
	if (!transfer)
		return 0;
	int64_t id;
	if (pt_repo_stock_change(db, a, in->to_store_id, p.id, in->qty, now, &ok, &after, err) != 0)
		return -1;
	m = (pt_stock_move){.store_id = in->to_store_id,
	                    .product_id = p.id,
	                    .kind = "transfer_in",
	                    .qty = in->qty,
	                    .qty_after = after,
	                    .to_store_id = in->store_id,
	                    .note = in->note,
	                    .staff_id = x->ctx->staff_id,
	                    .api_key_id = x->ctx->api_key_id,
	                    .created_at = now};
	return pt_repo_stock_move_insert(db, a, &m, &id, err) ||
	       pt_repo_stock_get(db, a, in->to_store_id, p.id, &x->out->to_stock, &found, err);
}

int pt_svc_stock_move(pt_ctx *ctx, const pt_stock_request *in, pt_stock_result *out, pt_err *err)
{
	move_args x = {ctx, in, out};
	memset(out, 0, sizeof(*out));
	return pt_db_tx(ctx->db, true, move_tx, &x, err);
}

typedef struct {
	pt_ctx *ctx;
	int64_t store_id, threshold;
	const char *sku;
	pt_stock_row *out;
} threshold_args;

static int threshold_tx(pt_db *db, void *arg, pt_err *err)
{
	threshold_args *x = arg;
	pt_product p;
	bool found = false;
	if (store_exists(x->ctx, db, x->ctx->arena, x->store_id, "store_id", err) != 0 ||
	    pt_repo_product_find(db, x->ctx->arena, "sku", x->sku, &p, &found, err) != 0)
		return -1;
	if (!found)
		return pt_err_set(err, PT_INVALID_ARGUMENT, "sku", "no product with SKU %s",
		                  "没有 SKU 为 %s 的商品", x->sku);
	return pt_repo_stock_set_threshold(db, x->store_id, p.id, x->threshold, pt_clock_now_ms(),
	                                   err) ||
	       pt_repo_stock_get(db, x->ctx->arena, x->store_id, p.id, x->out, &found, err);
}

int pt_svc_stock_threshold(pt_ctx *ctx, int64_t store_id, const char *sku, int64_t threshold,
                           pt_stock_row *out, pt_err *err)
{
	threshold_args x = {ctx, store_id, threshold, sku, out};
	return pt_db_tx(ctx->db, true, threshold_tx, &x, err);
}

int pt_svc_stock_list(pt_ctx *ctx, int64_t store_id, bool only_low, int64_t after_key, int limit,
                      pt_stock_row **out, int *n, pt_err *err)
{
	if (store_id && !pt_ctx_store_ok(ctx, store_id))
		return pt_svc_store_hidden(store_id, err);
	if (!ctx->nstores || store_id)
		return pt_repo_stock_list(ctx->db, ctx->arena, store_id, only_low, after_key, limit,
		                          out, n, err);
	pt_stock_row *mine = pt_arena_alloc(ctx->arena, sizeof(pt_stock_row) * (size_t)(limit + 1));
	int k = 0;
	if (!mine)
		return pt_err_oom(err);
	for (;;) {
		pt_stock_row *rows;
		int got;
		if (pt_repo_stock_list(ctx->db, ctx->arena, 0, only_low, after_key, 200, &rows,
		                       &got, err) != 0)
			return -1;
		for (int i = 0; i < got && k < limit; i++) {
			after_key = rows[i].store_id * INT64_C(4294967296) + rows[i].product_id;
			if (pt_ctx_store_ok(ctx, rows[i].store_id))
				mine[k++] = rows[i];
		}
		if (got < 200 || k == limit)
			break;
	}
	*out = mine;
	*n = k;
	return 0;
}
