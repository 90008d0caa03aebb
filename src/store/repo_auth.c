#include "store/repo.h"

#define STAFF_COLS                                                                                 \
	"id, username, role, password_hash, created_at, disabled_at, locked_until, name, phone, "  \
	"store_ids, totp_secret, totp_enabled, totp_last_step"

static void staff_from(const pt_rows *r, int i, pt_staff *s)
{
	s->id = pt_rows_int(r, i, 0);
	s->username = pt_rows_get(r, i, 1);
	s->role = pt_rows_get(r, i, 2);
	s->password_hash = pt_rows_get(r, i, 3);
	s->created_at = pt_rows_int(r, i, 4);
	s->disabled_at = pt_rows_int(r, i, 5);
	s->locked_until = pt_rows_int(r, i, 6);
	s->name = pt_rows_get(r, i, 7);
	s->phone = pt_rows_get(r, i, 8);
	s->store_ids = pt_rows_get(r, i, 9);
	s->totp_secret = pt_rows_get(r, i, 10);
	s->totp_enabled = pt_rows_int(r, i, 11) != 0;
	s->totp_last_step = pt_rows_int(r, i, 12);
}

int pt_repo_staff_insert(pt_db *db, pt_arena *a, const pt_staff *s, int64_t *id, pt_err *err)
{
	pt_val p[] = {PT_TEXT(s->username),
	              PT_TEXT(s->password_hash),
	              PT_TEXT(s->role),
	              PT_INT(s->created_at),
	              PT_TEXT(s->name),
	              PT_TEXT(s->phone),
	              PT_TEXT(s->store_ids ? s->store_ids : "[]")};
	pt_rows r;
	if (pt_db_query(
	        db, a,
	        "INSERT INTO staff (username, password_hash, role, created_at, name, phone, "
	        "store_ids) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
	        p, 7, &r, err) != 0)
		return -1;
	*id = pt_rows_int(&r, 0, 0);
	return 0;
}

static int staff_one(pt_db *db, pt_arena *a, const char *sql, pt_val key, pt_staff *out,
                     bool *found, pt_err *err)
{
	pt_rows r;
	if (pt_db_query(db, a, sql, &key, 1, &r, err) != 0)
		return -1;
	*found = r.nrows > 0;
	if (*found)
		staff_from(&r, 0, out);
	return 0;
}

int pt_repo_staff_by_username(pt_db *db, pt_arena *a, const char *username, pt_staff *out,
                              bool *found, pt_err *err)
{
	return staff_one(db, a, "SELECT " STAFF_COLS " FROM staff WHERE username = $1",
	                 PT_TEXT(username), out, found, err);
}

int pt_repo_staff_by_id(pt_db *db, pt_arena *a, int64_t id, pt_staff *out, bool *found, pt_err *err)
{
	return staff_one(db, a, "SELECT " STAFF_COLS " FROM staff WHERE id = $1", PT_INT(id), out,
	                 found, err);
}

int pt_repo_staff_count(pt_db *db, pt_arena *a, int64_t *count, pt_err *err)
{
	pt_rows r;
	if (pt_db_query(db, a, "SELECT COUNT(*) FROM staff", NULL, 0, &r, err) != 0)
		return -1;
	*count = pt_rows_int(&r, 0, 0);
	return 0;
}

int pt_repo_session_insert(pt_db *db, pt_arena *a, const char *token_hash, const pt_session *s,
                           int64_t *id, pt_err *err)
{
	pt_val p[] = {PT_TEXT(token_hash), PT_INT(s->staff_id), PT_TEXT(s->csrf_token),
	              PT_INT(s->created_at), PT_INT(s->expires_at)};
	pt_rows r;
	if (pt_db_query(db, a,
	                "INSERT INTO sessions (token_hash, staff_id, csrf_token, created_at, "
	                "last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $4, $5) RETURNING id",
	                p, 5, &r, err) != 0)
		return -1;
	*id = pt_rows_int(&r, 0, 0);
	return 0;
}

