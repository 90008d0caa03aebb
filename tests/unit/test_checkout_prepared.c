/* A sale priced before its write transaction (pt_svc_checkout_prepare) commits that price only
 * while nothing it rests on has changed: a change to the product, the member's points, the
 * coupon, or any pricing setting in between makes the commit price the sale again, and the
 * products kept in memory are those of the new generation. The clock tells which price was
 * used: a prepared sale is dated when it was priced. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "service/catalog.h"
#include "service/checkout.h"
#include "service/market.h"
#include "service/members.h"
#include "service/points.h"
#include "service/stores.h"
#include "store/repo.h"
#include "util/clock.h"

typedef struct {
	char path[64];
	pt_db *db, *other; /* the sale's connection, and another one changing things meanwhile */
	pt_arena *arena;
	pt_ctx ctx, other_ctx;
	int64_t store, member;
} fixture;

enum { PRICED_AT = 1000, COMMITTED_AT = 2000 }; /* ms after the day's start, same day */

static int64_t day_start;

static int setup_at(void **state, const char *day_start_text)
{
	fixture *f = calloc(1, sizeof(*f));
	pt_err err = {0};
	strcpy(f->path, "/tmp/patron-prepared-XXXXXX");
	int fd = mkstemp(f->path);
	close(fd);
	char url[96];
	snprintf(url, sizeof(url), "sqlite:%s", f->path);
	if (pt_db_open(&f->db, url, &err) != 0 || pt_repo_migrate(f->db, &err) != 0 ||
	    pt_db_open(&f->other, url, &err) != 0)
		return -1;
	f->arena = pt_arena_new();
	f->ctx = (pt_ctx){.db = f->db, .arena = f->arena, .perms = PT_PERM_ALL};
	f->other_ctx = (pt_ctx){.db = f->other, .arena = f->arena, .perms = PT_PERM_ALL};
	assert_int_equal(pt_clock_parse_rfc3339(day_start_text, &day_start), 0);
	pt_clock_set_ms(day_start);
	pt_store s;
	pt_store_patch sp = {.set_code = true, .set_name = true, .code = "S1", .name = "一店"};
	assert_int_equal(pt_svc_store_create(&f->ctx, &sp, &s, &err), 0);
	f->store = s.id;
	pt_product p;
	pt_product_patch pp = {.set_sku = true,
	                       .set_name = true,
	                       .set_price = true,
	                       .p = {.sku = "A1", .name = "苹果", .price = 1000}};
	assert_int_equal(pt_svc_product_create(&f->ctx, &pp, &p, &err), 0);
	pt_stock_result moved;
	pt_stock_request rq = {.store_id = f->store, .qty = 100, .sku = "A1", .kind = "receive"};
	assert_int_equal(pt_svc_stock_move(&f->ctx, &rq, &moved, &err), 0);
	pt_member m;
	pt_member_input mi = {.name = "测试", .phone = "13800000001"};
	assert_int_equal(pt_svc_member_create(&f->ctx, &mi, &m, &err), 0);
	f->member = m.id;
	*state = f;
	return 0;
}

/* Noon in Shanghai, the business's default time zone: the same date in UTC. */
static int setup(void **state)
{
	return setup_at(state, "2026-06-01T04:00:00Z");
}

