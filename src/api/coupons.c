#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "service/market.h"
#include "util/clock.h"

#define MONEY_MAX INT64_C(10000000000)
#define ID_MAX    ((INT64_C(1) << 53) - 1)

static json_t *ids_json(const char *text)
{
	json_error_t e;
	json_t *ids = json_loads(text ? text : "[]", 0, &e);
	return ids ? ids : json_array();
}

static json_t *template_json(const pt_coupon_template *t)
{
	json_t *o = json_pack(
	    "{s:I, s:s, s:s, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:o}", "id",
	    (json_int_t)t->id, "name", t->name, "kind", t->kind, "value", (json_int_t)t->value,
	    "min_spend", (json_int_t)t->min_spend, "max_off",
	    t->has_max_off ? json_integer(t->max_off) : json_null(), "valid_days",
	    t->valid_days ? json_integer(t->valid_days) : json_null(), "valid_from",
	    t->valid_days ? json_null() : pt_json_time(t->valid_from), "valid_until",
	    t->valid_days ? json_null() : pt_json_time(t->valid_until), "store_ids",
	    ids_json(t->store_ids), "total_limit",
	    t->has_total_limit ? json_integer(t->total_limit) : json_null(), "per_member_limit",
	    t->has_per_member_limit ? json_integer(t->per_member_limit) : json_null(), "issued",
	    (json_int_t)t->issued, "created_at", pt_json_time(t->created_at));
	return o;
}

static json_t *coupon_json(const pt_coupon *c)
{
	return json_pack("{s:I, s:s, s:I, s:I, s:s, s:s, s:I, s:o, s:o, s:o, s:o, s:o}", "id",
	                 (json_int_t)c->id, "code", c->code, "template_id",
	                 (json_int_t)c->template_id, "member_id", (json_int_t)c->member_id, "name",
	                 c->t.name, "status", c->status, "value", (json_int_t)c->t.value, "kind",
	                 json_string(c->t.kind), "min_spend", json_integer(c->t.min_spend),
	                 "valid_from", pt_json_time(c->valid_from), "valid_until",
	                 pt_json_time(c->valid_until), "order_id", pt_json_opt_id(c->order_id));
}

int pt_api_templates_create(pt_req *req, pt_err *err)
{
	static const char *const allowed[] = {"name",
	                                      "kind",
	                                      "value",
	                                      "min_spend",
	                                      "max_off",
	                                      "valid_days",
	                                      "valid_from",
	                                      "valid_until",
	                                      "store_ids",
	                                      "total_limit",
	                                      "per_member_limit",
	                                      NULL};
	json_t *b = req->body;
	pt_field name, kind, value, min_spend, max_off, days, total, per_member;
	pt_coupon_template t = {0};
	bool has_from = false, has_until = false;
	if (pt_json_only(b, allowed, err) ||
	    pt_json_text(b, "name", PT_F_REQUIRED, 1, 64, &name, err) ||
	    pt_json_text(b, "kind", PT_F_REQUIRED, 1, 16, &kind, err) ||
	    pt_json_int(b, "value", PT_F_REQUIRED, 0, MONEY_MAX, &value, err) ||
	    pt_json_int(b, "min_spend", PT_F_NULLABLE, 0, MONEY_MAX, &min_spend, err) ||
	    pt_json_int(b, "max_off", PT_F_NULLABLE, 1, MONEY_MAX, &max_off, err) ||
	    pt_json_int(b, "valid_days", PT_F_NULLABLE, 1, 3650, &days, err) ||
	    pt_json_time_field(b, "valid_from", PT_F_NULLABLE, &t.valid_from, &has_from, err) ||
	    pt_json_time_field(b, "valid_until", PT_F_NULLABLE, &t.valid_until, &has_until, err) ||
	    pt_json_id_array(req->ctx.arena, b, "store_ids", &t.store_ids, err) ||
	    pt_json_int(b, "total_limit", PT_F_NULLABLE, 1, 100000000, &total, err) ||
	    pt_json_int(b, "per_member_limit", PT_F_NULLABLE, 1, 100000, &per_member, err))
		return -1;
	bool amount = !strcmp(kind.s, "amount_off"), percent = !strcmp(kind.s, "percent_off");
	if (!amount && !percent)
		return pt_err_set(err, PT_INVALID_ARGUMENT, "kind",
		                  "kind must be amount_off or percent_off",
		                  "kind 须为 amount_off 或 percent_off");
	if ((amount && value.i < 1) || (percent && value.i > 9999))
		return pt_err_set(
		    err, PT_INVALID_ARGUMENT, "value",
		    "value is the amount off in fen (at least 1) for amount_off, and "
		    "the share paid in basis points (0 to 9999) for percent_off",
		    "amount_off 的 value 为减免金额（分，至少 1）；percent_off 的 value "
		    "为实付比例（基点，0 至 9999）");
	bool by_days = days.present && !days.is_null;
	if (by_days == (has_from || has_until) || (!by_days && !(has_from && has_until)))
		return pt_err_set(err, PT_INVALID_ARGUMENT, by_days ? "valid_from" : "valid_days",
		                  "give valid_days, or valid_from with valid_until",
		                  "请提供 valid_days，或同时提供 valid_from 与 valid_until");
	if (!by_days && t.valid_until <= t.valid_from)
		return pt_err_set(err, PT_INVALID_ARGUMENT, "valid_until",
		                  "valid_until must be after valid_from",
		                  "valid_until 须晚于 valid_from");
	t.name = name.s;
	t.kind = kind.s;
	t.value = value.i;
	t.min_spend = min_spend.i;
	t.max_off = max_off.i;
	t.has_max_off = max_off.present && !max_off.is_null;
	t.valid_days = by_days ? days.i : 0;
	t.total_limit = total.i;
	t.has_total_limit = total.present && !total.is_null;
	t.per_member_limit = per_member.i;
	t.has_per_member_limit = per_member.present && !per_member.is_null;
	pt_coupon_template out;
	if (pt_svc_template_create(&req->ctx, &t, &out, err) != 0)
		return -1;
	req->location =
	    pt_arena_printf(req->ctx.arena, "/api/v1/coupon-templates/%lld", (long long)out.id);
	return pt_reply_json(req, 201, template_json(&out));
}

