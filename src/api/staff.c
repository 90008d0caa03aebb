#include <string.h>

#include "api/api.h"
#include "core/text.h"
#include "service/auth.h"
#include "service/staff.h"
#include "util/clock.h"

#define USERNAME_CHARS "abcdefghijklmnopqrstuvwxyz0123456789_.-"

static json_t *perms_json(unsigned perms)
{
	json_t *arr = json_array();
	for (int i = 0; pt_perm_name(i); i++)
		if (perms & (1u << i))
			json_array_append_new(arr, json_string(pt_perm_name(i)));
	return arr;
}

static json_t *staff_json(pt_req *req, const pt_staff *s)
{
	json_error_t e;
	json_t *stores = json_loads(s->store_ids ? s->store_ids : "[]", 0, &e);
	return json_pack("{s:I, s:s, s:o, s:o, s:s, s:o, s:b, s:b, s:o}", "id", (json_int_t)s->id,
	                 "username", s->username, "name", pt_json_opt_str(s->name), "phone",
	                 pt_json_opt_str(pt_api_phone(req, s->phone)), "role", s->role, "store_ids",
	                 stores ? stores : json_array(), "active", !s->disabled_at, "locked",
	                 s->locked_until > pt_clock_now_ms(), "created_at",
	                 pt_json_time(s->created_at));
}

static int read_staff(pt_req *req, bool create, pt_staff_input *in, pt_err *err)
{
	static const char *const allowed[] = {"username", "password",  "name",   "phone",
	                                      "role",     "store_ids", "active", NULL};
	json_t *b = req->body;
	unsigned need = create ? PT_F_REQUIRED : 0;
	pt_field user, pass, name, phone, role, active;
	const char *stores_text = "[]";
	if (pt_json_only(b, allowed, err) || pt_json_text(b, "username", need, 1, 32, &user, err) ||
	    pt_json_text(b, "password", need, 0, 1024, &pass, err) ||
	    pt_json_text(b, "name", PT_F_NULLABLE, 1, 64, &name, err) ||
	    pt_json_text(b, "phone", PT_F_NULLABLE, 6, 20, &phone, err) ||
	    pt_json_text(b, "role", need, 1, 32, &role, err) ||
	    pt_json_id_array(req->ctx.arena, b, "store_ids", &stores_text, err) ||
	    pt_json_bool(b, "active", 0, &active, err))
		return -1;
	if (!create && (user.present || pass.present))
		return pt_err_set(err, PT_INVALID_ARGUMENT, user.present ? "username" : "password",
		                  "a username never changes; a password changes through "
		                  "POST /staff/{id}/password",
		                  "用户名不可修改；修改密码请使用 POST /staff/{id}/password");
	if (user.s && !pt_text_all_in(user.s, USERNAME_CHARS))
		return pt_err_set(err, PT_INVALID_ARGUMENT, "username",
		                  "a username has lower-case letters, digits, _ . and -",
		                  "用户名只能包含小写字母、数字、_ . 和 -");
	if (phone.s && !pt_text_all_digits(phone.s))
		return pt_err_set(err, PT_INVALID_ARGUMENT, "phone", "phone must be 6 to 20 digits",
		                  "手机号须为 6 至 20 位数字");
	memset(in, 0, sizeof(*in));
	if (pt_store_ids_parse(req->ctx.arena, stores_text, &in->stores, &in->nstores) != 0)
		return pt_err_oom(err);
	in->username = user.s;
	in->password = pass.s;
	in->set_name = name.present;
	in->name = name.s;
	in->set_phone = phone.present;
	in->phone = phone.s;
	in->set_role = role.present;
	in->role = role.s;
	in->set_stores = json_object_get(b, "store_ids") != NULL;
	in->set_active = active.present;
	in->active = active.i;
	return 0;
}

int pt_api_staff_create(pt_req *req, pt_err *err)
{
	pt_staff_input in;
	pt_staff s;
	if (read_staff(req, true, &in, err) || pt_svc_staff_add(&req->ctx, &in, &s, err))
		return -1;
	req->location = pt_arena_printf(req->ctx.arena, "/api/v1/staff/%lld", (long long)s.id);
	return pt_reply_json(req, 201, staff_json(req, &s));
}

int pt_api_staff_patch(pt_req *req, pt_err *err)
{
	int64_t id;
	pt_staff_input in;
	pt_staff s;
	if (pt_req_id(req, "id", &id, err) || read_staff(req, false, &in, err) ||
	    pt_svc_staff_patch(&req->ctx, id, &in, &s, err))
		return -1;
	return pt_reply_json(req, 200, staff_json(req, &s));
}

