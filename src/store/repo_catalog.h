#ifndef PT_REPO_CATALOG_H
#define PT_REPO_CATALOG_H

/* Products and stock. */

#include "store/repo.h"

typedef struct {
	int64_t id, price, member_price, cost, points_multiplier_bp, created_at, updated_at;
	const char *sku, *name, *barcode, *category;
	bool has_member_price, has_cost, discountable;
} pt_product;

int pt_repo_product_insert(pt_db *db, pt_arena *a, const pt_product *p, int64_t *id, pt_err *err);
int pt_repo_product_update(pt_db *db, const pt_product *p, pt_err *err);
/* by: "sku", "barcode" or "id" (value in decimal). */
int pt_repo_product_find(pt_db *db, pt_arena *a, const char *by, const char *value, pt_product *out,
                         bool *found, pt_err *err);
/* q: exact SKU or barcode, or a name prefix; NULL for all. */
int pt_repo_product_search(pt_db *db, pt_arena *a, const char *q, const char *category,
                           int64_t after_id, int limit, pt_product **out, int *n, pt_err *err);

typedef struct {
	int64_t store_id, product_id, qty, low_threshold, updated_at;
	const char *sku, *name;
} pt_stock_row;

/* Adds delta to the store's stock of a product, never below zero: *ok false (and nothing
 * changed) when the stock would go negative. The new quantity comes back in *qty_after. */
int pt_repo_stock_change(pt_db *db, pt_arena *a, int64_t store_id, int64_t product_id,
                         int64_t delta, int64_t now, bool *ok, int64_t *qty_after, pt_err *err);
int pt_repo_stock_set_threshold(pt_db *db, int64_t store_id, int64_t product_id, int64_t threshold,
                                int64_t now, pt_err *err);
int pt_repo_stock_get(pt_db *db, pt_arena *a, int64_t store_id, int64_t product_id,
                      pt_stock_row *out, bool *found, pt_err *err);
/* store_id 0: every store; only_low: rows below their threshold. Paged by (store, product). */
int pt_repo_stock_list(pt_db *db, pt_arena *a, int64_t store_id, bool only_low, int64_t after_key,
                       int limit, pt_stock_row **out, int *n, pt_err *err);

typedef struct {
	int64_t id, store_id, product_id, qty, qty_after, order_id, refund_id, to_store_id;
	int64_t staff_id, api_key_id, created_at;
	const char *kind, *note;
} pt_stock_move;

int pt_repo_stock_move_insert(pt_db *db, pt_arena *a, const pt_stock_move *m, int64_t *id,
                              pt_err *err);

#endif
