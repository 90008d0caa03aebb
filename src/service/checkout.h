#ifndef PT_SERVICE_CHECKOUT_H
#define PT_SERVICE_CHECKOUT_H

#include <jansson.h>

#include "service/service.h"

typedef struct {
	const char *sku;  /* a product; or NULL for an open item */
	const char *name; /* open item */
	int64_t unit_price;
	int64_t qty;
} pt_checkout_item;

typedef struct {
	int64_t store_id, member_id;
	const pt_checkout_item *items;
	int nitems;
	const char *coupon_code;
	bool redeem;
	int64_t redeem_points;
	const char *note;
} pt_checkout_request;

/* Prices the basket as API.md says and answers the priced JSON; commit also writes the order,
 * its ledger entries, stock, coupon use and tier, all in one transaction, and adds order_id,
 * created_at and the member's points after. A commit's text (may be NULL) receives that JSON
 * as stored with the order, in the context's arena.
 *
 * prepared (may be NULL): the same basket priced beforehand by pt_svc_checkout_prepare; the
 * commit uses its price when nothing it rests on has changed since, and prices again when
 * anything has. */
typedef struct pt_checkout_prepared pt_checkout_prepared;
int pt_svc_checkout(pt_ctx *ctx, const pt_checkout_request *in, bool commit,
                    pt_checkout_prepared *prepared, json_t **out, const char **text, pt_err *err);

/* Prices a sale in a read transaction of the caller's own connection, before the sale's write
 * transaction: with SQLite's one writer, what only reads need not wait for its turn. *out is
 * NULL when there is nothing to prepare (PostgreSQL). The sale is priced at this moment. */
int pt_svc_checkout_prepare(pt_ctx *ctx, const pt_checkout_request *in, pt_checkout_prepared **out,
                            pt_err *err);

typedef struct {
	const char *sku; /* or NULL with line >= 0 */
	int line;
	int64_t qty;
} pt_refund_item;

/* items NULL: everything left. Answers the refund's JSON. */
int pt_svc_refund(pt_ctx *ctx, int64_t order_id, const pt_refund_item *items, int nitems,
                  json_t **out, pt_err *err);

/* The order as committed, with its refunds. */
int pt_svc_order_get(pt_ctx *ctx, int64_t id, json_t **out, pt_err *err);

typedef struct {
	int64_t member_id, store_id, from, to, after_id;
	int limit;
} pt_order_query;

int pt_svc_order_list(pt_ctx *ctx, const pt_order_query *q, json_t **items, int64_t *last_id,
                      pt_err *err);

#endif
