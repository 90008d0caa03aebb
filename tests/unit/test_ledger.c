/* The ledger and tier services against a real SQLite database: debts, clawbacks, expiry,
 * spend-driven upgrades and the review, each followed by `patron check`'s invariants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "service/members.h"
#include "service/points.h"
#include "service/setup.h"
#include "service/tiers.h"
#include "util/clock.h"

typedef struct {
	char path[64];
	pt_db *db;
	pt_arena *arena;
	pt_ctx ctx;
} fixture;

static int64_t at(const char *rfc3339)
{
	int64_t ms = 0;
	assert_int_equal(pt_clock_parse_rfc3339(rfc3339, &ms), 0);
	return ms;
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	pt_err err = {0};
	strcpy(f->path, "/tmp/patron-ledger-XXXXXX");
	int fd = mkstemp(f->path);
	close(fd);
	char url[96];
	snprintf(url, sizeof(url), "sqlite:%s", f->path);
	if (pt_db_open(&f->db, url, &err) != 0 || pt_repo_migrate(f->db, &err) != 0)
		return -1;
	f->arena = pt_arena_new();
	f->ctx = (pt_ctx){.db = f->db, .arena = f->arena, .perms = PT_PERM_ALL, .staff_id = 0};
	pt_clock_set_ms(at("2026-03-01T04:00:00Z"));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	pt_db_close(f->db);
	pt_arena_free(f->arena);
	char side[96];
	unlink(f->path);
	snprintf(side, sizeof(side), "%s-wal", f->path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", f->path);
	unlink(side);
	free(f);
	pt_clock_set_ms(-1);
	return 0;
}

static void assert_check_passes(fixture *f)
{
	pt_err err = {0};
	long problems = -1;
	char buf[4096] = "";
	FILE *out = fmemopen(buf, sizeof(buf), "w");
	assert_int_equal(pt_svc_check(f->db, out, &problems, &err), 0);
	fclose(out);
	if (problems)
		fail_msg("patron check: %s", buf);
}

static int64_t new_member(fixture *f, const char *phone)
{
	pt_err err = {0};
	pt_member m;
	pt_member_input in = {.name = "测试", .phone = phone};
	assert_int_equal(pt_svc_member_create(&f->ctx, &in, &m, &err), 0);
	return m.id;
}

static void post(fixture *f, int64_t member, const char *kind, int64_t points, bool negative,
                 pt_code expect)
{
	pt_err err = {0};
	pt_points_rules rules;
	pt_posted out;
	assert_int_equal(pt_svc_points_rules(f->db, f->arena, &rules, &err), 0);
	pt_posting p = {.kind = kind,
	                .account = points > 0 ? "issued" : "redeemed",
	                .member_id = member,
	                .points = points,
	                .allow_negative = negative};
	int rc = pt_svc_points_post(&f->ctx, &rules, &p, &out, &err);
	if (expect == PT_OK && rc != 0)
		fail_msg("post %s %lld: %s", kind, (long long)points, err.msg_en);
	assert_int_equal(rc == 0 ? PT_OK : err.code, expect);
}

static int64_t spendable(fixture *f, int64_t member)
{
	pt_err err = {0};
	pt_member m;
	assert_int_equal(pt_svc_member_get(&f->ctx, member, &m, &err), 0);
	return m.spendable;
}

/* Points earned expire ten days later (rolling expiry). */
static void expire_after_ten_days(fixture *f)
{
	pt_err err = {0};
	pt_points_rules rules;
	json_error_t jerr;
	json_t *patch = json_loads("{\"expiry\":{\"mode\":\"rolling\",\"days\":10}}", 0, &jerr);
	assert_int_equal(pt_svc_points_settings_put(&f->ctx, patch, &rules, &err), 0);
	json_decref(patch);
}