int pt_repo_session_by_hash(pt_db *db, pt_arena *a, const char *token_hash, pt_session *out,
                            bool *found, pt_err *err)
{
	pt_val p = PT_TEXT(token_hash);
	pt_rows r;
	if (pt_db_query(db, a,
	                "SELECT id, staff_id, csrf_token, created_at, last_seen_at, expires_at "
	                "FROM sessions WHERE token_hash = $1",
	                &p, 1, &r, err) != 0)
		return -1;
	*found = r.nrows > 0;
	if (*found) {
		out->id = pt_rows_int(&r, 0, 0);
		out->staff_id = pt_rows_int(&r, 0, 1);
		out->csrf_token = pt_rows_get(&r, 0, 2);
		out->created_at = pt_rows_int(&r, 0, 3);
		out->last_seen_at = pt_rows_int(&r, 0, 4);
		out->expires_at = pt_rows_int(&r, 0, 5);
	}
	return 0;
}

int pt_repo_session_touch(pt_db *db, int64_t id, int64_t now, pt_err *err)
{
	pt_val p[] = {PT_INT(now), PT_INT(id)};
	return pt_db_exec(db, "UPDATE sessions SET last_seen_at = $1 WHERE id = $2", p, 2, NULL,
	                  err);
}

int pt_repo_session_delete(pt_db *db, int64_t id, pt_err *err)
{
	pt_val p = PT_INT(id);
	return pt_db_exec(db, "DELETE FROM sessions WHERE id = $1", &p, 1, NULL, err);
}

int pt_repo_session_purge(pt_db *db, int64_t now, int64_t idle_ms, pt_err *err)
{
	pt_val p[] = {PT_INT(now), PT_INT(now - idle_ms)};
	return pt_db_exec(db, "DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2",
	                  p, 2, NULL, err);
}

#define KEY_COLS "id, name, prefix, scopes, store_id, created_by, created_at, revoked_at"

static void key_from(const pt_rows *r, int i, pt_api_key *k)
{
	k->id = pt_rows_int(r, i, 0);
	k->name = pt_rows_get(r, i, 1);
	k->prefix = pt_rows_get(r, i, 2);
	k->scopes = pt_rows_get(r, i, 3);
	k->store_id = pt_rows_int(r, i, 4);
	k->created_by = pt_rows_int(r, i, 5);
	k->created_at = pt_rows_int(r, i, 6);
	k->revoked_at = pt_rows_int(r, i, 7);
}

int pt_repo_api_key_insert(pt_db *db, pt_arena *a, const char *key_hash, const pt_api_key *k,
                           int64_t *id, pt_err *err)
{
	pt_val p[] = {PT_TEXT(k->name),
	              PT_TEXT(k->prefix),
	              PT_TEXT(key_hash),
	              PT_TEXT(k->scopes),
	              k->store_id ? PT_INT(k->store_id) : PT_NULLV,
	              k->created_by ? PT_INT(k->created_by) : PT_NULLV,
	              PT_INT(k->created_at)};
	pt_rows r;
	if (pt_db_query(db, a,
	                "INSERT INTO api_keys (name, prefix, key_hash, scopes, store_id, "
	                "created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
	                p, 7, &r, err) != 0)
		return -1;
	*id = pt_rows_int(&r, 0, 0);
	return 0;
}

int pt_repo_api_key_by_hash(pt_db *db, pt_arena *a, const char *key_hash, pt_api_key *out,
                            bool *found, pt_err *err)
{
	pt_val p = PT_TEXT(key_hash);
	pt_rows r;
	if (pt_db_query(db, a, "SELECT " KEY_COLS " FROM api_keys WHERE key_hash = $1", &p, 1, &r,
	                err) != 0)
		return -1;
	*found = r.nrows > 0;
	if (*found)
		key_from(&r, 0, out);
	return 0;
}

int pt_repo_api_key_by_id(pt_db *db, pt_arena *a, int64_t id, pt_api_key *out, bool *found,
                          pt_err *err)
{
	pt_val p = PT_INT(id);
	pt_rows r;
	if (pt_db_query(db, a, "SELECT " KEY_COLS " FROM api_keys WHERE id = $1", &p, 1, &r, err) !=
	    0)
		return -1;
	*found = r.nrows > 0;
	if (*found)
		key_from(&r, 0, out);
	return 0;
}

int pt_repo_api_key_list(pt_db *db, pt_arena *a, int64_t after_id, int limit, pt_api_key **out,
                         int *n, pt_err *err)
{
	pt_val p[] = {PT_INT(after_id), PT_INT(limit)};
	pt_rows r;
	if (pt_db_query(db, a,
	                "SELECT " KEY_COLS " FROM api_keys WHERE id > $1 ORDER BY id LIMIT $2", p,
	                2, &r, err) != 0)
		return -1;
	*out = pt_arena_alloc(a, sizeof(pt_api_key) * (size_t)(r.nrows + 1));
	if (!*out)
		return pt_err_oom(err);
	for (int i = 0; i < r.nrows; i++)
		key_from(&r, i, &(*out)[i]);
	*n = r.nrows;
	return 0;
}

