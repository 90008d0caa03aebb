#include <stdlib.h>

#include "api/api.h"
#include "service/audit.h"
#include "util/clock.h"

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

int pt_api_audit_list(pt_req *req, pt_err *err)
{
	pt_audit_filter f = {.action = pt_req_query(req, "action"),
	                     .object_type = pt_req_query(req, "object_type"),
	                     .object_id = pt_req_query(req, "object_id")};
	const char *staff = pt_req_query(req, "staff_id");
	if (staff) {
		char *end;
		f.staff_id = strtoll(staff, &end, 10);
		if (!*staff || *end || f.staff_id < 1)
			return pt_err_set(err, PT_INVALID_ARGUMENT, "staff_id",
			                  "staff_id must be a positive id",
			                  "staff_id 须为正整数 id");
	}
	if ((f.action && pt_text_check("action", f.action, 0, 1, 64, err)) ||
	    (f.object_type && pt_text_check("object_type", f.object_type, 0, 1, 64, err)) ||
	    (f.object_id && pt_text_check("object_id", f.object_id, 0, 1, 64, err)) ||
	    query_time(req, "from", &f.from, err) || query_time(req, "to", &f.to, err) ||
	    pt_list_params(req, &f.after_id, &f.limit, err))
		return -1;
	int limit = f.limit, n;
	f.limit = limit + 1;
	pt_audit_row *rows;
	if (pt_svc_audit_list(&req->ctx, &f, &rows, &n, err) != 0)
		return -1;
	json_t *items = json_array();
	for (int i = 0; i < n; i++) {
		json_error_t jerr;
		json_t *detail = json_loads(rows[i].detail ? rows[i].detail : "{}", 0, &jerr);
		json_array_append_new(
		    items, json_pack("{s:I, s:o, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:s}", "id",
		                     (json_int_t)rows[i].id, "at", pt_json_time(rows[i].at),
		                     "staff_id", pt_json_opt_id(rows[i].staff_id), "api_key_id",
		                     pt_json_opt_id(rows[i].api_key_id), "ip",
		                     pt_json_opt_str(rows[i].ip), "action", rows[i].action,
		                     "object_type", pt_json_opt_str(rows[i].object_type),
		                     "object_id", pt_json_opt_str(rows[i].object_id), "detail",
		                     detail ? detail : json_object(), "hash", rows[i].hash));
	}
	return pt_list_reply(req, items, limit, n > limit ? rows[limit - 1].id : 0);
}
