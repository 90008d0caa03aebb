#include "service/auth.h"

#include <sodium.h>
#include <string.h>

#include "core/password.h"
#include "core/text.h"
#include "service/audit.h"
#include "service/security.h"
#include "service/staff.h"
#include "service/totp.h"
#include "util/clock.h"
#include "util/config.h"
#include "util/log.h"

#define API_KEY_PREFIX "ptk_"

enum { TOKEN_BYTES = 32, TOUCH_EVERY_MS = 60 * 1000 };

/* Credentials are 256-bit random values, so a plain BLAKE2b hash is enough to store them:
 * nobody can search that space, and the database never holds a usable token. */
static char *hash_token(pt_arena *a, const char *token)
{
	unsigned char h[32];
	crypto_generichash(h, sizeof(h), (const unsigned char *)token, strlen(token), NULL, 0);
	char *hex = pt_arena_alloc(a, sizeof(h) * 2 + 1);
	if (hex)
		sodium_bin2hex(hex, sizeof(h) * 2 + 1, h, sizeof(h));
	return hex;
}

static char *random_token(pt_arena *a)
{
	unsigned char raw[TOKEN_BYTES];
	randombytes_buf(raw, sizeof(raw));
	size_t n = sodium_base64_ENCODED_LEN(sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *s = pt_arena_alloc(a, n);
	if (s)
		sodium_bin2base64(s, n, raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return s;
}

unsigned pt_scopes_parse(const char *names)
{
	unsigned bits = 0;
	char name[64];
	for (const char *p = names; *p;) {
		size_t n = strcspn(p, " ");
		if (n && n < sizeof(name)) {
			memcpy(name, p, n);
			name[n] = '\0';
			bits |= pt_perm_parse(name);
		}
		p += n;
		while (*p == ' ')
			p++;
	}
	return bits;
}

char *pt_scopes_format(pt_arena *a, unsigned scopes)
{
	char buf[512] = "";
	for (int i = 0; pt_perm_name(i); i++)
		if (scopes & (1u << i)) {
			if (buf[0])
				strcat(buf, " ");
			strcat(buf, pt_perm_name(i));
		}
	return pt_arena_strdup(a, buf);
}

int pt_svc_auth_api_key(pt_ctx *ctx, const char *key, pt_err *err)
{
	pt_api_key k;
	bool found = false;
	char *hash = hash_token(ctx->arena, key);
	if (!hash)
		return pt_err_oom(err);
	if (strncmp(key, API_KEY_PREFIX, strlen(API_KEY_PREFIX)) == 0 &&
	    pt_repo_api_key_by_hash(ctx->db, ctx->arena, hash, &k, &found, err) != 0)
		return -1;
	if (!found || k.revoked_at)
		return pt_err_set(err, PT_UNAUTHENTICATED, NULL, "unknown or revoked API key",
		                  "API 密钥无效或已吊销");
	ctx->api_key_id = k.id;
	ctx->perms = pt_scopes_parse(k.scopes);
	ctx->store_id = k.store_id;
	if (k.store_id) {
		int64_t *one = pt_arena_alloc(ctx->arena, sizeof(int64_t));
		if (!one)
			return pt_err_oom(err);
		*one = k.store_id;
		ctx->stores = one;
		ctx->nstores = 1;
	}
	return 0;
}

int pt_svc_auth_session(pt_ctx *ctx, const char *token, const char **csrf, pt_err *err)
{
	pt_session s;
	pt_staff staff;
	bool found = false;
	char *hash = hash_token(ctx->arena, token);
	if (!hash)
		return pt_err_oom(err);
	if (pt_repo_session_by_hash(ctx->db, ctx->arena, hash, &s, &found, err) != 0)
		return -1;
	int64_t now = pt_clock_now_ms();
	int64_t idle_ms = pt_settings.session_idle_minutes * 60 * 1000;
	if (!found || now >= s.expires_at || now - s.last_seen_at >= idle_ms)
		return pt_err_set(err, PT_UNAUTHENTICATED, NULL,
		                  "your session has ended; sign in again",
		                  "会话已结束，请重新登录");
	if (pt_repo_staff_by_id(ctx->db, ctx->arena, s.staff_id, &staff, &found, err) != 0)
		return -1;
	if (!found || staff.disabled_at)
		return pt_err_set(err, PT_UNAUTHENTICATED, NULL, "this account is disabled",
		                  "该账号已停用");
	/* Idle time is kept to the minute, so most requests write nothing. */
	if (now - s.last_seen_at >= TOUCH_EVERY_MS &&
	    pt_repo_session_touch(ctx->db, s.id, now, err) != 0)
		return -1;
	ctx->staff_id = staff.id;
	ctx->session_id = s.id;
	ctx->username = staff.username;
	ctx->role = staff.role;
	if (pt_svc_role_perms(ctx->db, ctx->arena, staff.role, &ctx->perms, err) != 0 ||
	    pt_store_ids_parse(ctx->arena, staff.store_ids, &ctx->stores, &ctx->nstores) != 0)
		return -1;
	pt_security_rules rules;
	if (pt_svc_security_rules(ctx->db, ctx->arena, &rules, err) != 0)
		return -1;
	ctx->totp_pending = !staff.totp_enabled && pt_security_requires_totp(&rules, staff.role);
	*csrf = s.csrf_token;
	return 0;
}

typedef struct {
	pt_ctx *ctx;
	const char *username, *password, *totp;
	pt_login *out;
	const char *verified_hash; /* the hash the password matched, NULL when it matched none */
} login_args;

/* Argon2id takes a tenth of a second on purpose: it runs outside any transaction, so failed
 * sign-ins never hold the database's write lock. */
static int verify_password(pt_ctx *ctx, login_args *l, pt_err *err)
{
	/* The same answer, and about the same time, for an unknown user and a wrong password. */
	static const char dummy[] = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$"
	                            "gk0h0LdJ6VpcQvXuUaBNjJYUWldEkF5yXZPDntxFIQ8";
	pt_staff s;
	bool found = false;
	if (pt_repo_staff_by_username(ctx->db, ctx->arena, l->username, &s, &found, err) != 0)
		return -1;
	const char *hash = found ? s.password_hash : dummy;
	if (crypto_pwhash_str_verify(hash, l->password, strlen(l->password)) == 0 && found)
		l->verified_hash = s.password_hash;
	return 0;
}

static int login_tx(pt_db *db, void *arg, pt_err *err)
{
	login_args *l = arg;
	pt_arena *a = l->ctx->arena;
	bool found = false;
	if (pt_repo_staff_by_username(db, a, l->username, &l->out->staff, &found, err) != 0)
		return -1;
	/* The password was checked before the transaction, against this very hash. */
	bool ok =
	    found && l->verified_hash && strcmp(l->verified_hash, l->out->staff.password_hash) == 0;
	if (!ok || l->out->staff.disabled_at)
		return pt_err_set(err, PT_UNAUTHENTICATED, NULL, "wrong username or password",
		                  "用户名或密码错误");
	if (l->out->staff.totp_enabled) {
		bool code_ok = false;
		if (!l->totp)
			return pt_err_set(err, PT_UNAUTHENTICATED, "totp",
			                  "enter the 6-digit code from your authenticator app",
			                  "请输入身份验证器应用中的 6 位验证码");
		if (pt_svc_totp_check(db, a, &l->out->staff, l->totp, &code_ok, err) != 0)
			return -1;
		if (!code_ok)
			return pt_err_set(err, PT_UNAUTHENTICATED, "totp", "wrong two-factor code",
			                  "两步验证码错误");
	}
	int64_t now = pt_clock_now_ms();
	pt_session s = {.staff_id = l->out->staff.id,
	                .created_at = now,
	                .expires_at = now + pt_settings.session_max_hours * 3600 * 1000};
	l->out->token = random_token(a);
	s.csrf_token = l->out->csrf_token = random_token(a);
	char *token_hash = l->out->token ? hash_token(a, l->out->token) : NULL;
	if (!s.csrf_token || !token_hash)
		return pt_err_oom(err);
	int64_t id;
	l->out->max_age_s = pt_settings.session_max_hours * 3600;
	l->ctx->staff_id = l->out->staff.id;
	return pt_repo_login_failures_clear(db, l->username, err) ||
	       (l->out->staff.locked_until && pt_repo_staff_lock(db, l->out->staff.id, 0, err)) ||
	       pt_repo_session_purge(db, now, pt_settings.session_idle_minutes * 60 * 1000, err) ||
	       pt_repo_session_insert(db, a, token_hash, &s, &id, err) ||
	       pt_svc_audit(l->ctx, "login", "staff", l->out->staff.id, NULL, err);
}

enum {
	LOCK_AFTER = 10,                     /* failed logins of one account... */
	LOCK_MS = 30 * 60 * 1000,            /* ...lock it this long */
	THROTTLE_AFTER = 50,                 /* failed logins from one address... */
	THROTTLE_WINDOW_MS = 10 * 60 * 1000, /* ...within this window slow it down */
};

static int too_many(pt_err *err, int64_t wait_ms)
{
	pt_err_set(err, PT_RATE_LIMITED, NULL, "too many failed sign-ins; try again later",
	           "登录失败次数过多，请稍后再试");
	err->retry_after = (int)((wait_ms + 999) / 1000);
	return -1;
}

/* Refuses at once while the account is locked or the address is throttled, before any
 * password is checked, so neither can be used to keep guessing. */
static int login_allowed(pt_ctx *ctx, const char *username, pt_err *err)
{
	int64_t now = pt_clock_now_ms(), count, oldest;
	pt_staff s;
	bool found = false;
	if (pt_repo_login_failures(ctx->db, ctx->arena, "ip", ctx->ip ? ctx->ip : "-",
	                           now - THROTTLE_WINDOW_MS, &count, &oldest, err) != 0)
		return -1;
	if (count >= THROTTLE_AFTER)
		return too_many(err, oldest + THROTTLE_WINDOW_MS - now);
	if (pt_repo_staff_by_username(ctx->db, ctx->arena, username, &s, &found, err) != 0)
		return -1;
	if (found && s.locked_until > now)
		return too_many(err, s.locked_until - now);
	/* Unknown names lock the same way, so a lockout tells nothing about who exists. */
	if (!found) {
		if (pt_repo_login_failures(ctx->db, ctx->arena, "username", username, now - LOCK_MS,
		                           &count, &oldest, err) != 0)
			return -1;
		if (count >= LOCK_AFTER)
			return too_many(err, oldest + LOCK_MS - now);
	}
	return 0;
}

typedef struct {
	pt_ctx *ctx;
	const char *username;
} failure_args;

static int failure_tx(pt_db *db, void *arg, pt_err *err)
{
	failure_args *f = arg;
	int64_t now = pt_clock_now_ms(), count, oldest;
	pt_staff s;
	bool found = false;
	if (pt_repo_login_failure_add(db, f->username, f->ctx->ip, now, err) != 0 ||
	    pt_repo_login_failures(db, f->ctx->arena, "username", f->username, now - LOCK_MS,
	                           &count, &oldest, err) != 0 ||
	    pt_repo_staff_by_username(db, f->ctx->arena, f->username, &s, &found, err) != 0 ||
	    pt_svc_audit(f->ctx, "login_failed", "staff", found ? s.id : 0,
	                 json_pack("{s:s}", "username", f->username), err) != 0)
		return -1;
	if (!found || count < LOCK_AFTER)
		return 0;
	pt_log_warn("msg=\"account locked\" staff_id=%lld", (long long)s.id);
	return pt_repo_staff_lock(db, s.id, now + LOCK_MS, err) ||
	       pt_repo_login_failures_clear(db, f->username, err) ||
	       pt_svc_audit(f->ctx, "login_locked", "staff", s.id,
	                    json_pack("{s:s, s:i}", "username", f->username, "minutes", 30), err);
}

int pt_svc_login(pt_ctx *ctx, const char *username, const char *password, const char *totp,
                 pt_login *out, pt_err *err)
{
	login_args l = {ctx, username, password, totp, out, NULL};
	if (login_allowed(ctx, username, err) != 0) {
		if (err->code == PT_RATE_LIMITED)
			pt_svc_audit_refusal(ctx, "login_refused", "staff", 0,
			                     json_pack("{s:s}", "username", username));
		return -1;
	}
	if (verify_password(ctx, &l, err) != 0)
		return -1;
	if (pt_db_tx(ctx->db, true, login_tx, &l, err) != 0) {
		if (err->code == PT_UNAUTHENTICATED) {
			pt_err ignore = {0};
			failure_args f = {ctx, username};
			pt_log_warn("msg=\"login failed\" ip=%s", ctx->ip ? ctx->ip : "-");
			if (pt_db_tx(ctx->db, true, failure_tx, &f, &ignore) != 0)
				pt_log_error("msg=\"cannot record a failed login\" error=\"%s\"",
				             ignore.msg_en);
		}
		return -1;
	}
	pt_log_info("msg=\"login\" staff_id=%lld ip=%s", (long long)out->staff.id,
	            ctx->ip ? ctx->ip : "-");
	return 0;
}

static int logout_tx(pt_db *db, void *arg, pt_err *err)
{
	pt_ctx *ctx = arg;
	return pt_repo_session_delete(db, ctx->session_id, err);
}

int pt_svc_logout(pt_ctx *ctx, pt_err *err)
{
	if (!ctx->session_id)
		return 0; /* an API key has no session to end */
	return pt_db_tx(ctx->db, true, logout_tx, ctx, err);
}

typedef struct {
	const char *username, *password, *role;
	int64_t *id;
} staff_args;

static int staff_create_tx(pt_db *db, void *arg, pt_err *err)
{
	staff_args *s = arg;
	char hash[crypto_pwhash_STRBYTES];
	if (crypto_pwhash_str(hash, s->password, strlen(s->password),
	                      crypto_pwhash_OPSLIMIT_INTERACTIVE,
	                      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		return pt_err_set(err, PT_INTERNAL, NULL,
		                  "cannot hash the password (out of memory)",
		                  "无法计算密码哈希（内存不足）");
	pt_arena *a = pt_arena_new();
	if (!a)
		return pt_err_oom(err);
	pt_staff staff = {.username = s->username,
	                  .password_hash = hash,
	                  .role = s->role,
	                  .created_at = pt_clock_now_ms()};
	int rc = pt_repo_staff_insert(db, a, &staff, s->id, err);
	pt_arena_free(a);
	if (rc != 0 && err->code == PT_CONFLICT)
		return pt_err_set(err, PT_CONFLICT, "username", "username %s is taken",
		                  "用户名 %s 已被占用", s->username);
	return rc;
}

int pt_svc_staff_create(pt_db *db, const char *username, const char *password, const char *role,
                        int64_t *id, pt_err *err)
{
	staff_args s = {username, password, role, id};
	return pt_db_tx(db, true, staff_create_tx, &s, err);
}

int pt_svc_staff_get(pt_ctx *ctx, int64_t id, pt_staff *out, pt_err *err)
{
	bool found = false;
	if (pt_repo_staff_by_id(ctx->db, ctx->arena, id, out, &found, err) != 0)
		return -1;
	if (!found)
		return pt_err_set(err, PT_NOT_FOUND, NULL, "no staff member %lld",
		                  "员工 %lld 不存在", (long long)id);
	return 0;
}

typedef struct {
	pt_ctx *ctx;
	const pt_api_key_input *in;
	pt_api_key *out;
	const char **secret;
} key_args;

static int key_create_tx(pt_db *db, void *arg, pt_err *err)
{
	key_args *k = arg;
	pt_arena *a = k->ctx->arena;
	if (k->ctx->nstores && !k->in->store_id)
		return pt_err_set(err, PT_PERMISSION_DENIED, "store_id",
		                  "a key you create works in one of your stores: give store_id",
		                  "您创建的密钥须属于您管理的门店：请提供 store_id");
	if (k->in->store_id && !pt_ctx_store_ok(k->ctx, k->in->store_id))
		return pt_svc_store_hidden(k->in->store_id, err);
	if (k->in->store_id) {
		pt_store st;
		bool found = false;
		if (pt_repo_store_get(db, a, k->in->store_id, &st, &found, err) != 0)
			return -1;
		if (!found)
			return pt_err_set(err, PT_INVALID_ARGUMENT, "store_id",
			                  "store %lld does not exist", "门店 %lld 不存在",
			                  (long long)k->in->store_id);
	}
	char *token = random_token(a);
	char *secret = token ? pt_arena_printf(a, API_KEY_PREFIX "%s", token) : NULL;
	char *hash = secret ? hash_token(a, secret) : NULL;
	char *scopes = pt_scopes_format(a, k->in->scopes);
	if (!hash || !scopes)
		return pt_err_oom(err);
	*k->out = (pt_api_key){.name = k->in->name,
	                       .prefix = pt_arena_strndup(a, secret, strlen(API_KEY_PREFIX) + 6),
	                       .scopes = scopes,
	                       .store_id = k->in->store_id,
	                       .created_by = k->ctx->staff_id,
	                       .created_at = pt_clock_now_ms()};
	if (pt_repo_api_key_insert(db, a, hash, k->out, &k->out->id, err) != 0 ||
	    pt_svc_audit(k->ctx, "api_key.create", "api_key", k->out->id,
	                 json_pack("{s:s, s:s}", "name", k->out->name, "scopes", k->out->scopes),
	                 err) != 0)
		return -1;
	*k->secret = secret;
	return 0;
}

int pt_svc_api_key_create(pt_ctx *ctx, const pt_api_key_input *in, pt_api_key *out,
                          const char **secret, pt_err *err)
{
	/* A key can be given no more than its creator holds. */
	if ((in->scopes & ctx->perms) != in->scopes)
		return pt_err_set(err, PT_PERMISSION_DENIED, "scopes",
		                  "a key cannot have scopes its creator lacks",
		                  "密钥的权限不能超出创建者的权限");
	key_args k = {ctx, in, out, secret};
	return pt_db_tx(ctx->db, true, key_create_tx, &k, err);
}

/* A caller limited to some stores sees and revokes only the keys of those stores: a key
 * without a store works in every store, so it is outside them. */
static bool key_visible(const pt_ctx *ctx, const pt_api_key *k)
{
	return !ctx->nstores || (k->store_id && pt_ctx_store_ok(ctx, k->store_id));
}

int pt_svc_api_key_list(pt_ctx *ctx, int64_t after_id, int limit, pt_api_key **out, int *n,
                        pt_err *err)
{
	if (!ctx->nstores)
		return pt_repo_api_key_list(ctx->db, ctx->arena, after_id, limit, out, n, err);
	enum { BATCH = 200 };
	pt_api_key *mine = pt_arena_alloc(ctx->arena, sizeof(pt_api_key) * (size_t)(limit + 1));
	int k = 0;
	if (!mine)
		return pt_err_oom(err);
	for (;;) {
		pt_api_key *rows;
		int got;
		if (pt_repo_api_key_list(ctx->db, ctx->arena, after_id, BATCH, &rows, &got, err) !=
		    0)
			return -1;
		for (int i = 0; i < got && k < limit; i++) {
			after_id = rows[i].id;
			if (key_visible(ctx, &rows[i]))
				mine[k++] = rows[i];
		}
		if (got < BATCH || k == limit)
			break;
	}
	*out = mine;
	*n = k;
	return 0;
}

int pt_svc_api_key_get(pt_ctx *ctx, int64_t id, pt_api_key *out, pt_err *err)
{
	bool found = false;
	if (pt_repo_api_key_by_id(ctx->db, ctx->arena, id, out, &found, err) != 0)
		return -1;
	if (!found || !key_visible(ctx, out))
		return pt_err_set(err, PT_NOT_FOUND, NULL, "no API key %lld",
		                  "API 密钥 %lld 不存在", (long long)id);
	return 0;
}

typedef struct {
	pt_ctx *ctx;
	int64_t id;
} revoke_args;

static int revoke_tx(pt_db *db, void *arg, pt_err *err)
{
	revoke_args *r = arg;
	pt_api_key k;
	if (pt_svc_api_key_get(r->ctx, r->id, &k, err) != 0)
		return -1;
	if (k.revoked_at)
		return pt_err_set(err, PT_NOT_FOUND, NULL, "API key %lld is already revoked",
		                  "API 密钥 %lld 已吊销", (long long)r->id);
	return pt_repo_api_key_revoke(db, r->id, pt_clock_now_ms(), err) ||
	       pt_svc_audit(r->ctx, "api_key.revoke", "api_key", r->id, NULL, err);
}

int pt_svc_api_key_revoke(pt_ctx *ctx, int64_t id, pt_err *err)
{
	revoke_args r = {ctx, id};
	return pt_db_tx(ctx->db, true, revoke_tx, &r, err);
}

int pt_svc_password_check(const char *password, const char *field, pt_err *err)
{
	long chars = pt_utf8_length(password, strlen(password));
	if (chars < PT_PASSWORD_MIN || chars > PT_PASSWORD_MAX)
		return pt_err_set(
		    err, PT_INVALID_ARGUMENT, field,
		    "a password has 12 to 128 characters; a short sentence is easy to "
		    "remember",
		    "密码须为 12 至 128 个字符；一句短语既好记又安全");
	if (pt_password_common(password))
		return pt_err_set(err, PT_INVALID_ARGUMENT, field,
		                  "this password is among the most common ones; choose another",
		                  "该密码过于常见，请换一个");
	return 0;
}

int pt_svc_password_change(pt_ctx *ctx, const char *current, const char *next, pt_err *err)
{
	pt_staff s;
	if (!ctx->staff_id)
		return pt_err_set(err, PT_PERMISSION_DENIED, NULL, "API keys have no password",
		                  "API 密钥没有密码");
	if (pt_svc_staff_get(ctx, ctx->staff_id, &s, err) != 0)
		return -1;
	if (crypto_pwhash_str_verify(s.password_hash, current, strlen(current)) != 0)
		return pt_err_set(err, PT_INVALID_ARGUMENT, "current_password",
		                  "the current password is wrong", "当前密码错误");
	return pt_svc_staff_password(ctx, ctx->staff_id, next, err);
}
