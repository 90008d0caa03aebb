#ifndef PT_REPO_ORDERS_H
#define PT_REPO_ORDERS_H

#include "store/repo.h"

typedef struct {
	int64_t id, store_id, member_id, staff_id, api_key_id;
	int64_t gross, total, cash_due, points_redeemed, points_value, points_earned, coupon_id;
	int64_t cash_refunded, points_clawed_back, created_at;
	const char *priced, *note;
} pt_order;

typedef struct {
	int64_t id, order_id, line_no, product_id, qty, unit_price, net, cash, points_value,
	    points_redeemed, refunded_qty;
	const char *sku, *name;
} pt_order_line;

typedef struct {
	int64_t id, order_id, member_id, cash, points_returned, points_clawback, created_at;
	const char *detail; /* the refund's answer as JSON text */
} pt_refund_row;

int pt_repo_order_insert(pt_db *db, pt_arena *a, const pt_order *o, int64_t *id, pt_err *err);
int pt_repo_order_set_priced(pt_db *db, int64_t id, const char *priced, pt_err *err);
int pt_repo_order_line_insert(pt_db *db, const pt_order_line *l, pt_err *err);
/* lock: hold the order's row for the rest of the transaction (refunds). */
int pt_repo_order_get(pt_db *db, pt_arena *a, int64_t id, bool lock, pt_order *out, bool *found,
                      pt_err *err);
int pt_repo_order_lines(pt_db *db, pt_arena *a, int64_t order_id, pt_order_line **out, int *n,
                        pt_err *err);
int pt_repo_order_line_refunded(pt_db *db, int64_t line_id, int64_t units, pt_err *err);
int pt_repo_order_refunded(pt_db *db, int64_t order_id, int64_t cash, int64_t clawback,
                           pt_err *err);
int pt_repo_member_order_count(pt_db *db, pt_arena *a, int64_t member_id, int64_t *count,
                               pt_err *err);

typedef struct {
	int64_t member_id, store_id, from, to; /* 0: any */
	int64_t after_id;
	int limit;
} pt_order_filter;

int pt_repo_order_list(pt_db *db, pt_arena *a, const pt_order_filter *f, pt_order **out, int *n,
                       pt_err *err);

int pt_repo_refund_insert(pt_db *db, pt_arena *a, const pt_refund_row *r, int64_t *id, pt_err *err);
int pt_repo_refund_set_detail(pt_db *db, int64_t id, const char *detail, pt_err *err);
int pt_repo_refunds_of(pt_db *db, pt_arena *a, int64_t order_id, pt_refund_row **out, int *n,
                       pt_err *err);

/* The lots a transfer's entries took points from (negative moves) or gave back (positive),
 * summed per lot, soonest-expiring first. */
typedef struct {
	int64_t lot_id, points;
	const char *expires_on;
} pt_lot_share;

/* What a checkout priced outside the write transaction checks it against before committing
 * (src/service/checkout.c): the pricing basis's generation (migration 005), and the member's
 * and the coupon's rows as they stood, as one text each ("" when there is no such row). */
int pt_repo_pricing_generation(pt_db *db, pt_arena *a, int64_t *generation, pt_err *err);
int pt_repo_member_fingerprint(pt_db *db, pt_arena *a, int64_t member_id, const char **out,
                               pt_err *err);
int pt_repo_coupon_fingerprint(pt_db *db, pt_arena *a, int64_t coupon_id, const char **out,
                               pt_err *err);
/* The member as a sale needs them (id, tier, points, total spend, referrer, the birthday
 * opened; nothing else is read), with the fingerprint of that row. */
int pt_repo_member_for_sale(pt_db *db, pt_arena *a, int64_t member_id, pt_member *out,
                            const char **fingerprint, bool *found, pt_err *err);

int pt_repo_order_lot_shares(pt_db *db, pt_arena *a, int64_t order_id, const char *kind,
                             pt_lot_share **out, int *n, pt_err *err);
/* The lots the order's earn postings formed that still hold points. */
int pt_repo_order_earned_lots(pt_db *db, pt_arena *a, int64_t order_id, int64_t **ids, int *n,
                              pt_err *err);

#endif
