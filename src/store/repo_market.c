#include "store/repo_market.h"

static pt_val opt(bool has, int64_t v)
{
	return has ? PT_INT(v) : PT_NULLV;
}

#define TEMPLATE_COLS                                                                              \
	"id, name, kind, value, min_spend, max_off, valid_days, valid_from, valid_until, "         \
	"store_ids, total_limit, per_member_limit, issued, created_at"

static void template_from(const pt_rows *r, int i, int col, pt_coupon_template *t)
{
	*t = (pt_coupon_template){.id = pt_rows_int(r, i, col + 0),
	                          .name = pt_rows_get(r, i, col + 1),
	                          .kind = pt_rows_get(r, i, col + 2),
	                          .value = pt_rows_int(r, i, col + 3),
	                          .min_spend = pt_rows_int(r, i, col + 4),
	                          .max_off = pt_rows_int(r, i, col + 5),
	                          .has_max_off = pt_rows_get(r, i, col + 5) != NULL,
	                          .valid_days = pt_rows_int(r, i, col + 6),
	                          .valid_from = pt_rows_int(r, i, col + 7),
	                          .valid_until = pt_rows_int(r, i, col + 8),
	                          .store_ids = pt_rows_get(r, i, col + 9),
	                          .total_limit = pt_rows_int(r, i, col + 10),
	                          .has_total_limit = pt_rows_get(r, i, col + 10) != NULL,
	                          .per_member_limit = pt_rows_int(r, i, col + 11),
	                          .has_per_member_limit = pt_rows_get(r, i, col + 11) != NULL,
	                          .issued = pt_rows_int(r, i, col + 12),
	                          .created_at = pt_rows_int(r, i, col + 13)};
}

int pt_repo_template_insert(pt_db *db, pt_arena *a, const pt_coupon_template *t, int64_t *id,
                            pt_err *err)
{
	pt_val v[] = {PT_TEXT(t->name),
	              PT_TEXT(t->kind),
	              PT_INT(t->value),
	              PT_INT(t->min_spend),
	              opt(t->has_max_off, t->max_off),
	              opt(t->valid_days > 0, t->valid_days),
	              opt(t->valid_days == 0, t->valid_from),
	              opt(t->valid_days == 0, t->valid_until),
	              PT_TEXT(t->store_ids),
	              opt(t->has_total_limit, t->total_limit),
	              opt(t->has_per_member_limit, t->per_member_limit),
	              PT_INT(t->created_at)};
	pt_rows r;
	if (pt_db_query(db, a,
	                "INSERT INTO coupon_templates (name, kind, value, min_spend, max_off, "
	                "valid_days, valid_from, valid_until, store_ids, total_limit, "
	                "per_member_limit, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
	                "$10, $11, $12) RETURNING id",
	                v, 12, &r, err) != 0)
		return -1;
	*id = pt_rows_int(&r, 0, 0);
	return 0;
}

int pt_repo_template_get(pt_db *db, pt_arena *a, int64_t id, bool lock, pt_coupon_template *out,
                         bool *found, pt_err *err)
{
	/* Issuing locks the template, so concurrent issues cannot pass its limits together. */
	const char *sql = lock && pt_db_kind_of(db) == PT_DB_POSTGRES
	                      ? "SELECT " TEMPLATE_COLS " FROM coupon_templates WHERE id = $1 "
	                        "FOR NO KEY UPDATE"
	                      : "SELECT " TEMPLATE_COLS " FROM coupon_templates WHERE id = $1";
	pt_val v = PT_INT(id);
	pt_rows r;
	if (pt_db_query(db, a, sql, &v, 1, &r, err) != 0)
		return -1;
	*found = r.nrows > 0;
	if (*found)
		template_from(&r, 0, 0, out);
	return 0;
}

int pt_repo_template_list(pt_db *db, pt_arena *a, int64_t after_id, int limit,
                          pt_coupon_template **out, int *n, pt_err *err)
{
	pt_val v[] = {PT_INT(after_id), PT_INT(limit)};
	pt_rows r;
	if (pt_db_query(db, a,
	                "SELECT " TEMPLATE_COLS " FROM coupon_templates WHERE id > $1 ORDER BY id "
	                "LIMIT $2",
	                v, 2, &r, err) != 0)
		return -1;
	*out = pt_arena_alloc(a, sizeof(**out) * (size_t)(r.nrows + 1));
	if (!*out)
		return pt_err_oom(err);
	for (int i = 0; i < r.nrows; i++)
		template_from(&r, i, 0, &(*out)[i]);
	*n = r.nrows;
	return 0;
}

int pt_repo_template_add_issued(pt_db *db, int64_t id, int64_t count, pt_err *err)
{
	pt_val v[] = {PT_INT(count), PT_INT(id)};
	return pt_db_exec(db, "UPDATE coupon_templates SET issued = issued + $1 WHERE id = $2", v,
	                  2, NULL, err);
}

