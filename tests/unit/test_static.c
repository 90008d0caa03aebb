/* The web console's static answers: which paths, SPA fallback, caching, gzip, ETags; and the
 * table the build embedded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http/static.h"

static const unsigned char index_raw[] = "<!doctype html><p>console</p>";
static const unsigned char index_gz[] = "GZ-index";
static const unsigned char js_raw[] = "console.log('hello, hello, hello')";
static const unsigned char js_gz[] = "GZ-js";
static const unsigned char png_raw[] = "\x89PNG";

static const pt_web_asset table[] = {
    {"/assets/index-AbC123.js", "text/javascript; charset=utf-8", js_raw, sizeof(js_raw) - 1, js_gz,
     sizeof(js_gz) - 1, "\"js1\"", "\"js1-gz\"", true},
    {"/favicon.png", "image/png", png_raw, sizeof(png_raw) - 1, NULL, 0, "\"png1\"", "\"png1-gz\"",
     false},
    {"/index.html", "text/html; charset=utf-8", index_raw, sizeof(index_raw) - 1, index_gz,
     sizeof(index_gz) - 1, "\"ix1\"", "\"ix1-gz\"", false},
};
enum { N = sizeof(table) / sizeof(table[0]) };

static pt_static_answer get(const char *method, const char *path, const char *ae, const char *inm)
{
	pt_static_answer a;
	pt_static_decide(table, N, method, path, ae, inm, &a);
	return a;
}

static void which_paths(void **state)
{
	(void)state;
	assert_true(pt_static_path("/"));
	assert_true(pt_static_path("/members/42"));
	assert_true(pt_static_path("/assets/x.js"));
	assert_true(pt_static_path("/apix"));
	assert_true(pt_static_path("/healthz/x"));
	assert_false(pt_static_path("/api"));
	assert_false(pt_static_path("/api/"));
	assert_false(pt_static_path("/api/v1/stores"));
	assert_false(pt_static_path("/api/v2/anything"));
	assert_false(pt_static_path("/healthz"));
	assert_false(pt_static_path("/metrics"));
}

static void spa_and_assets(void **state)
{
	(void)state;
	pt_static_answer a = get("GET", "/", NULL, NULL);
	assert_int_equal(a.status, 200);
	assert_ptr_equal(a.asset, &table[2]);
	assert_ptr_equal(a.body, index_raw);
	assert_int_equal(a.len, sizeof(index_raw) - 1);
	assert_string_equal(a.cache_control, "no-cache");
	assert_string_equal(a.csp, PT_CONSOLE_CSP);
	assert_null(strstr(PT_CONSOLE_CSP, "unsafe-eval"));
	assert_non_null(strstr(PT_CONSOLE_CSP, "script-src 'self';"));

	a = get("HEAD", "/index.html", NULL, NULL);
	assert_int_equal(a.status, 200);
	assert_ptr_equal(a.asset, &table[2]);

	const char *routes[] = {"/members/42", "/login", "/settings/points", "/nope.js", "/assets"};
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		a = get("GET", routes[i], NULL, NULL);
		assert_int_equal(a.status, 200);
		assert_ptr_equal(a.asset, &table[2]);
	}

	a = get("GET", "/assets/index-AbC123.js", NULL, NULL);
	assert_int_equal(a.status, 200);
	assert_ptr_equal(a.asset, &table[0]);
	assert_string_equal(a.cache_control, "public, max-age=31536000, immutable");
	assert_null(a.csp);
	assert_string_equal(a.etag, "\"js1\"");

	a = get("GET", "/favicon.png", NULL, NULL);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.cache_control, "no-cache");
	assert_null(a.csp);

	assert_int_equal(get("GET", "/assets/nope.js", NULL, NULL).status, 404);
	assert_int_equal(get("GET", "/assets/", NULL, NULL).status, 404);
	assert_int_equal(get("POST", "/", NULL, NULL).status, 405);
	assert_int_equal(get("PUT", "/members/42", NULL, NULL).status, 405);
	assert_int_equal(get("DELETE", "/assets/index-AbC123.js", NULL, NULL).status, 405);
	assert_int_equal(get("OPTIONS", "/", NULL, NULL).status, 405);

	pt_static_answer none;
	pt_static_decide(table, 0, "GET", "/", NULL, NULL, &none);
	assert_int_equal(none.status, 404);
}

static void gzip_negotiation(void **state)
{
	(void)state;
	assert_true(pt_static_accepts_gzip("gzip"));
	assert_true(pt_static_accepts_gzip("gzip, deflate, br"));
	assert_true(pt_static_accepts_gzip("br;q=1.0, GZIP;q=0.5"));
	assert_true(pt_static_accepts_gzip("x-gzip"));
	assert_true(pt_static_accepts_gzip("*"));
	assert_true(pt_static_accepts_gzip("deflate,gzip;q=0.001"));
	assert_false(pt_static_accepts_gzip(NULL));
	assert_false(pt_static_accepts_gzip(""));
	assert_false(pt_static_accepts_gzip("identity"));
	assert_false(pt_static_accepts_gzip("deflate, br"));
	assert_false(pt_static_accepts_gzip("gzip;q=0"));
	assert_false(pt_static_accepts_gzip("gzip; q=0.000, br"));
	assert_false(pt_static_accepts_gzip("*, gzip;q=0"));
	assert_false(pt_static_accepts_gzip("*;q=0"));
	assert_false(pt_static_accepts_gzip("gzipx"));

	pt_static_answer a = get("GET", "/assets/index-AbC123.js", "gzip, br", NULL);
	assert_true(a.gzip);
	assert_ptr_equal(a.body, js_gz);
	assert_int_equal(a.len, sizeof(js_gz) - 1);
	assert_string_equal(a.etag, "\"js1-gz\"");
	a = get("GET", "/assets/index-AbC123.js", "br", NULL);
	assert_false(a.gzip);
	assert_ptr_equal(a.body, js_raw);
	/* No gzip bytes (they would not be smaller): raw, whatever the client takes. */
	a = get("GET", "/favicon.png", "gzip", NULL);
	assert_false(a.gzip);
	assert_ptr_equal(a.body, png_raw);
	assert_string_equal(a.etag, "\"png1\"");
}

