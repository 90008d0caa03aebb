#include "service/tiers.h"

#include <stdio.h>
#include <string.h>

#include "core/dates.h"
#include "service/audit.h"
#include "service/points.h"
#include "util/clock.h"

static int not_found(int64_t id, pt_err *err)
{
	return pt_err_set(err, PT_NOT_FOUND, NULL, "no tier %lld", "等级 %lld 不存在",
	                  (long long)id);
}

static int explain_conflict(pt_err *err, const pt_tier *t)
{
	if (err->code != PT_CONFLICT)
		return -1;
	if (strcmp(err->field, "rank") == 0)
		return pt_err_set(err, PT_CONFLICT, "rank", "another tier has rank %lld",
		                  "已有等级使用序号 %lld", (long long)t->rank);
	return pt_err_set(err, PT_CONFLICT, "name", "another tier is named %s", "已有等级名为 %s",
	                  t->name);
}

typedef struct {
	pt_ctx *ctx;
	int64_t id;
	const pt_tier_patch *in;
	pt_tier *out;
} args;

static int create_tx(pt_db *db, void *arg, pt_err *err)
{
	args *x = arg;
	*x->out = x->in->t;
	x->out->created_at = x->out->updated_at = pt_clock_now_ms();
	if (pt_repo_tier_insert(db, x->ctx->arena, x->out, &x->out->id, err) != 0)
		return explain_conflict(err, x->out);
	return pt_svc_audit(x->ctx, "tier.create", "tier", x->out->id,
	                    json_pack("{s:s}", "name", x->out->name), err);
}

int pt_svc_tier_create(pt_ctx *ctx, const pt_tier_patch *in, pt_tier *out, pt_err *err)
{
	args x = {ctx, 0, in, out};
	return pt_db_tx(ctx->db, true, create_tx, &x, err);
}

static int patch_tx(pt_db *db, void *arg, pt_err *err)
{
	args *x = arg;
	bool found = false;
	if (pt_repo_tier_get(db, x->ctx->arena, x->id, x->out, &found, err) != 0)
		return -1;
	if (!found)
		return not_found(x->id, err);
	const pt_tier_patch *in = x->in;
	pt_tier *t = x->out;
	if (in->set_name)
		t->name = in->t.name;
	if (in->set_rank)
		t->rank = in->t.rank;
	if (in->set_threshold)
		t->threshold = in->t.threshold;
	if (in->set_basis)
		t->basis = in->t.basis;
	if (in->set_discount_bp)
		t->discount_bp = in->t.discount_bp;
	if (in->set_multiplier_bp)
		t->points_multiplier_bp = in->t.points_multiplier_bp;
	t->updated_at = pt_clock_now_ms();
	if (pt_repo_tier_update(db, t, err) != 0)
		return explain_conflict(err, t);
	return pt_svc_audit(x->ctx, "tier.update", "tier", t->id,
	                    json_pack("{s:s}", "name", t->name), err);
}

int pt_svc_tier_patch(pt_ctx *ctx, int64_t id, const pt_tier_patch *in, pt_tier *out, pt_err *err)
{
	args x = {ctx, id, in, out};
	return pt_db_tx(ctx->db, true, patch_tx, &x, err);
}

int pt_svc_tier_get(pt_ctx *ctx, int64_t id, pt_tier *out, pt_err *err)
{
	bool found = false;
	if (pt_repo_tier_get(ctx->db, ctx->arena, id, out, &found, err) != 0)
		return -1;
	return found ? 0 : not_found(id, err);
}

int pt_svc_tier_list(pt_ctx *ctx, pt_tier **out, int *n, pt_err *err)
{
	return pt_repo_tier_all(ctx->db, ctx->arena, out, n, err);
}

static int delete_tx(pt_db *db, void *arg, pt_err *err)
{
	args *x = arg;
	pt_tier t;
	bool found = false;
	int64_t held = 0;
	if (pt_repo_tier_get(db, x->ctx->arena, x->id, &t, &found, err) != 0)
		return -1;
	if (!found)
		return not_found(x->id, err);
	if (pt_repo_tier_members(db, x->ctx->arena, x->id, &held, err) != 0)
		return -1;
	if (held)
		return pt_err_set(err, PT_CONFLICT, NULL,
		                  "%lld members hold tier %s; it can be deleted when none do",
		                  "%lld 位会员处于等级 %s，无人处于该等级时才能删除",
		                  (long long)held, t.name);
	return pt_repo_tier_delete(db, x->id, err) ||
	       pt_svc_audit(x->ctx, "tier.delete", "tier", x->id, NULL, err);
}

int pt_svc_tier_delete(pt_ctx *ctx, int64_t id, pt_err *err)
{
	args x = {ctx, id, NULL, NULL};
	return pt_db_tx(ctx->db, true, delete_tx, &x, err);
}

