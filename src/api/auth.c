#include <string.h>

#include "api/api.h"
#include "service/auth.h"
#include "service/totp.h"
#include "util/config.h"

static json_t *perms_json(unsigned perms)
{
	json_t *arr = json_array();
	for (int i = 0; pt_perm_name(i); i++)
		if (perms & (1u << i))
			json_array_append_new(arr, json_string(pt_perm_name(i)));
	return arr;
}

static json_t *user_json(const pt_staff *s)
{
	return json_pack("{s:I, s:s, s:s, s:b, s:o}", "id", (json_int_t)s->id, "username",
	                 s->username, "role", s->role, "totp_enabled", s->totp_enabled,
	                 "created_at", pt_json_time(s->created_at));
}

static json_t *key_json(const pt_api_key *k)
{
	return json_pack("{s:I, s:s, s:s, s:o, s:o, s:o, s:o}", "id", (json_int_t)k->id, "name",
	                 k->name, "prefix", k->prefix, "scopes",
	                 perms_json(pt_scopes_parse(k->scopes)), "store_id",
	                 pt_json_opt_id(k->store_id), "created_at", pt_json_time(k->created_at),
	                 "revoked_at", k->revoked_at ? pt_json_time(k->revoked_at) : json_null());
}

int pt_api_login(pt_req *req, pt_err *err)
{
	static const char *const allowed[] = {"username", "password", "totp", NULL};
	pt_field user, pass, totp;
	if (pt_json_only(req->body, allowed, err) ||
	    pt_json_text(req->body, "username", PT_F_REQUIRED, 1, 64, &user, err) ||
	    pt_json_text(req->body, "password", PT_F_REQUIRED, 0, 1024, &pass, err) ||
	    pt_json_text(req->body, "totp", 0, 0, 32, &totp, err))
		return -1;
	pt_login login;
	if (pt_svc_login(&req->ctx, user.s, pass.s, totp.s, &login, err) != 0)
		return -1;
	/* Under TLS the cookie is Secure and __Host- prefixed: no subdomain or plain-HTTP page
	 * can set or read it. */
	req->set_cookie = pt_arena_printf(
	    req->ctx.arena, "%s=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Strict%s",
	    pt_session_cookie_name(req), login.token, (long long)login.max_age_s,
	    req->tls ? "; Secure" : "");
	return pt_reply_json(req, 200,
	                     json_pack("{s:o, s:s}", "user", user_json(&login.staff), "csrf_token",
	                               login.csrf_token));
}

int pt_api_logout(pt_req *req, pt_err *err)
{
	if (pt_json_only(req->body, (const char *const[]){NULL}, err) ||
	    pt_svc_logout(&req->ctx, err))
		return -1;
	req->set_cookie =
	    pt_arena_printf(req->ctx.arena, "%s=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict%s",
	                    pt_session_cookie_name(req), req->tls ? "; Secure" : "");
	return pt_reply_empty(req, 204);
}

int pt_api_me(pt_req *req, pt_err *err)
{
	json_t *user = json_null(), *key = json_null();
	if (req->ctx.staff_id) {
		pt_staff s;
		if (pt_svc_staff_get(&req->ctx, req->ctx.staff_id, &s, err) != 0)
			return -1;
		user = user_json(&s);
	} else {
		pt_api_key k;
		if (pt_svc_api_key_get(&req->ctx, req->ctx.api_key_id, &k, err) != 0)
			return -1;
		key = key_json(&k);
	}
	/* A console reloaded in the browser gets its session's CSRF token back here. */
	return pt_reply_json(req, 200,
	                     json_pack("{s:o, s:o, s:o, s:o}", "user", user, "api_key", key,
	                               "permissions", perms_json(req->ctx.perms), "csrf_token",
	                               pt_json_opt_str(req->csrf_token)));
}