static void clawback_debt_is_paid_by_the_next_credit(void **state)
{
	fixture *f = *state;
	int64_t m = new_member(f, "13800000001");
	post(f, m, "earn", 100, false, PT_OK);
	post(f, m, "redeem", -101, false, PT_INSUFFICIENT_POINTS);
	assert_int_equal(spendable(f, m), 100);
	post(f, m, "refund_clawback", -130, true, PT_OK);
	assert_int_equal(spendable(f, m), -30);
	post(f, m, "redeem", -1, false, PT_INSUFFICIENT_POINTS);
	post(f, m, "earn", 50, false, PT_OK);
	assert_int_equal(spendable(f, m), 20);
	post(f, m, "redeem", -20, false, PT_OK);
	assert_int_equal(spendable(f, m), 0);
	assert_check_passes(f);
}

static void expired_points_vanish_before_the_job_runs(void **state)
{
	fixture *f = *state;
	pt_err err = {0};
	expire_after_ten_days(f);
	int64_t m = new_member(f, "13800000002");
	post(f, m, "earn", 100, false, PT_OK); /* expires 2026-03-11, local */
	pt_clock_set_ms(at("2026-03-05T04:00:00Z"));
	post(f, m, "earn", 40, false, PT_OK);        /* expires 2026-03-15 */
	post(f, m, "redeem", -30, false, PT_OK);     /* from the first lot */
	pt_clock_set_ms(at("2026-03-11T15:59:59Z")); /* 23:59:59 in Shanghai: still valid */
	assert_int_equal(spendable(f, m), 110);
	pt_clock_set_ms(at("2026-03-11T16:00:00Z"));
	assert_int_equal(spendable(f, m), 40);
	post(f, m, "redeem", -41, false, PT_INSUFFICIENT_POINTS);
	int64_t points, members;
	assert_int_equal(pt_svc_job_expire(f->db, &points, &members, &err), 0);
	assert_int_equal(points, 70);
	assert_int_equal(members, 1);
	assert_int_equal(pt_svc_job_expire(f->db, &points, &members, &err), 0);
	assert_int_equal(points, 0);
	assert_int_equal(spendable(f, m), 40);
	assert_check_passes(f);
}

/* More members than one batch of the job, lots on several dates, some members with two lots
 * on one date, some lots not yet expired: each expired point goes once, nothing else does. */
static void expiry_job_takes_every_date_in_batches(void **state)
{
	fixture *f = *state;
	pt_err err = {0};
	expire_after_ten_days(f);
	enum { MEMBERS = 230, TWICE = 105, LATE = 20, SECOND_DATE_ONLY = 30 };
	int64_t ids[MEMBERS + SECOND_DATE_ONLY];
	for (int i = 0; i < MEMBERS + SECOND_DATE_ONLY; i++) {
		char phone[16];
		snprintf(phone, sizeof(phone), "139%08d", i);
		ids[i] = new_member(f, phone);
		if (i < MEMBERS)
			post(f, ids[i], "earn", 100, false, PT_OK); /* expires 2026-03-11 */
		if (i < TWICE)
			post(f, ids[i], "earn", 7, false, PT_OK);
	}
	pt_clock_set_ms(at("2026-03-03T04:00:00Z"));
	for (int i = 0; i < MEMBERS + SECOND_DATE_ONLY; i++)
		post(f, ids[i], "earn", 5, false, PT_OK); /* expires 2026-03-13 */
	pt_clock_set_ms(at("2026-03-08T04:00:00Z"));
	for (int i = 0; i < LATE; i++)
		post(f, ids[i], "earn", 1000, false, PT_OK); /* expires 2026-03-18 */
	pt_clock_set_ms(at("2026-03-14T04:00:00Z"));
	int64_t points, members;
	assert_int_equal(pt_svc_job_expire(f->db, &points, &members, &err), 0);
	assert_int_equal(points, MEMBERS * 100 + TWICE * 7 + (MEMBERS + SECOND_DATE_ONLY) * 5);
	assert_int_equal(members, MEMBERS + SECOND_DATE_ONLY);
	assert_int_equal(spendable(f, ids[0]), 1000);
	assert_int_equal(spendable(f, ids[MEMBERS + SECOND_DATE_ONLY - 1]), 0);
	assert_int_equal(pt_svc_job_expire(f->db, &points, &members, &err), 0);
	assert_int_equal(points, 0);
	assert_int_equal(members, 0);
	assert_check_passes(f);
}

