#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

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
	    cmocka_unit_test(good_passwords_pass),
	};
	return cmocka_run_group_tests_name("password", tests, NULL, NULL);
}
