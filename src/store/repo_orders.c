#include "store/repo_orders.h"

#include <stdio.h>
#include <string.h>

static pt_val opt_id(int64_t id)
{
	return id ? PT_INT(id) : PT_NULLV;
}

int pt_repo_order_insert(pt_db *db, pt_arena *a, const pt_order *o, int64_t *id, pt_err *err)
{
	pt_val v[] = {PT_INT(o->store_id),      opt_id(o->member_id),       opt_id(o->staff_id),
	              opt_id(o->api_key_id),    PT_INT(o->gross),           PT_INT(o->total),
	              PT_INT(o->cash_due),      PT_INT(o->points_redeemed), PT_INT(o->points_value),
	              PT_INT(o->points_earned), opt_id(o->coupon_id),       PT_TEXT(o->note),
	              PT_INT(o->created_at)};
	pt_rows r;
	if (pt_db_query(
	        db, a,
	        "INSERT INTO orders (store_id, member_id, staff_id, api_key_id, gross, total, "
	        "cash_due, points_redeemed, points_value, points_earned, coupon_id, priced, "
	        "note, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, '', "
	        "$12, $13) RETURNING id",
	        v, 13, &r, err) != 0)
		return -1;
	*id = pt_rows_int(&r, 0, 0);
	return 0;
}

int pt_repo_order_set_priced(pt_db *db, int64_t id, const char *priced, pt_err *err)
{
	pt_val v[] = {PT_TEXT(priced), PT_INT(id)};
	return pt_db_exec(db, "UPDATE orders SET priced = $1 WHERE id = $2", v, 2, NULL, err);
}

int pt_repo_order_line_insert(pt_db *db, const pt_order_line *l, pt_err *err)
{
	pt_val v[] = {PT_INT(l->order_id),       PT_INT(l->line_no),
	              opt_id(l->product_id),     PT_TEXT(l->sku),
	              PT_TEXT(l->name),          PT_INT(l->qty),
	              PT_INT(l->unit_price),     PT_INT(l->net),
	              PT_INT(l->cash),           PT_INT(l->points_value),
	              PT_INT(l->points_redeemed)};
	return pt_db_exec(
	    db,
	    "INSERT INTO order_lines (order_id, line_no, product_id, sku, name, qty, "
	    "unit_price, net, cash, points_value, points_redeemed) VALUES ($1, $2, $3, "
	    "$4, $5, $6, $7, $8, $9, $10, $11)",
	    v, 11, NULL, err);
}

#define ORDER_COLS                                                                                 \
	"id, store_id, member_id, staff_id, api_key_id, gross, total, cash_due, points_redeemed, " \
	"points_value, points_earned, coupon_id, cash_refunded, points_clawed_back, priced, "      \
	"note, "                                                                                   \
	"created_at"

static void order_from(const pt_rows *r, int i, pt_order *o)
{
	*o = (pt_order){.id = pt_rows_int(r, i, 0),
	                .store_id = pt_rows_int(r, i, 1),
	                .member_id = pt_rows_int(r, i, 2),
	                .staff_id = pt_rows_int(r, i, 3),
	                .api_key_id = pt_rows_int(r, i, 4),
	                .gross = pt_rows_int(r, i, 5),
	                .total = pt_rows_int(r, i, 6),
	                .cash_due = pt_rows_int(r, i, 7),
	                .points_redeemed = pt_rows_int(r, i, 8),
	                .points_value = pt_rows_int(r, i, 9),
	                .points_earned = pt_rows_int(r, i, 10),
	                .coupon_id = pt_rows_int(r, i, 11),
	                .cash_refunded = pt_rows_int(r, i, 12),
	                .points_clawed_back = pt_rows_int(r, i, 13),
	                .priced = pt_rows_get(r, i, 14),
	                .note = pt_rows_get(r, i, 15),
	                .created_at = pt_rows_int(r, i, 16)};
}

