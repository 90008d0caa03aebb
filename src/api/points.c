#include <stdlib.h>

#include "api/api.h"
#include "service/points.h"
#include "service/security.h"

static json_t *entry_json(const pt_ledger_row *e)
{
	return json_pack("{s:I, s:s, s:I, s:I, s:o, s:o, s:o, s:o, s:o}", "id", (json_int_t)e->id,
	                 "kind", e->kind, "points", (json_int_t)e->points, "balance_after",
	                 (json_int_t)e->balance_after, "order_id", pt_json_opt_id(e->order_id),
	                 "reason", pt_json_opt_str(e->reason), "expires_on",
	                 pt_json_opt_str(e->expires_on), "created_at", pt_json_time(e->created_at),
	                 "staff_id", pt_json_opt_id(e->staff_id));
}

int pt_api_settings_points_get(pt_req *req, pt_err *err)
{
	pt_points_rules rules;
	if (pt_svc_points_rules(req->ctx.db, req->ctx.arena, &rules, err) != 0)
		return -1;
	return pt_reply_json(req, 200, pt_points_rules_json(&rules));
}

int pt_api_settings_points_put(pt_req *req, pt_err *err)
{
	pt_points_rules rules;
	if (pt_svc_points_settings_put(&req->ctx, req->body, &rules, err) != 0)
		return -1;
	return pt_reply_json(req, 200, pt_points_rules_json(&rules));
}

int pt_api_ledger_list(pt_req *req, pt_err *err)
{
	int64_t id, before;
	int limit, n;
	pt_ledger_row *rows;
	if (pt_req_id(req, "id", &id, err) || pt_list_params(req, &before, &limit, err) ||
	    pt_svc_ledger_list(&req->ctx, id, before, limit + 1, &rows, &n, err))
		return -1;
	json_t *items = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(items, entry_json(&rows[i]));
	return pt_list_reply(req, items, limit, n > limit ? rows[limit - 1].id : 0);
}

int pt_api_points_adjust(pt_req *req, pt_err *err)
{
	static const char *const allowed[] = {"points", "reason", NULL};
	int64_t id;
	pt_field points, reason;
	if (pt_req_id(req, "id", &id, err) || pt_json_only(req->body, allowed, err) ||
	    pt_json_int(req->body, "points", PT_F_REQUIRED, -1000000000, 1000000000, &points,
	                err) ||
	    pt_json_text(req->body, "reason", PT_F_REQUIRED | PT_F_MULTILINE, 1, 200, &reason, err))
		return -1;
	if (points.i == 0)
		return pt_err_set(err, PT_INVALID_ARGUMENT, "points",
		                  "points must not be 0: give how many to add (+) or take (-)",
		                  "points 不能为 0：正数为增加，负数为扣减");
	pt_ledger_row entry;
	pt_posted posted;
	if (pt_svc_points_adjust(&req->ctx, id, points.i, reason.s, &entry, &posted, err) != 0)
		return -1;
	return pt_reply_json(req, 201,
	                     json_pack("{s:o, s:I, s:I}", "entry", entry_json(&entry), "points",
	                               (json_int_t)posted.spendable, "balance",
	                               (json_int_t)posted.balance));
}

int pt_api_reminders_expiring(pt_req *req, pt_err *err)
{
	const char *w = pt_req_query(req, "within_days");
	int64_t within = 30, after;
	int limit, n;
	if (w) {
		char *end;
		within = strtoll(w, &end, 10);
		if (!*w || *end || within < 1 || within > 365)
			return pt_err_set(err, PT_INVALID_ARGUMENT, "within_days",
			                  "within_days must be a whole number from 1 to 365",
			                  "within_days 须为 1 至 365 的整数");
	}
	pt_reminder *rows;
	if (pt_list_params(req, &after, &limit, err) ||
	    pt_svc_reminders_expiring(&req->ctx, (int)within, after, limit + 1, &rows, &n, err))
		return -1;
	int shown = n > limit ? limit : n;
	int64_t *ids = pt_arena_alloc(req->ctx.arena, sizeof(*ids) * (size_t)(shown + 1));
	for (int i = 0; i < shown; i++)
		ids[i] = rows[i].member.id;
	if (pt_api_audit_pii_read(req, ids, shown, err) != 0)
		return -1;
	json_t *items = json_array();
	for (int i = 0; i < n; i++) {
		const pt_member *m = &rows[i].member;
		json_array_append_new(items, json_pack("{s:I, s:s, s:s, s:I, s:s}", "member_id",
		                                       (json_int_t)m->id, "name", m->name, "phone",
		                                       pt_api_phone(req, m->phone), "points",
		                                       (json_int_t)rows[i].points, "expires_on",
		                                       rows[i].expires_on));
	}
	return pt_list_reply(req, items, limit, n > limit ? rows[limit - 1].member.id : 0);
}

int pt_api_settings_security_get(pt_req *req, pt_err *err)
{
	pt_security_rules rules;
	if (pt_svc_security_rules(req->ctx.db, req->ctx.arena, &rules, err) != 0)
		return -1;
	return pt_reply_json(req, 200, pt_security_rules_json(&rules));
}

int pt_api_settings_security_put(pt_req *req, pt_err *err)
{
	pt_security_rules rules;
	if (pt_svc_security_put(&req->ctx, req->body, &rules, err) != 0)
		return -1;
	return pt_reply_json(req, 200, pt_security_rules_json(&rules));
}
