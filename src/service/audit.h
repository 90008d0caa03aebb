#ifndef PT_SERVICE_AUDIT_H
#define PT_SERVICE_AUDIT_H

#include <jansson.h>
#include <stdio.h>

#include "service/service.h"
#include "store/repo_audit.h"

/* Appends one entry to the tamper-evident audit trail, in the caller's transaction (or its
 * own), so the action and its record commit together. detail (may be NULL) is taken. */
int pt_svc_audit(pt_ctx *ctx, const char *action, const char *object_type, int64_t object_id,
                 json_t *detail, pt_err *err);
/* For refusals: the entry is written in a transaction of its own, since the action's own
 * transaction rolls back. Failures to write are logged, not returned. */
void pt_svc_audit_refusal(pt_ctx *ctx, const char *action, const char *object_type,
                          int64_t object_id, json_t *detail);

int pt_svc_audit_list(pt_ctx *ctx, const pt_audit_filter *f, pt_audit_row **out, int *n,
                      pt_err *err);
/* Re-computes the chain from the first entry; prints the first entry that does not match. */
int pt_svc_audit_verify(pt_db *db, FILE *out, long *problems, pt_err *err);

#endif
