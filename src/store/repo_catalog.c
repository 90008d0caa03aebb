#include "store/repo_catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRODUCT_COLS                                                                               \
	"id, sku, name, price, member_price, barcode, category, cost, points_multiplier_bp, "      \
	"discountable, created_at, updated_at"

static void product_from(const pt_rows *r, int i, pt_product *p)
{
	*p = (pt_product){.id = pt_rows_int(r, i, 0),
	                  .sku = pt_rows_get(r, i, 1),
	                  .name = pt_rows_get(r, i, 2),
	                  .price = pt_rows_int(r, i, 3),
	                  .member_price = pt_rows_int(r, i, 4),
	                  .has_member_price = pt_rows_get(r, i, 4) != NULL,
	                  .barcode = pt_rows_get(r, i, 5),
	                  .category = pt_rows_get(r, i, 6),
	                  .cost = pt_rows_int(r, i, 7),
	                  .has_cost = pt_rows_get(r, i, 7) != NULL,
	                  .points_multiplier_bp = pt_rows_int(r, i, 8),
	                  .discountable = pt_rows_int(r, i, 9) != 0,
	                  .created_at = pt_rows_int(r, i, 10),
	                  .updated_at = pt_rows_int(r, i, 11)};
}

int pt_repo_product_insert(pt_db *db, pt_arena *a, const pt_product *p, int64_t *id, pt_err *err)
{
	pt_val v[] = {PT_TEXT(p->sku),
	              PT_TEXT(p->name),
	              PT_INT(p->price),
	              p->has_member_price ? PT_INT(p->member_price) : PT_NULLV,
	              PT_TEXT(p->barcode),
	              PT_TEXT(p->category),
	              p->has_cost ? PT_INT(p->cost) : PT_NULLV,
	              PT_INT(p->points_multiplier_bp),
	              PT_INT(p->discountable),
	              PT_INT(p->created_at)};
	pt_rows r;
	if (pt_db_query(db, a,
	                "INSERT INTO products (sku, name, price, member_price, barcode, category, "
	                "cost, points_multiplier_bp, discountable, created_at, updated_at) VALUES "
	                "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
	                v, 10, &r, err) != 0)
		return -1;
	*id = pt_rows_int(&r, 0, 0);
	return 0;
}

int pt_repo_product_update(pt_db *db, const pt_product *p, pt_err *err)
{
	pt_val v[] = {PT_TEXT(p->sku),
	              PT_TEXT(p->name),
	              PT_INT(p->price),
	              p->has_member_price ? PT_INT(p->member_price) : PT_NULLV,
	              PT_TEXT(p->barcode),
	              PT_TEXT(p->category),
	              p->has_cost ? PT_INT(p->cost) : PT_NULLV,
	              PT_INT(p->points_multiplier_bp),
	              PT_INT(p->discountable),
	              PT_INT(p->updated_at),
	              PT_INT(p->id)};
	return pt_db_exec(db,
	                  "UPDATE products SET sku = $1, name = $2, price = $3, member_price = $4, "
	                  "barcode = $5, category = $6, cost = $7, points_multiplier_bp = $8, "
	                  "discountable = $9, updated_at = $10 WHERE id = $11",
	                  v, 11, NULL, err);
}

int pt_repo_product_find(pt_db *db, pt_arena *a, const char *by, const char *value, pt_product *out,
                         bool *found, pt_err *err)
{
	const char *sql = strcmp(by, "sku") == 0 ? "SELECT " PRODUCT_COLS
	                                           " FROM products WHERE sku = $1"
	                  : strcmp(by, "barcode") == 0
	                      ? "SELECT " PRODUCT_COLS " FROM products WHERE barcode = $1"
	                      : "SELECT " PRODUCT_COLS " FROM products WHERE id = $1";
	pt_val v = strcmp(by, "id") == 0 ? PT_INT(strtoll(value, NULL, 10)) : PT_TEXT(value);
	pt_rows r;
	if (pt_db_query(db, a, sql, &v, 1, &r, err) != 0)
		return -1;
	*found = r.nrows > 0;
	if (*found)
		product_from(&r, 0, out);
	return 0;
}

