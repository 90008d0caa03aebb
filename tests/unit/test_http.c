/* Route matching, Accept-Language, JSON field helpers, list parameters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api/api.h"
#include "util/clock.h"

static int dummy(pt_req *req, pt_err *err)
{
	(void)req;
	(void)err;
	return 0;
}

static const pt_route routes[] = {
    {PT_GET, "/healthz", dummy, 0, 0},
    {PT_GET, "/api/v1/members", dummy, 0, 0},
    {PT_POST, "/api/v1/members", dummy, 0, 0},
    {PT_GET, "/api/v1/members/lookup", dummy, 0, 0},
    {PT_GET, "/api/v1/members/{id}", dummy, 0, 0},
    {PT_PATCH, "/api/v1/members/{id}", dummy, 0, 0},
    {PT_GET, "/api/v1/members/{id}/ledger", dummy, 0, 0},
};
enum { N = sizeof(routes) / sizeof(routes[0]) };

static int match(pt_method m, const char *path, const char **name, const char **value, char *allow)
{
	char buf[256];
	static char names[PT_MAX_PATH_PARAMS][PT_PARAM_NAME_MAX];
	char *values[PT_MAX_PATH_PARAMS];
	static char value_copy[64];
	strcpy(buf, path);
	int r = pt_route_match(routes, N, m, buf, names, values, allow, 64);
	if (r >= 0 && name) {
		*name = names[0];
		if (values[0])
			strcpy(value_copy, values[0]);
		*value = values[0] ? value_copy : NULL;
	}
	return r;
}

static void routes_match(void **state)
{
	(void)state;
	char allow[64];
	const char *name, *value;
	assert_int_equal(match(PT_GET, "/healthz", NULL, NULL, allow), 0);
	assert_int_equal(match(PT_POST, "/api/v1/members", NULL, NULL, allow), 2);
	assert_int_equal(match(PT_GET, "/api/v1/members/lookup", &name, &value, allow), 3);
	assert_int_equal(match(PT_GET, "/api/v1/members/42", &name, &value, allow), 4);
	assert_string_equal(name, "id");
	assert_string_equal(value, "42");
	assert_int_equal(match(PT_GET, "/api/v1/members/42/ledger", &name, &value, allow), 6);
	assert_string_equal(value, "42");
}

static void routes_refuse(void **state)
{
	(void)state;
	char allow[64];
	assert_int_equal(match(PT_GET, "/nope", NULL, NULL, allow), -1);
	assert_int_equal(match(PT_GET, "/api/v1/members/", NULL, NULL, allow), -1);
	assert_int_equal(match(PT_GET, "/api/v1/members//ledger", NULL, NULL, allow), -1);
	assert_int_equal(match(PT_GET, "/api/v1", NULL, NULL, allow), -1);
	assert_int_equal(match(PT_DELETE, "/api/v1/members/7", NULL, NULL, allow), -2);
	assert_string_equal(allow, "GET, PATCH");
	assert_int_equal(match(PT_PUT, "/api/v1/members", NULL, NULL, allow), -2);
	assert_string_equal(allow, "GET, POST");
	/* lookup is its own resource: PATCH is not allowed on it, whatever {id} allows */
	assert_int_equal(match(PT_PATCH, "/api/v1/members/lookup", NULL, NULL, allow), -2);
	assert_string_equal(allow, "GET");
}

static void accept_language(void **state)
{
	(void)state;
	assert_false(pt_http_prefers_english(NULL));
	assert_false(pt_http_prefers_english(""));
	assert_true(pt_http_prefers_english("en"));
	assert_true(pt_http_prefers_english("en-US,en;q=0.9"));
	assert_false(pt_http_prefers_english("zh-CN,zh;q=0.9,en;q=0.8"));
	assert_true(pt_http_prefers_english("zh;q=0.5, en-GB;q=0.8"));
	assert_false(pt_http_prefers_english("fr-FR"));
	assert_false(pt_http_prefers_english("en;q=0"));
	assert_false(pt_http_prefers_english("zh, en"));
	assert_true(pt_http_prefers_english("EN"));
	assert_false(pt_http_prefers_english("eng"));
	/* q outside 0..1 is held to it (fuzz_http: a q of 10^55 overflowed the int) */
	assert_false(pt_http_prefers_english("zh;q=08888888888888888888888888888888888888888888"
	                                     "88888888888.9,en;q=0.8"));
	assert_true(pt_http_prefers_english("zh;q=-5,en;q=0.1"));
	assert_false(pt_http_prefers_english("en;q=nan"));
}

