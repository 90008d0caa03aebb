/* The points ledger: every change is a transfer of two entries that sum to zero, credits form
 * lots, debits take from lots soonest-expiring first and record which. */
#include "service/points.h"

#include <string.h>

#include "service/audit.h"
#include "service/tiers.h"
#include "util/clock.h"
#include "util/log.h"

static int overflow(pt_err *err)
{
	return pt_err_set(err, PT_INVALID_ARGUMENT, "points", "the points total would overflow",
	                  "积分总数将溢出");
}

static int not_found(int64_t id, pt_err *err)
{
	return pt_err_set(err, PT_NOT_FOUND, NULL, "no member %lld", "会员 %lld 不存在",
	                  (long long)id);
}

int pt_svc_points_of(pt_db *db, pt_arena *a, const pt_points_rules *rules, int64_t member_id,
                     int64_t balance, int64_t *spendable, pt_lot_row **expiring, int *nexpiring,
                     pt_err *err)
{
	char today[11];
	int64_t expired = 0;
	pt_svc_today(rules, today);
	if (!expiring) {
		if (pt_repo_lots_expired_sum(db, a, member_id, today, &expired, err) != 0)
			return -1;
		*spendable = balance - expired;
		return 0;
	}
	/* One read for both: the dates before today have expired, the rest are to come. */
	pt_lot_row *dates;
	int n, first = 0;
	if (pt_repo_lots_by_date(db, a, member_id, &dates, &n, err) != 0)
		return -1;
	while (first < n && strcmp(dates[first].expires_on, today) < 0)
		expired += dates[first++].remaining;
	*spendable = balance - expired;
	*expiring = dates + first;
	*nexpiring = n - first;
	return 0;
}

typedef struct {
	pt_ctx *ctx;
	const pt_points_rules *rules;
	const pt_posting *p;
	pt_posted *out;
} post_args;

/* Takes -p->points from the member's unexpired lots, recording each lot's part. */
static int take_from_lots(pt_db *db, pt_arena *a, const pt_points_rules *rules, const pt_posting *p,
                          int64_t entry_id, pt_err *err)
{
	int64_t member_id = p->member_id, amount = -p->points;
	pt_lot_row *rows;
	int n;
	char today[11];
	pt_svc_today(rules, today);
	if (pt_repo_lots_open(db, a, member_id, &rows, &n, err) != 0)
		return -1;
	pt_lot *lots = pt_arena_alloc(a, sizeof(pt_lot) * (size_t)(n + 1));
	int64_t *takes = pt_arena_alloc(a, sizeof(int64_t) * (size_t)(n + 1));
	if (!lots || !takes)
		return pt_err_oom(err);
	int k = 0;
	for (int i = 0; i < n; i++)
		if (!pt_lot_expired(rows[i].expires_on, today))
			lots[k++] = (pt_lot){rows[i].id, rows[i].remaining, rows[i].expires_on};
	pt_lots_sort(lots, k);
	pt_lots_prefer(lots, k, p->prefer_lots, p->nprefer);
	pt_lots_take(lots, k, amount, takes);
	for (int i = 0; i < k; i++)
		if (takes[i] &&
		    pt_repo_lot_move(db, member_id, lots[i].id, entry_id, -takes[i], err) != 0)
			return -1;
	return 0;
}