int pt_api_keys_create(pt_req *req, pt_err *err)
{
	static const char *const allowed[] = {"name", "scopes", "store_id", NULL};
	pt_field name, scopes, store;
	if (pt_json_only(req->body, allowed, err) ||
	    pt_json_text(req->body, "name", PT_F_REQUIRED, 1, 64, &name, err) ||
	    pt_json_array(req->body, "scopes", 0, 32, &scopes, err) ||
	    pt_json_int(req->body, "store_id", PT_F_NULLABLE, 1, (INT64_C(1) << 53) - 1, &store,
	                err))
		return -1;
	pt_api_key_input in = {.name = name.s, .scopes = PT_PERM_KEY_DEFAULT, .store_id = store.i};
	if (scopes.present) {
		in.scopes = 0;
		size_t i;
		json_t *v;
		json_array_foreach(scopes.j, i, v)
		{
			pt_perm p = json_is_string(v) ? pt_perm_parse(json_string_value(v)) : 0;
			if (!p)
				return pt_err_set(err, PT_INVALID_ARGUMENT, "scopes",
				                  "unknown scope at position %zu",
				                  "第 %zu 项权限未知", i);
			in.scopes |= (unsigned)p;
		}
	}
	pt_api_key k;
	const char *secret;
	if (pt_svc_api_key_create(&req->ctx, &in, &k, &secret, err) != 0)
		return -1;
	json_t *body = key_json(&k);
	json_object_set_new(body, "key", json_string(secret));
	req->location = pt_arena_printf(req->ctx.arena, "/api/v1/api-keys/%lld", (long long)k.id);
	return pt_reply_json(req, 201, body);
}

int pt_api_keys_list(pt_req *req, pt_err *err)
{
	int64_t after;
	int limit, n;
	pt_api_key *keys;
	if (pt_list_params(req, &after, &limit, err) ||
	    pt_svc_api_key_list(&req->ctx, after, limit + 1, &keys, &n, err))
		return -1;
	json_t *items = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(items, key_json(&keys[i]));
	return pt_list_reply(req, items, limit, n > limit ? keys[limit - 1].id : 0);
}

int pt_api_keys_revoke(pt_req *req, pt_err *err)
{
	int64_t id;
	if (pt_req_id(req, "id", &id, err) || pt_svc_api_key_revoke(&req->ctx, id, err))
		return -1;
	return pt_reply_empty(req, 204);
}

int pt_api_totp_begin(pt_req *req, pt_err *err)
{
	pt_totp_enrolment e;
	if (pt_json_only(req->body, (const char *const[]){NULL}, err) ||
	    pt_svc_totp_begin(&req->ctx, &e, err))
		return -1;
	return pt_reply_json(req, 200,
	                     json_pack("{s:s, s:s, s:s}", "secret", e.secret, "otpauth_uri",
	                               e.otpauth_uri, "qr_svg", e.qr_svg));
}

static int read_code(pt_req *req, pt_field *code, pt_err *err)
{
	static const char *const allowed[] = {"code", NULL};
	return pt_json_only(req->body, allowed, err) ||
	       pt_json_text(req->body, "code", PT_F_REQUIRED, 1, 32, code, err);
}

int pt_api_totp_verify(pt_req *req, pt_err *err)
{
	pt_field code;
	const char *codes[PT_RECOVERY_CODES];
	if (read_code(req, &code, err) || pt_svc_totp_verify(&req->ctx, code.s, codes, err))
		return -1;
	json_t *list = json_array();
	for (int i = 0; i < PT_RECOVERY_CODES; i++)
		json_array_append_new(list, json_string(codes[i]));
	return pt_reply_json(req, 200,
	                     json_pack("{s:b, s:o}", "enabled", 1, "recovery_codes", list));
}

int pt_api_totp_disable(pt_req *req, pt_err *err)
{
	pt_field code;
	if (read_code(req, &code, err) || pt_svc_totp_disable(&req->ctx, code.s, err))
		return -1;
	return pt_reply_empty(req, 204);
}

int pt_api_me_password(pt_req *req, pt_err *err)
{
	static const char *const allowed[] = {"current_password", "password", NULL};
	pt_field current, next;
	if (pt_json_only(req->body, allowed, err) ||
	    pt_json_text(req->body, "current_password", PT_F_REQUIRED, 0, 1024, &current, err) ||
	    pt_json_text(req->body, "password", PT_F_REQUIRED, 0, 1024, &next, err) ||
	    pt_svc_password_change(&req->ctx, current.s, next.s, err))
		return -1;
	req->set_cookie =
	    pt_arena_printf(req->ctx.arena, "%s=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict%s",
	                    pt_session_cookie_name(req), req->tls ? "; Secure" : "");
	return pt_reply_empty(req, 204);
}
