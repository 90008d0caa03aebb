#include <string.h>

#include "api/api.h"
#include "core/card.h"
#include "service/audit.h"

static bool sees_pii(const pt_req *req)
{
	return pt_ctx_can(&req->ctx, PT_PERM_MEMBERS_PII);
}

const char *pt_api_phone(pt_req *req, const char *phone)
{
	if (!phone || sees_pii(req))
		return phone;
	char masked[32];
	pt_phone_mask(phone, masked, sizeof(masked));
	return pt_arena_strdup(req->ctx.arena, masked);
}

json_t *pt_api_birthday(pt_req *req, const char *birthday)
{
	if (!birthday || !*birthday)
		return json_null();
	if (sees_pii(req) || strlen(birthday) != 10)
		return json_string(birthday);
	char month_day[8] = "--";
	memcpy(month_day + 2, birthday + 5, 5);
	month_day[7] = '\0';
	return json_string(month_day);
}

int pt_api_audit_pii_read(pt_req *req, const int64_t *member_ids, int n, pt_err *err)
{
	if (n <= 0 || !sees_pii(req))
		return 0;
	if (n == 1)
		return pt_svc_audit(&req->ctx, "member.pii_read", "member", member_ids[0], NULL,
		                    err);
	json_t *ids = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(ids, json_integer(member_ids[i]));
	return pt_svc_audit(&req->ctx, "member.pii_read", "member", 0,
	                    json_pack("{s:o}", "member_ids", ids), err);
}
