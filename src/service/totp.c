/* Two-factor sign-in with TOTP (RFC 6238) as authenticator apps expect it: liboath for the
 * codes, libqrencode for the enrolment QR code. */
#include "service/totp.h"

#include <liboath/oath.h>
#include <qrencode.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/audit.h"
#include "util/clock.h"

enum { SECRET_BYTES = 20, STEP = 30, WINDOW = 1 };

static int need_staff(pt_ctx *ctx, pt_err *err)
{
	if (!ctx->staff_id)
		return pt_err_set(err, PT_PERMISSION_DENIED, NULL,
		                  "two-factor sign-in is for staff accounts, not API keys",
		                  "两步验证仅适用于员工账号，不适用于 API 密钥");
	return 0;
}

/* The QR code as SVG: one path of unit squares, scaled by the viewer. */
static char *qr_svg(pt_arena *a, const char *text)
{
	QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (!qr)
		return NULL;
	int w = qr->width, border = 4, size = w + 2 * border;
	size_t cap = (size_t)w * (size_t)w * 24 + 512;
	char *svg = pt_arena_alloc(a, cap);
	if (svg) {
		int n = snprintf(svg, cap,
		                 "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
		                 "shape-rendering=\"crispEdges\"><rect width=\"%d\" height=\"%d\" "
		                 "fill=\"#fff\"/><path fill=\"#000\" d=\"",
		                 size, size, size, size);
		for (int y = 0; y < w; y++)
			for (int x = 0; x < w; x++)
				if (qr->data[y * w + x] & 1)
					n += snprintf(svg + n, cap - (size_t)n, "M%d %dh1v1h-1z",
					              x + border, y + border);
		snprintf(svg + n, cap - (size_t)n, "\"/></svg>");
	}
	QRcode_free(qr);
	return svg;
}

/* A valid code's time step, or -1: a code is good for one step (and the steps either side,
 * for clocks a little off). */
static int64_t code_step(const char *secret_b32, const char *code)
{
	char *secret = NULL;
	size_t len = 0;
	if (!secret_b32 || strlen(code) != 6 ||
	    oath_base32_decode(secret_b32, strlen(secret_b32), &secret, &len) != OATH_OK)
		return -1;
	time_t now = (time_t)(pt_clock_now_ms() / 1000);
	int pos = 0;
	int rc = oath_totp_validate2(secret, len, now, STEP, 0, WINDOW, &pos, code);
	free(secret);
	return rc >= 0 ? (int64_t)now / STEP + pos : -1;
}

static bool code_valid(const char *secret_b32, const char *code)
{
	return code_step(secret_b32, code) >= 0;
}

static char *hash_code(pt_arena *a, const char *code)
{
	unsigned char h[32];
	char *hex = pt_arena_alloc(a, 65);
	crypto_generichash(h, sizeof(h), (const unsigned char *)code, strlen(code), NULL, 0);
	if (hex)
		sodium_bin2hex(hex, 65, h, sizeof(h));
	return hex;
}

static int load_self(pt_ctx *ctx, pt_db *db, pt_staff *s, pt_err *err)
{
	bool found = false;
	if (pt_repo_staff_by_id(db, ctx->arena, ctx->staff_id, s, &found, err) != 0)
		return -1;
	if (!found)
		return pt_err_set(err, PT_UNAUTHENTICATED, NULL, "sign in again", "请重新登录");
	return 0;
}

typedef struct {
	pt_ctx *ctx;
	const char *code;
	pt_totp_enrolment *enrol;
	const char **codes;
} totp_args;

static int begin_tx(pt_db *db, void *arg, pt_err *err)
{
	totp_args *x = arg;
	pt_staff s;
	if (load_self(x->ctx, db, &s, err) != 0)
		return -1;
	if (s.totp_enabled)
		return pt_err_set(err, PT_CONFLICT, NULL,
		                  "two-factor sign-in is on already; turn it off first",
		                  "两步验证已开启；请先关闭");
	unsigned char raw[SECRET_BYTES];
	char *b32 = NULL;
	size_t len = 0;
	randombytes_buf(raw, sizeof(raw));
	if (oath_base32_encode((const char *)raw, sizeof(raw), &b32, &len) != OATH_OK)
		return pt_err_oom(err);
	pt_arena *a = x->ctx->arena;
	x->enrol->secret = pt_arena_strdup(a, b32);
	free(b32);
	x->enrol->otpauth_uri = pt_arena_printf(
	    a, "otpauth://totp/Patron:%s?secret=%s&issuer=Patron&digits=6&period=30", s.username,
	    x->enrol->secret);
	x->enrol->qr_svg = x->enrol->otpauth_uri ? qr_svg(a, x->enrol->otpauth_uri) : NULL;
	if (!x->enrol->secret || !x->enrol->qr_svg)
		return pt_err_oom(err);
	return pt_repo_staff_set_totp(db, s.id, x->enrol->secret, false, err);
}

