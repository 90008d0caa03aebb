#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/password.h"

static void common_passwords_are_refused(void **state)
{
	(void)state;
	const char *common[] = {
	    "password1234",     "Password2026!", "123456789012", "qwertyuiopas",
	    "aaaaaaaaaaaa",     "abcabcabcabc",  "1qaz2wsx3edc", "woaini1314520",
	    "passwordpassword", "ASDFGHJKL123",  "20260101!!!!", "iloveyou2026",
	    "0987654321098",    "abcdefghijkl",  "zxcvbnmzxcvb", "admin1234567"};
	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
		if (!pt_password_common(common[i]))
			fail_msg("%s should count as common", common[i]);
}

/* Entries of the 10,000 list and words from it padded to the length rule. */
static void listed_passwords_are_refused(void **state)
{
	(void)state;
	const char *listed[] = {"sonyericsson",   "leavemealone", "finalfantasy", "WebSolutions",
	                        "chickenwing101", "dragon123456", "mustang!2026", "2026Starwars!",
	                        "1qaz!qaz",       "p@ssw0rd"};
	for (size_t i = 0; i < sizeof(listed) / sizeof(listed[0]); i++)
		if (!pt_password_common(listed[i]))
			fail_msg("%s should count as common", listed[i]);
	/* Only whole entries count: a prefix or a longer word is not one of them. */
	assert_false(pt_password_common("sonyericssonx"));
	assert_non_null(strstr(pt_common_passwords, "\n123456\n"));
	size_t entries = 0;
	for (const char *p = pt_common_passwords; *p; p++)
		entries += *p == '\n';
	assert_int_equal(entries, 10000 + 1);
}

static void good_passwords_pass(void **state)
{
	(void)state;
	const char *good[] = {"correct horse battery staple 9", "Tr0ub4dor&3-xyz",
	                      "静安店-收银台-2号机", "my cat eats olives", "v8#Kp2!mQz7@Lw"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (pt_password_common(good[i]))
			fail_msg("%s should pass", good[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(common_passwords_are_refused),
	    cmocka_unit_test(listed_passwords_are_refused),
	    cmocka_unit_test(good_passwords_pass),
	};
	return cmocka_run_group_tests_name("password", tests, NULL, NULL);
}
