/* The settings table: defaults, INI file, environment, flags, in that order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/config.h"

static char ini_path[64];

static int setup(void **state)
{
	(void)state;
	strcpy(ini_path, "/tmp/patron-test-XXXXXX");
	int fd = mkstemp(ini_path);
	if (fd < 0)
		return -1;
	close(fd);
	unsetenv("PATRON_DB");
	unsetenv("PATRON_WORKERS");
	unsetenv("PATRON_CONFIG");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(ini_path);
	unsetenv("PATRON_DB");
	unsetenv("PATRON_WORKERS");
	return 0;
}

static void write_ini(const char *text)
{
	FILE *f = fopen(ini_path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int load(const char *command, int n, const char **args)
{
	char *argv[16] = {"patron", (char *)command};
	for (int i = 0; i < n; i++)
		argv[2 + i] = (char *)args[i];
	pt_err err = {0};
	return pt_config_load(command, 2 + n, argv, 2, &err);
}

static void defaults(void **state)
{
	(void)state;
	const char *args[] = {"--config", "/nonexistent/patron.ini"};
	assert_int_equal(load("serve", 2, args), 0);
	assert_string_equal(pt_settings.db, "sqlite:patron.db");
	assert_string_equal(pt_settings.listen, "127.0.0.1:8080");
	assert_int_equal(pt_settings.workers, 32);
	assert_false(pt_settings.test_clock);
}

static void later_sources_win(void **state)
{
	(void)state;
	write_ini("; comment\n[patron]\ndb = sqlite:/tmp/from-ini.db\nworkers = 3\n"
	          "listen = 127.0.0.1:9000\nowner_username = boss\n");
	const char *args[] = {"--config", ini_path, "--listen=127.0.0.1:9100"};
	setenv("PATRON_WORKERS", "5", 1);
	assert_int_equal(load("serve", 3, args), 0);
	assert_string_equal(pt_settings.db, "sqlite:/tmp/from-ini.db"); /* the file */
	assert_int_equal(pt_settings.workers, 5);                       /* env over the file */
	assert_string_equal(pt_settings.listen, "127.0.0.1:9100");      /* flag over all */
	const char *args2[] = {"--config", ini_path, "--owner-password", "longenough", "--demo"};
	assert_int_equal(load("init", 5, args2), 0);
	assert_string_equal(pt_settings.owner_username, "boss");
	assert_string_equal(pt_settings.owner_password, "longenough");
	assert_true(pt_settings.demo);
}

static void bad_settings(void **state)
{
	(void)state;
	const char *unknown[] = {"--config", ini_path, "--nope", "1"};
	write_ini("");
	assert_int_equal(load("serve", 4, unknown), -1);
	const char *wrong_command[] = {"--config", ini_path, "--demo"};
	assert_int_equal(load("serve", 3, wrong_command), -1);
	const char *range[] = {"--config", ini_path, "--workers", "0"};
	assert_int_equal(load("serve", 4, range), -1);
	const char *not_number[] = {"--config", ini_path, "--workers", "4x"};
	assert_int_equal(load("serve", 4, not_number), -1);
	const char *missing[] = {"--config", ini_path, "--db"};
	assert_int_equal(load("serve", 3, missing), -1);
	const char *stray[] = {"--config", ini_path, "serve"};
	assert_int_equal(load("serve", 3, stray), -1);
	write_ini("[patron]\nbogus = 1\n");
	const char *plain[] = {"--config", ini_path};
	assert_int_equal(load("serve", 2, plain), -1);
	write_ini("[patron]\nthis line is not a setting\n");
	assert_int_equal(load("serve", 2, plain), -1);
	setenv("PATRON_WORKERS", "many", 1);
	write_ini("");
	assert_int_equal(load("serve", 2, plain), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(defaults, setup, teardown),
	    cmocka_unit_test_setup_teardown(later_sources_win, setup, teardown),
	    cmocka_unit_test_setup_teardown(bad_settings, setup, teardown),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