int pt_repo_order_get(pt_db *db, pt_arena *a, int64_t id, bool lock, pt_order *out, bool *found,
                      pt_err *err)
{
	const char *sql = lock && pt_db_kind_of(db) == PT_DB_POSTGRES
	                      ? "SELECT " ORDER_COLS " FROM orders WHERE id = $1 FOR NO KEY UPDATE"
	                      : "SELECT " ORDER_COLS " FROM orders WHERE id = $1";
	pt_val v = PT_INT(id);
	pt_rows r;
	if (pt_db_query(db, a, sql, &v, 1, &r, err) != 0)
		return -1;
	*found = r.nrows > 0;
	if (*found)
		order_from(&r, 0, out);
	return 0;
}

int pt_repo_order_lines(pt_db *db, pt_arena *a, int64_t order_id, pt_order_line **out, int *n,
                        pt_err *err)
{
	pt_val v = PT_INT(order_id);
	pt_rows r;
	if (pt_db_query(
	        db, a,
	        "SELECT id, order_id, line_no, product_id, sku, name, qty, unit_price, net, "
	        "cash, points_value, points_redeemed, refunded_qty FROM order_lines WHERE "
	        "order_id = $1 ORDER BY line_no",
	        &v, 1, &r, err) != 0)
		return -1;
	*out = pt_arena_alloc(a, sizeof(**out) * (size_t)(r.nrows + 1));
	if (!*out)
		return pt_err_oom(err);
	for (int i = 0; i < r.nrows; i++)
		(*out)[i] = (pt_order_line){.id = pt_rows_int(&r, i, 0),
		                            .order_id = pt_rows_int(&r, i, 1),
		                            .line_no = pt_rows_int(&r, i, 2),
		                            .product_id = pt_rows_int(&r, i, 3),
		                            .sku = pt_rows_get(&r, i, 4),
		                            .name = pt_rows_get(&r, i, 5),
		                            .qty = pt_rows_int(&r, i, 6),
		                            .unit_price = pt_rows_int(&r, i, 7),
		                            .net = pt_rows_int(&r, i, 8),
		                            .cash = pt_rows_int(&r, i, 9),
		                            .points_value = pt_rows_int(&r, i, 10),
		                            .points_redeemed = pt_rows_int(&r, i, 11),
		                            .refunded_qty = pt_rows_int(&r, i, 12)};
	*n = r.nrows;
	return 0;
}

int pt_repo_order_line_refunded(pt_db *db, int64_t line_id, int64_t units, pt_err *err)
{
	pt_val v[] = {PT_INT(units), PT_INT(line_id)};
	return pt_db_exec(db,
	                  "UPDATE order_lines SET refunded_qty = refunded_qty + $1 WHERE id = $2",
	                  v, 2, NULL, err);
}

int pt_repo_order_refunded(pt_db *db, int64_t order_id, int64_t cash, int64_t clawback, pt_err *err)
{
	pt_val v[] = {PT_INT(cash), PT_INT(clawback), PT_INT(order_id)};
	return pt_db_exec(
	    db,
	    "UPDATE orders SET cash_refunded = cash_refunded + $1, points_clawed_back = "
	    "points_clawed_back + $2 WHERE id = $3",
	    v, 3, NULL, err);
}

int pt_repo_member_order_count(pt_db *db, pt_arena *a, int64_t member_id, int64_t *count,
                               pt_err *err)
{
	pt_val v = PT_INT(member_id);
	pt_rows r;
	if (pt_db_query(db, a, "SELECT COUNT(*) FROM orders WHERE member_id = $1", &v, 1, &r, err))
		return -1;
	*count = pt_rows_int(&r, 0, 0);
	return 0;
}

int pt_repo_order_list(pt_db *db, pt_arena *a, const pt_order_filter *f, pt_order **out, int *n,
                       pt_err *err)
{
	pt_val v[] = {PT_INT(f->member_id), PT_INT(f->store_id), PT_INT(f->from),
	              PT_INT(f->to),        PT_INT(f->after_id), PT_INT(f->limit)};
	pt_rows r;
	if (pt_db_query(db, a,
	                "SELECT " ORDER_COLS
	                " FROM orders WHERE (CAST($1 AS BIGINT) = 0 OR member_id = $1) AND "
	                "(CAST($2 AS BIGINT) = 0 OR store_id = $2) AND (CAST($3 AS BIGINT) = 0 OR "
	                "created_at >= $3) AND (CAST($4 AS BIGINT) = 0 OR "
	                "created_at < $4) AND id > $5 ORDER BY id LIMIT $6",
	                v, 6, &r, err) != 0)
		return -1;
	*out = pt_arena_alloc(a, sizeof(**out) * (size_t)(r.nrows + 1));
	if (!*out)
		return pt_err_oom(err);
	for (int i = 0; i < r.nrows; i++)
		order_from(&r, i, &(*out)[i]);
	*n = r.nrows;
	return 0;
}

