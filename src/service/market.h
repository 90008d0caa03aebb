#ifndef PT_SERVICE_MARKET_H
#define PT_SERVICE_MARKET_H

/* Coupons and promotions. */

#include <jansson.h>

#include "service/service.h"
#include "store/repo_market.h"

int pt_svc_template_create(pt_ctx *ctx, const pt_coupon_template *in, pt_coupon_template *out,
                           pt_err *err);
int pt_svc_template_get(pt_ctx *ctx, int64_t id, pt_coupon_template *out, pt_err *err);
int pt_svc_template_list(pt_ctx *ctx, int64_t after_id, int limit, pt_coupon_template **out, int *n,
                         pt_err *err);
/* Issues one coupon to each member, all or none. */
int pt_svc_coupons_issue(pt_ctx *ctx, int64_t template_id, const int64_t *member_ids, int n,
                         pt_coupon **out, pt_err *err);
/* Normalises a typed code and finds the coupon; a mistyped code is invalid_argument. */
int pt_svc_coupon_get(pt_ctx *ctx, const char *typed, pt_coupon *out, pt_err *err);
/* Voids an unused coupon (a coupon issued by mistake): it can never be used after. Errors:
 * not_found (also a coupon beyond a store-limited caller's stores), conflict (used or void
 * already). */
int pt_svc_coupon_void(pt_ctx *ctx, const char *typed, pt_coupon *out, pt_err *err);
int pt_svc_member_coupons(pt_ctx *ctx, int64_t member_id, int64_t after_id, int limit,
                          pt_coupon **out, int *n, pt_err *err);

/* Why a coupon cannot be used now, or NULL when it can: "used", "void", "expired",
 * "not_yet_valid", "wrong_member", "wrong_store", "below_min_spend". base < 0 skips the
 * minimum-spend test. */
const char *pt_coupon_refusal(const pt_coupon *c, int64_t member_id, int64_t store_id, int64_t base,
                              int64_t now);
/* The refusal in words for a person, English and Chinese, as an error. */
int pt_coupon_refuse(const char *reason, const pt_coupon *c, pt_err *err);

int pt_svc_promotion_create(pt_ctx *ctx, const pt_promotion *in, pt_promotion *out, pt_err *err);
/* Stores a promotion the api layer merged and checked whole (out); current is the promotion
 * before the patch: a store or tier list the patch changes must name ones that exist. */
int pt_svc_promotion_patch(pt_ctx *ctx, int64_t id, const pt_promotion *current, pt_promotion *out,
                           pt_err *err);
int pt_svc_promotion_get(pt_ctx *ctx, int64_t id, pt_promotion *out, pt_err *err);
int pt_svc_promotion_list(pt_ctx *ctx, bool active_only, int64_t after_id, int limit,
                          pt_promotion **out, int *n, pt_err *err);

/* True when the JSON id list text is empty or holds id. */
bool pt_id_list_allows(const char *json_ids, int64_t id);

#endif
