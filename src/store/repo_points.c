#include <stdio.h>
#include <string.h>

#include "store/repo.h"

static pt_val opt_id(int64_t id)
{
	return id ? PT_INT(id) : PT_NULLV;
}

int pt_repo_setting_get(pt_db *db, pt_arena *a, const char *name, const char **value, bool *found,
                        pt_err *err)
{
	pt_val p = PT_TEXT(name);
	pt_rows r;
	if (pt_db_query(db, a, "SELECT value FROM settings WHERE name = $1", &p, 1, &r, err) != 0)
		return -1;
	*found = r.nrows > 0;
	*value = *found ? pt_rows_get(&r, 0, 0) : NULL;
	return 0;
}

int pt_repo_setting_lock(pt_db *db, pt_arena *a, const char *name, int64_t now, pt_err *err)
{
	pt_val p[] = {PT_TEXT(name), PT_INT(now)};
	pt_rows r;
	if (pt_db_exec(db,
	               "INSERT INTO settings (name, value, updated_at) VALUES ($1, '{}', $2) "
	               "ON CONFLICT (name) DO NOTHING",
	               p, 2, NULL, err) != 0)
		return -1;
	if (pt_db_kind_of(db) != PT_DB_POSTGRES)
		return 0; /* SQLite: BEGIN IMMEDIATE holds the write lock already */
	return pt_db_query(db, a, "SELECT value FROM settings WHERE name = $1 FOR NO KEY UPDATE", p,
	                   1, &r, err);
}

int pt_repo_setting_put(pt_db *db, const char *name, const char *value, int64_t now, pt_err *err)
{
	pt_val p[] = {PT_TEXT(name), PT_TEXT(value), PT_INT(now)};
	return pt_db_exec(db,
	                  "INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3) "
	                  "ON CONFLICT (name) DO UPDATE SET value = excluded.value, "
	                  "updated_at = excluded.updated_at",
	                  p, 3, NULL, err);
}

int pt_repo_member_lock(pt_db *db, pt_arena *a, int64_t member_id, int64_t *balance, bool *found,
                        pt_err *err)
{
	/* SQLite writes hold the database's write lock from BEGIN IMMEDIATE; PostgreSQL needs
	 * the row lock, so concurrent spends of one member run one after the other. */
	const char *sql = pt_db_kind_of(db) == PT_DB_POSTGRES
	                      ? "SELECT points FROM members WHERE id = $1 AND erased_at IS NULL "
	                        "FOR NO KEY UPDATE"
	                      : "SELECT points FROM members WHERE id = $1 AND erased_at IS NULL";
	pt_val p = PT_INT(member_id);
	pt_rows r;
	if (pt_db_query(db, a, sql, &p, 1, &r, err) != 0)
		return -1;
	*found = r.nrows > 0;
	*balance = *found ? pt_rows_int(&r, 0, 0) : 0;
	return 0;
}

int pt_repo_member_set_points(pt_db *db, int64_t member_id, int64_t balance, pt_err *err)
{
	pt_val p[] = {PT_INT(balance), PT_INT(member_id)};
	return pt_db_exec(db, "UPDATE members SET points = $1 WHERE id = $2", p, 2, NULL, err);
}

int pt_repo_transfer_insert(pt_db *db, pt_arena *a, const pt_transfer *t, int64_t *id, pt_err *err)
{
	pt_val p[] = {PT_TEXT(t->kind),      PT_INT(t->member_id), PT_INT(t->store_id),
	              opt_id(t->order_id),   PT_TEXT(t->reason),   opt_id(t->staff_id),
	              opt_id(t->api_key_id), PT_INT(t->created_at)};
	pt_rows r;
	if (pt_db_query(db, a,
	                "INSERT INTO point_transfers (kind, member_id, store_id, order_id, reason, "
	                "staff_id, api_key_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
	                "RETURNING id",
	                p, 8, &r, err) != 0)
		return -1;
	*id = pt_rows_int(&r, 0, 0);
	return 0;
}

