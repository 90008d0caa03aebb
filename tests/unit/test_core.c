/* Card numbers, phone masks, text and date rules: the pure core. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/card.h"
#include "core/dates.h"
#include "core/text.h"
#include "service/members.h"

static void luhn_known_numbers(void **state)
{
	(void)state;
	assert_true(pt_luhn_valid("79927398713")); /* the textbook example */
	assert_false(pt_luhn_valid("79927398710"));
	assert_int_equal(pt_luhn_digit("7992739871"), 3);
	assert_true(pt_luhn_valid("4539148803436467"));
	assert_false(pt_luhn_valid(""));
	assert_false(pt_luhn_valid("7"));
	assert_false(pt_luhn_valid("7992739871a"));
}

static void luhn_catches_single_digit_and_swaps(void **state)
{
	(void)state;
	char card[PT_CARD_DIGITS + 1];
	for (uint64_t r = 1; r < 2000; r += 7) {
		pt_card_make(r * 0x9E3779B97F4A7C15u, card);
		assert_int_equal(strlen(card), PT_CARD_DIGITS);
		assert_true(card[0] != '0');
		assert_true(pt_luhn_valid(card));
		for (int i = 0; i < PT_CARD_DIGITS; i++) {
			char typo[PT_CARD_DIGITS + 1];
			memcpy(typo, card, sizeof(typo));
			typo[i] = (char)('0' + (typo[i] - '0' + 1 + (int)(r % 9)) % 10);
			assert_false(pt_luhn_valid(typo));
		}
		for (int i = 0; i + 1 < PT_CARD_DIGITS; i++) {
			char swapped[PT_CARD_DIGITS + 1];
			memcpy(swapped, card, sizeof(swapped));
			char t = swapped[i];
			swapped[i] = swapped[i + 1];
			swapped[i + 1] = t;
			/* Luhn misses only the 09 <-> 90 swap. */
			if (t != swapped[i] &&
			    !((t == '0' && swapped[i] == '9') || (t == '9' && swapped[i] == '0')))
				assert_false(pt_luhn_valid(swapped));
		}
	}
}

static void member_codes_are_well_formed(void **state)
{
	(void)state;
	char card[16], code[16], card2[16], code2[16];
	pt_member_codes_make(42, card, code);
	pt_member_codes_make(42, card2, code2);
	assert_string_equal(card, card2); /* the same bits, the same codes */
	assert_string_equal(code, code2);
	assert_int_equal(strlen(code), 8);
	assert_true(pt_text_all_in(code, "23456789ABCDEFGHJKMNPQRSTUVWXYZ"));
	pt_member_codes_make(43, card2, code2);
	assert_string_not_equal(card, card2);
}

static void phone_masks(void **state)
{
	(void)state;
	char out[32];
	pt_phone_mask("13812341234", out, sizeof(out));
	assert_string_equal(out, "138****1234");
	pt_phone_mask("8613812341234", out, sizeof(out));
	assert_string_equal(out, "861****1234");
	pt_phone_mask("62881234", out, sizeof(out));
	assert_string_equal(out, "628*1234");
	pt_phone_mask("123456", out, sizeof(out));
	assert_string_equal(out, "****56");
}

static void utf8_lengths(void **state)
{
	(void)state;
	assert_int_equal(pt_utf8_length("abc", 3), 3);
	assert_int_equal(pt_utf8_length("王秀英", strlen("王秀英")), 3);
	assert_int_equal(pt_utf8_length("\xF0\x9F\x98\x80", 4), 1);  /* an emoji */
	assert_int_equal(pt_utf8_length("\xC3\x28", 2), -1);         /* bad continuation */
	assert_int_equal(pt_utf8_length("\xC0\xAF", 2), -1);         /* overlong '/' */
	assert_int_equal(pt_utf8_length("\xED\xA0\x80", 3), -1);     /* a surrogate */
	assert_int_equal(pt_utf8_length("\xF4\x90\x80\x80", 4), -1); /* above U+10FFFF */
	assert_int_equal(pt_utf8_length("\xE7\x8E", 2), -1);         /* cut short */
}

static void text_rules(void **state)
{
	(void)state;
	assert_true(pt_text_has_control("a\tb", false));
	assert_false(pt_text_has_control("a\r\nb\tc", true));
	assert_true(pt_text_has_control("a\nb\x01", true));
	assert_true(pt_text_has_control("a\x7f", false));
	assert_true(pt_text_has_control("a\xC2\x85", true));
	assert_false(pt_text_has_control("王 秀英", false));
	assert_true(pt_text_is_blank(""));
	assert_true(pt_text_is_blank("  \xE3\x80\x80 "));
	assert_false(pt_text_is_blank(" a "));
	assert_true(pt_text_all_digits("0123456789"));
	assert_false(pt_text_all_digits(""));
	assert_false(pt_text_all_digits("138-1234"));
}

static void dates(void **state)
{
	(void)state;
	int y, m, d;
	assert_int_equal(pt_date_parse("2024-02-29", &y, &m, &d), 0);
	assert_int_equal(pt_date_parse("2023-02-29", &y, &m, &d), -1);
	assert_int_equal(pt_date_parse("1900-02-29", &y, &m, &d), -1);
	assert_int_equal(pt_date_parse("2000-02-29", &y, &m, &d), 0);
	assert_int_equal(pt_date_parse("2026-04-31", &y, &m, &d), -1);
	assert_int_equal(pt_date_parse("2026-13-01", &y, &m, &d), -1);
	assert_int_equal(pt_date_parse("2026-1-01", &y, &m, &d), -1);
	assert_int_equal(pt_date_parse("x", &y, &m, &d), -1);
	assert_int_equal(pt_days_from_date(1970, 1, 1), 0);
	assert_int_equal(pt_days_from_date(2000, 3, 1), 11017);
	for (int64_t day = -719000; day < 800000; day += 997) {
		pt_date_from_days(day, &y, &m, &d);
		assert_true(pt_date_valid(y, m, d));
		assert_int_equal(pt_days_from_date(y, m, d), day);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(luhn_known_numbers),
	    cmocka_unit_test(luhn_catches_single_digit_and_swaps),
	    cmocka_unit_test(member_codes_are_well_formed),
	    cmocka_unit_test(phone_masks),
	    cmocka_unit_test(utf8_lengths),
	    cmocka_unit_test(text_rules),
	    cmocka_unit_test(dates),
	};
	return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