int pt_repo_api_key_revoke(pt_db *db, int64_t id, int64_t now, pt_err *err)
{
	pt_val p[] = {PT_INT(now), PT_INT(id)};
	return pt_db_exec(
	    db, "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL", p, 2,
	    NULL, err);
}

int pt_repo_login_failure_add(pt_db *db, const char *username, const char *ip, int64_t now,
                              pt_err *err)
{
	pt_val p[] = {PT_TEXT(username), PT_TEXT(ip ? ip : "-"), PT_INT(now)};
	return pt_db_exec(db, "INSERT INTO login_failures (username, ip, at) VALUES ($1, $2, $3)",
	                  p, 3, NULL, err);
}

int pt_repo_login_failures(pt_db *db, pt_arena *a, const char *by, const char *value, int64_t since,
                           int64_t *count, int64_t *oldest, pt_err *err)
{
	pt_val p[] = {PT_TEXT(value), PT_INT(since)};
	pt_rows r;
	const char *sql = by[0] == 'i'
	                      ? "SELECT COUNT(*), MIN(at) FROM login_failures WHERE ip = $1 "
	                        "AND at > $2"
	                      : "SELECT COUNT(*), MIN(at) FROM login_failures WHERE "
	                        "username = $1 AND at > $2";
	if (pt_db_query(db, a, sql, p, 2, &r, err) != 0)
		return -1;
	*count = pt_rows_int(&r, 0, 0);
	*oldest = pt_rows_int(&r, 0, 1);
	return 0;
}

int pt_repo_login_failures_clear(pt_db *db, const char *username, pt_err *err)
{
	pt_val p = PT_TEXT(username);
	return pt_db_exec(db, "DELETE FROM login_failures WHERE username = $1", &p, 1, NULL, err);
}

int pt_repo_staff_lock(pt_db *db, int64_t staff_id, int64_t until, pt_err *err)
{
	pt_val p[] = {until ? PT_INT(until) : PT_NULLV, PT_INT(staff_id)};
	return pt_db_exec(db, "UPDATE staff SET locked_until = $1 WHERE id = $2", p, 2, NULL, err);
}

int pt_repo_staff_update(pt_db *db, const pt_staff *s, pt_err *err)
{
	pt_val p[] = {PT_TEXT(s->name),
	              PT_TEXT(s->phone),
	              PT_TEXT(s->role),
	              PT_TEXT(s->store_ids),
	              s->disabled_at ? PT_INT(s->disabled_at) : PT_NULLV,
	              PT_INT(s->id)};
	return pt_db_exec(db,
	                  "UPDATE staff SET name = $1, phone = $2, role = $3, store_ids = $4, "
	                  "disabled_at = $5 WHERE id = $6",
	                  p, 6, NULL, err);
}

int pt_repo_staff_set_password(pt_db *db, int64_t id, const char *hash, pt_err *err)
{
	pt_val p[] = {PT_TEXT(hash), PT_INT(id)};
	if (pt_db_exec(db, "UPDATE staff SET password_hash = $1 WHERE id = $2", p, 2, NULL, err))
		return -1;
	/* A new password ends every session of the account. */
	pt_val q = PT_INT(id);
	return pt_db_exec(db, "DELETE FROM sessions WHERE staff_id = $1", &q, 1, NULL, err);
}

int pt_repo_staff_end_sessions(pt_db *db, int64_t id, pt_err *err)
{
	pt_val q = PT_INT(id);
	return pt_db_exec(db, "DELETE FROM sessions WHERE staff_id = $1", &q, 1, NULL, err);
}

int pt_repo_staff_list(pt_db *db, pt_arena *a, int64_t after_id, int limit, pt_staff **out, int *n,
                       pt_err *err)
{
	pt_val p[] = {PT_INT(after_id), PT_INT(limit)};
	pt_rows r;
	if (pt_db_query(db, a,
	                "SELECT " STAFF_COLS " FROM staff WHERE id > $1 ORDER BY id LIMIT $2", p, 2,
	                &r, err) != 0)
		return -1;
	*out = pt_arena_alloc(a, sizeof(pt_staff) * (size_t)(r.nrows + 1));
	if (!*out)
		return pt_err_oom(err);
	for (int i = 0; i < r.nrows; i++)
		staff_from(&r, i, &(*out)[i]);
	*n = r.nrows;
	return 0;
}

