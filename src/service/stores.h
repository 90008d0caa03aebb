#ifndef PT_SERVICE_STORES_H
#define PT_SERVICE_STORES_H

#include "service/service.h"
#include "store/repo.h"

/* A store patch: set_* says which fields the caller gave (NULL clears address/phone). */
typedef struct {
	bool set_code, set_name, set_address, set_phone;
	const char *code, *name, *address, *phone;
} pt_store_patch;

int pt_svc_store_create(pt_ctx *ctx, const pt_store_patch *in, pt_store *out, pt_err *err);
int pt_svc_store_patch(pt_ctx *ctx, int64_t id, const pt_store_patch *in, pt_store *out,
                       pt_err *err);
int pt_svc_store_get(pt_ctx *ctx, int64_t id, pt_store *out, pt_err *err);
int pt_svc_store_list(pt_ctx *ctx, int64_t after_id, int limit, pt_store **out, int *n,
                      pt_err *err);

#endif