int pt_svc_totp_begin(pt_ctx *ctx, pt_totp_enrolment *out, pt_err *err)
{
	totp_args x = {ctx, NULL, out, NULL};
	return need_staff(ctx, err) || pt_db_tx(ctx->db, true, begin_tx, &x, err);
}

static int verify_tx(pt_db *db, void *arg, pt_err *err)
{
	totp_args *x = arg;
	pt_staff s;
	if (load_self(x->ctx, db, &s, err) != 0)
		return -1;
	if (s.totp_enabled || !s.totp_secret)
		return pt_err_set(err, PT_CONFLICT, NULL, "there is no enrolment to confirm",
		                  "没有待确认的两步验证");
	if (!code_valid(s.totp_secret, x->code))
		return pt_err_set(err, PT_INVALID_ARGUMENT, "code",
		                  "that code does not match: check the time on your phone",
		                  "验证码不匹配：请检查手机时间");
	const char *hashes[PT_RECOVERY_CODES];
	for (int i = 0; i < PT_RECOVERY_CODES; i++) {
		unsigned char raw[8];
		char hex[17];
		randombytes_buf(raw, sizeof(raw));
		sodium_bin2hex(hex, sizeof(hex), raw, sizeof(raw));
		x->codes[i] = pt_arena_printf(x->ctx->arena, "%.8s-%.8s", hex, hex + 8);
		if (!x->codes[i] || !(hashes[i] = hash_code(x->ctx->arena, x->codes[i])))
			return pt_err_oom(err);
	}
	return pt_repo_staff_set_totp(db, s.id, s.totp_secret, true, err) ||
	       pt_repo_recovery_replace(db, s.id, hashes, PT_RECOVERY_CODES, err) ||
	       pt_svc_audit(x->ctx, "totp.enable", "staff", s.id, NULL, err);
}

int pt_svc_totp_verify(pt_ctx *ctx, const char *code, const char **codes, pt_err *err)
{
	totp_args x = {ctx, code, NULL, codes};
	return need_staff(ctx, err) || pt_db_tx(ctx->db, true, verify_tx, &x, err);
}

int pt_svc_totp_check(pt_db *db, pt_arena *a, const pt_staff *s, const char *code, bool *ok,
                      pt_err *err)
{
	*ok = false;
	if (!code)
		return 0;
	/* A code works once: a step already used (an overheard code) is refused. */
	int64_t step = code_step(s->totp_secret, code);
	if (step >= 0) {
		*ok = step > s->totp_last_step;
		return *ok ? pt_repo_staff_totp_step(db, s->id, step, err) : 0;
	}
	char *hash = hash_code(a, code);
	if (!hash)
		return pt_err_oom(err);
	return pt_repo_recovery_use(db, s->id, hash, pt_clock_now_ms(), ok, err);
}

static int disable_tx(pt_db *db, void *arg, pt_err *err)
{
	totp_args *x = arg;
	pt_staff s;
	bool ok = false;
	if (load_self(x->ctx, db, &s, err) != 0 ||
	    pt_svc_totp_check(db, x->ctx->arena, &s, x->code, &ok, err) != 0)
		return -1;
	if (!s.totp_enabled)
		return pt_err_set(err, PT_CONFLICT, NULL, "two-factor sign-in is off",
		                  "两步验证未开启");
	if (!ok)
		return pt_err_set(err, PT_INVALID_ARGUMENT, "code", "that code does not match",
		                  "验证码不匹配");
	return pt_repo_staff_set_totp(db, s.id, NULL, false, err) ||
	       pt_repo_recovery_replace(db, s.id, NULL, 0, err) ||
	       pt_svc_audit(x->ctx, "totp.disable", "staff", s.id, NULL, err);
}

int pt_svc_totp_disable(pt_ctx *ctx, const char *code, pt_err *err)
{
	totp_args x = {ctx, code, NULL, NULL};
	return need_staff(ctx, err) || pt_db_tx(ctx->db, true, disable_tx, &x, err);
}
