/* Routes for tests only, present under `serve --test-clock`: set the clock, run a job now. */
#include <string.h>

#include "api/api.h"
#include "service/points.h"
#include "service/tiers.h"
#include "util/clock.h"
#include "util/log.h"

static int clock_reply(pt_req *req)
{
	return pt_reply_json(req, 200, json_pack("{s:o}", "now", pt_json_time(pt_clock_now_ms())));
}

int pt_api_test_clock_get(pt_req *req, pt_err *err)
{
	(void)err;
	return clock_reply(req);
}

int pt_api_test_clock_put(pt_req *req, pt_err *err)
{
	static const char *const allowed[] = {"now", NULL};
	pt_field now;
	if (pt_json_only(req->body, allowed, err) ||
	    pt_json_text(req->body, "now", PT_F_REQUIRED | PT_F_NULLABLE, 1, 64, &now, err))
		return -1;
	int64_t ms = -1;
	if (!now.is_null && pt_clock_parse_rfc3339(now.s, &ms) != 0)
		return pt_err_set(err, PT_INVALID_ARGUMENT, "now",
		                  "now must be an RFC 3339 time such as 2026-11-23T08:00:00Z",
		                  "now 须为 RFC 3339 时间，例如 2026-11-23T08:00:00Z");
	pt_clock_set_ms(ms);
	pt_log_warn("msg=\"test clock set\" now=%s", now.is_null ? "real" : now.s);
	return clock_reply(req);
}

int pt_api_test_job(pt_req *req, pt_err *err)
{
	const char *name = pt_req_param(req, "name");
	if (strcmp(name, "expire") == 0) {
		int64_t points, members;
		if (pt_svc_job_expire(req->ctx.db, &points, &members, err) != 0)
			return -1;
		return pt_reply_json(req, 200,
		                     json_pack("{s:I, s:I}", "expired_points", (json_int_t)points,
		                               "members", (json_int_t)members));
	}
	if (strcmp(name, "tiers") == 0) {
		int64_t changed;
		if (pt_svc_job_tiers(req->ctx.db, &changed, err) != 0)
			return -1;
		return pt_reply_json(req, 200, json_pack("{s:I}", "changed", (json_int_t)changed));
	}
	return pt_err_set(err, PT_NOT_FOUND, NULL, "no job named %s", "没有名为 %s 的任务", name);
}