int pt_repo_role_get(pt_db *db, pt_arena *a, const char *name, const char **perms, int64_t *id,
                     bool *found, pt_err *err)
{
	pt_val p = PT_TEXT(name);
	pt_rows r;
	if (pt_db_query(db, a, "SELECT id, permissions FROM roles WHERE name = $1", &p, 1, &r, err))
		return -1;
	*found = r.nrows > 0;
	*id = *found ? pt_rows_int(&r, 0, 0) : 0;
	*perms = *found ? pt_rows_get(&r, 0, 1) : NULL;
	return 0;
}

int pt_repo_role_put(pt_db *db, pt_arena *a, const char *name, const char *perms, int64_t now,
                     int64_t *id, pt_err *err)
{
	pt_val p[] = {PT_TEXT(name), PT_TEXT(perms), PT_INT(now)};
	pt_rows r;
	if (pt_db_query(db, a,
	                "INSERT INTO roles (name, permissions, created_at, updated_at) VALUES ($1, "
	                "$2, $3, $3) ON CONFLICT (name) DO UPDATE SET permissions = "
	                "excluded.permissions, updated_at = excluded.updated_at RETURNING id",
	                p, 3, &r, err) != 0)
		return -1;
	*id = pt_rows_int(&r, 0, 0);
	return 0;
}

int pt_repo_role_delete(pt_db *db, const char *name, pt_err *err)
{
	pt_val p = PT_TEXT(name);
	return pt_db_exec(db, "DELETE FROM roles WHERE name = $1", &p, 1, NULL, err);
}

int pt_repo_roles(pt_db *db, pt_arena *a, pt_rows *out, pt_err *err)
{
	return pt_db_query(db, a, "SELECT name, permissions FROM roles ORDER BY name", NULL, 0, out,
	                   err);
}

int pt_repo_role_holders(pt_db *db, pt_arena *a, const char *name, int64_t *count, pt_err *err)
{
	pt_val p = PT_TEXT(name);
	pt_rows r;
	if (pt_db_query(db, a, "SELECT COUNT(*) FROM staff WHERE role = $1", &p, 1, &r, err))
		return -1;
	*count = pt_rows_int(&r, 0, 0);
	return 0;
}

int pt_repo_staff_set_totp(pt_db *db, int64_t id, const char *secret, bool enabled, pt_err *err)
{
	pt_val p[] = {PT_TEXT(secret), PT_INT(enabled), PT_INT(id)};
	return pt_db_exec(db, "UPDATE staff SET totp_secret = $1, totp_enabled = $2 WHERE id = $3",
	                  p, 3, NULL, err);
}

int pt_repo_recovery_replace(pt_db *db, int64_t staff_id, const char *const *hashes, int n,
                             pt_err *err)
{
	pt_val id = PT_INT(staff_id);
	if (pt_db_exec(db, "DELETE FROM totp_recovery WHERE staff_id = $1", &id, 1, NULL, err))
		return -1;
	for (int i = 0; i < n; i++) {
		pt_val p[] = {PT_INT(staff_id), PT_TEXT(hashes[i])};
		if (pt_db_exec(db,
		               "INSERT INTO totp_recovery (staff_id, code_hash) VALUES ($1, $2)", p,
		               2, NULL, err) != 0)
			return -1;
	}
	return 0;
}

int pt_repo_recovery_use(pt_db *db, int64_t staff_id, const char *hash, int64_t now, bool *ok,
                         pt_err *err)
{
	pt_val p[] = {PT_INT(now), PT_INT(staff_id), PT_TEXT(hash)};
	int64_t changes = 0;
	if (pt_db_exec(
	        db,
	        "UPDATE totp_recovery SET used_at = $1 WHERE staff_id = $2 AND code_hash = $3 "
	        "AND used_at IS NULL",
	        p, 3, &changes, err) != 0)
		return -1;
	*ok = changes > 0;
	return 0;
}

int pt_repo_staff_totp_step(pt_db *db, int64_t id, int64_t step, pt_err *err)
{
	pt_val p[] = {PT_INT(step), PT_INT(id)};
	return pt_db_exec(db, "UPDATE staff SET totp_last_step = $1 WHERE id = $2", p, 2, NULL,
	                  err);
}