static int post_tx(pt_db *db, void *arg, pt_err *err)
{
	post_args *x = arg;
	const pt_posting *p = x->p;
	pt_arena *a = x->ctx->arena;
	int64_t balance, spendable, now = pt_clock_now_ms();
	bool found = false;
	if (p->known) {
		balance = p->known->balance;
		spendable = p->known->spendable;
	} else {
		if (pt_repo_member_lock(db, a, p->member_id, &balance, &found, err) != 0)
			return -1;
		if (!found)
			return not_found(p->member_id, err);
		if (pt_svc_points_of(db, a, x->rules, p->member_id, balance, &spendable, NULL, NULL,
		                     err) != 0)
			return -1;
	}
	if (p->points < 0 && !p->allow_negative && -p->points > spendable)
		return pt_err_set(err, PT_INSUFFICIENT_POINTS, "points",
		                  "member %lld has %lld points; %lld requested",
		                  "会员 %lld 有 %lld 积分，需要 %lld", (long long)p->member_id,
		                  (long long)(spendable > 0 ? spendable : 0),
		                  (long long)-p->points);
	int64_t new_balance;
	if (!pt_add_checked(balance, p->points, &new_balance) ||
	    !pt_add_checked(spendable, p->points, &spendable))
		return overflow(err);
	char today[11], expires[11] = "";
	pt_svc_today(x->rules, today);
	if (p->points > 0 && !p->nreturn &&
	    pt_expiry_date(x->rules->expiry_mode, x->rules->expiry_days, today, expires) != 0)
		return pt_err_set(err, PT_INTERNAL, NULL, "cannot compute an expiry date",
		                  "无法计算过期日期");
	pt_transfer t = {.kind = p->kind,
	                 .member_id = p->member_id,
	                 .store_id = p->store_id,
	                 .order_id = p->order_id,
	                 .reason = p->reason,
	                 .staff_id = x->ctx->staff_id,
	                 .api_key_id = x->ctx->api_key_id,
	                 .created_at = now};
	int64_t transfer_id, entry_id, other_id, lot_id;
	if (pt_repo_transfer_insert(db, a, &t, &transfer_id, err) != 0)
		return -1;
	pt_entry wallet = {.transfer_id = transfer_id,
	                   .member_id = p->member_id,
	                   .account = "wallet",
	                   .store_id = p->store_id,
	                   .points = p->points,
	                   .balance_after = new_balance,
	                   .has_balance = true,
	                   .expires_on = expires[0] ? expires : NULL,
	                   .created_at = now};
	pt_entry other = {.transfer_id = transfer_id,
	                  .member_id = p->member_id,
	                  .account = p->account,
	                  .store_id = p->store_id,
	                  .points = -p->points,
	                  .created_at = now};
	if (pt_repo_entry_insert(db, a, &wallet, &entry_id, err) != 0 ||
	    pt_repo_entry_insert(db, a, &other, &other_id, err) != 0 ||
	    pt_repo_member_set_points(db, p->member_id, new_balance, err) != 0)
		return -1;
	if (p->points > 0 && p->nreturn) {
		for (int i = 0; i < p->nreturn; i++)
			if (pt_repo_lot_move(db, p->member_id, p->return_lots[i], entry_id,
			                     p->return_points[i], err) != 0)
				return -1;
	} else if (p->points > 0) {
		/* A member in debt (a clawback took more than the lots held) pays it off first,
		 * so the lots always hold exactly the balance. */
		pt_lot_row *open;
		int n;
		int64_t in_lots = 0;
		if (pt_repo_lots_open(db, a, p->member_id, &open, &n, err) != 0)
			return -1;
		for (int i = 0; i < n; i++)
			in_lots += open[i].remaining;
		int64_t debt = in_lots - balance;
		int64_t settle = debt > 0 ? (debt < p->points ? debt : p->points) : 0;
		if (pt_repo_lot_insert(db, a, p->member_id, entry_id, p->points, wallet.expires_on,
		                       now, &lot_id, err) != 0 ||
		    (settle && pt_repo_lot_move(db, p->member_id, lot_id, entry_id, -settle, err)))
			return -1;
	} else if (take_from_lots(db, a, x->rules, p, entry_id, err) != 0) {
		return -1;
	}
	*x->out = (pt_posted){.entry_id = entry_id, .balance = new_balance, .spendable = spendable};
	return 0;
}

int pt_svc_points_post(pt_ctx *ctx, const pt_points_rules *rules, const pt_posting *p,
                       pt_posted *out, pt_err *err)
{
	post_args x = {ctx, rules, p, out};
	return pt_db_tx(ctx->db, true, post_tx, &x, err);
}

typedef struct {
	pt_ctx *ctx;
	int64_t member_id, points;
	const char *reason;
	pt_ledger_row *entry;
	pt_posted *out;
} adjust_args;

