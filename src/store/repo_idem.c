#include <stdio.h>
#include <string.h>

#include "store/repo.h"

/* The advisory lock of idempotency key id, apart from any other use of advisory locks. */
#define IDEM_LOCK "(CAST($1 AS BIGINT) + 5784920000000000000)"

static int pg_lock(pt_db *db, pt_arena *a, const char *fn, int64_t id, bool *got, pt_err *err)
{
	char sql[128];
	snprintf(sql, sizeof(sql), "SELECT %s(" IDEM_LOCK ")", fn);
	pt_val p = PT_INT(id);
	pt_rows r;
	if (pt_db_query(db, a, sql, &p, 1, &r, err) != 0)
		return -1;
	const char *v = r.nrows ? pt_rows_get(&r, 0, 0) : NULL;
	*got = !v || strcmp(v, "t") == 0 || strcmp(v, "true") == 0 || strcmp(v, "1") == 0 ||
	       strcmp(v, "") == 0;
	return 0;
}

static bool on_pg(pt_db *db)
{
	return pt_db_kind_of(db) == PT_DB_POSTGRES;
}

static int pg_unlock(pt_db *db, int64_t id, pt_err *err)
{
	pt_val p = PT_INT(id);
	return on_pg(db)
	           ? pt_db_exec(db, "SELECT pg_advisory_unlock(" IDEM_LOCK ")", &p, 1, NULL, err)
	           : 0;
}

int pt_repo_idem_claim(pt_db *db, pt_arena *a, const char *caller, const char *key,
                       const char *hash, int64_t now, int64_t *id, bool *claimed, pt_err *err)
{
	pt_val p[] = {PT_TEXT(caller), PT_TEXT(key), PT_TEXT(hash), PT_INT(now)};
	pt_rows r;
	if (pt_db_query(
	        db, a,
	        "INSERT INTO idempotency_keys (caller, key, request_hash, state, created_at) "
	        "VALUES ($1, $2, $3, 'running', $4) ON CONFLICT (caller, key) DO NOTHING "
	        "RETURNING id",
	        p, 4, &r, err) != 0)
		return -1;
	*claimed = r.nrows > 0;
	*id = *claimed ? pt_rows_int(&r, 0, 0) : 0;
	bool got;
	return *claimed && on_pg(db) ? pg_lock(db, a, "pg_advisory_lock", *id, &got, err) : 0;
}

int pt_repo_idem_get(pt_db *db, pt_arena *a, const char *caller, const char *key, pt_idem_row *out,
                     bool *found, pt_err *err)
{
	pt_val p[] = {PT_TEXT(caller), PT_TEXT(key)};
	pt_rows r;
	if (pt_db_query(db, a,
	                "SELECT id, request_hash, state, status, response, created_at FROM "
	                "idempotency_keys WHERE caller = $1 AND key = $2",
	                p, 2, &r, err) != 0)
		return -1;
	*found = r.nrows > 0;
	if (*found)
		*out = (pt_idem_row){.id = pt_rows_int(&r, 0, 0),
		                     .request_hash = pt_rows_get(&r, 0, 1),
		                     .state = pt_rows_get(&r, 0, 2),
		                     .status = pt_rows_int(&r, 0, 3),
		                     .response = pt_rows_get(&r, 0, 4),
		                     .created_at = pt_rows_int(&r, 0, 5)};
	return 0;
}

int pt_repo_idem_take_over(pt_db *db, pt_arena *a, int64_t id, int64_t stale_before,
                           int64_t started_at, int64_t now, bool *taken, pt_err *err)
{
	*taken = false;
	int64_t changes = 0;
	if (on_pg(db)) {
		bool free_lock;
		if (pg_lock(db, a, "pg_try_advisory_lock", id, &free_lock, err) != 0)
			return -1;
		if (!free_lock)
			return 0;
		/* A server that finished meanwhile has set the state: the update then finds
		 * nothing, once its commit is visible. */
		pt_val p[] = {PT_INT(now), PT_INT(id)};
		if (pt_db_exec(db,
		               "UPDATE idempotency_keys SET created_at = $1 WHERE id = $2 AND "
		               "state = 'running'",
		               p, 2, &changes, err) != 0)
			return -1;
		*taken = changes > 0;
		return *taken ? 0 : pg_unlock(db, id, err);
	}
	pt_val p[] = {PT_INT(now), PT_INT(id), PT_INT(stale_before), PT_INT(started_at)};
	if (pt_db_exec(db,
	               "UPDATE idempotency_keys SET created_at = $1 WHERE id = $2 AND "
	               "state = 'running' AND (created_at < $3 OR created_at < $4)",
	               p, 4, &changes, err) != 0)
		return -1;
	*taken = changes > 0;
	return 0;
}

int pt_repo_idem_finish(pt_db *db, int64_t id, int status, const char *response, pt_err *err)
{
	pt_val p[] = {PT_INT(status), PT_TEXT(response), PT_INT(id)};
	return pt_db_exec(db,
	                  "UPDATE idempotency_keys SET state = 'done', status = $1, response = $2 "
	                  "WHERE id = $3",
	                  p, 3, NULL, err) ||
	       pg_unlock(db, id, err);
}

int pt_repo_idem_delete(pt_db *db, int64_t id, pt_err *err)
{
	pt_val p = PT_INT(id);
	return pt_db_exec(db, "DELETE FROM idempotency_keys WHERE id = $1", &p, 1, NULL, err) ||
	       pg_unlock(db, id, err);
}

int pt_repo_idem_purge(pt_db *db, int64_t before, pt_err *err)
{
	pt_val p = PT_INT(before);
	return pt_db_exec(db, "DELETE FROM idempotency_keys WHERE created_at < $1", &p, 1, NULL,
	                  err);
}