int pt_repo_refund_insert(pt_db *db, pt_arena *a, const pt_refund_row *x, int64_t *id, pt_err *err)
{
	pt_val v[] = {
	    PT_INT(x->order_id),        opt_id(x->member_id),       PT_INT(x->cash),
	    PT_INT(x->points_returned), PT_INT(x->points_clawback), PT_INT(x->created_at)};
	pt_rows r;
	if (pt_db_query(db, a,
	                "INSERT INTO refunds (order_id, member_id, cash, points_returned, "
	                "points_clawback, detail, created_at) VALUES ($1, $2, $3, $4, $5, '', $6) "
	                "RETURNING id",
	                v, 6, &r, err) != 0)
		return -1;
	*id = pt_rows_int(&r, 0, 0);
	return 0;
}

int pt_repo_refund_set_detail(pt_db *db, int64_t id, const char *detail, pt_err *err)
{
	pt_val v[] = {PT_TEXT(detail), PT_INT(id)};
	return pt_db_exec(db, "UPDATE refunds SET detail = $1 WHERE id = $2", v, 2, NULL, err);
}

int pt_repo_refunds_of(pt_db *db, pt_arena *a, int64_t order_id, pt_refund_row **out, int *n,
                       pt_err *err)
{
	pt_val v = PT_INT(order_id);
	pt_rows r;
	if (pt_db_query(db, a,
	                "SELECT id, order_id, member_id, cash, points_returned, points_clawback, "
	                "created_at, detail FROM refunds WHERE order_id = $1 ORDER BY id",
	                &v, 1, &r, err) != 0)
		return -1;
	*out = pt_arena_alloc(a, sizeof(**out) * (size_t)(r.nrows + 1));
	if (!*out)
		return pt_err_oom(err);
	for (int i = 0; i < r.nrows; i++)
		(*out)[i] = (pt_refund_row){.id = pt_rows_int(&r, i, 0),
		                            .order_id = pt_rows_int(&r, i, 1),
		                            .member_id = pt_rows_int(&r, i, 2),
		                            .cash = pt_rows_int(&r, i, 3),
		                            .points_returned = pt_rows_int(&r, i, 4),
		                            .points_clawback = pt_rows_int(&r, i, 5),
		                            .created_at = pt_rows_int(&r, i, 6),
		                            .detail = pt_rows_get(&r, i, 7)};
	*n = r.nrows;
	return 0;
}

int pt_repo_order_lot_shares(pt_db *db, pt_arena *a, int64_t order_id, const char *kind,
                             pt_lot_share **out, int *n, pt_err *err)
{
	pt_val v[] = {PT_INT(order_id), PT_TEXT(kind)};
	pt_rows r;
	if (pt_db_query(db, a,
	                "SELECT m.lot_id, SUM(m.points), MIN(l.expires_on), MIN(l.id) FROM "
	                "point_lot_moves m JOIN point_entries e ON e.id = m.entry_id JOIN "
	                "point_transfers t ON t.id = e.transfer_id JOIN point_lots l ON l.id = "
	                "m.lot_id WHERE t.order_id = $1 AND t.kind = $2 GROUP BY m.lot_id ORDER BY "
	                "CASE WHEN MIN(l.expires_on) IS NULL THEN 1 ELSE 0 END, MIN(l.expires_on), "
	                "MIN(l.id)",
	                v, 2, &r, err) != 0)
		return -1;
	*out = pt_arena_alloc(a, sizeof(**out) * (size_t)(r.nrows + 1));
	if (!*out)
		return pt_err_oom(err);
	for (int i = 0; i < r.nrows; i++)
		(*out)[i] = (pt_lot_share){.lot_id = pt_rows_int(&r, i, 0),
		                           .points = pt_rows_int(&r, i, 1),
		                           .expires_on = pt_rows_get(&r, i, 2)};
	*n = r.nrows;
	return 0;
}

