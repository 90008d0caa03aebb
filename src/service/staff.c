#include "service/staff.h"

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "service/audit.h"
#include "service/auth.h"
#include "util/clock.h"

#define READS                                                                                      \
	(PT_PERM_STORES_READ | PT_PERM_MEMBERS_READ | PT_PERM_POINTS_READ |                        \
	 PT_PERM_SETTINGS_READ | PT_PERM_TIERS_READ | PT_PERM_PRODUCTS_READ | PT_PERM_STOCK_READ | \
	 PT_PERM_COUPONS_READ | PT_PERM_PROMOTIONS_READ | PT_PERM_ORDERS_READ)

static const pt_role builtin[] = {
    {"owner", PT_PERM_ALL, true},
    {"manager",
     READS | PT_PERM_MEMBERS_WRITE | PT_PERM_MEMBERS_PII | PT_PERM_POINTS_ADJUST |
         PT_PERM_PRODUCTS_WRITE | PT_PERM_STOCK_WRITE | PT_PERM_COUPONS_WRITE |
         PT_PERM_PROMOTIONS_WRITE | PT_PERM_CHECKOUT | PT_PERM_REFUNDS | PT_PERM_STAFF_MANAGE |
         PT_PERM_API_KEYS_MANAGE,
     true},
    {"cashier", READS | PT_PERM_MEMBERS_WRITE | PT_PERM_CHECKOUT | PT_PERM_REFUNDS, true},
    {"auditor", READS | PT_PERM_AUDIT_READ | PT_PERM_METRICS_READ, true},
};
enum { NBUILTIN = sizeof(builtin) / sizeof(builtin[0]) };

bool pt_role_builtin(const char *role)
{
	for (int i = 0; i < NBUILTIN; i++)
		if (strcmp(builtin[i].name, role) == 0)
			return true;
	return false;
}

int pt_svc_role_perms(pt_db *db, pt_arena *a, const char *role, unsigned *perms, pt_err *err)
{
	for (int i = 0; i < NBUILTIN; i++)
		if (strcmp(builtin[i].name, role) == 0) {
			*perms = builtin[i].perms;
			return 0;
		}
	const char *names;
	int64_t id;
	bool found = false;
	if (pt_repo_role_get(db, a, role, &names, &id, &found, err) != 0)
		return -1;
	*perms = found ? pt_scopes_parse(names) : 0;
	return 0;
}

int pt_store_ids_parse(pt_arena *a, const char *text, const int64_t **ids, int *n)
{
	json_error_t e;
	json_t *arr = json_loads(text ? text : "[]", 0, &e);
	*n = 0;
	*ids = NULL;
	if (!arr)
		return 0;
	int64_t *out = pt_arena_alloc(a, sizeof(int64_t) * (json_array_size(arr) + 1));
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) if (out) out[(*n)++] = json_integer_value(v);
	json_decref(arr);
	*ids = out;
	return out ? 0 : -1;
}

static char *ids_text(pt_arena *a, const int64_t *ids, int n)
{
	json_t *arr = json_array();
	for (int i = 0; arr && i < n; i++)
		json_array_append_new(arr, json_integer(ids[i]));
	char *t = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
	json_decref(arr);
	char *copy = t ? pt_arena_strdup(a, t) : NULL;
	free(t);
	return copy;
}

/* What a manager may do to staff: roles below their own, in their own stores. */
static int may_manage(pt_ctx *ctx, pt_db *db, const char *role, const int64_t *stores, int n,
                      pt_err *err)
{
	unsigned target;
	if (pt_svc_role_perms(db, ctx->arena, role, &target, err) != 0)
		return -1;
	if (!pt_role_builtin(role) && target == 0)
		return pt_err_set(err, PT_INVALID_ARGUMENT, "role", "no role named %s",
		                  "没有名为 %s 的角色", role);
	if (ctx->role && strcmp(ctx->role, "owner") == 0)
		return 0;
	if (strcmp(role, "owner") == 0 || strcmp(role, "manager") == 0 ||
	    (target & ~ctx->perms) != 0)
		return pt_err_set(err, PT_PERMISSION_DENIED, "role",
		                  "only an owner may give the role %s", "只有店主可以授予角色 %s",
		                  role);
	if (ctx->nstores && n == 0)
		return pt_err_set(err, PT_PERMISSION_DENIED, "store_ids",
		                  "staff you add work in your stores; name them",
		                  "请指定员工所属门店（须为您管理的门店）");
	for (int i = 0; i < n; i++)
		if (!pt_ctx_store_ok(ctx, stores[i]))
			return pt_err_set(err, PT_PERMISSION_DENIED, "store_ids",
			                  "store %lld is not one of yours",
			                  "门店 %lld 不在您的管理范围", (long long)stores[i]);
	return 0;
}