int pt_repo_entry_insert(pt_db *db, pt_arena *a, const pt_entry *e, int64_t *id, pt_err *err)
{
	pt_val p[] = {PT_INT(e->transfer_id), PT_INT(e->member_id),
	              PT_TEXT(e->account),    PT_INT(e->store_id),
	              PT_INT(e->points),      e->has_balance ? PT_INT(e->balance_after) : PT_NULLV,
	              PT_TEXT(e->expires_on), PT_INT(e->created_at)};
	pt_rows r;
	if (pt_db_query(db, a,
	                "INSERT INTO point_entries (transfer_id, member_id, account, store_id, "
	                "points, balance_after, expires_on, created_at) "
	                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
	                p, 8, &r, err) != 0)
		return -1;
	*id = pt_rows_int(&r, 0, 0);
	return 0;
}

int pt_repo_lot_insert(pt_db *db, pt_arena *a, int64_t member_id, int64_t entry_id, int64_t points,
                       const char *expires_on, int64_t now, int64_t *id, pt_err *err)
{
	pt_val p[] = {PT_INT(member_id), PT_INT(entry_id), PT_INT(points), PT_TEXT(expires_on),
	              PT_INT(now)};
	pt_rows r;
	if (pt_db_query(
	        db, a,
	        "INSERT INTO point_lots (member_id, entry_id, points, remaining, expires_on, "
	        "created_at) VALUES ($1, $2, $3, $3, $4, $5) RETURNING id",
	        p, 5, &r, err) != 0)
		return -1;
	*id = pt_rows_int(&r, 0, 0);
	return 0;
}

static int lots_from(pt_arena *a, const pt_rows *r, pt_lot_row **out, int *n, pt_err *err)
{
	*out = pt_arena_alloc(a, sizeof(pt_lot_row) * (size_t)(r->nrows + 1));
	if (!*out)
		return pt_err_oom(err);
	for (int i = 0; i < r->nrows; i++)
		(*out)[i] = (pt_lot_row){.id = pt_rows_int(r, i, 0),
		                         .points = pt_rows_int(r, i, 1),
		                         .remaining = pt_rows_int(r, i, 2),
		                         .expires_on = pt_rows_get(r, i, 3)};
	*n = r->nrows;
	return 0;
}

int pt_repo_lots_open(pt_db *db, pt_arena *a, int64_t member_id, pt_lot_row **out, int *n,
                      pt_err *err)
{
	pt_val p = PT_INT(member_id);
	pt_rows r;
	if (pt_db_query(db, a,
	                "SELECT id, points, remaining, expires_on FROM point_lots "
	                "WHERE member_id = $1 AND remaining > 0 "
	                "ORDER BY CASE WHEN expires_on IS NULL THEN 1 ELSE 0 END, expires_on, id",
	                &p, 1, &r, err) != 0)
		return -1;
	return lots_from(a, &r, out, n, err);
}

int pt_repo_lot_move(pt_db *db, int64_t member_id, int64_t lot_id, int64_t entry_id, int64_t points,
                     pt_err *err)
{
	pt_val p[] = {PT_INT(member_id), PT_INT(lot_id), PT_INT(entry_id), PT_INT(points)};
	if (pt_db_exec(db,
	               "INSERT INTO point_lot_moves (member_id, lot_id, entry_id, points) "
	               "VALUES ($1, $2, $3, $4)",
	               p, 4, NULL, err) != 0)
		return -1;
	pt_val q[] = {PT_INT(points), PT_INT(lot_id)};
	return pt_db_exec(db, "UPDATE point_lots SET remaining = remaining + $1 WHERE id = $2", q,
	                  2, NULL, err);
}

int pt_repo_lots_expired_sum(pt_db *db, pt_arena *a, int64_t member_id, const char *today,
                             int64_t *sum, pt_err *err)
{
	pt_val p[] = {PT_INT(member_id), PT_TEXT(today)};
	pt_rows r;
	if (pt_db_query(db, a,
	                "SELECT COALESCE(SUM(remaining), 0) FROM point_lots WHERE member_id = $1 "
	                "AND remaining > 0 AND expires_on IS NOT NULL AND expires_on < $2",
	                p, 2, &r, err) != 0)
		return -1;
	*sum = pt_rows_int(&r, 0, 0);
	return 0;
}

