/* Shared by the harnesses: values from bytes, failed invariants, a throwaway database with the
 * fixtures, and one request run through the api layer in-process (route, caller, handler). */
#include "common.h"

#include <errno.h>
#include <ftw.h>
#include <liboath/oath.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "service/auth.h"
#include "service/setup.h"
#include "store/repo.h"
#include "util/config.h"
#include "util/keys.h"
#include "util/log.h"

/* --- Bytes into values --------------------------------------------------------------------- */

uint8_t fz_u8(fz_bytes *b)
{
	if (b->n == 0)
		return 0;
	b->n--;
	return *b->p++;
}

uint64_t fz_u64(fz_bytes *b)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | fz_u8(b);
	return v;
}

bool fz_bool(fz_bytes *b)
{
	return fz_u8(b) & 1;
}

int64_t fz_range(fz_bytes *b, int64_t lo, int64_t hi)
{
	uint64_t span = (uint64_t)hi - (uint64_t)lo; /* hi - lo, without overflow */
	uint64_t v = span < 256     ? fz_u8(b)
	             : span < 65536 ? (uint64_t)fz_u8(b) << 8 | fz_u8(b)
	                            : fz_u64(b);
	if (span != UINT64_MAX)
		v %= span + 1;
	return (int64_t)((uint64_t)lo + v);
}

int64_t fz_amount(fz_bytes *b)
{
	static const int64_t edges[] = {0,
	                                1,
	                                -1,
	                                9999,
	                                10000,
	                                10001,
	                                INT64_C(10000000000),
	                                INT64_C(1) << 53,
	                                INT64_C(1) << 62,
	                                INT64_MAX / 10000,
	                                INT64_MAX - 1,
	                                INT64_MAX,
	                                INT64_MIN,
	                                INT64_MIN + 1,
	                                (INT64_C(1) << 32) - 1,
	                                INT64_C(1) << 32};
	uint8_t mode = fz_u8(b) % 16;
	if (mode < 6)
		return fz_u8(b);
	if (mode < 9)
		return fz_range(b, 0, 65535);
	if (mode < 11)
		return fz_range(b, 0, INT64_C(10000000000));
	if (mode < 13)
		return edges[fz_u8(b) % (sizeof(edges) / sizeof(edges[0]))];
	if (mode == 13)
		return -fz_range(b, 1, 65535);
	if (mode == 14)
		return (int64_t)(fz_u64(b) >> (fz_u8(b) % 64));
	return (int64_t)fz_u64(b);
}

void (*fz_dump)(void);

void fz_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "\n==fuzz== ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	if (fz_dump)
		fz_dump();
	abort();
}

/* --- A database ----------------------------------------------------------------------------- */

