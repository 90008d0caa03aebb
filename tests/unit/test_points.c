/* Points rules: expiry dates, time zones, the order lots are spent in, overflow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/points.h"
#include "util/clock.h"
#include "util/tz.h"

static void expiry_dates(void **state)
{
	(void)state;
	char out[11];
	assert_int_equal(pt_expiry_date(PT_EXPIRY_NONE, 30, "2026-05-01", out), 0);
	assert_string_equal(out, "");
	assert_int_equal(pt_expiry_date(PT_EXPIRY_ROLLING, 30, "2026-05-01", out), 0);
	assert_string_equal(out, "2026-05-31");
	assert_int_equal(pt_expiry_date(PT_EXPIRY_ROLLING, 1, "2026-12-31", out), 0);
	assert_string_equal(out, "2027-01-01");
	assert_int_equal(pt_expiry_date(PT_EXPIRY_ROLLING, 365, "2024-02-29", out), 0);
	assert_string_equal(out, "2025-02-28");
	assert_int_equal(pt_expiry_date(PT_EXPIRY_ROLLING, 1, "2028-02-28", out), 0);
	assert_string_equal(out, "2028-02-29");
	assert_int_equal(pt_expiry_date(PT_EXPIRY_YEAR_END, 0, "2026-01-01", out), 0);
	assert_string_equal(out, "2027-12-31");
	assert_int_equal(pt_expiry_date(PT_EXPIRY_YEAR_END, 0, "2026-12-31", out), 0);
	assert_string_equal(out, "2027-12-31");
	assert_int_equal(pt_expiry_date(PT_EXPIRY_YEAR_END, 0, "2027-02-30", out), -1);
}

static void expired_through_the_end_of_the_day(void **state)
{
	(void)state;
	assert_false(pt_lot_expired("2027-12-31", "2027-12-31"));
	assert_true(pt_lot_expired("2027-12-31", "2028-01-01"));
	assert_false(pt_lot_expired(NULL, "9999-12-31"));
	assert_false(pt_lot_expired("", "9999-12-31"));
}

static void business_time_zone(void **state)
{
	(void)state;
	char date[11];
	int64_t ms;
	/* 23:30 on 31 December in Shanghai is still a point of that year. */
	assert_int_equal(pt_clock_parse_rfc3339("2026-12-31T15:30:00Z", &ms), 0);
	assert_int_equal(pt_tz_date("Asia/Shanghai", ms, date), 0);
	assert_string_equal(date, "2026-12-31");
	assert_int_equal(pt_clock_parse_rfc3339("2026-12-31T16:00:00Z", &ms), 0);
	assert_int_equal(pt_tz_date("Asia/Shanghai", ms, date), 0);
	assert_string_equal(date, "2027-01-01");
	assert_int_equal(pt_tz_date("UTC", ms, date), 0);
	assert_string_equal(date, "2026-12-31");
	/* Daylight saving: New York is UTC-4 in July, UTC-5 in January. */
	int32_t off;
	assert_int_equal(pt_clock_parse_rfc3339("2026-07-01T12:00:00Z", &ms), 0);
	assert_int_equal(pt_tz_offset("America/New_York", ms / 1000, &off), 0);
	assert_int_equal(off, -4 * 3600);
	assert_int_equal(pt_clock_parse_rfc3339("2026-01-15T12:00:00Z", &ms), 0);
	assert_int_equal(pt_tz_offset("America/New_York", ms / 1000, &off), 0);
	assert_int_equal(off, -5 * 3600);
	assert_false(pt_tz_known("Mars/Olympus_Mons"));
	assert_false(pt_tz_known("../../etc/passwd"));
	assert_false(pt_tz_known(""));
	assert_true(pt_tz_known("Asia/Shanghai"));
}

static void lots_spend_soonest_expiring_first(void **state)
{
	(void)state;
	pt_lot lots[] = {
	    {1, 100, NULL},        {2, 50, "2027-12-31"}, {3, 70, "2027-06-30"},
	    {4, 30, "2027-12-31"}, {5, 10, ""},
	};
	pt_lots_sort(lots, 5);
	int64_t order[] = {3, 2, 4, 1, 5};
	for (int i = 0; i < 5; i++)
		assert_int_equal(lots[i].id, order[i]);
	int64_t takes[5];
	assert_int_equal(pt_lots_take(lots, 5, 140, takes), 140);
	assert_int_equal(takes[0], 70);
	assert_int_equal(takes[1], 50);
	assert_int_equal(takes[2], 20);
	assert_int_equal(takes[3], 0);
	assert_int_equal(pt_lots_take(lots, 5, 1000, takes), 260);
	assert_int_equal(takes[4], 10);
	assert_int_equal(pt_lots_take(lots, 0, 5, takes), 0);
}

static void preferred_lots_come_first_in_their_order(void **state)
{
	(void)state;
	pt_lot lots[] = {{1, 10, "2030-01-01"},
	                 {2, 20, "2030-02-01"},
	                 {3, 30, "2030-03-01"},
	                 {4, 40, "2030-04-01"},
	                 {5, 50, NULL}};
	const int64_t prefer[] = {5, 3, 99};
	pt_lots_prefer(lots, 5, prefer, 3);
	const int64_t order[] = {3, 5, 1, 2, 4};
	for (int i = 0; i < 5; i++)
		assert_int_equal(lots[i].id, order[i]);
	int64_t takes[5];
	assert_int_equal(pt_lots_take(lots, 5, 85, takes), 85);
	assert_int_equal(takes[0], 30);
	assert_int_equal(takes[1], 50);
	assert_int_equal(takes[2], 5);
	pt_lots_prefer(lots, 5, NULL, 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(lots[i].id, order[i]);
}

static void checked_sums(void **state)
{
	(void)state;
	int64_t r = 7;
	assert_true(pt_add_checked(INT64_MAX - 1, 1, &r));
	assert_true(r == INT64_MAX);
	assert_false(pt_add_checked(INT64_MAX, 1, &r));
	assert_true(r == INT64_MAX); /* untouched */
	assert_false(pt_add_checked(INT64_MIN, -1, &r));
	assert_true(pt_add_checked(-5, 3, &r));
	assert_int_equal(r, -2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(expiry_dates),
	    cmocka_unit_test(expired_through_the_end_of_the_day),
	    cmocka_unit_test(business_time_zone),
	    cmocka_unit_test(lots_spend_soonest_expiring_first),
	    cmocka_unit_test(preferred_lots_come_first_in_their_order),
	    cmocka_unit_test(checked_sums),
	};
	return cmocka_run_group_tests_name("points", tests, NULL, NULL);
}
