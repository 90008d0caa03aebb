#ifndef PT_SERVICE_TOTP_H
#define PT_SERVICE_TOTP_H

#include "service/service.h"
#include "store/repo.h"

enum { PT_RECOVERY_CODES = 10 };

typedef struct {
	const char *secret;      /* base32, for typing into an app */
	const char *otpauth_uri; /* what the QR code holds */
	const char *qr_svg;      /* the QR code as an SVG image */
} pt_totp_enrolment;

/* Starts enrolment for the signed-in staff member: a new secret, pending until verified. */
int pt_svc_totp_begin(pt_ctx *ctx, pt_totp_enrolment *out, pt_err *err);
/* Confirms the pending secret with a code from the app and turns two-factor on; answers the
 * one-time recovery codes, shown only here. */
int pt_svc_totp_verify(pt_ctx *ctx, const char *code, const char **codes, pt_err *err);
/* Turns two-factor off, after a valid code (or recovery code). */
int pt_svc_totp_disable(pt_ctx *ctx, const char *code, pt_err *err);
/* For sign-in: true when code is a valid TOTP code for the staff member, or an unused recovery
 * code (which is then used up). */
int pt_svc_totp_check(pt_db *db, pt_arena *a, const pt_staff *s, const char *code, bool *ok,
                      pt_err *err);

#endif
