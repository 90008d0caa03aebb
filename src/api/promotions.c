#include <string.h>

#include "api/api.h"
#include "service/market.h"

#define MONEY_MAX INT64_C(10000000000)

static json_t *parsed(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text ? text : "[]", 0, &e);
	return v ? v : json_array();
}

static json_t *promotion_json(const pt_promotion *p)
{
	json_t *o = json_pack(
	    "{s:I, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id", (json_int_t)p->id,
	    "name", p->name, "kind", p->kind, "starts_at", pt_json_time(p->starts_at), "ends_at",
	    pt_json_time(p->ends_at), "store_ids", parsed(p->store_ids), "tier_ids",
	    parsed(p->tier_ids), "levels",
	    strcmp(p->kind, "spend_threshold") ? json_null() : parsed(p->levels), "repeat",
	    json_boolean(p->repeat), "max_off",
	    p->has_max_off ? json_integer(p->max_off) : json_null(), "multiplier_bp",
	    strcmp(p->kind, "points_multiplier") ? json_null() : json_integer(p->multiplier_bp),
	    "created_at", pt_json_time(p->created_at));
	json_object_set_new(o, "updated_at", pt_json_time(p->updated_at));
	return o;
}

/* Reads a whole promotion: a new one, or an existing one with a patch merged in. */
static int read_promotion(pt_req *req, json_t *b, pt_promotion *p, pt_err *err)
{
	static const char *const allowed[] = {"name",      "kind",          "levels",    "repeat",
	                                      "max_off",   "multiplier_bp", "starts_at", "ends_at",
	                                      "store_ids", "tier_ids",      NULL};
	pt_field name, kind, levels, repeat, max_off, mult;
	bool has_start = false, has_end = false;
	memset(p, 0, sizeof(*p));
	if (pt_json_only(b, allowed, err) ||
	    pt_json_text(b, "name", PT_F_REQUIRED, 1, 64, &name, err) ||
	    pt_json_text(b, "kind", PT_F_REQUIRED, 1, 32, &kind, err) ||
	    pt_json_array(b, "levels", PT_F_NULLABLE, 10, &levels, err) ||
	    pt_json_bool(b, "repeat", PT_F_NULLABLE, &repeat, err) ||
	    pt_json_int(b, "max_off", PT_F_NULLABLE, 1, MONEY_MAX, &max_off, err) ||
	    pt_json_int(b, "multiplier_bp", PT_F_NULLABLE, 10000, 1000000, &mult, err) ||
	    pt_json_time_field(b, "starts_at", PT_F_REQUIRED, &p->starts_at, &has_start, err) ||
	    pt_json_time_field(b, "ends_at", PT_F_REQUIRED, &p->ends_at, &has_end, err) ||
	    pt_json_id_array(req->ctx.arena, b, "store_ids", &p->store_ids, err) ||
	    pt_json_id_array(req->ctx.arena, b, "tier_ids", &p->tier_ids, err))
		return -1;
	if (p->ends_at <= p->starts_at)
		return pt_err_set(err, PT_INVALID_ARGUMENT, "ends_at",
		                  "ends_at must be after starts_at", "ends_at 须晚于 starts_at");
	p->name = name.s;
	p->kind = kind.s;
	p->repeat = repeat.present && !repeat.is_null && repeat.i;
	p->has_max_off = max_off.present && !max_off.is_null;
	p->max_off = max_off.i;
	p->levels = "[]";
	if (!strcmp(kind.s, "points_multiplier")) {
		if (!mult.present || mult.is_null)
			return pt_err_set(err, PT_INVALID_ARGUMENT, "multiplier_bp",
			                  "a points_multiplier promotion needs multiplier_bp",
			                  "积分倍数促销需要 multiplier_bp");
		p->multiplier_bp = mult.i;
		return 0;
	}
	if (strcmp(kind.s, "spend_threshold") != 0)
		return pt_err_set(err, PT_INVALID_ARGUMENT, "kind",
		                  "kind must be spend_threshold or points_multiplier",
		                  "kind 须为 spend_threshold 或 points_multiplier");
	if (!levels.present || levels.is_null || json_array_size(levels.j) == 0)
		return pt_err_set(err, PT_INVALID_ARGUMENT, "levels",
		                  "a spend_threshold promotion needs at least one level",
		                  "满减促销至少需要一个档位");
	size_t i;
	json_t *level;
	json_array_foreach(levels.j, i, level)
	{
		static const char *const level_keys[] = {"min_spend", "off", NULL};
		pt_field min_spend, off;
		if (!json_is_object(level) || pt_json_only(level, level_keys, err) ||
		    pt_json_int(level, "min_spend", PT_F_REQUIRED, 1, MONEY_MAX, &min_spend, err) ||
		    pt_json_int(level, "off", PT_F_REQUIRED, 1, MONEY_MAX, &off, err) ||
		    off.i > min_spend.i) {
			char field[32];
			snprintf(field, sizeof(field), "levels[%zu]", i);
			return pt_err_set(
			    err, PT_INVALID_ARGUMENT, field,
			    "each level is {min_spend, off} with 0 < off <= min_spend",
			    "每个档位为 {min_spend, off}，且 0 < off <= min_spend");
		}
	}
	char *text = json_dumps(levels.j, JSON_COMPACT);
	p->levels = text ? pt_arena_strdup(req->ctx.arena, text) : NULL;
	free(text);
	if (!p->levels)
		return pt_err_oom(err);
	return 0;
}

