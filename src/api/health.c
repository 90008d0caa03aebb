#include "api/api.h"

int pt_api_healthz(pt_req *req, pt_err *err)
{
	pt_rows rows;
	if (pt_db_query(req->ctx.db, req->ctx.arena, "SELECT 1", NULL, 0, &rows, err) != 0)
		return pt_err_set(err, PT_UNAVAILABLE, NULL, "the database is not answering",
		                  "数据库无响应");
	return pt_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

int pt_api_metrics(pt_req *req, pt_err *err)
{
	(void)err;
	return pt_reply_text(req, 200, pt_metrics_render(req->ctx.arena));
}