int pt_api_templates_get(pt_req *req, pt_err *err)
{
	int64_t id;
	pt_coupon_template t;
	if (pt_req_id(req, "id", &id, err) || pt_svc_template_get(&req->ctx, id, &t, err))
		return -1;
	return pt_reply_json(req, 200, template_json(&t));
}

int pt_api_templates_list(pt_req *req, pt_err *err)
{
	int64_t after;
	int limit, n;
	pt_coupon_template *rows;
	if (pt_list_params(req, &after, &limit, err) ||
	    pt_svc_template_list(&req->ctx, after, limit + 1, &rows, &n, err))
		return -1;
	json_t *items = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(items, template_json(&rows[i]));
	return pt_list_reply(req, items, limit, n > limit ? rows[limit - 1].id : 0);
}

int pt_api_templates_issue(pt_req *req, pt_err *err)
{
	static const char *const allowed[] = {"member_ids", NULL};
	int64_t id;
	pt_field ids;
	if (pt_req_id(req, "id", &id, err) || pt_json_only(req->body, allowed, err) ||
	    pt_json_array(req->body, "member_ids", PT_F_REQUIRED, 1000, &ids, err))
		return -1;
	int n = (int)json_array_size(ids.j);
	if (n == 0)
		return pt_err_set(err, PT_INVALID_ARGUMENT, "member_ids",
		                  "member_ids must name at least one member",
		                  "member_ids 至少包含一位会员");
	int64_t *members = pt_arena_alloc(req->ctx.arena, sizeof(int64_t) * (size_t)n);
	if (!members)
		return pt_err_oom(err);
	for (int i = 0; i < n; i++) {
		json_t *v = json_array_get(ids.j, (size_t)i);
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > ID_MAX)
			return pt_err_set(err, PT_INVALID_ARGUMENT, "member_ids",
			                  "member_ids must be an array of positive ids",
			                  "member_ids 须为正整数 id 数组");
		members[i] = json_integer_value(v);
	}
	pt_coupon *coupons;
	if (pt_svc_coupons_issue(&req->ctx, id, members, n, &coupons, err) != 0)
		return -1;
	json_t *items = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(items, coupon_json(&coupons[i]));
	return pt_reply_json(req, 201, json_pack("{s:o}", "coupons", items));
}

static int query_int(pt_req *req, const char *key, int64_t min, int64_t max, int64_t *out,
                     pt_err *err)
{
	const char *s = pt_req_query(req, key);
	char *end = NULL;
	if (!s)
		return 0;
	*out = strtoll(s, &end, 10);
	if (!*s || *end || *out < min || *out > max)
		return pt_err_set(err, PT_INVALID_ARGUMENT, key,
		                  "%s must be a whole number from %lld",
		                  "%s 须为不小于 %lld 的整数", key, (long long)min);
	return 0;
}

int pt_api_coupons_get(pt_req *req, pt_err *err)
{
	int64_t member = 0, store = 0, amount = -1;
	pt_coupon c;
	if (query_int(req, "member_id", 1, ID_MAX, &member, err) ||
	    query_int(req, "store_id", 1, ID_MAX, &store, err) ||
	    query_int(req, "amount", 0, MONEY_MAX, &amount, err) ||
	    pt_svc_coupon_get(&req->ctx, pt_req_param(req, "code"), &c, err))
		return -1;
	const char *why = pt_coupon_refusal(&c, member, store, amount, pt_clock_now_ms());
	json_t *body = coupon_json(&c);
	json_object_set_new(body, "applicable", json_boolean(!why));
	json_object_set_new(body, "reason", why ? json_string(why) : json_null());
	json_object_set_new(body, "template", template_json(&c.t));
	return pt_reply_json(req, 200, body);
}

int pt_api_coupons_void(pt_req *req, pt_err *err)
{
	pt_coupon c;
	if (pt_json_only(req->body, (const char *const[]){NULL}, err) ||
	    pt_svc_coupon_void(&req->ctx, pt_req_param(req, "code"), &c, err))
		return -1;
	json_t *body = coupon_json(&c);
	json_object_set_new(body, "applicable", json_false());
	json_object_set_new(body, "reason", json_string("void"));
	json_object_set_new(body, "template", template_json(&c.t));
	return pt_reply_json(req, 200, body);
}

int pt_api_member_coupons(pt_req *req, pt_err *err)
{
	int64_t id, after;
	int limit, n;
	pt_coupon *rows;
	if (pt_req_id(req, "id", &id, err) || pt_list_params(req, &after, &limit, err) ||
	    pt_svc_member_coupons(&req->ctx, id, after, limit + 1, &rows, &n, err))
		return -1;
	json_t *items = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(items, coupon_json(&rows[i]));
	return pt_list_reply(req, items, limit, n > limit ? rows[limit - 1].id : 0);
}
