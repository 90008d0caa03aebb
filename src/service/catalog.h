#ifndef PT_SERVICE_CATALOG_H
#define PT_SERVICE_CATALOG_H

#include "service/service.h"
#include "store/repo_catalog.h"

typedef struct {
	bool set_sku, set_name, set_price, set_member_price, set_barcode, set_category, set_cost,
	    set_multiplier, set_discountable;
	pt_product p;
} pt_product_patch;

int pt_svc_product_create(pt_ctx *ctx, const pt_product_patch *in, pt_product *out, pt_err *err);
int pt_svc_product_patch(pt_ctx *ctx, const char *sku, const pt_product_patch *in, pt_product *out,
                         pt_err *err);
int pt_svc_product_get(pt_ctx *ctx, const char *sku, pt_product *out, pt_err *err);
int pt_svc_product_search(pt_ctx *ctx, const char *q, const char *category, int64_t after_id,
                          int limit, pt_product **out, int *n, pt_err *err);

typedef struct {
	int64_t store_id, to_store_id, qty;
	const char *sku, *kind, *note; /* kind: receive, adjust, transfer */
} pt_stock_request;

typedef struct {
	int64_t movement_id;
	pt_stock_row stock, to_stock; /* to_stock: the receiving store of a transfer */
} pt_stock_result;

int pt_svc_stock_move(pt_ctx *ctx, const pt_stock_request *in, pt_stock_result *out, pt_err *err);
int pt_svc_stock_threshold(pt_ctx *ctx, int64_t store_id, const char *sku, int64_t threshold,
                           pt_stock_row *out, pt_err *err);
int pt_svc_stock_list(pt_ctx *ctx, int64_t store_id, bool only_low, int64_t after_key, int limit,
                      pt_stock_row **out, int *n, pt_err *err);

/* For checkout and refunds: moves stock inside the caller's transaction, recording why.
 * An out_of_stock error names the SKU. */
int pt_svc_stock_apply(pt_ctx *ctx, int64_t store_id, const pt_product *p, int64_t delta,
                       const char *kind, int64_t order_id, int64_t refund_id, pt_err *err);

#endif