int pt_api_staff_get(pt_req *req, pt_err *err)
{
	int64_t id;
	pt_staff s;
	if (pt_req_id(req, "id", &id, err) || pt_svc_staff_read(&req->ctx, id, &s, err))
		return -1;
	return pt_reply_json(req, 200, staff_json(req, &s));
}

int pt_api_staff_list(pt_req *req, pt_err *err)
{
	int64_t after;
	int limit, n;
	pt_staff *rows;
	if (pt_list_params(req, &after, &limit, err) ||
	    pt_svc_staff_list(&req->ctx, after, limit + 1, &rows, &n, err))
		return -1;
	json_t *items = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(items, staff_json(req, &rows[i]));
	return pt_list_reply(req, items, limit, n > limit ? rows[limit - 1].id : 0);
}

int pt_api_staff_password(pt_req *req, pt_err *err)
{
	static const char *const allowed[] = {"password", NULL};
	int64_t id;
	pt_field pass;
	if (pt_req_id(req, "id", &id, err) || pt_json_only(req->body, allowed, err) ||
	    pt_json_text(req->body, "password", PT_F_REQUIRED, 0, 1024, &pass, err) ||
	    pt_svc_staff_password(&req->ctx, id, pass.s, err))
		return -1;
	return pt_reply_empty(req, 204);
}

int pt_api_roles_list(pt_req *req, pt_err *err)
{
	pt_role *roles;
	int n;
	if (pt_svc_roles(&req->ctx, &roles, &n, err) != 0)
		return -1;
	json_t *items = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(items, json_pack("{s:s, s:o, s:b}", "name", roles[i].name,
		                                       "permissions", perms_json(roles[i].perms),
		                                       "builtin", roles[i].builtin));
	return pt_list_reply_all(req, items, err);
}

static int read_role(pt_req *req, const char *name, pt_err *err)
{
	static const char *const allowed[] = {"name", "permissions", NULL};
	pt_field fname, perms;
	if (pt_json_only(req->body, allowed, err) ||
	    pt_json_text(req->body, "name", name ? 0 : PT_F_REQUIRED, 1, 32, &fname, err) ||
	    pt_json_array(req->body, "permissions", PT_F_REQUIRED, 64, &perms, err))
		return -1;
	/* The name in the path (PUT creates the role when there is none) follows the same rules
	 * as the one in a body. */
	const char *role = name ? name : fname.s;
	if (!pt_text_all_in(role, USERNAME_CHARS) || strlen(role) > 32)
		return pt_err_set(err, PT_INVALID_ARGUMENT, "name",
		                  "a role name has 1 to 32 lower-case letters, digits, _ . and -",
		                  "角色名为 1 至 32 个小写字母、数字、_ . 或 -");
	if (name && fname.s && strcmp(name, fname.s) != 0)
		return pt_err_set(err, PT_INVALID_ARGUMENT, "name", "a role keeps its name",
		                  "角色名不可修改");
	unsigned bits = 0;
	size_t i;
	json_t *v;
	json_array_foreach(perms.j, i, v)
	{
		pt_perm p = json_is_string(v) ? pt_perm_parse(json_string_value(v)) : 0;
		if (!p)
			return pt_err_set(err, PT_INVALID_ARGUMENT, "permissions",
			                  "unknown permission at position %zu", "第 %zu 项权限未知",
			                  i);
		bits |= (unsigned)p;
	}
	if ((name ? pt_svc_role_put(&req->ctx, role, bits, err)
	          : pt_svc_role_create(&req->ctx, role, bits, err)) != 0)
		return -1;
	return pt_reply_json(req, name ? 200 : 201,
	                     json_pack("{s:s, s:o, s:b}", "name", role, "permissions",
	                               perms_json(bits), "builtin", 0));
}

int pt_api_roles_create(pt_req *req, pt_err *err)
{
	return read_role(req, NULL, err);
}

int pt_api_roles_put(pt_req *req, pt_err *err)
{
	return read_role(req, pt_req_param(req, "name"), err);
}

int pt_api_roles_delete(pt_req *req, pt_err *err)
{
	if (pt_svc_role_delete(&req->ctx, pt_req_param(req, "name"), err) != 0)
		return -1;
	return pt_reply_empty(req, 204);
}