int pt_repo_order_earned_lots(pt_db *db, pt_arena *a, int64_t order_id, int64_t **ids, int *n,
                              pt_err *err)
{
	pt_val v = PT_INT(order_id);
	pt_rows r;
	if (pt_db_query(
	        db, a,
	        "SELECT l.id FROM point_transfers t JOIN point_entries e ON e.transfer_id = "
	        "t.id JOIN point_lots l ON l.entry_id = e.id WHERE t.order_id = $1 AND "
	        "t.kind = 'earn' AND l.remaining > 0",
	        &v, 1, &r, err) != 0)
		return -1;
	return pt_rows_ids(a, &r, ids, n, err);
}

int pt_repo_pricing_generation(pt_db *db, pt_arena *a, int64_t *generation, pt_err *err)
{
	pt_rows r;
	if (pt_db_query(db, a, "SELECT generation FROM pricing_basis WHERE id = 1", NULL, 0, &r,
	                err) != 0)
		return -1;
	*generation = pt_rows_int(&r, 0, 0);
	return 0;
}

/* The first row's cells, each with its length, so that no two different rows read alike. */
static int row_text(pt_arena *a, const pt_rows *r, const char **out, pt_err *err)
{
	size_t n = 1;
	for (int c = 0; r->nrows && c < r->ncols; c++)
		n += 24 + (pt_rows_get(r, 0, c) ? strlen(pt_rows_get(r, 0, c)) : 0);
	char *text = pt_arena_alloc(a, n), *w = text;
	if (!text)
		return pt_err_oom(err);
	*w = '\0';
	for (int c = 0; r->nrows && c < r->ncols; c++) {
		const char *v = pt_rows_get(r, 0, c);
		w += v ? snprintf(w, n - (size_t)(w - text), "%zu:%s|", strlen(v), v)
		       : snprintf(w, n - (size_t)(w - text), "-|");
	}
	*out = text;
	return 0;
}

/* What a sale reads of its member, and what it checks has not changed: one list of columns. */
#define SALE_MEMBER_COLS "points, tier_id, total_spend, referrer_id, birthday, erased_at"

int pt_repo_member_fingerprint(pt_db *db, pt_arena *a, int64_t member_id, const char **out,
                               pt_err *err)
{
	pt_val v = PT_INT(member_id);
	pt_rows r;
	if (pt_db_query(db, a, "SELECT " SALE_MEMBER_COLS " FROM members WHERE id = $1", &v, 1, &r,
	                err) != 0)
		return -1;
	return row_text(a, &r, out, err);
}

int pt_repo_member_for_sale(pt_db *db, pt_arena *a, int64_t member_id, pt_member *out,
                            const char **fingerprint, bool *found, pt_err *err)
{
	pt_val v = PT_INT(member_id);
	pt_rows r;
	if (pt_db_query(db, a,
	                "SELECT " SALE_MEMBER_COLS
	                " FROM members WHERE id = $1 AND erased_at IS NULL",
	                &v, 1, &r, err) != 0)
		return -1;
	*found = r.nrows > 0;
	if (!*found)
		return 0;
	*out = (pt_member){.id = member_id,
	                   .points = pt_rows_int(&r, 0, 0),
	                   .tier_id = pt_rows_int(&r, 0, 1),
	                   .total_spend = pt_rows_int(&r, 0, 2),
	                   .referrer_id = pt_rows_int(&r, 0, 3),
	                   .birthday = pt_rows_get(&r, 0, 4)};
	return pt_repo_member_open(a, out, err) || row_text(a, &r, fingerprint, err);
}

int pt_repo_coupon_fingerprint(pt_db *db, pt_arena *a, int64_t coupon_id, const char **out,
                               pt_err *err)
{
	pt_val v = PT_INT(coupon_id);
	pt_rows r;
	if (pt_db_query(db, a,
	                "SELECT status, member_id, template_id, valid_from, valid_until, code "
	                "FROM coupons WHERE id = $1",
	                &v, 1, &r, err) != 0)
		return -1;
	return row_text(a, &r, out, err);
}