int pt_repo_coupon_insert(pt_db *db, pt_arena *a, const pt_coupon *c, int64_t *id, pt_err *err)
{
	pt_val v[] = {PT_TEXT(c->code),      PT_INT(c->template_id), PT_INT(c->member_id),
	              PT_INT(c->valid_from), PT_INT(c->valid_until), PT_INT(c->created_at)};
	pt_rows r;
	if (pt_db_query(db, a,
	                "INSERT INTO coupons (code, template_id, member_id, status, valid_from, "
	                "valid_until, created_at) VALUES ($1, $2, $3, 'active', $4, $5, $6) "
	                "RETURNING id",
	                v, 6, &r, err) != 0)
		return -1;
	*id = pt_rows_int(&r, 0, 0);
	return 0;
}

int pt_repo_coupon_count(pt_db *db, pt_arena *a, int64_t template_id, int64_t member_id,
                         int64_t *count, pt_err *err)
{
	pt_val v[] = {PT_INT(template_id), PT_INT(member_id)};
	pt_rows r;
	if (pt_db_query(db, a,
	                "SELECT COUNT(*) FROM coupons WHERE template_id = $1 AND member_id = $2", v,
	                2, &r, err) != 0)
		return -1;
	*count = pt_rows_int(&r, 0, 0);
	return 0;
}

#define COUPON_SQL                                                                                 \
	"SELECT c.id, c.code, c.template_id, c.member_id, c.status, c.valid_from, c.valid_until, " \
	"c.order_id, c.used_at, c.created_at, t.id, t.name, t.kind, t.value, t.min_spend, "        \
	"t.max_off, t.valid_days, t.valid_from, t.valid_until, t.store_ids, t.total_limit, "       \
	"t.per_member_limit, t.issued, t.created_at FROM coupons c JOIN coupon_templates t ON "    \
	"t.id = c.template_id "

static void coupon_from(const pt_rows *r, int i, pt_coupon *c)
{
	*c = (pt_coupon){.id = pt_rows_int(r, i, 0),
	                 .code = pt_rows_get(r, i, 1),
	                 .template_id = pt_rows_int(r, i, 2),
	                 .member_id = pt_rows_int(r, i, 3),
	                 .status = pt_rows_get(r, i, 4),
	                 .valid_from = pt_rows_int(r, i, 5),
	                 .valid_until = pt_rows_int(r, i, 6),
	                 .order_id = pt_rows_int(r, i, 7),
	                 .used_at = pt_rows_int(r, i, 8),
	                 .created_at = pt_rows_int(r, i, 9)};
	template_from(r, i, 10, &c->t);
}

int pt_repo_coupon_find(pt_db *db, pt_arena *a, const char *by, const char *code, int64_t id,
                        pt_coupon *out, bool *found, pt_err *err)
{
	bool by_code = by[0] == 'c';
	pt_val v = by_code ? PT_TEXT(code) : PT_INT(id);
	pt_rows r;
	if (pt_db_query(db, a,
	                by_code ? COUPON_SQL "WHERE c.code = $1" : COUPON_SQL "WHERE c.id = $1", &v,
	                1, &r, err) != 0)
		return -1;
	*found = r.nrows > 0;
	if (*found)
		coupon_from(&r, 0, out);
	return 0;
}

int pt_repo_member_coupons(pt_db *db, pt_arena *a, int64_t member_id, int64_t after_id, int limit,
                           pt_coupon **out, int *n, pt_err *err)
{
	pt_val v[] = {PT_INT(member_id), PT_INT(after_id), PT_INT(limit)};
	pt_rows r;
	if (pt_db_query(db, a,
	                COUPON_SQL "WHERE c.member_id = $1 AND c.id > $2 ORDER BY c.id LIMIT $3", v,
	                3, &r, err) != 0)
		return -1;
	*out = pt_arena_alloc(a, sizeof(**out) * (size_t)(r.nrows + 1));
	if (!*out)
		return pt_err_oom(err);
	for (int i = 0; i < r.nrows; i++)
		coupon_from(&r, i, &(*out)[i]);
	*n = r.nrows;
	return 0;
}

int pt_repo_coupon_use(pt_db *db, int64_t id, int64_t order_id, int64_t now, bool *ok, pt_err *err)
{
	pt_val v[] = {PT_INT(order_id), PT_INT(now), PT_INT(id)};
	int64_t changes = 0;
	if (pt_db_exec(
	        db,
	        "UPDATE coupons SET status = 'used', order_id = $1, used_at = $2 WHERE id = $3 "
	        "AND status = 'active'",
	        v, 3, &changes, err) != 0)
		return -1;
	*ok = changes > 0;
	return 0;
}

int pt_repo_coupon_void(pt_db *db, int64_t id, bool *ok, pt_err *err)
{
	pt_val v = PT_INT(id);
	int64_t changes = 0;
	if (pt_db_exec(db, "UPDATE coupons SET status = 'void' WHERE id = $1 AND status = 'active'",
	               &v, 1, &changes, err) != 0)
		return -1;
	*ok = changes > 0;
	return 0;
}