int pt_svc_tier_history(pt_ctx *ctx, int64_t member_id, int64_t after_id, int limit,
                        pt_tier_change **out, int *n, pt_err *err)
{
	pt_member m;
	bool found = false;
	if (pt_repo_member_get(ctx->db, ctx->arena, member_id, &m, &found, err) != 0)
		return -1;
	if (!found)
		return pt_err_set(err, PT_NOT_FOUND, NULL, "no member %lld", "会员 %lld 不存在",
		                  (long long)member_id);
	return pt_repo_tier_history(ctx->db, ctx->arena, member_id, after_id, limit, out, n, err);
}

/* The tier the member's spend qualifies for: the highest rank whose threshold the spend on
 * that tier's basis reaches; 0 when none. */
static int qualified_tier(pt_db *db, pt_arena *a, const pt_tier *tiers, int n, int64_t member_id,
                          int64_t lifetime, const char *today, int64_t *tier_id, pt_err *err)
{
	int y, m, d;
	int64_t rolling = -1;
	*tier_id = 0;
	for (int i = n - 1; i >= 0; i--) {
		int64_t spend = lifetime;
		if (strcmp(tiers[i].basis, "rolling_12m") == 0) {
			if (rolling < 0) {
				/* The 12 months up to today: from the same day a year ago, plus
				 * one. */
				char from[11], buf[32];
				pt_date_parse(today, &y, &m, &d);
				if (m == 2 && d == 29)
					d = 28;
				pt_date_from_days(pt_days_from_date(y - 1, m, d) + 1, &y, &m, &d);
				snprintf(buf, sizeof(buf), "%04d-%02d-%02d", y, m, d);
				memcpy(from, buf, 11);
				if (pt_repo_spend_since(db, a, member_id, from, &rolling, err) != 0)
					return -1;
			}
			spend = rolling;
		}
		if (spend >= tiers[i].threshold) {
			*tier_id = tiers[i].id;
			return 0;
		}
	}
	return 0;
}

static int rank_of(const pt_tier *tiers, int n, int64_t id)
{
	for (int i = 0; i < n; i++)
		if (tiers[i].id == id)
			return (int)tiers[i].rank;
	return -1;
}

/* Where the member, now in tier_id with total_spend in all, belongs: *moves tells whether to
 * move them there (up only, or both ways at the review). */
static int review_target(pt_db *db, pt_arena *a, const pt_tier *tiers, int n, const char *today,
                         int64_t member_id, int64_t tier_id, int64_t total_spend, bool may_lower,
                         int64_t *target, bool *moves, pt_err *err)
{
	*moves = false;
	*target = tier_id;
	if (n == 0)
		return 0;
	if (qualified_tier(db, a, tiers, n, member_id, total_spend, today, target, err) != 0)
		return -1;
	if (*target == tier_id)
		return 0;
	if (!may_lower && rank_of(tiers, n, *target) <= rank_of(tiers, n, tier_id))
		return 0;
	*moves = true;
	return 0;
}

/* Moves the member to their qualified tier, when review_target says so; today is the
 * business's day. */
static int move_to_qualified(pt_db *db, pt_arena *a, const char *today, int64_t member_id,
                             int64_t tier_id, int64_t total_spend, const char *reason,
                             bool may_lower, bool *changed, pt_err *err)
{
	pt_tier *tiers;
	int n;
	int64_t target;
	*changed = false;
	if (pt_repo_tier_all(db, a, &tiers, &n, err) != 0)
		return -1;
	if (review_target(db, a, tiers, n, today, member_id, tier_id, total_spend, may_lower,
	                  &target, changed, err) != 0)
		return -1;
	if (!*changed)
		return 0;
	return pt_repo_member_set_tier(db, member_id, target, err) ||
	       pt_repo_tier_history_insert(db, member_id, tier_id, target, reason,
	                                   pt_clock_now_ms(), err);
}

static int retier(pt_db *db, pt_arena *a, int64_t member_id, const char *reason, bool may_lower,
                  bool *changed, pt_err *err)
{
	pt_member m;
	bool found = false;
	pt_points_rules rules;
	char today[11];
	*changed = false;
	if (pt_repo_member_get(db, a, member_id, &m, &found, err) != 0 ||
	    pt_svc_points_rules(db, a, &rules, err) != 0)
		return -1;
	if (!found)
		return 0;
	pt_svc_today(&rules, today);
	return move_to_qualified(db, a, today, member_id, m.tier_id, m.total_spend, reason,
	                         may_lower, changed, err);
}

int pt_svc_tier_assign_initial(pt_db *db, pt_arena *a, int64_t member_id, pt_err *err)
{
	bool changed;
	return retier(db, a, member_id, "register", false, &changed, err);
}

int pt_svc_tier_after_sale(pt_db *db, pt_arena *a, const pt_points_rules *rules, const pt_member *m,
                           int64_t amount, pt_err *err)
{
	char today[11];
	bool changed;
	pt_svc_today(rules, today);
	return pt_repo_spend_add(db, m->id, today, amount, err) ||
	       move_to_qualified(db, a, today, m->id, m->tier_id, m->total_spend + amount,
	                         "upgrade", false, &changed, err);
}

