#include "store/repo.h"

#define TIER_COLS                                                                                  \
	"id, name, rank, threshold, basis, discount_bp, points_multiplier_bp, created_at, "        \
	"updated_at"

static void tier_from(const pt_rows *r, int i, pt_tier *t)
{
	*t = (pt_tier){.id = pt_rows_int(r, i, 0),
	               .name = pt_rows_get(r, i, 1),
	               .rank = pt_rows_int(r, i, 2),
	               .threshold = pt_rows_int(r, i, 3),
	               .basis = pt_rows_get(r, i, 4),
	               .discount_bp = pt_rows_int(r, i, 5),
	               .points_multiplier_bp = pt_rows_int(r, i, 6),
	               .created_at = pt_rows_int(r, i, 7),
	               .updated_at = pt_rows_int(r, i, 8)};
}

int pt_repo_tier_insert(pt_db *db, pt_arena *a, const pt_tier *t, int64_t *id, pt_err *err)
{
	pt_val p[] = {PT_TEXT(t->name),     PT_INT(t->rank),        PT_INT(t->threshold),
	              PT_TEXT(t->basis),    PT_INT(t->discount_bp), PT_INT(t->points_multiplier_bp),
	              PT_INT(t->created_at)};
	pt_rows r;
	if (pt_db_query(db, a,
	                "INSERT INTO tiers (name, rank, threshold, basis, discount_bp, "
	                "points_multiplier_bp, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, "
	                "$6, $7, $7) RETURNING id",
	                p, 7, &r, err) != 0)
		return -1;
	*id = pt_rows_int(&r, 0, 0);
	return 0;
}

int pt_repo_tier_update(pt_db *db, const pt_tier *t, pt_err *err)
{
	pt_val p[] = {PT_TEXT(t->name),       PT_INT(t->rank),
	              PT_INT(t->threshold),   PT_TEXT(t->basis),
	              PT_INT(t->discount_bp), PT_INT(t->points_multiplier_bp),
	              PT_INT(t->updated_at),  PT_INT(t->id)};
	return pt_db_exec(
	    db,
	    "UPDATE tiers SET name = $1, rank = $2, threshold = $3, basis = $4, "
	    "discount_bp = $5, points_multiplier_bp = $6, updated_at = $7 WHERE id = $8",
	    p, 8, NULL, err);
}

int pt_repo_tier_delete(pt_db *db, int64_t id, pt_err *err)
{
	pt_val p = PT_INT(id);
	return pt_db_exec(db, "DELETE FROM tiers WHERE id = $1", &p, 1, NULL, err);
}

int pt_repo_tier_get(pt_db *db, pt_arena *a, int64_t id, pt_tier *out, bool *found, pt_err *err)
{
	pt_val p = PT_INT(id);
	pt_rows r;
	if (pt_db_query(db, a, "SELECT " TIER_COLS " FROM tiers WHERE id = $1", &p, 1, &r, err) !=
	    0)
		return -1;
	*found = r.nrows > 0;
	if (*found)
		tier_from(&r, 0, out);
	return 0;
}

int pt_repo_tier_all(pt_db *db, pt_arena *a, pt_tier **out, int *n, pt_err *err)
{
	pt_rows r;
	if (pt_db_query(db, a, "SELECT " TIER_COLS " FROM tiers ORDER BY rank", NULL, 0, &r, err) !=
	    0)
		return -1;
	*out = pt_arena_alloc(a, sizeof(pt_tier) * (size_t)(r.nrows + 1));
	if (!*out)
		return pt_err_oom(err);
	for (int i = 0; i < r.nrows; i++)
		tier_from(&r, i, &(*out)[i]);
	*n = r.nrows;
	return 0;
}

int pt_repo_tier_members(pt_db *db, pt_arena *a, int64_t tier_id, int64_t *count, pt_err *err)
{
	pt_val p = PT_INT(tier_id);
	pt_rows r;
	if (pt_db_query(db, a, "SELECT COUNT(*) FROM members WHERE tier_id = $1", &p, 1, &r, err) !=
	    0)
		return -1;
	*count = pt_rows_int(&r, 0, 0);
	return 0;
}

int pt_repo_member_set_tier(pt_db *db, int64_t member_id, int64_t tier_id, pt_err *err)
{
	pt_val p[] = {tier_id ? PT_INT(tier_id) : PT_NULLV, PT_INT(member_id)};
	return pt_db_exec(db, "UPDATE members SET tier_id = $1 WHERE id = $2", p, 2, NULL, err);
}

