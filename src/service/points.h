#ifndef PT_SERVICE_POINTS_H
#define PT_SERVICE_POINTS_H

#include <jansson.h>

#include "core/points.h"
#include "service/service.h"
#include "store/repo.h"

/* ---- Settings (GET/PUT /settings/points) ---- */

/* The rules in force: the stored ones, or the defaults before any were saved. */
int pt_svc_points_rules(pt_db *db, pt_arena *a, pt_points_rules *out, pt_err *err);
json_t *pt_points_rules_json(const pt_points_rules *r);
/* Applies a full or partial settings object onto r, checking every field; on error r may be
 * half-changed and err names the field by its dotted path ("expiry.days"). */
int pt_points_rules_merge(pt_points_rules *r, json_t *patch, pt_err *err);
int pt_svc_points_settings_put(pt_ctx *ctx, json_t *patch, pt_points_rules *out, pt_err *err);

/* Today's date in the business's time zone. */
void pt_svc_today(const pt_points_rules *rules, char out[11]);

/* ---- The ledger ---- */

typedef struct {
	int64_t entry_id, balance, spendable;
} pt_posted;

typedef struct {
	const char *kind;    /* the ledger kind: earn, adjust, bonus_signup, expire, ... */
	const char *account; /* the system account on the other side: issued, redeemed,
	                        expired, adjustments */
	int64_t member_id, store_id, order_id;
	int64_t points; /* > 0 credits the member, < 0 debits */
	const char *reason;
	bool allow_negative; /* a clawback takes points even below zero */
	/* A refund's return: the credit goes back into these lots (with their expiry) instead
	 * of forming a new one; the shares' points add up to points. */
	const int64_t *return_lots, *return_points;
	int nreturn;
	/* A debit takes from these lots first (a refund's clawback: those its order earned). */
	const int64_t *prefer_lots;
	int nprefer;
	/* The member's balance and spendable points, when the caller holds the member's row
	 * (locked and read in this transaction, or as its last posting left them): not read
	 * again. */
	const pt_posted *known;
} pt_posting;

/* Posts one transfer: a wallet entry and its opposite system entry; a credit forms a lot
 * under the expiry rule in force, a debit takes from unexpired lots soonest-expiring first.
 * Runs in the caller's transaction (pt_db_tx joins it) or its own. */
int pt_svc_points_post(pt_ctx *ctx, const pt_points_rules *rules, const pt_posting *p,
                       pt_posted *out, pt_err *err);

/* The member's spendable points and the unexpired points per expiry date. */
int pt_svc_points_of(pt_db *db, pt_arena *a, const pt_points_rules *rules, int64_t member_id,
                     int64_t balance, int64_t *spendable, pt_lot_row **expiring, int *nexpiring,
                     pt_err *err);

int pt_svc_points_adjust(pt_ctx *ctx, int64_t member_id, int64_t points, const char *reason,
                         pt_ledger_row *entry, pt_posted *out, pt_err *err);
int pt_svc_ledger_list(pt_ctx *ctx, int64_t member_id, int64_t before_id, int limit,
                       pt_ledger_row **out, int *n, pt_err *err);

typedef struct {
	pt_member member;
	int64_t points;
	const char *expires_on;
} pt_reminder;

int pt_svc_reminders_expiring(pt_ctx *ctx, int within_days, int64_t after_member, int limit,
                              pt_reminder **out, int *n, pt_err *err);

/* Writes the expire entries of every member with expired lots; once per lot, however often
 * or on however many servers it runs. */
int pt_svc_job_expire(pt_db *db, int64_t *points, int64_t *members, pt_err *err);

/* Registration: signup and referral bonuses, the starting tier. In the caller's transaction. */
int pt_svc_points_on_register(pt_ctx *ctx, const pt_member *m, pt_err *err);

#endif
