#include "service/audit.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/log.h"

static void entry_hash(const pt_audit_row *e, char out[65])
{
	crypto_generichash_state h;
	unsigned char digest[32];
	char numbers[96];
	crypto_generichash_init(&h, NULL, 0, sizeof(digest));
	const char *fields[] = {e->prev_hash,   e->ip,        e->action,
	                        e->object_type, e->object_id, e->detail};
	snprintf(numbers, sizeof(numbers), "%lld|%lld|%lld", (long long)e->at,
	         (long long)e->staff_id, (long long)e->api_key_id);
	crypto_generichash_update(&h, (const unsigned char *)numbers, strlen(numbers) + 1);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const char *f = fields[i] ? fields[i] : "";
		/* Each field with its terminator, so ("ab","c") and ("a","bc") differ. */
		crypto_generichash_update(&h, (const unsigned char *)f, strlen(f) + 1);
	}
	crypto_generichash_final(&h, digest, sizeof(digest));
	sodium_bin2hex(out, 65, digest, sizeof(digest));
}

typedef struct {
	pt_ctx *ctx;
	const char *action, *object_type;
	int64_t object_id;
	json_t *detail;
} audit_args;

static int audit_tx(pt_db *db, void *arg, pt_err *err)
{
	audit_args *x = arg;
	pt_arena *a = x->ctx->arena;
	char *detail = x->detail ? json_dumps(x->detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	char object_id[24] = "", hash[65];
	if (x->object_id)
		snprintf(object_id, sizeof(object_id), "%lld", (long long)x->object_id);
	pt_audit_row e = {.at = pt_clock_now_ms(),
	                  .staff_id = x->ctx->staff_id,
	                  .api_key_id = x->ctx->api_key_id,
	                  .ip = x->ctx->ip,
	                  .action = x->action,
	                  .object_type = x->object_type,
	                  .object_id = x->object_id ? object_id : NULL,
	                  .detail = detail ? pt_arena_strdup(a, detail) : "{}"};
	free(detail);
	int64_t id;
	if (!e.detail || pt_repo_audit_last_hash(db, a, &e.prev_hash, err) != 0)
		return e.detail ? -1 : pt_err_oom(err);
	entry_hash(&e, hash);
	e.hash = hash;
	return pt_repo_audit_insert(db, a, &e, &id, err);
}

int pt_svc_audit(pt_ctx *ctx, const char *action, const char *object_type, int64_t object_id,
                 json_t *detail, pt_err *err)
{
	audit_args x = {ctx, action, object_type, object_id, detail};
	int rc = pt_db_tx(ctx->db, true, audit_tx, &x, err);
	json_decref(detail);
	return rc;
}

void pt_svc_audit_refusal(pt_ctx *ctx, const char *action, const char *object_type,
                          int64_t object_id, json_t *detail)
{
	pt_err err = {0};
	if (!ctx->db || pt_svc_audit(ctx, action, object_type, object_id, detail, &err) != 0)
		pt_log_error("msg=\"cannot write audit entry\" action=%s error=\"%s\"", action,
		             err.msg_en);
}

int pt_svc_audit_list(pt_ctx *ctx, const pt_audit_filter *f, pt_audit_row **out, int *n,
                      pt_err *err)
{
	return pt_repo_audit_list(ctx->db, ctx->arena, f, out, n, err);
}

int pt_svc_audit_verify(pt_db *db, FILE *out, long *problems, pt_err *err)
{
	enum { PAGE = 1000 };
	char prev[65] = "";
	int64_t after = 0;
	for (;;) {
		pt_arena *a = pt_arena_new();
		pt_audit_row *rows;
		int n;
		if (!a)
			return pt_err_oom(err);
		if (pt_repo_audit_page(db, a, after, PAGE, &rows, &n, err) != 0) {
			pt_arena_free(a);
			return -1;
		}
		for (int i = 0; i < n; i++) {
			char hash[65];
			entry_hash(&rows[i], hash);
			if (strcmp(rows[i].prev_hash ? rows[i].prev_hash : "", prev) != 0 ||
			    strcmp(hash, rows[i].hash ? rows[i].hash : "") != 0) {
				fprintf(
				    out,
				    "audit: the chain breaks at entry %lld (%s): it was changed, "
				    "or an entry before it was removed\n",
				    (long long)rows[i].id, rows[i].action);
				(*problems)++;
				pt_arena_free(a);
				return 0;
			}
			memcpy(prev, hash, sizeof(prev));
			after = rows[i].id;
		}
		pt_arena_free(a);
		if (n < PAGE)
			return 0;
	}
}