static int adjust_tx(pt_db *db, void *arg, pt_err *err)
{
	adjust_args *x = arg;
	pt_points_rules rules;
	pt_member m;
	bool found = false;
	if (pt_repo_member_get(db, x->ctx->arena, x->member_id, &m, &found, err) != 0)
		return -1;
	if (!found)
		return not_found(x->member_id, err);
	pt_posting p = {.kind = "adjust",
	                .account = "adjustments",
	                .member_id = x->member_id,
	                .store_id = m.store_id,
	                .points = x->points,
	                .reason = x->reason};
	return pt_svc_points_rules(db, x->ctx->arena, &rules, err) ||
	       pt_svc_points_post(x->ctx, &rules, &p, x->out, err) ||
	       pt_repo_ledger_entry(db, x->ctx->arena, x->out->entry_id, x->entry, err) ||
	       pt_svc_audit(x->ctx, "points.adjust", "member", x->member_id,
	                    json_pack("{s:I, s:s, s:I}", "points", (json_int_t)x->points, "reason",
	                              x->reason, "entry_id", (json_int_t)x->out->entry_id),
	                    err);
}

int pt_svc_points_adjust(pt_ctx *ctx, int64_t member_id, int64_t points, const char *reason,
                         pt_ledger_row *entry, pt_posted *out, pt_err *err)
{
	adjust_args x = {ctx, member_id, points, reason, entry, out};
	pt_log_info(
	    "msg=\"points adjust\" member_id=%lld points=%lld staff_id=%lld api_key_id=%lld",
	    (long long)member_id, (long long)points, (long long)ctx->staff_id,
	    (long long)ctx->api_key_id);
	return pt_db_tx(ctx->db, true, adjust_tx, &x, err);
}

int pt_svc_ledger_list(pt_ctx *ctx, int64_t member_id, int64_t before_id, int limit,
                       pt_ledger_row **out, int *n, pt_err *err)
{
	pt_member m;
	bool found = false;
	if (pt_repo_member_get(ctx->db, ctx->arena, member_id, &m, &found, err) != 0)
		return -1;
	if (!found)
		return not_found(member_id, err);
	return pt_repo_ledger_list(ctx->db, ctx->arena, member_id, before_id, limit, out, n, err);
}

int pt_svc_reminders_expiring(pt_ctx *ctx, int within_days, int64_t after_member, int limit,
                              pt_reminder **out, int *n, pt_err *err)
{
	pt_points_rules rules;
	char today[11], until[11];
	if (pt_svc_points_rules(ctx->db, ctx->arena, &rules, err) != 0)
		return -1;
	pt_svc_today(&rules, today);
	pt_expiry_date(PT_EXPIRY_ROLLING, within_days, today, until);
	pt_expiring_row *rows;
	if (pt_repo_expiring_between(ctx->db, ctx->arena, today, until, after_member, limit, &rows,
	                             n, err) != 0)
		return -1;
	*out = pt_arena_alloc(ctx->arena, sizeof(pt_reminder) * (size_t)(*n + 1));
	if (!*out)
		return pt_err_oom(err);
	int k = 0;
	for (int i = 0; i < *n; i++) {
		bool found = false;
		if (pt_repo_member_get(ctx->db, ctx->arena, rows[i].member_id, &(*out)[k].member,
		                       &found, err) != 0)
			return -1;
		if (!found)
			continue;
		(*out)[k].points = rows[i].points;
		(*out)[k].expires_on = rows[i].expires_on;
		k++;
	}
	*n = k;
	return 0;
}

typedef struct {
	int64_t member_id;
	int64_t points;
	pt_arena *arena;
} expire_args;

/* Expires one member's lots that ended before today. The lots are read under the member's
 * lock, so a second run, here or on another server, finds nothing left to expire. */
