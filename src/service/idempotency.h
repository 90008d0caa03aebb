#ifndef PT_SERVICE_IDEMPOTENCY_H
#define PT_SERVICE_IDEMPOTENCY_H

#include "service/service.h"

/* API.md's idempotency: a request with a key runs once per caller; repeats get the first
 * answer, stored in the same transaction as the request's effects. On PostgreSQL the key is
 * claimed in its own transaction first (so a concurrent repeat sees it running); where writes
 * are serialised (SQLite) the claim joins the request's transaction (the caller runs this
 * inside pt_db_tx): there the keys of the requests in flight are kept in memory
 * (pt_svc_idem_enter), so that a repeat is told at once that the first is still running. */

typedef enum {
	PT_IDEM_RUN,    /* claimed: run the request, then pt_svc_idem_finish */
	PT_IDEM_REPLAY, /* answered before: send status and body again */
} pt_idem_outcome;

typedef struct {
	int64_t row_id;
	int status;       /* for a replay */
	const char *body; /* for a replay: the JSON text, or NULL for an empty body */
} pt_idem;

enum { PT_IDEM_CALLER_MAX = 48 };

/* A request in flight with its key; key and hash must outlive it. */
typedef struct pt_idem_running {
	struct pt_idem_running *next;
	char caller[PT_IDEM_CALLER_MAX];
	const char *key, *hash;
} pt_idem_running;

/* Marks the key as running in this process until pt_svc_idem_leave. Errors: the same key
 * already running, idempotency_in_progress (same request) or idempotency_key_reuse. */
int pt_svc_idem_enter(const pt_ctx *ctx, const char *key, const char *hash, pt_idem_running *slot,
                      pt_err *err);
void pt_svc_idem_leave(pt_idem_running *slot);

/* hash identifies the request (method, path, body). Errors: idempotency_key_reuse,
 * idempotency_in_progress. */
int pt_svc_idem_begin(pt_ctx *ctx, const char *key, const char *hash, pt_idem_outcome *outcome,
                      pt_idem *idem, pt_err *err);
/* Stores the answer; inside the request's transaction for a success, on its own after a
 * refusal (4xx). */
int pt_svc_idem_finish(pt_db *db, const pt_idem *idem, int status, const char *body, pt_err *err);
/* Forgets the key after a server-side failure, so the caller may try again. */
void pt_svc_idem_abandon(pt_db *db, const pt_idem *idem);

#endif
