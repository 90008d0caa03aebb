#include <string.h>

#include "api/api.h"
#include "core/text.h"
#include "service/catalog.h"

#define SKU_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"
#define MONEY_MAX INT64_C(10000000000) /* ¥100,000,000.00: no till sells more in one item */

static json_t *product_json(const pt_product *p)
{
	return json_pack(
	    "{s:I, s:s, s:s, s:I, s:o, s:o, s:o, s:o, s:I, s:b, s:o, s:o}", "id", (json_int_t)p->id,
	    "sku", p->sku, "name", p->name, "price", (json_int_t)p->price, "member_price",
	    p->has_member_price ? json_integer(p->member_price) : json_null(), "barcode",
	    pt_json_opt_str(p->barcode), "category", pt_json_opt_str(p->category), "cost",
	    p->has_cost ? json_integer(p->cost) : json_null(), "points_multiplier_bp",
	    (json_int_t)p->points_multiplier_bp, "discountable", p->discountable, "created_at",
	    pt_json_time(p->created_at), "updated_at", pt_json_time(p->updated_at));
}

static int read_product(json_t *b, bool create, pt_product_patch *out, pt_err *err)
{
	static const char *const allowed[] = {
	    "sku",          "name",     "price", "member_price",
	    "barcode",      "category", "cost",  "points_multiplier_bp",
	    "discountable", NULL};
	unsigned req = create ? PT_F_REQUIRED : 0;
	pt_field sku, name, price, member, barcode, category, cost, mult, disc;
	if (pt_json_only(b, allowed, err) || pt_json_text(b, "sku", req, 1, 64, &sku, err) ||
	    pt_json_text(b, "name", req, 1, 128, &name, err) ||
	    pt_json_int(b, "price", req, 0, MONEY_MAX, &price, err) ||
	    pt_json_int(b, "member_price", PT_F_NULLABLE, 0, MONEY_MAX, &member, err) ||
	    pt_json_text(b, "barcode", PT_F_NULLABLE, 1, 32, &barcode, err) ||
	    pt_json_text(b, "category", PT_F_NULLABLE, 1, 64, &category, err) ||
	    pt_json_int(b, "cost", PT_F_NULLABLE, 0, MONEY_MAX, &cost, err) ||
	    pt_json_int(b, "points_multiplier_bp", 0, 0, 100000, &mult, err) ||
	    pt_json_bool(b, "discountable", 0, &disc, err))
		return -1;
	if (sku.s && !pt_text_all_in(sku.s, SKU_CHARS))
		return pt_err_set(err, PT_INVALID_ARGUMENT, "sku",
		                  "sku may hold only letters, digits, _ . and -",
		                  "SKU 只能包含字母、数字、_ . 和 -");
	if (barcode.s && !pt_text_all_in(barcode.s, SKU_CHARS))
		return pt_err_set(err, PT_INVALID_ARGUMENT, "barcode",
		                  "barcode may hold only letters, digits, _ . and -",
		                  "条码只能包含字母、数字、_ . 和 -");
	*out = (pt_product_patch){
	    .set_sku = sku.present,
	    .set_name = name.present,
	    .set_price = price.present,
	    .set_member_price = member.present,
	    .set_barcode = barcode.present,
	    .set_category = category.present,
	    .set_cost = cost.present,
	    .set_multiplier = mult.present,
	    .set_discountable = disc.present,
	    .p = {.sku = sku.s,
	          .name = name.s,
	          .price = price.i,
	          .member_price = member.i,
	          .has_member_price = member.present && !member.is_null,
	          .barcode = barcode.s,
	          .category = category.s,
	          .cost = cost.i,
	          .has_cost = cost.present && !cost.is_null,
	          .points_multiplier_bp = mult.present ? mult.i : 10000,
	          .discountable = disc.present ? disc.i : true},
	};
	return 0;
}

int pt_api_products_create(pt_req *req, pt_err *err)
{
	pt_product_patch in;
	pt_product p;
	if (read_product(req->body, true, &in, err) ||
	    pt_svc_product_create(&req->ctx, &in, &p, err))
		return -1;
	req->location = pt_arena_printf(req->ctx.arena, "/api/v1/products/%s", p.sku);
	return pt_reply_json(req, 201, product_json(&p));
}

int pt_api_products_patch(pt_req *req, pt_err *err)
{
	pt_product_patch in;
	pt_product p;
	if (read_product(req->body, false, &in, err) ||
	    pt_svc_product_patch(&req->ctx, pt_req_param(req, "sku"), &in, &p, err))
		return -1;
	return pt_reply_json(req, 200, product_json(&p));
}

int pt_api_products_get(pt_req *req, pt_err *err)
{
	pt_product p;
	if (pt_svc_product_get(&req->ctx, pt_req_param(req, "sku"), &p, err) != 0)
		return -1;
	return pt_reply_json(req, 200, product_json(&p));
}

int pt_api_products_list(pt_req *req, pt_err *err)
{
	const char *q = pt_req_query(req, "q"), *category = pt_req_query(req, "category");
	int64_t after;
	int limit, n;
	pt_product *rows;
	if (q && !*q)
		q = NULL;
	if ((q && pt_text_check("q", q, 0, 1, 128, err)) ||
	    (category && pt_text_check("category", category, 0, 1, 64, err)) ||
	    pt_list_params(req, &after, &limit, err) ||
	    pt_svc_product_search(&req->ctx, q, category, after, limit + 1, &rows, &n, err))
		return -1;
	json_t *items = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(items, product_json(&rows[i]));
	return pt_list_reply(req, items, limit, n > limit ? rows[limit - 1].id : 0);
}
