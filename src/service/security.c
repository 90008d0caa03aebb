#include "service/security.h"

#include <stdlib.h>
#include <string.h>

#include "service/audit.h"
#include "store/repo.h"
#include "util/clock.h"

json_t *pt_security_rules_json(const pt_security_rules *r)
{
	json_t *roles = json_array();
	if (r->totp_owner)
		json_array_append_new(roles, json_string("owner"));
	if (r->totp_manager)
		json_array_append_new(roles, json_string("manager"));
	return json_pack("{s:o, s:o}", "cashier_refund_limit",
	                 r->has_refund_limit ? json_integer(r->cashier_refund_limit) : json_null(),
	                 "require_totp_for", roles);
}

/* Applies a full or partial rules object; err names the field. */
static int merge(pt_security_rules *r, json_t *patch, pt_err *err)
{
	const char *key;
	json_t *v;
	json_object_foreach(patch, key, v)
	{
		if (strcmp(key, "cashier_refund_limit") == 0) {
			if (json_is_null(v)) {
				r->has_refund_limit = false;
				continue;
			}
			if (!json_is_integer(v) || json_integer_value(v) < 0 ||
			    json_integer_value(v) > INT64_C(10000000000))
				return pt_err_set(
				    err, PT_INVALID_ARGUMENT, key,
				    "cashier_refund_limit is null or an amount in fen",
				    "cashier_refund_limit 须为 null 或金额（分）");
			r->has_refund_limit = true;
			r->cashier_refund_limit = json_integer_value(v);
		} else if (strcmp(key, "require_totp_for") == 0) {
			size_t i;
			json_t *role;
			if (!json_is_array(v))
				return pt_err_set(err, PT_INVALID_ARGUMENT, key,
				                  "require_totp_for is a list of roles",
				                  "require_totp_for 须为角色列表");
			r->totp_owner = r->totp_manager = false;
			json_array_foreach(v, i, role)
			{
				const char *s = json_string_value(role);
				if (s && strcmp(s, "owner") == 0)
					r->totp_owner = true;
				else if (s && strcmp(s, "manager") == 0)
					r->totp_manager = true;
				else
					return pt_err_set(
					    err, PT_INVALID_ARGUMENT, key,
					    "require_totp_for holds owner and/or manager",
					    "require_totp_for 只能包含 owner 和/或 manager");
			}
		} else {
			return pt_err_set(err, PT_INVALID_ARGUMENT, key, "unknown field '%s'",
			                  "未知字段“%s”", key);
		}
	}
	return 0;
}

int pt_svc_security_rules(pt_db *db, pt_arena *a, pt_security_rules *out, pt_err *err)
{
	const char *text;
	bool found = false;
	memset(out, 0, sizeof(*out));
	if (pt_repo_setting_get(db, a, "security", &text, &found, err) != 0)
		return -1;
	if (!found)
		return 0;
	json_error_t jerr;
	json_t *stored = json_loads(text, 0, &jerr);
	int rc = stored ? merge(out, stored, err) : -1;
	json_decref(stored);
	if (rc != 0)
		return pt_err_set(err, PT_INTERNAL, NULL,
		                  "the stored security settings are unreadable",
		                  "已保存的安全设置无法读取");
	return 0;
}

typedef struct {
	pt_ctx *ctx;
	json_t *patch;
	pt_security_rules *out;
} put_args;

static int put_tx(pt_db *db, void *arg, pt_err *err)
{
	put_args *p = arg;
	if (pt_repo_setting_lock(db, p->ctx->arena, "security", pt_clock_now_ms(), err) != 0 ||
	    pt_svc_security_rules(db, p->ctx->arena, p->out, err) != 0 ||
	    merge(p->out, p->patch, err) != 0)
		return -1;
	json_t *doc = pt_security_rules_json(p->out);
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!text)
		return pt_err_oom(err);
	int rc = pt_repo_setting_put(db, "security", text, pt_clock_now_ms(), err);
	free(text);
	return rc ? rc
	          : pt_svc_audit(p->ctx, "settings.security", "settings", 0, json_incref(p->patch),
	                         err);
}

int pt_svc_security_put(pt_ctx *ctx, json_t *patch, pt_security_rules *out, pt_err *err)
{
	put_args p = {ctx, patch, out};
	return pt_db_tx(ctx->db, true, put_tx, &p, err);
}

bool pt_security_requires_totp(const pt_security_rules *r, const char *role)
{
	return role && ((r->totp_owner && strcmp(role, "owner") == 0) ||
	                (r->totp_manager && strcmp(role, "manager") == 0));
}