int pt_svc_stores_exist(pt_db *db, pt_arena *a, const int64_t *ids, int n, pt_err *err)
{
	for (int i = 0; i < n; i++) {
		pt_store s;
		bool found = false;
		if (pt_repo_store_get(db, a, ids[i], &s, &found, err) != 0)
			return -1;
		if (!found)
			return pt_err_set(err, PT_INVALID_ARGUMENT, "store_ids",
			                  "store %lld does not exist", "门店 %lld 不存在",
			                  (long long)ids[i]);
	}
	return 0;
}

typedef struct {
	pt_ctx *ctx;
	int64_t id;
	const pt_staff_input *in;
	pt_staff *out;
} staff_args;

static int add_tx(pt_db *db, void *arg, pt_err *err)
{
	staff_args *x = arg;
	const pt_staff_input *in = x->in;
	pt_arena *a = x->ctx->arena;
	char hash[crypto_pwhash_STRBYTES];
	if (may_manage(x->ctx, db, in->role, in->stores, in->nstores, err) != 0 ||
	    pt_svc_stores_exist(db, a, in->stores, in->nstores, err) != 0 ||
	    pt_svc_password_check(in->password, "password", err) != 0)
		return -1;
	if (crypto_pwhash_str(hash, in->password, strlen(in->password),
	                      crypto_pwhash_OPSLIMIT_INTERACTIVE,
	                      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		return pt_err_oom(err);
	*x->out = (pt_staff){.username = in->username,
	                     .password_hash = pt_arena_strdup(a, hash),
	                     .role = in->role,
	                     .name = in->name,
	                     .phone = in->phone,
	                     .store_ids = ids_text(a, in->stores, in->nstores),
	                     .created_at = pt_clock_now_ms()};
	if (!x->out->store_ids || !x->out->password_hash)
		return pt_err_oom(err);
	if (pt_repo_staff_insert(db, a, x->out, &x->out->id, err) != 0) {
		if (err->code == PT_CONFLICT)
			return pt_err_set(err, PT_CONFLICT, "username", "username %s is taken",
			                  "用户名 %s 已被占用", in->username);
		return -1;
	}
	if (in->set_active && !in->active) {
		x->out->disabled_at = x->out->created_at;
		if (pt_repo_staff_update(db, x->out, err) != 0)
			return -1;
	}
	return pt_svc_audit(x->ctx, "staff.create", "staff", x->out->id,
	                    json_pack("{s:s, s:s}", "username", in->username, "role", in->role),
	                    err);
}

int pt_svc_staff_add(pt_ctx *ctx, const pt_staff_input *in, pt_staff *out, pt_err *err)
{
	staff_args x = {ctx, 0, in, out};
	return pt_db_tx(ctx->db, true, add_tx, &x, err);
}

/* Staff outside the caller's stores do not exist for the caller. */
static int visible(pt_ctx *ctx, const pt_staff *s, pt_err *err)
{
	const int64_t *ids;
	int n;
	if (ctx->nstores == 0)
		return 0;
	if (pt_store_ids_parse(ctx->arena, s->store_ids, &ids, &n) != 0)
		return pt_err_oom(err);
	for (int i = 0; i < n; i++)
		if (pt_ctx_store_ok(ctx, ids[i]))
			return 0;
	return pt_svc_store_hidden(s->id, err);
}

int pt_svc_staff_read(pt_ctx *ctx, int64_t id, pt_staff *out, pt_err *err)
{
	bool found = false;
	if (pt_repo_staff_by_id(ctx->db, ctx->arena, id, out, &found, err) != 0)
		return -1;
	if (!found)
		return pt_svc_store_hidden(id, err);
	return visible(ctx, out, err);
}

static int patch_tx(pt_db *db, void *arg, pt_err *err)
{
	staff_args *x = arg;
	const pt_staff_input *in = x->in;
	pt_staff *s = x->out;
	pt_arena *a = x->ctx->arena;
	const int64_t *stores;
	int nstores;
	if (pt_svc_staff_read(x->ctx, x->id, s, err) != 0 ||
	    pt_store_ids_parse(a, s->store_ids, &stores, &nstores) != 0)
		return -1;
	/* A manager may change only staff they could have added, into what they could add. */
	if (may_manage(x->ctx, db, s->role, stores, nstores, err) != 0)
		return -1;
	if (in->set_role)
		s->role = in->role;
	if (in->set_stores) {
		stores = in->stores;
		nstores = in->nstores;
		if (pt_svc_stores_exist(db, a, stores, nstores, err) != 0 ||
		    !(s->store_ids = ids_text(a, stores, nstores)))
			return -1;
	}
	if ((in->set_role || in->set_stores) &&
	    may_manage(x->ctx, db, s->role, stores, nstores, err) != 0)
		return -1;
	if (in->set_name)
		s->name = in->name;
	if (in->set_phone)
		s->phone = in->phone;
	if (in->set_active)
		s->disabled_at = in->active ? 0 : pt_clock_now_ms();
	if (s->id == x->ctx->staff_id && (in->set_role || (in->set_active && !in->active)))
		return pt_err_set(err, PT_CONFLICT, in->set_role ? "role" : "active",
		                  "you cannot change your own role or disable yourself",
		                  "不能修改自己的角色或停用自己");
	return pt_repo_staff_update(db, s, err) ||
	       ((in->set_role || (in->set_active && !in->active)) &&
	        pt_repo_staff_end_sessions(db, s->id, err)) ||
	       pt_svc_audit(x->ctx, "staff.update", "staff", s->id,
	                    json_pack("{s:s, s:s, s:b}", "role", s->role, "store_ids", s->store_ids,
	                              "active", !s->disabled_at),
	                    err);
}

int pt_svc_staff_patch(pt_ctx *ctx, int64_t id, const pt_staff_input *in, pt_staff *out,
                       pt_err *err)
{
	staff_args x = {ctx, id, in, out};
	return pt_db_tx(ctx->db, true, patch_tx, &x, err);
}

typedef struct {
	pt_ctx *ctx;
	int64_t id;
	const char *password;
} password_args;

static int password_tx(pt_db *db, void *arg, pt_err *err)
{
	password_args *x = arg;
	pt_staff s;
	const int64_t *stores;
	int n;
	char hash[crypto_pwhash_STRBYTES];
	bool self = x->id == x->ctx->staff_id;
	if (pt_svc_staff_read(x->ctx, x->id, &s, err) != 0 ||
	    pt_store_ids_parse(x->ctx->arena, s.store_ids, &stores, &n) != 0 ||
	    (!self && may_manage(x->ctx, db, s.role, stores, n, err) != 0) ||
	    pt_svc_password_check(x->password, "password", err) != 0)
		return -1;
	if (crypto_pwhash_str(hash, x->password, strlen(x->password),
	                      crypto_pwhash_OPSLIMIT_INTERACTIVE,
	                      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		return pt_err_oom(err);
	return pt_repo_staff_set_password(db, s.id, hash, err) ||
	       pt_svc_audit(x->ctx, "staff.password", "staff", s.id, NULL, err);
}

int pt_svc_staff_password(pt_ctx *ctx, int64_t id, const char *password, pt_err *err)
{
	password_args x = {ctx, id, password};
	return pt_db_tx(ctx->db, true, password_tx, &x, err);
}

int pt_svc_staff_list(pt_ctx *ctx, int64_t after_id, int limit, pt_staff **out, int *n, pt_err *err)
{
	pt_staff *mine = pt_arena_alloc(ctx->arena, sizeof(pt_staff) * (size_t)(limit + 1));
	int k = 0;
	if (!mine)
		return pt_err_oom(err);
	for (;;) {
		pt_staff *rows;
		int got;
		if (pt_repo_staff_list(ctx->db, ctx->arena, after_id, 200, &rows, &got, err) != 0)
			return -1;
		for (int i = 0; i < got && k < limit; i++) {
			pt_err hidden;
			after_id = rows[i].id;
			if (visible(ctx, &rows[i], &hidden) == 0)
				mine[k++] = rows[i];
		}
		if (got < 200 || k == limit)
			break;
	}
	*out = mine;
	*n = k;
	return 0;
}

int pt_svc_roles(pt_ctx *ctx, pt_role **out, int *n, pt_err *err)
{
	pt_rows r;
	if (pt_repo_roles(ctx->db, ctx->arena, &r, err) != 0)
		return -1;
	*out = pt_arena_alloc(ctx->arena, sizeof(pt_role) * (size_t)(NBUILTIN + r.nrows));
	if (!*out)
		return pt_err_oom(err);
	for (int i = 0; i < NBUILTIN; i++)
		(*out)[i] = builtin[i];
	for (int i = 0; i < r.nrows; i++)
		(*out)[NBUILTIN + i] = (pt_role){.name = pt_rows_get(&r, i, 0),
		                                 .perms = pt_scopes_parse(pt_rows_get(&r, i, 1))};
	*n = NBUILTIN + r.nrows;
	return 0;
}

typedef struct {
	pt_ctx *ctx;
	const char *name;
	unsigned perms;
} role_args;

static int role_put_tx(pt_db *db, void *arg, pt_err *err)
{
	role_args *x = arg;
	int64_t id;
	char *names = pt_scopes_format(x->ctx->arena, x->perms);
	if (!names)
		return pt_err_oom(err);
	return pt_repo_role_put(db, x->ctx->arena, x->name, names, pt_clock_now_ms(), &id, err) ||
	       pt_svc_audit(x->ctx, "role.put", "role", id,
	                    json_pack("{s:s, s:s}", "name", x->name, "permissions", names), err);
}

static int role_create_tx(pt_db *db, void *arg, pt_err *err)
{
	role_args *x = arg;
	const char *perms;
	int64_t id;
	bool found = false;
	if (pt_repo_role_get(db, x->ctx->arena, x->name, &perms, &id, &found, err) != 0)
		return -1;
	if (found)
		return pt_err_set(err, PT_CONFLICT, "name", "a role named %s exists already",
		                  "角色 %s 已存在", x->name);
	return role_put_tx(db, arg, err);
}

int pt_svc_role_create(pt_ctx *ctx, const char *name, unsigned perms, pt_err *err)
{
	if (pt_role_builtin(name))
		return pt_err_set(err, PT_CONFLICT, "name", "%s is a built-in role",
		                  "%s 是内置角色", name);
	role_args x = {ctx, name, perms};
	return pt_db_tx(ctx->db, true, role_create_tx, &x, err);
}

int pt_svc_role_put(pt_ctx *ctx, const char *name, unsigned perms, pt_err *err)
{
	if (pt_role_builtin(name))
		return pt_err_set(err, PT_CONFLICT, "name", "%s is a built-in role",
		                  "%s 是内置角色，不能修改", name);
	role_args x = {ctx, name, perms};
	return pt_db_tx(ctx->db, true, role_put_tx, &x, err);
}

static int role_delete_tx(pt_db *db, void *arg, pt_err *err)
{
	role_args *x = arg;
	const char *perms;
	int64_t id, holders;
	bool found = false;
	if (pt_repo_role_get(db, x->ctx->arena, x->name, &perms, &id, &found, err) != 0)
		return -1;
	if (!found)
		return pt_err_set(err, PT_NOT_FOUND, NULL, "no role named %s", "没有名为 %s 的角色",
		                  x->name);
	if (pt_repo_role_holders(db, x->ctx->arena, x->name, &holders, err) != 0)
		return -1;
	if (holders)
		return pt_err_set(err, PT_CONFLICT, NULL, "%lld staff members hold role %s",
		                  "%lld 名员工正在使用角色 %s", (long long)holders, x->name);
	return pt_repo_role_delete(db, x->name, err) ||
	       pt_svc_audit(x->ctx, "role.delete", "role", id, json_pack("{s:s}", "name", x->name),
	                    err);
}

int pt_svc_role_delete(pt_ctx *ctx, const char *name, pt_err *err)
{
	if (pt_role_builtin(name))
		return pt_err_set(err, PT_CONFLICT, "name", "%s is a built-in role",
		                  "%s 是内置角色，不能删除", name);
	role_args x = {ctx, name, 0};
	return pt_db_tx(ctx->db, true, role_delete_tx, &x, err);
}