int pt_repo_product_search(pt_db *db, pt_arena *a, const char *q, const char *category,
                           int64_t after_id, int limit, pt_product **out, int *n, pt_err *err)
{
	char sql[768];
	pt_val v[5];
	int nv = 0;
	int len = snprintf(sql, sizeof(sql), "SELECT " PRODUCT_COLS " FROM products WHERE id > $1");
	v[nv++] = PT_INT(after_id);
	if (q) {
		size_t qn = strlen(q);
		char *pattern = pt_arena_alloc(a, qn * 2 + 2), *w = pattern;
		if (!pattern)
			return pt_err_oom(err);
		for (const char *s = q; *s; s++) {
			if (*s == '%' || *s == '_' || *s == '\\')
				*w++ = '\\';
			*w++ = *s;
		}
		*w++ = '%';
		v[nv++] = PT_TEXT(q);
		v[nv++] = PT_TEXT(pattern);
		len += snprintf(sql + len, sizeof(sql) - (size_t)len,
		                " AND (sku = $2 OR barcode = $2 OR name LIKE $3 ESCAPE '\\')");
	}
	if (category) {
		v[nv++] = PT_TEXT(category);
		len += snprintf(sql + len, sizeof(sql) - (size_t)len, " AND category = $%d", nv);
	}
	v[nv++] = PT_INT(limit);
	snprintf(sql + len, sizeof(sql) - (size_t)len, " ORDER BY id LIMIT $%d", nv);
	char *text = pt_arena_strdup(a, sql);
	pt_rows r;
	if (!text)
		return pt_err_oom(err);
	if (pt_db_query(db, a, text, v, nv, &r, err) != 0)
		return -1;
	*out = pt_arena_alloc(a, sizeof(pt_product) * (size_t)(r.nrows + 1));
	if (!*out)
		return pt_err_oom(err);
	for (int i = 0; i < r.nrows; i++)
		product_from(&r, i, &(*out)[i]);
	*n = r.nrows;
	return 0;
}

/* Conditional, never read-then-write: two sales of the last unit cannot both pass. The
 * quantity after is read back in the same transaction: SQLite's RETURNING builds and drops a
 * temporary table on every run, PostgreSQL's saves a round trip. */
static int stock_update(pt_db *db, pt_arena *a, int64_t store_id, int64_t product_id, int64_t delta,
                        int64_t now, bool *ok, int64_t *qty_after, pt_err *err)
{
	pt_val v[] = {PT_INT(delta), PT_INT(now), PT_INT(store_id), PT_INT(product_id)};
	pt_rows r;
	if (pt_db_kind_of(db) == PT_DB_POSTGRES) {
		if (pt_db_query(db, a,
		                "UPDATE stock SET qty = qty + $1, updated_at = $2 WHERE store_id = "
		                "$3 AND product_id = $4 AND qty + $1 >= 0 RETURNING qty",
		                v, 4, &r, err) != 0)
			return -1;
		*ok = r.nrows > 0;
		*qty_after = *ok ? pt_rows_int(&r, 0, 0) : 0;
		return 0;
	}
	int64_t changed = 0;
	if (pt_db_exec(db,
	               "UPDATE stock SET qty = qty + $1, updated_at = $2 WHERE store_id = $3 AND "
	               "product_id = $4 AND qty + $1 >= 0",
	               v, 4, &changed, err) != 0)
		return -1;
	*ok = changed > 0;
	*qty_after = 0;
	if (!*ok)
		return 0;
	if (pt_db_query(db, a, "SELECT qty FROM stock WHERE store_id = $1 AND product_id = $2",
	                v + 2, 2, &r, err) != 0)
		return -1;
	*qty_after = pt_rows_int(&r, 0, 0);
	return 0;
}

int pt_repo_stock_change(pt_db *db, pt_arena *a, int64_t store_id, int64_t product_id,
                         int64_t delta, int64_t now, bool *ok, int64_t *qty_after, pt_err *err)
{
	if (stock_update(db, a, store_id, product_id, delta, now, ok, qty_after, err) != 0)
		return -1;
	if (*ok)
		return 0;
	/* No row, or too little stock: the row appears at zero the first time a store holds
	 * the product, and the change is tried once more. */
	pt_val ins[] = {PT_INT(store_id), PT_INT(product_id), PT_INT(now)};
	int64_t created = 0;
	if (pt_db_exec(db,
	               "INSERT INTO stock (store_id, product_id, qty, low_threshold, updated_at) "
	               "VALUES ($1, $2, 0, 0, $3) ON CONFLICT (store_id, product_id) DO NOTHING",
	               ins, 3, &created, err) != 0)
		return -1;
	if (!created)
		return 0;
	return stock_update(db, a, store_id, product_id, delta, now, ok, qty_after, err);
}