static int teardown(void **state)
{
	fixture *f = *state;
	pt_db_close(f->db);
	pt_db_close(f->other);
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

typedef void (*change_fn)(fixture *f);

/* Prices the sale in, lets change run, commits: 0 with the order as committed in *priced. */
static int try_sale(fixture *f, const pt_checkout_request *in, change_fn change, json_t **priced,
                    const char **text, pt_err *err)
{
	pt_checkout_prepared *prepared = NULL;
	pt_clock_set_ms(day_start + PRICED_AT);
	assert_int_equal(pt_svc_checkout_prepare(&f->ctx, in, &prepared, err), 0);
	assert_non_null(prepared);
	if (change)
		change(f);
	pt_clock_set_ms(day_start + COMMITTED_AT);
	return pt_svc_checkout(&f->ctx, in, true, prepared, priced, text, err);
}

static const pt_checkout_item one_apple = {.sku = "A1", .qty = 1};

/* One apple for the member, with the coupon of that code when there is one. */
static pt_checkout_request apple_for_member(const fixture *f, const char *coupon_code)
{
	return (pt_checkout_request){.store_id = f->store,
	                             .member_id = f->member,
	                             .coupon_code = coupon_code,
	                             .items = &one_apple,
	                             .nitems = 1};
}

static json_t *sale(fixture *f, change_fn change, const char **text)
{
	pt_err err = {0};
	pt_checkout_request in = apple_for_member(f, NULL);
	json_t *priced = NULL;
	if (try_sale(f, &in, change, &priced, text, &err) != 0)
		fail_msg("checkout: %s", err.msg_en);
	return priced;
}

static int64_t field(json_t *o, const char *name)
{
	return json_integer_value(json_object_get(o, name));
}

static bool dated(json_t *o, int64_t at)
{
	char want[32];
	pt_clock_format_rfc3339(day_start + at, want);
	return strcmp(json_string_value(json_object_get(o, "created_at")), want) == 0;
}

static void unchanged_basis_keeps_the_price(void **state)
{
	fixture *f = *state;
	const char *text = NULL;
	json_t *o = sale(f, NULL, &text);
	assert_true(dated(o, PRICED_AT));
	assert_int_equal(field(o, "total"), 1000);
	/* The stored text is the whole answer, as json_dumps would write it. */
	char *whole = json_dumps(o, JSON_COMPACT);
	assert_string_equal(text, whole);
	free(whole);
}

static void raise_price(fixture *f)
{
	pt_err err = {0};
	pt_product p;
	pt_product_patch pp = {.set_price = true, .p = {.price = 1500}};
	assert_int_equal(pt_svc_product_patch(&f->other_ctx, "A1", &pp, &p, &err), 0);
}

static void a_changed_product_is_priced_again(void **state)
{
	fixture *f = *state;
	json_t *o = sale(f, raise_price, NULL);
	assert_true(dated(o, COMMITTED_AT));
	assert_int_equal(field(o, "total"), 1500);
	/* The next sale is priced from memory (service/basis.h): at the new price. */
	o = sale(f, NULL, NULL);
	assert_true(dated(o, PRICED_AT));
	assert_int_equal(field(o, "total"), 1500);
}

static void give_points(fixture *f)
{
	pt_err err = {0};
	pt_ledger_row entry;
	pt_posted out;
	assert_int_equal(
	    pt_svc_points_adjust(&f->other_ctx, f->member, 500, "补偿", &entry, &out, &err), 0);
}

static void changed_points_are_priced_again(void **state)
{
	fixture *f = *state;
	json_t *o = sale(f, give_points, NULL);
	assert_true(dated(o, COMMITTED_AT));
	/* 500 given meanwhile, plus what the apple earns (the default: 1 per yuan) */
	assert_int_equal(field(o, "points_balance"), 500 + field(o, "points_earned"));
}

static void change_store(fixture *f)
{
	pt_err err = {0};
	pt_store s;
	pt_store_patch sp = {.set_name = true, .name = "一店（新）"};
	assert_int_equal(pt_svc_store_patch(&f->other_ctx, f->store, &sp, &s, &err), 0);
}

static void any_change_to_the_basis_prices_again(void **state)
{
	fixture *f = *state;
	json_t *o = sale(f, change_store, NULL);
	assert_true(dated(o, COMMITTED_AT));
	assert_int_equal(field(o, "total"), 1000);
}

static int64_t quote_total(fixture *f)
{
	pt_err err = {0};
	pt_checkout_item item = {.sku = "A1", .qty = 1};
	pt_checkout_request in = {.store_id = f->store, .items = &item, .nitems = 1};
	json_t *priced = NULL;
	if (pt_svc_checkout(&f->ctx, &in, false, NULL, &priced, NULL, &err) != 0)
		fail_msg("quote: %s", err.msg_en);
	return field(priced, "total");
}

/* A sale without a member rests on the pricing basis alone. */
static void a_sale_without_a_member_keeps_the_price(void **state)
{
	fixture *f = *state;
	pt_err err = {0};
	pt_checkout_item item = {.sku = "A1", .qty = 2};
	pt_checkout_request in = {.store_id = f->store, .items = &item, .nitems = 1};
	json_t *o = NULL;
	assert_int_equal(try_sale(f, &in, NULL, &o, NULL, &err), 0);
	assert_true(dated(o, PRICED_AT));
	assert_int_equal(field(o, "total"), 2000);
	assert_null(json_object_get(o, "points_balance"));
}

static void erase_member(fixture *f)
{
	pt_err err = {0};
	assert_int_equal(pt_svc_member_erase(&f->other_ctx, f->member, &err), 0);
}

static int64_t orders_of(fixture *f)
{
	pt_err err = {0};
	pt_rows r;
	assert_int_equal(
	    pt_db_query(f->db, f->arena, "SELECT COUNT(*) FROM orders", NULL, 0, &r, &err), 0);
	return pt_rows_int(&r, 0, 0);
}

/* A member erased between the price and the sale is no longer there to sell to. */
static void a_member_erased_meanwhile_is_refused(void **state)
{
	fixture *f = *state;
	pt_err err = {0};
	pt_checkout_request in = apple_for_member(f, NULL);
	json_t *o = NULL;
	assert_int_equal(try_sale(f, &in, erase_member, &o, NULL, &err), -1);
	assert_int_equal(err.code, PT_INVALID_ARGUMENT);
	assert_string_equal(err.field, "member_id");
	assert_int_equal(orders_of(f), 0);
}

/* A 5-yuan coupon for the member, valid for 30 days, on apples that now take discounts: its
 * code. */
static const char *give_coupon(fixture *f)
{
	pt_err err = {0};
	pt_product p;
	pt_product_patch pp = {.set_discountable = true, .p = {.discountable = true}};
	assert_int_equal(pt_svc_product_patch(&f->ctx, "A1", &pp, &p, &err), 0);
	pt_coupon_template tpl = {.name = "减5元",
	                          .kind = "amount_off",
	                          .value = 500,
	                          .valid_days = 30,
	                          .store_ids = "[]"},
	                   t;
	pt_coupon *issued;
	assert_int_equal(pt_svc_template_create(&f->ctx, &tpl, &t, &err), 0);
	assert_int_equal(pt_svc_coupons_issue(&f->ctx, t.id, &f->member, 1, &issued, &err), 0);
	return issued[0].code;
}

static void a_coupon_unchanged_keeps_the_price(void **state)
{
	fixture *f = *state;
	pt_err err = {0};
	json_t *o = NULL;
	pt_checkout_request in = apple_for_member(f, give_coupon(f));
	assert_int_equal(try_sale(f, &in, NULL, &o, NULL, &err), 0);
	assert_true(dated(o, PRICED_AT));
	assert_int_equal(field(o, "coupon_discount"), 500);
	assert_int_equal(field(o, "total"), 500);
}

/* Only the coupon's own row changes (no request does that alone yet; a later void or an
 * edited validity would): its end moved before the sale. */
static void end_coupon(fixture *f)
{
	pt_err err = {0};
	pt_val end = PT_INT(day_start);
	assert_int_equal(
	    pt_db_exec(f->other, "UPDATE coupons SET valid_until = $1", &end, 1, NULL, &err), 0);
}

static void a_coupon_changed_meanwhile_is_checked_again(void **state)
{
	fixture *f = *state;
	pt_err err = {0};
	json_t *o = NULL;
	pt_checkout_request in = apple_for_member(f, give_coupon(f));
	assert_int_equal(try_sale(f, &in, end_coupon, &o, NULL, &err), -1);
	assert_int_equal(err.code, PT_COUPON_NOT_APPLICABLE);
	assert_string_equal(err.field, "coupon_code");
	assert_int_equal(orders_of(f), 0);
}

/* A quote takes the products from memory too, of its own snapshot's generation. */
static void quotes_follow_a_price_change(void **state)
{
	fixture *f = *state;
	assert_int_equal(quote_total(f), 1000);
	assert_int_equal(quote_total(f), 1000);
	raise_price(f);
	assert_int_equal(quote_total(f), 1500);
}

/* 04:00 in Shanghai is still the day before in UTC: the sale's day is the business's. */
static int setup_shanghai_morning(void **state)
{
	return setup_at(state, "2026-06-01T20:00:00Z");
}

/* Priced at 23:59:59.5 in Shanghai, committed half a second into the next day. */
static int setup_before_midnight(void **state)
{
	return setup_at(state, "2026-06-01T15:59:58.500Z");
}

static void a_new_day_prices_again(void **state)
{
	fixture *f = *state;
	json_t *o = sale(f, NULL, NULL);
	assert_true(dated(o, COMMITTED_AT));
	assert_int_equal(field(o, "total"), 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(unchanged_basis_keeps_the_price, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_changed_product_is_priced_again, setup, teardown),
	    cmocka_unit_test_setup_teardown(changed_points_are_priced_again, setup, teardown),
	    cmocka_unit_test_setup_teardown(any_change_to_the_basis_prices_again, setup, teardown),
	    cmocka_unit_test_setup_teardown(quotes_follow_a_price_change, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_sale_without_a_member_keeps_the_price, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(a_member_erased_meanwhile_is_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_coupon_unchanged_keeps_the_price, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_coupon_changed_meanwhile_is_checked_again, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(unchanged_basis_keeps_the_price, setup_shanghai_morning,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(a_new_day_prices_again, setup_before_midnight,
	                                    teardown),
	};
	return cmocka_run_group_tests_name("checkout_prepared", tests, NULL, NULL);
}