int pt_repo_lots_by_date(pt_db *db, pt_arena *a, int64_t member_id, pt_lot_row **out, int *n,
                         pt_err *err)
{
	pt_val p = PT_INT(member_id);
	pt_rows r;
	if (pt_db_query(
	        db, a,
	        "SELECT 0, 0, SUM(remaining), expires_on FROM point_lots WHERE member_id = $1 "
	        "AND remaining > 0 AND expires_on IS NOT NULL "
	        "GROUP BY expires_on ORDER BY expires_on",
	        &p, 1, &r, err) != 0)
		return -1;
	return lots_from(a, &r, out, n, err);
}

int pt_repo_expired_lots_next(pt_db *db, pt_arena *a, const char *today, pt_expiry_cursor *at,
                              int limit, int64_t **member_ids, int *n, pt_err *err)
{
	pt_rows r;
	for (;;) {
		/* Within one date the index is in id order, so the next batch starts at its
		 * place; a cursor on (expires_on, id) together would have SQLite walk the
		 * date's lots from its first each time. */
		if (at->date[0]) {
			pt_val p[] = {PT_TEXT(at->date), PT_INT(at->lot_id), PT_INT(limit)};
			if (pt_db_query(db, a,
			                "SELECT member_id, id FROM point_lots WHERE remaining > 0 "
			                "AND expires_on = $1 AND id > $2 ORDER BY id LIMIT $3",
			                p, 3, &r, err) != 0)
				return -1;
			if (r.nrows > 0) {
				at->lot_id = pt_rows_int(&r, r.nrows - 1, 1);
				return pt_rows_ids(a, &r, member_ids, n, err);
			}
		}
		pt_val q[] = {PT_TEXT(at->date), PT_TEXT(today)};
		if (pt_db_query(db, a,
		                "SELECT MIN(expires_on) FROM point_lots WHERE remaining > 0 "
		                "AND expires_on > $1 AND expires_on < $2",
		                q, 2, &r, err) != 0)
			return -1;
		const char *next = pt_rows_get(&r, 0, 0);
		if (!next) {
			*n = 0;
			return 0;
		}
		/* A date the cursor cannot hold whole would be found again and again. */
		if (strlen(next) >= sizeof(at->date))
			return pt_err_set(err, PT_INTERNAL, NULL,
			                  "a lot's expiry date is not a date: %s",
			                  "积分批次的到期日不是日期：%s", next);
		strcpy(at->date, next);
		at->lot_id = 0;
	}
}

#define LEDGER_SQL                                                                                 \
	"SELECT e.id, t.kind, e.points, e.balance_after, t.order_id, t.reason, e.expires_on, "     \
	"e.created_at, t.staff_id FROM point_entries e JOIN point_transfers t ON t.id = "          \
	"e.transfer_id "

static void ledger_from(const pt_rows *r, int i, pt_ledger_row *l)
{
	*l = (pt_ledger_row){.id = pt_rows_int(r, i, 0),
	                     .kind = pt_rows_get(r, i, 1),
	                     .points = pt_rows_int(r, i, 2),
	                     .balance_after = pt_rows_int(r, i, 3),
	                     .order_id = pt_rows_int(r, i, 4),
	                     .reason = pt_rows_get(r, i, 5),
	                     .expires_on = pt_rows_get(r, i, 6),
	                     .created_at = pt_rows_int(r, i, 7),
	                     .staff_id = pt_rows_int(r, i, 8)};
}

int pt_repo_ledger_list(pt_db *db, pt_arena *a, int64_t member_id, int64_t before_id, int limit,
                        pt_ledger_row **out, int *n, pt_err *err)
{
	pt_val p[] = {PT_INT(member_id), PT_INT(before_id ? before_id : INT64_MAX), PT_INT(limit)};
	pt_rows r;
	if (pt_db_query(db, a,
	                LEDGER_SQL "WHERE e.member_id = $1 AND e.account = 'wallet' AND e.id < $2 "
	                           "ORDER BY e.id DESC LIMIT $3",
	                p, 3, &r, err) != 0)
		return -1;
	*out = pt_arena_alloc(a, sizeof(pt_ledger_row) * (size_t)(r.nrows + 1));
	if (!*out)
		return pt_err_oom(err);
	for (int i = 0; i < r.nrows; i++)
		ledger_from(&r, i, &(*out)[i]);
	*n = r.nrows;
	return 0;
}

