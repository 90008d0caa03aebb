/* Personal data at rest: sealing, tampering, blind indexes, rotation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/keys.h"

static void seal_open_rotate(void **state)
{
	(void)state;
	char path[] = "/tmp/patron-keys-XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	unlink(path);
	pt_err err = {0};
	pt_arena *a = pt_arena_new();
	assert_int_equal(pt_keys_load(path, false, &err), -1); /* missing, not created */
	assert_int_equal(pt_keys_load(path, true, &err), 0);
	char *sealed = pt_keys_seal(a, "members.phone", "13812341234");
	assert_non_null(sealed);
	assert_null(strstr(sealed, "13812341234"));
	assert_int_equal(strncmp(sealed, "pk1.k1.", 7), 0);
	assert_string_not_equal(sealed, pt_keys_seal(a, "members.phone", "13812341234"));
	assert_string_equal(pt_keys_open(a, "members.phone", sealed), "13812341234");
	/* Bound to its column: a phone cannot be passed off as a note. */
	assert_null(pt_keys_open(a, "members.note", sealed));
	char *tampered = pt_arena_strdup(a, sealed);
	tampered[strlen(tampered) - 2] ^= 1;
	assert_null(pt_keys_open(a, "members.phone", tampered));
	assert_string_equal(pt_keys_open(a, "members.phone", "plain"), "plain");
	char *idx = pt_keys_index(a, "phone", "13812341234");
	assert_int_equal(strlen(idx), 64);
	assert_string_equal(idx, pt_keys_index(a, "phone", "13812341234"));
	assert_string_not_equal(idx, pt_keys_index(a, "phone_last4", "13812341234"));
	/* After rotation new values use the new key, and old ones still open. */
	assert_int_equal(pt_keys_rotate(path, &err), 0);
	char *newer = pt_keys_seal(a, "members.phone", "13812341234");
	assert_int_equal(strncmp(newer, "pk1.k2.", 7), 0);
	assert_string_equal(pt_keys_open(a, "members.phone", sealed), "13812341234");
	/* Blind indexes do not change: lookups work through a rotation. */
	assert_string_equal(idx, pt_keys_index(a, "phone", "13812341234"));
	pt_arena_free(a);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(seal_open_rotate)};
	return cmocka_run_group_tests_name("keys", tests, NULL, NULL);
}