static char temp_dir[512];

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void remove_temp_dir(void)
{
	if (temp_dir[0])
		nftw(temp_dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

void fz_process_init(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	if (sodium_init() < 0 || oath_init() != OATH_OK)
		fz_fail("cannot initialise libsodium or liboath");
	pt_config_defaults();
	pt_log_set_level(getenv("FUZZ_VERBOSE") ? PT_LOG_INFO : PT_LOG_ERROR);
}

static void must(int rc, const pt_err *err, const char *what)
{
	if (rc != 0)
		fz_fail("setup: %s: %s (%s %s)", what, err->msg_en, pt_code_name(err->code),
		        err->field);
}

void fz_database(char *url, size_t url_size)
{
	fz_process_init();
	const char *tmp = getenv("TMPDIR");
	snprintf(temp_dir, sizeof(temp_dir), "%s/patron-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(temp_dir))
		fz_fail("setup: cannot create a directory under %s: %s", tmp ? tmp : "/tmp",
		        strerror(errno));
	atexit(remove_temp_dir);
	snprintf(url, url_size, "sqlite:%s/patron.db", temp_dir);
	snprintf(pt_settings.db, sizeof(pt_settings.db), "%s", url);
	snprintf(pt_settings.key_file, sizeof(pt_settings.key_file), "%s/patron.key", temp_dir);

	pt_err err = {0};
	pt_db *db;
	must(pt_db_open(&db, url, &err), &err, "open");
	must(pt_repo_migrate(db, &err), &err, "migrate");
	must(pt_keys_load(pt_settings.key_file, true, &err), &err, "key file");
	must(pt_svc_init_owner(db, "owner", FZ_OWNER_PASSWORD, &err), &err, "owner");
	pt_db_close(db);
}

/* --- Requests in-process -------------------------------------------------------------------- */

typedef struct {
	const char *token, *csrf; /* session, or an API key (csrf NULL) */
} credential;

static credential callers[FZ_CALLERS];
static const char *coupon; /* member 1's first coupon */

const char *fz_caller_name(fz_caller who)
{
	static const char *const names[FZ_CALLERS] = {"owner", "key", "cashier"};
	return (unsigned)who < FZ_CALLERS ? names[who] : "?";
}

const char *fz_caller_token(fz_caller who)
{
	return (unsigned)who < FZ_CALLERS ? callers[who].token : NULL;
}

const char *fz_caller_csrf(fz_caller who)
{
	return (unsigned)who < FZ_CALLERS ? callers[who].csrf : NULL;
}

typedef struct {
	pt_req *req;
	const pt_route *rt;
	fz_caller who;
	bool keep;
	int rc;
	pt_err handler_err;
} call_args;

/* What the server does after parsing: the caller, the route's permission, the handler. */
static int run_request(call_args *c, pt_err *err)
{
	pt_req *req = c->req;
	const credential *cr = &callers[c->who];
	if (!(c->rt->flags & PT_ROUTE_PUBLIC)) {
		if (!cr->token)
			return pt_err_set(err, PT_UNAUTHENTICATED, NULL, "no caller", "无调用者");
		if (cr->csrf) {
			const char *csrf;
			if (pt_svc_auth_session(&req->ctx, cr->token, &csrf, err) != 0)
				return -1;
			req->csrf_token = csrf;
		} else if (pt_svc_auth_api_key(&req->ctx, cr->token, err) != 0) {
			return -1;
		}
		/* A role that must use two-factor sign-in enrols before anything else. */
		const char *pat = c->rt->pattern;
		if (req->ctx.totp_pending && strcmp(pat, "/api/v1/me") != 0 &&
		    strncmp(pat, "/api/v1/me/", 11) != 0 && strcmp(pat, "/api/v1/auth/logout") != 0)
			return pt_err_set(err, PT_PERMISSION_DENIED, NULL, "enrol first",
			                  "请先开启");
		if (pt_svc_require(&req->ctx, c->rt->perm, err) != 0)
			return -1;
	}
	return c->rt->handler(req, err);
}

static int call_tx(pt_db *db, void *arg, pt_err *err)
{
	call_args *c = arg;
	(void)db;
	c->rc = run_request(c, &c->handler_err);
	if (c->keep) {
		*err = c->handler_err;
		return c->rc;
	}
	/* Whatever the handler did goes: each input meets the same database. */
	return pt_err_set(err, PT_INTERNAL, NULL, "rolled back", "已回滚");
}

int fz_call(pt_db *db, pt_arena *a, fz_caller who, const char *method, const char *path,
            json_t *body, bool keep, fz_answer *out)
{
	memset(out, 0, sizeof(*out));
	char *p = pt_arena_strdup(a, path);
	pt_req req = {.ctx = {.db = db, .arena = a, .ip = "127.0.0.1", .request_id = "fuzz"},
	              .method = pt_method_parse(method),
	              .method_name = method,
	              .path = path,
	              .body = body};
	char allow[64];
	int route = p ? pt_route_match(pt_api_routes, pt_api_route_count, req.method, p,
	                               req.param_names, req.param_values, allow, sizeof(allow))
	              : -1;
	if (route < 0 || (pt_api_routes[route].flags & PT_ROUTE_TEST_CLOCK))
		return -1;
	out->route = &pt_api_routes[route];
	call_args c = {.req = &req, .rt = out->route, .who = who, .keep = keep};
	pt_err tx_err = {0};
	int rc = pt_db_tx(db, true, call_tx, &c, &tx_err);
	if (keep && rc != 0 && c.rc == 0) /* the commit failed */
		c.rc = -1, c.handler_err = tx_err;
	if (c.rc == 0) {
		out->status = req.status;
		out->reply = req.reply;
		out->text = req.reply_text;
		out->location = req.location;
		out->set_cookie = req.set_cookie;
	} else {
		if (req.reply)
			json_decref(req.reply);
		out->err = c.handler_err;
		out->status = pt_code_status(out->err.code);
	}
	return 0;
}

/* --- The fixtures ----------------------------------------------------------------------------- */

#define ALWAYS "\"starts_at\": \"2020-01-01T00:00:00Z\", \"ends_at\": \"2099-01-01T00:00:00Z\""

const fz_fixture fz_fixtures[] = {
    {"POST", "/api/v1/stores", "{\"code\": \"FZ-1\", \"name\": \"Fuzz One\"}", false},
    {"POST", "/api/v1/stores",
     "{\"code\": \"FZ-2\", \"name\": \"上海二店\", \"address\": \"漕溪北路 88 号\", "
     "\"phone\": \"021-64871122\"}",
     false},
    {"POST", "/api/v1/tiers",
     "{\"name\": \"Gold\", \"rank\": 10, \"threshold\": 100000, \"discount_bp\": 9500, "
     "\"points_multiplier_bp\": 15000}",
     false},
    {"POST", "/api/v1/products",
     "{\"sku\": \"FZ-A\", \"name\": \"Apple\", \"price\": 1250, \"member_price\": 1000, "
     "\"points_multiplier_bp\": 20000, \"category\": \"fruit\", \"barcode\": \"6901234567892\"}",
     false},
    {"POST", "/api/v1/products",
     "{\"sku\": \"FZ-B\", \"name\": \"Bread\", \"price\": 899, \"discountable\": false}", false},
    {"POST", "/api/v1/products", "{\"sku\": \"FZ-C\", \"name\": \"咖啡\", \"price\": 3000}", false},
    {"POST", "/api/v1/members",
     "{\"name\": \"Ann\", \"phone\": \"13800000001\", \"birthday\": \"1990-05-01\", "
     "\"gender\": \"female\", \"tags\": [\"vip\"], \"store_id\": 1}",
     false},
    {"POST", "/api/v1/members", "{\"name\": \"王小明\", \"phone\": \"13800000002\"}", false},
    {"POST", "/api/v1/members",
     "{\"name\": \"Cy\", \"phone\": \"13800000003\", \"store_id\": 2, \"note\": \"line 1\\nline "
     "2\"}",
     false},
    {"POST", "/api/v1/members/1/points/adjust", "{\"points\": 5000, \"reason\": \"fuzz\"}", true},
    {"POST", "/api/v1/stock/movements",
     "{\"store_id\": 1, \"sku\": \"FZ-A\", \"kind\": \"receive\", \"qty\": 1000}", true},
    {"POST", "/api/v1/stock/movements",
     "{\"store_id\": 1, \"sku\": \"FZ-C\", \"kind\": \"receive\", \"qty\": 1000}", true},
    {"POST", "/api/v1/promotions",
     "{\"name\": \"100 less 10\", \"kind\": \"spend_threshold\", \"levels\": [{\"min_spend\": "
     "10000, \"off\": 1000}], " ALWAYS "}",
     false},
    {"POST", "/api/v1/coupon-templates",
     "{\"name\": \"Five off\", \"kind\": \"amount_off\", \"value\": 500, \"valid_days\": 30}",
     false},
    {"POST", "/api/v1/coupon-templates/1/issue", "{\"member_ids\": [1, 2]}", false},
    {"POST", "/api/v1/checkout",
     "{\"store_id\": 1, \"member_id\": 1, \"items\": [{\"sku\": \"FZ-A\", \"qty\": 3}, "
     "{\"name\": \"Open item\", \"unit_price\": 450, \"qty\": 2}, {\"sku\": \"FZ-C\", \"qty\": "
     "4}], \"redeem_points\": 100}",
     true},
    {"POST", "/api/v1/staff",
     "{\"username\": \"cashier1\", \"password\": \"fuzz-cashier-Password-7\", \"role\": "
     "\"cashier\", \"store_ids\": [1]}",
     false},
    {"POST", "/api/v1/roles",
     "{\"name\": \"checker\", \"permissions\": [\"audit.read\", \"orders.read\"]}", false},
};
const int fz_fixture_count = sizeof(fz_fixtures) / sizeof(fz_fixtures[0]);

static const char *keep_string(const char *s)
{
	char *copy = s ? strdup(s) : NULL;
	if (!copy)
		fz_fail("setup: out of memory");
	return copy;
}

/* Signs in and keeps the session's tokens for who; false when the sign-in is refused. */
static bool try_login(pt_db *db, fz_caller who, const char *username, const char *password,
                      pt_err *err)
{
	pt_arena *a = pt_arena_new();
	pt_ctx ctx = {.db = db, .arena = a, .ip = "127.0.0.1", .request_id = "fuzz-setup"};
	pt_login l;
	int rc = a ? pt_svc_login(&ctx, username, password, NULL, &l, err) : pt_err_oom(err);
	if (rc == 0) {
		free((void *)callers[who].token);
		free((void *)callers[who].csrf);
		callers[who] = (credential){keep_string(l.token), keep_string(l.csrf_token)};
	}
	pt_arena_free(a);
	return rc == 0;
}

static void login(pt_db *db, fz_caller who, const char *username, const char *password)
{
	pt_err err = {0};
	must(try_login(db, who, username, password, &err) ? 0 : -1, &err, "login");
}

/* A new API key for FZ_KEY, made by the owner; false when that fails. */
static bool new_key(pt_db *db, pt_err *err)
{
	pt_arena *a = pt_arena_new();
	json_t *body = json_pack("{s:s, s:i}", "name", "fuzz key", "store_id", 1);
	fz_answer ans;
	bool ok = a && body &&
	          fz_call(db, a, FZ_OWNER, "POST", "/api/v1/api-keys", body, true, &ans) == 0;
	const char *key = ok ? json_string_value(json_object_get(ans.reply, "key")) : NULL;
	if (key) {
		free((void *)callers[FZ_KEY].token);
		callers[FZ_KEY] = (credential){keep_string(key), NULL};
	} else if (ok) {
		*err = ans.err;
	}
	if (ok)
		json_decref(ans.reply);
	json_decref(body);
	pt_arena_free(a);
	return key != NULL;
}

void fz_refresh_callers(pt_db *db)
{
	pt_err err = {0};
	try_login(db, FZ_OWNER, "owner", FZ_OWNER_PASSWORD, &err);
	try_login(db, FZ_CASHIER, "cashier1", "fuzz-cashier-Password-7", &err);
	new_key(db, &err);
}

pt_db *fz_setup(char *url, size_t url_size)
{
	fz_database(url, url_size);
	pt_db *db;
	pt_err err = {0};
	must(pt_db_open(&db, url, &err), &err, "open");
	login(db, FZ_OWNER, "owner", FZ_OWNER_PASSWORD);
	for (int i = 0; i < fz_fixture_count; i++) {
		const fz_fixture *f = &fz_fixtures[i];
		pt_arena *a = pt_arena_new();
		json_error_t jerr;
		json_t *body = json_loads(f->body, JSON_REJECT_DUPLICATES, &jerr);
		fz_answer ans;
		if (!a || !body ||
		    fz_call(db, a, FZ_OWNER, f->method, f->path, body, true, &ans) != 0)
			fz_fail("setup: fixture %d (%s %s) is not a request", i, f->method,
			        f->path);
		if (ans.status < 200 || ans.status > 299)
			fz_fail("setup: fixture %d (%s %s) answered %d: %s", i, f->method, f->path,
			        ans.status, ans.err.msg_en);
		json_decref(ans.reply);
		json_decref(body);
		pt_arena_free(a);
	}
	if (!new_key(db, &err))
		must(-1, &err, "API key");
	login(db, FZ_CASHIER, "cashier1", "fuzz-cashier-Password-7");

	pt_arena *a = pt_arena_new();
	fz_answer ans;
	if (!a || fz_call(db, a, FZ_OWNER, "GET", "/api/v1/members/1/coupons", NULL, false, &ans))
		fz_fail("setup: cannot list member 1's coupons");
	json_t *items = json_object_get(ans.reply, "items");
	coupon = keep_string(json_string_value(json_object_get(json_array_get(items, 0), "code")));
	json_decref(ans.reply);
	pt_arena_free(a);
	return db;
}

char *fz_expand(const uint8_t *data, size_t size, size_t *out_size)
{
	const struct {
		const char *name, *value;
	} holders[] = {
	    {"@CASHIER_CSRF@", callers[FZ_CASHIER].csrf},
	    {"@CASHIER@", callers[FZ_CASHIER].token},
	    {"@SESSION@", callers[FZ_OWNER].token},
	    {"@CSRF@", callers[FZ_OWNER].csrf},
	    {"@KEY@", callers[FZ_KEY].token},
	    {"@COUPON@", coupon},
	};
	enum { HOLDERS = sizeof(holders) / sizeof(holders[0]) };
	size_t cap = size + 1, n = 0;
	for (size_t i = 0; i < size; i++)
		if (data[i] == '@')
			cap += 128;
	char *out = malloc(cap);
	FZ_CHECK(out != NULL);
	for (size_t i = 0; i < size;) {
		int h = 0;
		while (h < HOLDERS &&
		       !(data[i] == '@' && holders[h].value &&
		         size - i >= strlen(holders[h].name) &&
		         memcmp(data + i, holders[h].name, strlen(holders[h].name)) == 0))
			h++;
		if (h == HOLDERS) {
			out[n++] = (char)data[i++];
			continue;
		}
		size_t vlen = strlen(holders[h].value);
		FZ_CHECK(vlen <= 128);
		memcpy(out + n, holders[h].value, vlen);
		n += vlen;
		i += strlen(holders[h].name);
	}
	out[n] = '\0';
	*out_size = n;
	return out;
}