int pt_repo_ledger_entry(pt_db *db, pt_arena *a, int64_t entry_id, pt_ledger_row *out, pt_err *err)
{
	pt_val p = PT_INT(entry_id);
	pt_rows r;
	if (pt_db_query(db, a, LEDGER_SQL "WHERE e.id = $1", &p, 1, &r, err) != 0)
		return -1;
	if (r.nrows == 0)
		return pt_err_set(err, PT_INTERNAL, NULL, "ledger entry %lld vanished",
		                  "账目 %lld 不存在", (long long)entry_id);
	ledger_from(&r, 0, out);
	return 0;
}

int pt_repo_expiring_between(pt_db *db, pt_arena *a, const char *from, const char *to,
                             int64_t after_member, int limit, pt_expiring_row **out, int *n,
                             pt_err *err)
{
	pt_val p[] = {PT_TEXT(from), PT_TEXT(to), PT_INT(after_member), PT_INT(limit)};
	pt_rows r;
	if (pt_db_query(db, a,
	                "SELECT member_id, SUM(remaining), MIN(expires_on) FROM point_lots "
	                "WHERE remaining > 0 AND expires_on >= $1 AND expires_on <= $2 "
	                "AND member_id > $3 GROUP BY member_id ORDER BY member_id LIMIT $4",
	                p, 4, &r, err) != 0)
		return -1;
	*out = pt_arena_alloc(a, sizeof(pt_expiring_row) * (size_t)(r.nrows + 1));
	if (!*out)
		return pt_err_oom(err);
	for (int i = 0; i < r.nrows; i++)
		(*out)[i] = (pt_expiring_row){.member_id = pt_rows_int(&r, i, 0),
		                              .points = pt_rows_int(&r, i, 1),
		                              .expires_on = pt_rows_get(&r, i, 2)};
	*n = r.nrows;
	return 0;
}

/* Each query finds the failing rows of one invariant with a single aggregate pass, so the check
 * stays a few seconds over millions of entries. */
int pt_repo_check_ledger(pt_db *db, pt_arena *a, pt_ledger_check *out, pt_err *err)
{
	pt_rows r;
	memset(out, 0, sizeof(*out));
	if (pt_db_query(db, a,
	                "SELECT COUNT(*), MIN(transfer_id) FROM (SELECT transfer_id FROM "
	                "point_entries GROUP BY transfer_id HAVING SUM(points) <> 0) x",
	                NULL, 0, &r, err) != 0)
		return -1;
	out->unbalanced_transfers = pt_rows_int(&r, 0, 0);
	out->example_transfer = pt_rows_int(&r, 0, 1);
	if (pt_db_query(db, a,
	                "SELECT COUNT(*), MIN(m.id) FROM members m LEFT JOIN (SELECT member_id, "
	                "SUM(points) AS total FROM point_entries WHERE account = 'wallet' GROUP BY "
	                "member_id) w ON w.member_id = m.id WHERE m.points <> COALESCE(w.total, 0)",
	                NULL, 0, &r, err) != 0)
		return -1;
	out->wallet_mismatches = pt_rows_int(&r, 0, 0);
	out->example_member = pt_rows_int(&r, 0, 1);
	if (pt_db_query(
	        db, a,
	        "SELECT COUNT(*), MIN(l.id) FROM point_lots l LEFT JOIN (SELECT lot_id, "
	        "SUM(points) AS moved FROM point_lot_moves GROUP BY lot_id) mv ON mv.lot_id = "
	        "l.id WHERE l.remaining <> l.points + COALESCE(mv.moved, 0) OR l.remaining < 0 "
	        "OR l.remaining > l.points",
	        NULL, 0, &r, err) != 0)
		return -1;
	out->lot_mismatches = pt_rows_int(&r, 0, 0);
	out->example_lot = pt_rows_int(&r, 0, 1);
	if (pt_db_query(
	        db, a,
	        "SELECT (SELECT COALESCE(-SUM(points), 0) FROM point_entries WHERE account <> "
	        "'wallet'), (SELECT COALESCE(SUM(points), 0) FROM members)",
	        NULL, 0, &r, err) != 0)
		return -1;
	out->outstanding = pt_rows_int(&r, 0, 0);
	out->member_balances = pt_rows_int(&r, 0, 1);
	return 0;
}