static void etags(void **state)
{
	(void)state;
	assert_true(pt_static_etag_matches("\"ix1\"", "\"ix1\""));
	assert_true(pt_static_etag_matches("W/\"ix1\"", "\"ix1\""));
	assert_true(pt_static_etag_matches("\"a\", \"ix1\"", "\"ix1\""));
	assert_true(pt_static_etag_matches("*", "\"ix1\""));
	assert_false(pt_static_etag_matches(NULL, "\"ix1\""));
	assert_false(pt_static_etag_matches("", "\"ix1\""));
	assert_false(pt_static_etag_matches("\"ix\"", "\"ix1\""));
	assert_false(pt_static_etag_matches("\"ix1-gz\"", "\"ix1\""));
	assert_false(pt_static_etag_matches("ix1", "\"ix1\""));
	assert_false(pt_static_etag_matches("\"ix1", "\"ix1\""));

	assert_int_equal(get("GET", "/", NULL, "\"ix1\"").status, 304);
	assert_int_equal(get("GET", "/members/7", NULL, "\"ix1\"").status, 304);
	assert_int_equal(get("GET", "/", "gzip", "\"ix1-gz\"").status, 304);
	/* The ETag names one representation: the raw one's does not validate the gzip one. */
	assert_int_equal(get("GET", "/", "gzip", "\"ix1\"").status, 200);
	assert_int_equal(get("GET", "/", NULL, "\"other\"").status, 200);
	pt_static_answer a = get("HEAD", "/assets/index-AbC123.js", NULL, "\"js1\"");
	assert_int_equal(a.status, 304);
	assert_string_equal(a.etag, "\"js1\"");
	assert_string_equal(a.cache_control, "public, max-age=31536000, immutable");
	assert_int_equal(get("POST", "/", NULL, "\"ix1\"").status, 405);
}

/* What the build embedded: index.html when the console is built in, hashed files under
 * /assets/, no source maps, known types. */
static void embedded_table(void **state)
{
	(void)state;
	if (pt_web_asset_count == 0) {
		pt_static_answer a;
		pt_static_decide(pt_web_assets, pt_web_asset_count, "GET", "/", NULL, NULL, &a);
		assert_int_equal(a.status, 404);
		return;
	}
	bool has_index = false, has_js = false;
	for (int i = 0; i < pt_web_asset_count; i++) {
		const pt_web_asset *w = &pt_web_assets[i];
		size_t n = strlen(w->path);
		assert_true(w->path[0] == '/');
		assert_false(n > 4 && strcmp(w->path + n - 4, ".map") == 0);
		assert_int_equal(w->immutable, strncmp(w->path, "/assets/", 8) == 0);
		assert_true(w->etag[0] == '"' && w->etag[strlen(w->etag) - 1] == '"');
		assert_string_not_equal(w->etag, w->etag_gz);
		assert_true(w->gz == NULL || w->gz_len < w->raw_len);
		if (w->gz)
			assert_true(w->gz[0] == 0x1f && w->gz[1] == 0x8b); /* gzip's magic */
		if (n > 3 && strcmp(w->path + n - 3, ".js") == 0) {
			has_js = true;
			assert_string_equal(w->content_type, "text/javascript; charset=utf-8");
		}
		if (strcmp(w->path, "/index.html") == 0) {
			has_index = true;
			assert_string_equal(w->content_type, "text/html; charset=utf-8");
			assert_non_null(memmem(w->raw, w->raw_len, "/assets/", 8));
		}
	}
	assert_true(has_index);
	assert_true(has_js);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(which_paths),      cmocka_unit_test(spa_and_assets),
	    cmocka_unit_test(gzip_negotiation), cmocka_unit_test(etags),
	    cmocka_unit_test(embedded_table),
	};
	return cmocka_run_group_tests_name("static", tests, NULL, NULL);
}