int pt_repo_coupon_restore(pt_db *db, int64_t id, pt_err *err)
{
	pt_val v = PT_INT(id);
	return pt_db_exec(db,
	                  "UPDATE coupons SET status = 'active', order_id = NULL, used_at = NULL "
	                  "WHERE id = $1",
	                  &v, 1, NULL, err);
}

#define PROMO_COLS                                                                                 \
	"id, name, kind, levels, repeat, max_off, multiplier_bp, starts_at, ends_at, store_ids, "  \
	"tier_ids, created_at, updated_at"

static void promo_from(const pt_rows *r, int i, pt_promotion *p)
{
	*p = (pt_promotion){.id = pt_rows_int(r, i, 0),
	                    .name = pt_rows_get(r, i, 1),
	                    .kind = pt_rows_get(r, i, 2),
	                    .levels = pt_rows_get(r, i, 3),
	                    .repeat = pt_rows_int(r, i, 4) != 0,
	                    .max_off = pt_rows_int(r, i, 5),
	                    .has_max_off = pt_rows_get(r, i, 5) != NULL,
	                    .multiplier_bp = pt_rows_int(r, i, 6),
	                    .starts_at = pt_rows_int(r, i, 7),
	                    .ends_at = pt_rows_int(r, i, 8),
	                    .store_ids = pt_rows_get(r, i, 9),
	                    .tier_ids = pt_rows_get(r, i, 10),
	                    .created_at = pt_rows_int(r, i, 11),
	                    .updated_at = pt_rows_int(r, i, 12)};
}

int pt_repo_promotion_insert(pt_db *db, pt_arena *a, const pt_promotion *p, int64_t *id,
                             pt_err *err)
{
	pt_val v[] = {PT_TEXT(p->name),
	              PT_TEXT(p->kind),
	              PT_TEXT(p->levels),
	              PT_INT(p->repeat),
	              opt(p->has_max_off, p->max_off),
	              PT_INT(p->multiplier_bp),
	              PT_INT(p->starts_at),
	              PT_INT(p->ends_at),
	              PT_TEXT(p->store_ids),
	              PT_TEXT(p->tier_ids),
	              PT_INT(p->created_at)};
	pt_rows r;
	if (pt_db_query(
	        db, a,
	        "INSERT INTO promotions (name, kind, levels, repeat, max_off, multiplier_bp, "
	        "starts_at, ends_at, store_ids, tier_ids, created_at, updated_at) VALUES "
	        "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id",
	        v, 11, &r, err) != 0)
		return -1;
	*id = pt_rows_int(&r, 0, 0);
	return 0;
}

int pt_repo_promotion_update(pt_db *db, const pt_promotion *p, pt_err *err)
{
	pt_val v[] = {PT_TEXT(p->name),
	              PT_TEXT(p->levels),
	              PT_INT(p->repeat),
	              opt(p->has_max_off, p->max_off),
	              PT_INT(p->multiplier_bp),
	              PT_INT(p->starts_at),
	              PT_INT(p->ends_at),
	              PT_TEXT(p->store_ids),
	              PT_TEXT(p->tier_ids),
	              PT_INT(p->updated_at),
	              PT_INT(p->id)};
	return pt_db_exec(
	    db,
	    "UPDATE promotions SET name = $1, levels = $2, repeat = $3, max_off = $4, "
	    "multiplier_bp = $5, starts_at = $6, ends_at = $7, store_ids = $8, "
	    "tier_ids = $9, updated_at = $10 WHERE id = $11",
	    v, 11, NULL, err);
}

int pt_repo_promotion_get(pt_db *db, pt_arena *a, int64_t id, pt_promotion *out, bool *found,
                          pt_err *err)
{
	pt_val v = PT_INT(id);
	pt_rows r;
	if (pt_db_query(db, a, "SELECT " PROMO_COLS " FROM promotions WHERE id = $1", &v, 1, &r,
	                err) != 0)
		return -1;
	*found = r.nrows > 0;
	if (*found)
		promo_from(&r, 0, out);
	return 0;
}

int pt_repo_promotion_list(pt_db *db, pt_arena *a, int64_t at, int64_t after_id, int limit,
                           pt_promotion **out, int *n, pt_err *err)
{
	pt_val v[] = {PT_INT(at), PT_INT(after_id), PT_INT(limit)};
	pt_rows r;
	if (pt_db_query(db, a,
	                "SELECT " PROMO_COLS
	                " FROM promotions WHERE (CAST($1 AS BIGINT) = 0 OR (starts_at <= $1 AND "
	                "ends_at > $1)) AND id > $2 ORDER BY id LIMIT $3",
	                v, 3, &r, err) != 0)
		return -1;
	*out = pt_arena_alloc(a, sizeof(**out) * (size_t)(r.nrows + 1));
	if (!*out)
		return pt_err_oom(err);
	for (int i = 0; i < r.nrows; i++)
		promo_from(&r, i, &(*out)[i]);
	*n = r.nrows;
	return 0;
}