int pt_repo_stock_set_threshold(pt_db *db, int64_t store_id, int64_t product_id, int64_t threshold,
                                int64_t now, pt_err *err)
{
	pt_val v[] = {PT_INT(store_id), PT_INT(product_id), PT_INT(threshold), PT_INT(now)};
	return pt_db_exec(
	    db,
	    "INSERT INTO stock (store_id, product_id, qty, low_threshold, updated_at) "
	    "VALUES ($1, $2, 0, $3, $4) ON CONFLICT (store_id, product_id) DO UPDATE SET "
	    "low_threshold = excluded.low_threshold, updated_at = excluded.updated_at",
	    v, 4, NULL, err);
}

#define STOCK_SQL                                                                                  \
	"SELECT s.store_id, s.product_id, s.qty, s.low_threshold, s.updated_at, p.sku, p.name "    \
	"FROM stock s JOIN products p ON p.id = s.product_id "

static void stock_from(const pt_rows *r, int i, pt_stock_row *s)
{
	*s = (pt_stock_row){.store_id = pt_rows_int(r, i, 0),
	                    .product_id = pt_rows_int(r, i, 1),
	                    .qty = pt_rows_int(r, i, 2),
	                    .low_threshold = pt_rows_int(r, i, 3),
	                    .updated_at = pt_rows_int(r, i, 4),
	                    .sku = pt_rows_get(r, i, 5),
	                    .name = pt_rows_get(r, i, 6)};
}

int pt_repo_stock_get(pt_db *db, pt_arena *a, int64_t store_id, int64_t product_id,
                      pt_stock_row *out, bool *found, pt_err *err)
{
	pt_val v[] = {PT_INT(store_id), PT_INT(product_id)};
	pt_rows r;
	if (pt_db_query(db, a, STOCK_SQL "WHERE s.store_id = $1 AND s.product_id = $2", v, 2, &r,
	                err) != 0)
		return -1;
	*found = r.nrows > 0;
	if (*found)
		stock_from(&r, 0, out);
	return 0;
}

/* Rows are paged by a single key: store_id * 2^32 + product_id. */
int pt_repo_stock_list(pt_db *db, pt_arena *a, int64_t store_id, bool only_low, int64_t after_key,
                       int limit, pt_stock_row **out, int *n, pt_err *err)
{
	pt_val v[] = {PT_INT(store_id), PT_INT(after_key), PT_INT(limit)};
	const char *sql =
	    only_low ? STOCK_SQL
	        "WHERE (CAST($1 AS BIGINT) = 0 OR s.store_id = $1) AND s.qty < s.low_threshold "
	        "AND s.store_id * 4294967296 + s.product_id > $2 "
	        "ORDER BY s.store_id, s.product_id LIMIT $3"
	             : STOCK_SQL "WHERE (CAST($1 AS BIGINT) = 0 OR s.store_id = $1) "
	                         "AND s.store_id * 4294967296 + s.product_id > $2 "
	                         "ORDER BY s.store_id, s.product_id LIMIT $3";
	pt_rows r;
	if (pt_db_query(db, a, sql, v, 3, &r, err) != 0)
		return -1;
	*out = pt_arena_alloc(a, sizeof(pt_stock_row) * (size_t)(r.nrows + 1));
	if (!*out)
		return pt_err_oom(err);
	for (int i = 0; i < r.nrows; i++)
		stock_from(&r, i, &(*out)[i]);
	*n = r.nrows;
	return 0;
}

int pt_repo_stock_move_insert(pt_db *db, pt_arena *a, const pt_stock_move *m, int64_t *id,
                              pt_err *err)
{
	pt_val v[] = {PT_INT(m->store_id),
	              PT_INT(m->product_id),
	              PT_TEXT(m->kind),
	              PT_INT(m->qty),
	              PT_INT(m->qty_after),
	              m->order_id ? PT_INT(m->order_id) : PT_NULLV,
	              m->refund_id ? PT_INT(m->refund_id) : PT_NULLV,
	              m->to_store_id ? PT_INT(m->to_store_id) : PT_NULLV,
	              PT_TEXT(m->note),
	              m->staff_id ? PT_INT(m->staff_id) : PT_NULLV,
	              m->api_key_id ? PT_INT(m->api_key_id) : PT_NULLV,
	              PT_INT(m->created_at)};
	pt_rows r;
	if (pt_db_query(db, a,
	                "INSERT INTO stock_movements (store_id, product_id, kind, qty, qty_after, "
	                "order_id, refund_id, to_store_id, note, staff_id, api_key_id, created_at) "
	                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
	                v, 12, &r, err) != 0)
		return -1;
	*id = pt_rows_int(&r, 0, 0);
	return 0;
}
