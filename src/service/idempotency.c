#include "service/idempotency.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "store/repo.h"
#include "util/clock.h"
#include "util/log.h"

/* A key left running this long, or claimed before this server started, or (PostgreSQL)
 * whose claiming connection is gone, belongs to a server that died mid-request: its
 * transaction was rolled back with it, so the request may run again. */
enum { STALE_MS = 60 * 1000 };

typedef struct {
	pt_ctx *ctx;
	const char *caller, *key, *hash;
	pt_idem_outcome *outcome;
	pt_idem *idem;
} begin_args;

static int in_progress(pt_err *err)
{
	return pt_err_set(err, PT_IDEMPOTENCY_IN_PROGRESS, "Idempotency-Key",
	                  "a request with this Idempotency-Key is still being processed",
	                  "使用此 Idempotency-Key 的请求仍在处理中");
}

static int key_reused(pt_err *err)
{
	return pt_err_set(err, PT_IDEMPOTENCY_KEY_REUSE, "Idempotency-Key",
	                  "this Idempotency-Key was used for a different request",
	                  "此 Idempotency-Key 已用于另一个请求");
}

static int begin_tx(pt_db *db, void *arg, pt_err *err)
{
	begin_args *x = arg;
	pt_arena *a = x->ctx->arena;
	int64_t now = pt_clock_real_ms();
	bool claimed = false, found = false, taken = false;
	if (pt_repo_idem_claim(db, a, x->caller, x->key, x->hash, now, &x->idem->row_id, &claimed,
	                       err) != 0)
		return -1;
	*x->outcome = PT_IDEM_RUN;
	if (claimed)
		return 0;
	pt_idem_row row;
	if (pt_repo_idem_get(db, a, x->caller, x->key, &row, &found, err) != 0)
		return -1;
	if (!found) { /* purged between the two statements: claim it again */
		pt_err_set(err, PT_UNAVAILABLE, NULL, "try again", "请重试");
		err->retry = 1;
		return -1;
	}
	if (strcmp(row.request_hash, x->hash) != 0)
		return key_reused(err);
	x->idem->row_id = row.id;
	if (strcmp(row.state, "done") == 0) {
		*x->outcome = PT_IDEM_REPLAY;
		x->idem->status = (int)row.status;
		x->idem->body = row.response && *row.response ? row.response : NULL;
		return 0;
	}
	if (pt_repo_idem_take_over(db, a, row.id, now - STALE_MS, pt_clock_started_ms(), now,
	                           &taken, err) != 0)
		return -1;
	if (taken) {
		pt_log_warn("msg=\"idempotency key taken over\" caller=%s", x->caller);
		return 0;
	}
	return in_progress(err);
}

static void caller_of(const pt_ctx *ctx, char caller[PT_IDEM_CALLER_MAX])
{
	if (ctx->staff_id)
		snprintf(caller, PT_IDEM_CALLER_MAX, "staff:%lld", (long long)ctx->staff_id);
	else
		snprintf(caller, PT_IDEM_CALLER_MAX, "key:%lld", (long long)ctx->api_key_id);
}

static pthread_mutex_t running_lock = PTHREAD_MUTEX_INITIALIZER;
static pt_idem_running *running_keys;

int pt_svc_idem_enter(const pt_ctx *ctx, const char *key, const char *hash, pt_idem_running *slot,
                      pt_err *err)
{
	caller_of(ctx, slot->caller);
	slot->key = key;
	slot->hash = hash;
	pthread_mutex_lock(&running_lock);
	const pt_idem_running *r = running_keys;
	while (r && (strcmp(r->key, key) != 0 || strcmp(r->caller, slot->caller) != 0))
		r = r->next;
	bool same = r && strcmp(r->hash, hash) == 0;
	if (!r) {
		slot->next = running_keys;
		running_keys = slot;
	}
	pthread_mutex_unlock(&running_lock);
	if (!r)
		return 0;
	return same ? in_progress(err) : key_reused(err);
}

void pt_svc_idem_leave(pt_idem_running *slot)
{
	pthread_mutex_lock(&running_lock);
	pt_idem_running **p = &running_keys;
	while (*p && *p != slot)
		p = &(*p)->next;
	if (*p)
		*p = slot->next;
	pthread_mutex_unlock(&running_lock);
}

int pt_svc_idem_begin(pt_ctx *ctx, const char *key, const char *hash, pt_idem_outcome *outcome,
                      pt_idem *idem, pt_err *err)
{
	char caller[PT_IDEM_CALLER_MAX];
	caller_of(ctx, caller);
	memset(idem, 0, sizeof(*idem));
	begin_args x = {ctx, caller, key, hash, outcome, idem};
	return pt_db_tx(ctx->db, true, begin_tx, &x, err);
}

int pt_svc_idem_finish(pt_db *db, const pt_idem *idem, int status, const char *body, pt_err *err)
{
	return pt_repo_idem_finish(db, idem->row_id, status, body ? body : "", err);
}

void pt_svc_idem_abandon(pt_db *db, const pt_idem *idem)
{
	pt_err err = {0};
	if (pt_repo_idem_delete(db, idem->row_id, &err) != 0)
		pt_log_error("msg=\"cannot release idempotency key\" error=\"%s\"", err.msg_en);
}