static json_t *parse(const char *text)
{
	json_error_t e;
	return json_loads(text, 0, &e);
}

static void json_fields(void **state)
{
	(void)state;
	pt_err err = {0};
	pt_field f;
	json_t *o = parse("{\"name\":\"王秀英\",\"n\":5,\"blank\":\"  \","
	                  "\"ctl\":\"a\\u0007\",\"x\":null,\"arr\":[1,2,3],\"big\":1.5}");
	assert_non_null(o);
	static const char *const allowed[] = {"name", "n", NULL};
	assert_int_equal(pt_json_only(o, allowed, &err), -1);
	assert_int_equal(err.code, PT_INVALID_ARGUMENT);

	assert_int_equal(pt_json_text(o, "name", PT_F_REQUIRED, 1, 3, &f, &err), 0);
	assert_string_equal(f.s, "王秀英");
	assert_int_equal(pt_json_text(o, "name", PT_F_REQUIRED, 1, 2, &f, &err), -1);
	assert_string_equal(err.field, "name");
	assert_int_equal(pt_json_text(o, "blank", 0, 1, 10, &f, &err), -1);
	assert_int_equal(pt_json_text(o, "ctl", 0, 0, 10, &f, &err), -1);
	assert_int_equal(pt_json_text(o, "n", 0, 0, 10, &f, &err), -1); /* wrong type */
	assert_int_equal(pt_json_text(o, "missing", 0, 0, 10, &f, &err), 0);
	assert_false(f.present);
	assert_int_equal(pt_json_text(o, "missing", PT_F_REQUIRED, 0, 10, &f, &err), -1);
	assert_string_equal(err.field, "missing");
	assert_int_equal(pt_json_text(o, "x", 0, 0, 10, &f, &err), -1);
	assert_int_equal(pt_json_text(o, "x", PT_F_NULLABLE, 0, 10, &f, &err), 0);
	assert_true(f.present && f.is_null);

	assert_int_equal(pt_json_int(o, "n", 0, 1, 5, &f, &err), 0);
	assert_int_equal(f.i, 5);
	assert_int_equal(pt_json_int(o, "n", 0, 6, 9, &f, &err), -1);
	assert_int_equal(pt_json_int(o, "big", 0, 0, 9, &f, &err), -1); /* not an integer */
	assert_int_equal(pt_json_int(o, "name", 0, 0, 9, &f, &err), -1);
	assert_int_equal(pt_json_array(o, "arr", 0, 3, &f, &err), 0);
	assert_int_equal(pt_json_array(o, "arr", 0, 2, &f, &err), -1);
	json_decref(o);
}

static void rfc3339(void **state)
{
	(void)state;
	char out[32];
	int64_t ms;
	pt_clock_format_rfc3339(0, out);
	assert_string_equal(out, "1970-01-01T00:00:00Z");
	assert_int_equal(pt_clock_parse_rfc3339("2026-11-23T08:00:00Z", &ms), 0);
	pt_clock_format_rfc3339(ms, out);
	assert_string_equal(out, "2026-11-23T08:00:00Z");
	int64_t ms2;
	assert_int_equal(pt_clock_parse_rfc3339("2026-11-23T16:00:00.250+08:00", &ms2), 0);
	assert_int_equal(ms2, ms + 250);
	assert_int_equal(pt_clock_parse_rfc3339("2026-02-30T00:00:00Z", &ms), -1);
	assert_int_equal(pt_clock_parse_rfc3339("2026-11-23 08:00:00Z", &ms), -1);
	assert_int_equal(pt_clock_parse_rfc3339("2026-11-23T08:00:00", &ms), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(routes_match),    cmocka_unit_test(routes_refuse),
	    cmocka_unit_test(accept_language), cmocka_unit_test(json_fields),
	    cmocka_unit_test(rfc3339),
	};
	return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
