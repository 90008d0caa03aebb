#include "store/repo_audit.h"

int pt_repo_audit_last_hash(pt_db *db, pt_arena *a, const char **hash, pt_err *err)
{
	pt_rows r;
	/* One writer at a time extends the chain: two transactions reading the same last hash
	 * would fork it. SQLite's BEGIN IMMEDIATE already serialises writers. */
	if (pt_db_kind_of(db) == PT_DB_POSTGRES &&
	    pt_db_query(db, a, "SELECT pg_advisory_xact_lock(7061747)", NULL, 0, &r, err) != 0)
		return -1;
	if (pt_db_query(db, a, "SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1", NULL, 0, &r,
	                err) != 0)
		return -1;
	*hash = r.nrows ? pt_rows_get(&r, 0, 0) : "";
	return 0;
}

int pt_repo_audit_insert(pt_db *db, pt_arena *a, const pt_audit_row *e, int64_t *id, pt_err *err)
{
	pt_val v[] = {PT_INT(e->at),
	              e->staff_id ? PT_INT(e->staff_id) : PT_NULLV,
	              e->api_key_id ? PT_INT(e->api_key_id) : PT_NULLV,
	              PT_TEXT(e->ip),
	              PT_TEXT(e->action),
	              PT_TEXT(e->object_type),
	              PT_TEXT(e->object_id),
	              PT_TEXT(e->detail),
	              PT_TEXT(e->prev_hash),
	              PT_TEXT(e->hash)};
	pt_rows r;
	if (pt_db_query(
	        db, a,
	        "INSERT INTO audit_log (at, staff_id, api_key_id, ip, action, object_type, "
	        "object_id, detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
	        "$9, $10) RETURNING id",
	        v, 10, &r, err) != 0)
		return -1;
	*id = pt_rows_int(&r, 0, 0);
	return 0;
}

#define AUDIT_COLS                                                                                 \
	"id, at, staff_id, api_key_id, ip, action, object_type, object_id, detail, prev_hash, "    \
	"hash"

static void audit_from(const pt_rows *r, int i, pt_audit_row *e)
{
	*e = (pt_audit_row){.id = pt_rows_int(r, i, 0),
	                    .at = pt_rows_int(r, i, 1),
	                    .staff_id = pt_rows_int(r, i, 2),
	                    .api_key_id = pt_rows_int(r, i, 3),
	                    .ip = pt_rows_get(r, i, 4),
	                    .action = pt_rows_get(r, i, 5),
	                    .object_type = pt_rows_get(r, i, 6),
	                    .object_id = pt_rows_get(r, i, 7),
	                    .detail = pt_rows_get(r, i, 8),
	                    .prev_hash = pt_rows_get(r, i, 9),
	                    .hash = pt_rows_get(r, i, 10)};
}

int pt_repo_audit_list(pt_db *db, pt_arena *a, const pt_audit_filter *f, pt_audit_row **out, int *n,
                       pt_err *err)
{
	pt_val v[] = {PT_TEXT(f->action ? f->action : ""),
	              PT_INT(f->staff_id),
	              PT_TEXT(f->object_type ? f->object_type : ""),
	              PT_TEXT(f->object_id ? f->object_id : ""),
	              PT_INT(f->from),
	              PT_INT(f->to),
	              PT_INT(f->after_id ? f->after_id : INT64_MAX),
	              PT_INT(f->limit)};
	pt_rows r;
	if (pt_db_query(
	        db, a,
	        "SELECT " AUDIT_COLS " FROM audit_log WHERE (CAST($1 AS TEXT) = '' OR action "
	        "= $1) AND (CAST($2 AS BIGINT) = 0 OR staff_id = $2) AND (CAST($3 AS TEXT) = "
	        "'' OR object_type = $3) AND (CAST($4 AS TEXT) = '' OR object_id = $4) AND "
	        "(CAST($5 AS BIGINT) = 0 OR at >= $5) AND (CAST($6 AS BIGINT) = 0 OR at < $6) "
	        "AND id < $7 ORDER BY id DESC LIMIT $8",
	        v, 8, &r, err) != 0)
		return -1;
	*out = pt_arena_alloc(a, sizeof(**out) * (size_t)(r.nrows + 1));
	if (!*out)
		return pt_err_oom(err);
	for (int i = 0; i < r.nrows; i++)
		audit_from(&r, i, &(*out)[i]);
	*n = r.nrows;
	return 0;
}

int pt_repo_audit_page(pt_db *db, pt_arena *a, int64_t after_id, int limit, pt_audit_row **out,
                       int *n, pt_err *err)
{
	pt_val v[] = {PT_INT(after_id), PT_INT(limit)};
	pt_rows r;
	if (pt_db_query(db, a,
	                "SELECT " AUDIT_COLS " FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2",
	                v, 2, &r, err) != 0)
		return -1;
	*out = pt_arena_alloc(a, sizeof(**out) * (size_t)(r.nrows + 1));
	if (!*out)
		return pt_err_oom(err);
	for (int i = 0; i < r.nrows; i++)
		audit_from(&r, i, &(*out)[i]);
	*n = r.nrows;
	return 0;
}