static int expire_tx(pt_db *db, void *arg, pt_err *err)
{
	expire_args *x = arg;
	pt_points_rules rules;
	int64_t balance, now = pt_clock_now_ms();
	bool found = false;
	char today[11];
	x->points = 0;
	if (pt_svc_points_rules(db, x->arena, &rules, err) != 0 ||
	    pt_repo_member_lock(db, x->arena, x->member_id, &balance, &found, err) != 0)
		return -1;
	if (!found)
		return 0;
	pt_svc_today(&rules, today);
	pt_lot_row *lots;
	int n;
	if (pt_repo_lots_open(db, x->arena, x->member_id, &lots, &n, err) != 0)
		return -1;
	int64_t total = 0;
	for (int i = 0; i < n; i++)
		if (pt_lot_expired(lots[i].expires_on, today))
			total += lots[i].remaining;
	if (total == 0)
		return 0;
	pt_transfer t = {.kind = "expire", .member_id = x->member_id, .created_at = now};
	int64_t transfer_id, entry_id, other_id;
	pt_entry wallet = {.member_id = x->member_id,
	                   .account = "wallet",
	                   .points = -total,
	                   .balance_after = balance - total,
	                   .has_balance = true,
	                   .created_at = now};
	pt_entry other = {
	    .member_id = x->member_id, .account = "expired", .points = total, .created_at = now};
	if (pt_repo_transfer_insert(db, x->arena, &t, &transfer_id, err) != 0)
		return -1;
	wallet.transfer_id = other.transfer_id = transfer_id;
	if (pt_repo_entry_insert(db, x->arena, &wallet, &entry_id, err) != 0 ||
	    pt_repo_entry_insert(db, x->arena, &other, &other_id, err) != 0 ||
	    pt_repo_member_set_points(db, x->member_id, balance - total, err) != 0)
		return -1;
	for (int i = 0; i < n; i++)
		if (pt_lot_expired(lots[i].expires_on, today) &&
		    pt_repo_lot_move(db, x->member_id, lots[i].id, entry_id, -lots[i].remaining,
		                     err) != 0)
			return -1;
	x->points = total;
	return 0;
}

/* Whether id is among the first n of ids: a member with several expired lots in one batch
 * is expired once (a later batch finds nothing left of theirs). */
static bool id_seen(const int64_t *ids, int n, int64_t id)
{
	for (int i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

int pt_svc_job_expire(pt_db *db, int64_t *points, int64_t *members, pt_err *err)
{
	enum { BATCH = 200 };
	*points = *members = 0;
	pt_expiry_cursor at = {0};
	for (;;) {
		pt_arena *a = pt_arena_new();
		if (!a)
			return pt_err_oom(err);
		pt_points_rules rules;
		char today[11];
		int64_t *ids;
		int n = 0, rc = pt_svc_points_rules(db, a, &rules, err);
		pt_svc_today(&rules, today);
		if (rc == 0)
			rc = pt_repo_expired_lots_next(db, a, today, &at, BATCH, &ids, &n, err);
		for (int i = 0; rc == 0 && i < n; i++) {
			if (id_seen(ids, i, ids[i]))
				continue;
			expire_args x = {.member_id = ids[i], .arena = a};
			rc = pt_db_tx(db, true, expire_tx, &x, err);
			if (rc == 0 && x.points) {
				*points += x.points;
				(*members)++;
			}
		}
		pt_arena_free(a);
		if (rc != 0)
			return -1;
		if (n == 0)
			break;
	}
	/* Idempotency keys are kept for at least a day; this job tidies those older than two. */
	int64_t before = pt_clock_real_ms() - 48LL * 3600 * 1000;
	return pt_repo_idem_purge(db, before, err);
}

int pt_svc_points_on_register(pt_ctx *ctx, const pt_member *m, pt_err *err)
{
	pt_points_rules rules;
	pt_posted posted;
	if (pt_svc_points_rules(ctx->db, ctx->arena, &rules, err) != 0)
		return -1;
	if (rules.signup_bonus > 0) {
		pt_posting p = {.kind = "bonus_signup",
		                .account = "issued",
		                .member_id = m->id,
		                .store_id = m->store_id,
		                .points = rules.signup_bonus};
		if (pt_svc_points_post(ctx, &rules, &p, &posted, err) != 0)
			return -1;
	}
	if (m->referrer_id && rules.referee_points > 0 && !rules.referral_on_first_purchase) {
		pt_posting p = {.kind = "bonus_referral",
		                .account = "issued",
		                .member_id = m->id,
		                .store_id = m->store_id,
		                .points = rules.referee_points,
		                .reason = "referred"};
		if (pt_svc_points_post(ctx, &rules, &p, &posted, err) != 0)
			return -1;
	}
	if (m->referrer_id && rules.referrer_points > 0 && !rules.referral_on_first_purchase) {
		pt_posting p = {.kind = "bonus_referral",
		                .account = "issued",
		                .member_id = m->referrer_id,
		                .store_id = m->store_id,
		                .points = rules.referrer_points,
		                .reason = "referral"};
		if (pt_svc_points_post(ctx, &rules, &p, &posted, err) != 0)
			return -1;
	}
	return pt_svc_tier_assign_initial(ctx->db, ctx->arena, m->id, err);
}