static void spend_moves_members_up_at_once_and_down_at_review(void **state)
{
	fixture *f = *state;
	pt_err err = {0};
	pt_tier t;
	pt_tier_patch base = {.t = {.name = "普通",
	                            .rank = 0,
	                            .threshold = 0,
	                            .basis = "lifetime",
	                            .discount_bp = 10000,
	                            .points_multiplier_bp = 10000}};
	pt_tier_patch silver = {.t = {.name = "银卡",
	                              .rank = 1,
	                              .threshold = 100000,
	                              .basis = "rolling_12m",
	                              .discount_bp = 9800,
	                              .points_multiplier_bp = 12000}};
	pt_tier_patch gold = {.t = {.name = "金卡",
	                            .rank = 2,
	                            .threshold = 500000,
	                            .basis = "rolling_12m",
	                            .discount_bp = 9500,
	                            .points_multiplier_bp = 15000}};
	assert_int_equal(pt_svc_tier_create(&f->ctx, &base, &t, &err), 0);
	int64_t base_id = t.id;
	assert_int_equal(pt_svc_tier_create(&f->ctx, &silver, &t, &err), 0);
	int64_t silver_id = t.id;
	assert_int_equal(pt_svc_tier_create(&f->ctx, &gold, &t, &err), 0);
	int64_t gold_id = t.id;
	int64_t m = new_member(f, "13800000003");
	pt_member got;
	assert_int_equal(pt_svc_member_get(&f->ctx, m, &got, &err), 0);
	assert_int_equal(got.tier_id, base_id);

	pt_points_rules rules;
	assert_int_equal(pt_svc_points_rules(f->db, f->arena, &rules, &err), 0);
	assert_int_equal(pt_svc_tier_after_sale(f->db, f->arena, &rules, &got, 99999, &err), 0);
	assert_int_equal(pt_svc_member_get(&f->ctx, m, &got, &err), 0);
	assert_int_equal(got.tier_id, base_id);
	assert_int_equal(pt_svc_tier_after_sale(f->db, f->arena, &rules, &got, 1, &err), 0);
	assert_int_equal(pt_svc_member_get(&f->ctx, m, &got, &err), 0);
	assert_int_equal(got.tier_id, silver_id);
	assert_int_equal(pt_svc_tier_after_sale(f->db, f->arena, &rules, &got, 400000, &err), 0);
	assert_int_equal(pt_svc_member_get(&f->ctx, m, &got, &err), 0);
	assert_int_equal(got.tier_id, gold_id);
	assert_int_equal(got.total_spend, 500000);

	/* The review keeps the tier while the 12 months hold the spend... */
	int64_t changed;
	pt_clock_set_ms(at("2027-02-28T04:00:00Z"));
	assert_int_equal(pt_svc_job_tiers(f->db, &changed, &err), 0);
	assert_int_equal(changed, 0);
	/* ...and moves the member down once they no longer do. */
	pt_clock_set_ms(at("2027-03-02T04:00:00Z"));
	assert_int_equal(pt_svc_job_tiers(f->db, &changed, &err), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(pt_svc_member_get(&f->ctx, m, &got, &err), 0);
	assert_int_equal(got.tier_id, base_id);

	pt_tier_change *hist;
	int n;
	assert_int_equal(pt_svc_tier_history(&f->ctx, m, 0, 10, &hist, &n, &err), 0);
	assert_int_equal(n, 4);
	assert_string_equal(hist[0].reason, "register");
	assert_string_equal(hist[1].reason, "upgrade");
	assert_string_equal(hist[2].reason, "upgrade");
	assert_string_equal(hist[3].reason, "review");
	assert_int_equal(pt_svc_tier_delete(&f->ctx, base_id, &err), -1);
	assert_int_equal(err.code, PT_CONFLICT);
	assert_int_equal(pt_svc_tier_delete(&f->ctx, gold_id, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(clawback_debt_is_paid_by_the_next_credit, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(expired_points_vanish_before_the_job_runs, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(expiry_job_takes_every_date_in_batches, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(spend_moves_members_up_at_once_and_down_at_review,
	                                    setup, teardown),
	};
	return cmocka_run_group_tests_name("ledger", tests, NULL, NULL);
}
