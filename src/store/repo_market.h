#ifndef PT_REPO_MARKET_H
#define PT_REPO_MARKET_H

/* Coupons and promotions. */

#include "store/repo.h"

typedef struct {
	int64_t id, value, min_spend, max_off, valid_days, valid_from, valid_until;
	int64_t total_limit, per_member_limit, issued, created_at;
	bool has_max_off, has_total_limit, has_per_member_limit;
	const char *name, *kind, *store_ids; /* store_ids: JSON array text */
} pt_coupon_template;

typedef struct {
	int64_t id, template_id, member_id, valid_from, valid_until, order_id, used_at, created_at;
	const char *code, *status;
	pt_coupon_template t; /* filled by pt_repo_coupon_find */
} pt_coupon;

int pt_repo_template_insert(pt_db *db, pt_arena *a, const pt_coupon_template *t, int64_t *id,
                            pt_err *err);
int pt_repo_template_get(pt_db *db, pt_arena *a, int64_t id, bool lock, pt_coupon_template *out,
                         bool *found, pt_err *err);
int pt_repo_template_list(pt_db *db, pt_arena *a, int64_t after_id, int limit,
                          pt_coupon_template **out, int *n, pt_err *err);
int pt_repo_template_add_issued(pt_db *db, int64_t id, int64_t count, pt_err *err);
int pt_repo_coupon_insert(pt_db *db, pt_arena *a, const pt_coupon *c, int64_t *id, pt_err *err);
int pt_repo_coupon_count(pt_db *db, pt_arena *a, int64_t template_id, int64_t member_id,
                         int64_t *count, pt_err *err);
/* by: "code" or "id". */
int pt_repo_coupon_find(pt_db *db, pt_arena *a, const char *by, const char *code, int64_t id,
                        pt_coupon *out, bool *found, pt_err *err);
int pt_repo_member_coupons(pt_db *db, pt_arena *a, int64_t member_id, int64_t after_id, int limit,
                           pt_coupon **out, int *n, pt_err *err);
/* Marks an active coupon used; *ok false when it was not active any more. */
int pt_repo_coupon_use(pt_db *db, int64_t id, int64_t order_id, int64_t now, bool *ok, pt_err *err);
/* An active coupon becomes void; ok tells whether it was active. */
int pt_repo_coupon_void(pt_db *db, int64_t id, bool *ok, pt_err *err);
int pt_repo_coupon_restore(pt_db *db, int64_t id, pt_err *err);

typedef struct {
	int64_t id, max_off, multiplier_bp, starts_at, ends_at, created_at, updated_at;
	bool repeat, has_max_off;
	const char *name, *kind, *levels, *store_ids, *tier_ids; /* JSON texts */
} pt_promotion;

int pt_repo_promotion_insert(pt_db *db, pt_arena *a, const pt_promotion *p, int64_t *id,
                             pt_err *err);
int pt_repo_promotion_update(pt_db *db, const pt_promotion *p, pt_err *err);
int pt_repo_promotion_get(pt_db *db, pt_arena *a, int64_t id, pt_promotion *out, bool *found,
                          pt_err *err);
/* at > 0: only those running at that instant. */
int pt_repo_promotion_list(pt_db *db, pt_arena *a, int64_t at, int64_t after_id, int limit,
                           pt_promotion **out, int *n, pt_err *err);

#endif
