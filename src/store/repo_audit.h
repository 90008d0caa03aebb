#ifndef PT_REPO_AUDIT_H
#define PT_REPO_AUDIT_H

#include "store/repo.h"

typedef struct {
	int64_t id, at, staff_id, api_key_id;
	const char *ip, *action, *object_type, *object_id, *detail, *prev_hash, *hash;
} pt_audit_row;

/* The chain's last hash ("" for an empty log), taking the append lock for the transaction. */
int pt_repo_audit_last_hash(pt_db *db, pt_arena *a, const char **hash, pt_err *err);
int pt_repo_audit_insert(pt_db *db, pt_arena *a, const pt_audit_row *e, int64_t *id, pt_err *err);

typedef struct {
	const char *action, *object_type, *object_id; /* NULL: any */
	int64_t staff_id, from, to, after_id;         /* 0: any; after_id pages newest first */
	int limit;
} pt_audit_filter;

int pt_repo_audit_list(pt_db *db, pt_arena *a, const pt_audit_filter *f, pt_audit_row **out, int *n,
                       pt_err *err);
/* Oldest first, for verifying the chain. */
int pt_repo_audit_page(pt_db *db, pt_arena *a, int64_t after_id, int limit, pt_audit_row **out,
                       int *n, pt_err *err);

#endif
