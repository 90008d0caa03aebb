#include <string.h>

#include "api/api.h"
#include "service/tiers.h"

static json_t *tier_json(const pt_tier *t)
{
	return json_pack("{s:I, s:s, s:I, s:I, s:s, s:I, s:I, s:o, s:o}", "id", (json_int_t)t->id,
	                 "name", t->name, "rank", (json_int_t)t->rank, "threshold",
	                 (json_int_t)t->threshold, "basis", t->basis, "discount_bp",
	                 (json_int_t)t->discount_bp, "points_multiplier_bp",
	                 (json_int_t)t->points_multiplier_bp, "created_at",
	                 pt_json_time(t->created_at), "updated_at", pt_json_time(t->updated_at));
}

static int read_tier(json_t *body, bool create, pt_tier_patch *out, pt_err *err)
{
	static const char *const allowed[] = {
	    "name", "rank", "threshold", "basis", "discount_bp", "points_multiplier_bp", NULL};
	unsigned req = create ? PT_F_REQUIRED : 0;
	pt_field name, rank, threshold, basis, discount, multiplier;
	if (pt_json_only(body, allowed, err) ||
	    pt_json_text(body, "name", req, 1, 32, &name, err) ||
	    pt_json_int(body, "rank", req, 0, 1000, &rank, err) ||
	    pt_json_int(body, "threshold", req, 0, 1000000000000, &threshold, err) ||
	    pt_json_text(body, "basis", 0, 1, 16, &basis, err) ||
	    pt_json_int(body, "discount_bp", 0, 0, 10000, &discount, err) ||
	    pt_json_int(body, "points_multiplier_bp", 0, 0, 100000, &multiplier, err))
		return -1;
	if (basis.s && strcmp(basis.s, "lifetime") != 0 && strcmp(basis.s, "rolling_12m") != 0)
		return pt_err_set(err, PT_INVALID_ARGUMENT, "basis",
		                  "basis must be lifetime or rolling_12m",
		                  "basis 须为 lifetime 或 rolling_12m");
	*out = (pt_tier_patch){
	    .set_name = name.present,
	    .set_rank = rank.present,
	    .set_threshold = threshold.present,
	    .set_basis = basis.present,
	    .set_discount_bp = discount.present,
	    .set_multiplier_bp = multiplier.present,
	    .t = {.name = name.s,
	          .rank = rank.i,
	          .threshold = threshold.i,
	          .basis = basis.s ? basis.s : "lifetime",
	          .discount_bp = discount.present ? discount.i : 10000,
	          .points_multiplier_bp = multiplier.present ? multiplier.i : 10000},
	};
	return 0;
}

int pt_api_tiers_list(pt_req *req, pt_err *err)
{
	pt_tier *tiers;
	int n;
	if (pt_svc_tier_list(&req->ctx, &tiers, &n, err) != 0)
		return -1;
	json_t *items = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(items, tier_json(&tiers[i]));
	return pt_list_reply_all(req, items, err);
}

int pt_api_tiers_create(pt_req *req, pt_err *err)
{
	pt_tier_patch in;
	pt_tier t;
	if (read_tier(req->body, true, &in, err) || pt_svc_tier_create(&req->ctx, &in, &t, err))
		return -1;
	req->location = pt_arena_printf(req->ctx.arena, "/api/v1/tiers/%lld", (long long)t.id);
	return pt_reply_json(req, 201, tier_json(&t));
}

int pt_api_tiers_get(pt_req *req, pt_err *err)
{
	int64_t id;
	pt_tier t;
	if (pt_req_id(req, "id", &id, err) || pt_svc_tier_get(&req->ctx, id, &t, err))
		return -1;
	return pt_reply_json(req, 200, tier_json(&t));
}

int pt_api_tiers_patch(pt_req *req, pt_err *err)
{
	int64_t id;
	pt_tier_patch in;
	pt_tier t;
	if (pt_req_id(req, "id", &id, err) || read_tier(req->body, false, &in, err) ||
	    pt_svc_tier_patch(&req->ctx, id, &in, &t, err))
		return -1;
	return pt_reply_json(req, 200, tier_json(&t));
}

int pt_api_tiers_delete(pt_req *req, pt_err *err)
{
	int64_t id;
	if (pt_req_id(req, "id", &id, err) || pt_svc_tier_delete(&req->ctx, id, err))
		return -1;
	return pt_reply_empty(req, 204);
}

int pt_api_tier_history(pt_req *req, pt_err *err)
{
	int64_t id, after;
	int limit, n;
	pt_tier_change *rows;
	if (pt_req_id(req, "id", &id, err) || pt_list_params(req, &after, &limit, err) ||
	    pt_svc_tier_history(&req->ctx, id, after, limit + 1, &rows, &n, err))
		return -1;
	json_t *items = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(
		    items,
		    json_pack("{s:I, s:o, s:o, s:s, s:o}", "id", (json_int_t)rows[i].id,
		              "from_tier_id", pt_json_opt_id(rows[i].from_tier_id), "to_tier_id",
		              pt_json_opt_id(rows[i].to_tier_id), "reason", rows[i].reason,
		              "created_at", pt_json_time(rows[i].created_at)));
	return pt_list_reply(req, items, limit, n > limit ? rows[limit - 1].id : 0);
}