typedef struct {
	const int64_t *ids;
	int n;
	pt_arena *arena;
	int64_t changed;
} review_args;

/* A few dozen members per transaction: a million members are not a million commits, and
 * the tills' writes still get their turn between two of them. */
enum { REVIEW_PER_TX = 50 };

static int review_tx(pt_db *db, void *arg, pt_err *err)
{
	review_args *x = arg;
	x->changed = 0;
	for (int i = 0; i < x->n; i++) {
		bool changed = false;
		if (retier(db, x->arena, x->ids[i], "review", true, &changed, err) != 0)
			return -1;
		x->changed += changed;
	}
	return 0;
}

/* The next members, and those of them the review moves. */
typedef struct {
	pt_arena *arena;
	int64_t after; /* the page starts after this id */
	int64_t last;  /* its last member's id (not after itself: a retried transaction reads the
	                  same page again) */
	bool more;
	int64_t *moving;
	int nmoving;
} review_page;

enum { REVIEW_PAGE = 500 };

/* In one read snapshot, beside the tills' writes: which of the next members the review
 * moves. Most stay where they are, and telling that needs no write; the writer's turn goes
 * only to those that move (review_tx decides again there, on the rows as they are then). */
static int review_page_tx(pt_db *db, void *arg, pt_err *err)
{
	review_page *x = arg;
	pt_points_rules rules;
	pt_tier *tiers;
	pt_member_tier_row *rows;
	int ntiers, n;
	char today[11];
	x->nmoving = 0;
	if (pt_svc_points_rules(db, x->arena, &rules, err) != 0 ||
	    pt_repo_tier_all(db, x->arena, &tiers, &ntiers, err) != 0 ||
	    pt_repo_member_tier_page(db, x->arena, x->after, REVIEW_PAGE, &rows, &n, err) != 0)
		return -1;
	pt_svc_today(&rules, today);
	x->more = n == REVIEW_PAGE;
	x->last = n > 0 ? rows[n - 1].id : x->after;
	x->moving = pt_arena_alloc(x->arena, sizeof(*x->moving) * (size_t)(n + 1));
	if (!x->moving)
		return pt_err_oom(err);
	for (int i = 0; i < n; i++) {
		int64_t target;
		bool moves;
		if (review_target(db, x->arena, tiers, ntiers, today, rows[i].id, rows[i].tier_id,
		                  rows[i].total_spend, true, &target, &moves, err) != 0)
			return -1;
		if (moves)
			x->moving[x->nmoving++] = rows[i].id;
	}
	return 0;
}

int pt_svc_job_tiers(pt_db *db, int64_t *changed, pt_err *err)
{
	review_page page = {0};
	*changed = 0;
	do {
		page.arena = pt_arena_new();
		if (!page.arena)
			return pt_err_oom(err);
		int rc = pt_db_tx(db, false, review_page_tx, &page, err);
		for (int i = 0; rc == 0 && i < page.nmoving; i += REVIEW_PER_TX) {
			review_args x = {.ids = page.moving + i,
			                 .n = page.nmoving - i < REVIEW_PER_TX ? page.nmoving - i
			                                                       : REVIEW_PER_TX,
			                 .arena = page.arena};
			rc = pt_db_tx(db, true, review_tx, &x, err);
			*changed += x.changed;
		}
		pt_arena_free(page.arena);
		if (rc != 0)
			return -1;
		page.after = page.last;
	} while (page.more);
	return 0;
}

typedef struct {
	const char *value;
} review_day;

static int remember_review_tx(pt_db *db, void *arg, pt_err *err)
{
	review_day *x = arg;
	return pt_repo_setting_put(db, "tiers_review", x->value, pt_clock_now_ms(), err);
}

int pt_svc_job_tiers_daily(pt_db *db, bool *ran, int64_t *changed, pt_err *err)
{
	*ran = false;
	*changed = 0;
	pt_arena *a = pt_arena_new();
	if (!a)
		return pt_err_oom(err);
	pt_points_rules rules;
	const char *last = NULL;
	bool found = false;
	char today[11], value[32];
	int rc = pt_svc_points_rules(db, a, &rules, err) ||
	         pt_repo_setting_get(db, a, "tiers_review", &last, &found, err);
	if (rc == 0) {
		pt_svc_today(&rules, today);
		snprintf(value, sizeof(value), "{\"day\":\"%s\"}", today);
		if (!found || !last || strcmp(last, value) != 0) {
			*ran = true;
			review_day x = {value};
			rc = pt_svc_job_tiers(db, changed, err) ||
			     pt_db_tx(db, true, remember_review_tx, &x, err);
		}
	}
	pt_arena_free(a);
	return rc ? -1 : 0;
}
