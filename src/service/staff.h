#ifndef PT_SERVICE_STAFF_H
#define PT_SERVICE_STAFF_H

#include "service/service.h"
#include "store/repo.h"

/* The permissions of a role: the built-in owner, manager, cashier and auditor, or a custom
 * role from /roles. 0 for an unknown role. */
int pt_svc_role_perms(pt_db *db, pt_arena *a, const char *role, unsigned *perms, pt_err *err);
bool pt_role_builtin(const char *role);

typedef struct {
	bool set_name, set_phone, set_role, set_stores, set_active;
	const char *username, *password, *name, *phone, *role;
	const int64_t *stores;
	int nstores;
	bool active;
} pt_staff_input;

int pt_svc_staff_add(pt_ctx *ctx, const pt_staff_input *in, pt_staff *out, pt_err *err);
int pt_svc_staff_patch(pt_ctx *ctx, int64_t id, const pt_staff_input *in, pt_staff *out,
                       pt_err *err);
int pt_svc_staff_password(pt_ctx *ctx, int64_t id, const char *password, pt_err *err);
int pt_svc_staff_list(pt_ctx *ctx, int64_t after_id, int limit, pt_staff **out, int *n,
                      pt_err *err);
int pt_svc_staff_read(pt_ctx *ctx, int64_t id, pt_staff *out, pt_err *err);

typedef struct {
	const char *name;
	unsigned perms;
	bool builtin;
} pt_role;

int pt_svc_roles(pt_ctx *ctx, pt_role **out, int *n, pt_err *err);
int pt_svc_role_create(pt_ctx *ctx, const char *name, unsigned perms, pt_err *err);
/* Creates or replaces a custom role. */
int pt_svc_role_put(pt_ctx *ctx, const char *name, unsigned perms, pt_err *err);
int pt_svc_role_delete(pt_ctx *ctx, const char *name, pt_err *err);

/* Parses a JSON id-array text into the arena. */
int pt_store_ids_parse(pt_arena *a, const char *json, const int64_t **ids, int *n);
/* Every id names a store that exists, else 400 invalid_argument on store_ids. */
int pt_svc_stores_exist(pt_db *db, pt_arena *a, const int64_t *ids, int n, pt_err *err);

#endif
