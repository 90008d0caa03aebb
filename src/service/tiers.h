#ifndef PT_SERVICE_TIERS_H
#define PT_SERVICE_TIERS_H

#include "core/points.h"
#include "service/service.h"
#include "store/repo.h"

typedef struct {
	bool set_name, set_rank, set_threshold, set_basis, set_discount_bp, set_multiplier_bp;
	pt_tier t;
} pt_tier_patch;

int pt_svc_tier_create(pt_ctx *ctx, const pt_tier_patch *in, pt_tier *out, pt_err *err);
int pt_svc_tier_patch(pt_ctx *ctx, int64_t id, const pt_tier_patch *in, pt_tier *out, pt_err *err);
int pt_svc_tier_get(pt_ctx *ctx, int64_t id, pt_tier *out, pt_err *err);
int pt_svc_tier_list(pt_ctx *ctx, pt_tier **out, int *n, pt_err *err);
int pt_svc_tier_delete(pt_ctx *ctx, int64_t id, pt_err *err);
int pt_svc_tier_history(pt_ctx *ctx, int64_t member_id, int64_t after_id, int limit,
                        pt_tier_change **out, int *n, pt_err *err);

/* A new member starts in the highest-ranked tier that asks for no spend. */
int pt_svc_tier_assign_initial(pt_db *db, pt_arena *a, int64_t member_id, pt_err *err);
/* Adds a sale's spend (fen) on the local day and moves the member up at once when it reaches a
 * higher tier; never down (that waits for the review). In the caller's transaction, m as read
 * in it (the tier and total spend before the sale). */
int pt_svc_tier_after_sale(pt_db *db, pt_arena *a, const pt_points_rules *rules, const pt_member *m,
                           int64_t amount, pt_err *err);
/* The periodic review: every member to the tier their spend qualifies for, up or down. */
int pt_svc_job_tiers(pt_db *db, int64_t *changed, pt_err *err);
/* serve's daily review: the review above once per business day, the day remembered in the
 * database, so a restart does not review every member again. ran says whether it was due. */
int pt_svc_job_tiers_daily(pt_db *db, bool *ran, int64_t *changed, pt_err *err);

#endif