int pt_api_promotions_create(pt_req *req, pt_err *err)
{
	pt_promotion in, out;
	if (read_promotion(req, req->body, &in, err) ||
	    pt_svc_promotion_create(&req->ctx, &in, &out, err))
		return -1;
	req->location =
	    pt_arena_printf(req->ctx.arena, "/api/v1/promotions/%lld", (long long)out.id);
	return pt_reply_json(req, 201, promotion_json(&out));
}

int pt_api_promotions_get(pt_req *req, pt_err *err)
{
	int64_t id;
	pt_promotion p;
	if (pt_req_id(req, "id", &id, err) || pt_svc_promotion_get(&req->ctx, id, &p, err))
		return -1;
	return pt_reply_json(req, 200, promotion_json(&p));
}

int pt_api_promotions_list(pt_req *req, pt_err *err)
{
	const char *active = pt_req_query(req, "active");
	int64_t after;
	int limit, n;
	pt_promotion *rows;
	if (active && strcmp(active, "true") && strcmp(active, "false"))
		return pt_err_set(err, PT_INVALID_ARGUMENT, "active",
		                  "active must be true or false", "active 须为 true 或 false");
	if (pt_list_params(req, &after, &limit, err) ||
	    pt_svc_promotion_list(&req->ctx, active && !strcmp(active, "true"), after, limit + 1,
	                          &rows, &n, err))
		return -1;
	json_t *items = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(items, promotion_json(&rows[i]));
	return pt_list_reply(req, items, limit, n > limit ? rows[limit - 1].id : 0);
}

/* A patch is merged into the promotion as it stands and the whole is checked again. */
int pt_api_promotions_patch(pt_req *req, pt_err *err)
{
	int64_t id;
	pt_promotion current, merged;
	if (pt_req_id(req, "id", &id, err) || pt_svc_promotion_get(&req->ctx, id, &current, err))
		return -1;
	json_t *kind = json_object_get(req->body, "kind");
	if (kind && (!json_is_string(kind) || strcmp(json_string_value(kind), current.kind) != 0))
		return pt_err_set(err, PT_INVALID_ARGUMENT, "kind",
		                  "a promotion's kind cannot change", "促销类型不能修改");
	json_t *whole = promotion_json(&current);
	pt_arena_defer(req->ctx.arena, (void (*)(void *))json_decref, whole);
	json_object_del(whole, "id");
	json_object_del(whole, "created_at");
	json_object_del(whole, "updated_at");
	const char *key;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(whole, tmp, key, v)
	{
		if (json_is_null(v))
			json_object_del(whole, key);
	}
	json_object_update(whole, req->body);
	if (read_promotion(req, whole, &merged, err) != 0)
		return -1;
	merged.created_at = current.created_at;
	if (pt_svc_promotion_patch(&req->ctx, id, &current, &merged, err) != 0)
		return -1;
	return pt_reply_json(req, 200, promotion_json(&merged));
}
