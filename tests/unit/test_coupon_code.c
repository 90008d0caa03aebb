#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/coupon_code.h"

static void codes_round_trip_and_catch_typos(void **state)
{
	(void)state;
	static const char alphabet[] = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
	uint64_t seed = 0x9E3779B97F4A7C15u;
	for (int round = 0; round < 500; round++) {
		uint32_t r[13];
		for (int i = 0; i < 13; i++) {
			seed = seed * 6364136223846793005u + 1442695040888963407u;
			r[i] = (uint32_t)(seed >> 33);
		}
		char code[PT_COUPON_CODE_LEN + 1], back[PT_COUPON_CODE_LEN + 1];
		pt_coupon_code_make(r, code);
		assert_int_equal(strlen(code), PT_COUPON_CODE_LEN);
		assert_int_equal(code[5], '-');
		assert_int_equal(code[11], '-');
		assert_int_equal(pt_coupon_code_normalize(code, back), 0);
		assert_string_equal(code, back);
		/* What a person types: lower case, spaces, no dashes. */
		char typed[40];
		int k = 0;
		for (int i = 0; code[i]; i++)
			if (code[i] != '-')
				typed[k++] = (char)(code[i] >= 'A' && code[i] <= 'Z' ? code[i] + 32
				                                                     : code[i]);
		typed[k] = '\0';
		assert_int_equal(pt_coupon_code_normalize(typed, back), 0);
		assert_string_equal(code, back);
		/* Every single-character typo is caught. */
		for (int i = 0; i < PT_COUPON_CODE_LEN; i++) {
			if (code[i] == '-')
				continue;
			char bad[PT_COUPON_CODE_LEN + 1];
			memcpy(bad, code, sizeof(bad));
			const char *pos = strchr(alphabet, bad[i]);
			bad[i] = alphabet[((pos - alphabet) + 1 + round % 29) % 31];
			assert_int_equal(pt_coupon_code_normalize(bad, back), -2);
		}
	}
}

static void refuses_what_is_not_a_code(void **state)
{
	(void)state;
	char out[PT_COUPON_CODE_LEN + 1];
	assert_int_equal(pt_coupon_code_normalize("", out), -1);
	assert_int_equal(pt_coupon_code_normalize("ABC", out), -1);
	assert_int_equal(pt_coupon_code_normalize("OOOOO-OOOOO-OOOO", out), -1); /* O is not used */
	assert_int_equal(pt_coupon_code_normalize("22222-22222-22222", out), -1); /* too long */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(codes_round_trip_and_catch_typos),
	    cmocka_unit_test(refuses_what_is_not_a_code),
	};
	return cmocka_run_group_tests_name("coupon_code", tests, NULL, NULL);
}