int pt_repo_tier_history_insert(pt_db *db, int64_t member_id, int64_t from, int64_t to,
                                const char *reason, int64_t now, pt_err *err)
{
	pt_val p[] = {PT_INT(member_id), from ? PT_INT(from) : PT_NULLV, to ? PT_INT(to) : PT_NULLV,
	              PT_TEXT(reason), PT_INT(now)};
	return pt_db_exec(db,
	                  "INSERT INTO member_tier_history (member_id, from_tier_id, to_tier_id, "
	                  "reason, created_at) VALUES ($1, $2, $3, $4, $5)",
	                  p, 5, NULL, err);
}

int pt_repo_tier_history(pt_db *db, pt_arena *a, int64_t member_id, int64_t after_id, int limit,
                         pt_tier_change **out, int *n, pt_err *err)
{
	pt_val p[] = {PT_INT(member_id), PT_INT(after_id), PT_INT(limit)};
	pt_rows r;
	if (pt_db_query(db, a,
	                "SELECT id, from_tier_id, to_tier_id, reason, created_at FROM "
	                "member_tier_history WHERE member_id = $1 AND id > $2 ORDER BY id LIMIT $3",
	                p, 3, &r, err) != 0)
		return -1;
	*out = pt_arena_alloc(a, sizeof(pt_tier_change) * (size_t)(r.nrows + 1));
	if (!*out)
		return pt_err_oom(err);
	for (int i = 0; i < r.nrows; i++)
		(*out)[i] = (pt_tier_change){.id = pt_rows_int(&r, i, 0),
		                             .from_tier_id = pt_rows_int(&r, i, 1),
		                             .to_tier_id = pt_rows_int(&r, i, 2),
		                             .reason = pt_rows_get(&r, i, 3),
		                             .created_at = pt_rows_int(&r, i, 4)};
	*n = r.nrows;
	return 0;
}

int pt_repo_spend_add(pt_db *db, int64_t member_id, const char *day, int64_t amount, pt_err *err)
{
	pt_val p[] = {PT_INT(member_id), PT_TEXT(day), PT_INT(amount)};
	if (pt_db_exec(db,
	               "INSERT INTO member_spend_days (member_id, day, amount) VALUES ($1, $2, $3) "
	               "ON CONFLICT (member_id, day) DO UPDATE SET amount = "
	               "member_spend_days.amount + excluded.amount",
	               p, 3, NULL, err) != 0)
		return -1;
	pt_val q[] = {PT_INT(amount), PT_INT(member_id)};
	return pt_db_exec(db, "UPDATE members SET total_spend = total_spend + $1 WHERE id = $2", q,
	                  2, NULL, err);
}

int pt_repo_spend_since(pt_db *db, pt_arena *a, int64_t member_id, const char *from_day,
                        int64_t *sum, pt_err *err)
{
	pt_val p[] = {PT_INT(member_id), PT_TEXT(from_day)};
	pt_rows r;
	if (pt_db_query(
	        db, a,
	        "SELECT COALESCE(SUM(amount), 0) FROM member_spend_days WHERE member_id = $1 "
	        "AND day >= $2",
	        p, 2, &r, err) != 0)
		return -1;
	*sum = pt_rows_int(&r, 0, 0);
	return 0;
}

int pt_repo_member_tier_page(pt_db *db, pt_arena *a, int64_t after_id, int limit,
                             pt_member_tier_row **out, int *n, pt_err *err)
{
	pt_val p[] = {PT_INT(after_id), PT_INT(limit)};
	pt_rows r;
	if (pt_db_query(db, a,
	                "SELECT id, tier_id, total_spend FROM members WHERE id > $1 AND erased_at "
	                "IS NULL ORDER BY id LIMIT $2",
	                p, 2, &r, err) != 0)
		return -1;
	*out = pt_arena_alloc(a, sizeof(**out) * (size_t)(r.nrows + 1));
	if (!*out)
		return pt_err_oom(err);
	for (int i = 0; i < r.nrows; i++)
		(*out)[i] = (pt_member_tier_row){.id = pt_rows_int(&r, i, 0),
		                                 .tier_id = pt_rows_int(&r, i, 1),
		                                 .total_spend = pt_rows_int(&r, i, 2)};
	*n = r.nrows;
	return 0;
}

int pt_repo_tier_assign_all(pt_db *db, int64_t tier_id, int64_t now, pt_err *err)
{
	pt_val p[] = {PT_INT(tier_id), PT_INT(now)};
	if (pt_db_exec(
	        db,
	        "INSERT INTO member_tier_history (member_id, from_tier_id, to_tier_id, reason, "
	        "created_at) SELECT id, NULL, $1, 'register', $2 FROM members "
	        "WHERE tier_id IS NULL AND erased_at IS NULL",
	        p, 2, NULL, err) != 0)
		return -1;
	return pt_db_exec(
	    db, "UPDATE members SET tier_id = $1 WHERE tier_id IS NULL AND erased_at IS NULL", p, 1,
	    NULL, err);
}
