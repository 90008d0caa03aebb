#ifndef PT_SERVICE_IDEMPOTENCY_H
#define PT_SERVICE_IDEMPOTENCY_H

#include "service/service.h"

/* API.md's idempotency: a request with a key runs once per caller; repeats get the first
 * answer, stored in the same transaction as the request's effects. On PostgreSQL the key is
 * claimed in its own transaction first (so a concurrent repeat sees it running); where writes
 * are serialised (SQLite) the claim joins the request's transaction (the caller runs this
 * inside pt_db_tx), and a repeat finds the answer once the first is done. */

typedef enum {
	PT_IDEM_RUN,    /* claimed: run the request, then pt_svc_idem_finish */
	PT_IDEM_REPLAY, /* answered before: send status and body again */
} pt_idem_outcome;

typedef struct {
	int64_t row_id;
	int status;       /* for a replay */
	const char *body; /* for a replay: the JSON text, or NULL for an empty body */
} pt_idem;

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
