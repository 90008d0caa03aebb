#ifndef PT_SERVICE_AUTH_H
#define PT_SERVICE_AUTH_H

#include "service/service.h"
#include "store/repo.h"

/* Fills ctx with the caller behind a bearer API key, or fails with PT_UNAUTHENTICATED. */
int pt_svc_auth_api_key(pt_ctx *ctx, const char *key, pt_err *err);
/* Fills ctx with the staff member behind a session token and gives the session's CSRF token. */
int pt_svc_auth_session(pt_ctx *ctx, const char *token, const char **csrf, pt_err *err);

typedef struct {
	pt_staff staff;
	const char *token; /* the cookie value, to send once */
	const char *csrf_token;
	int64_t max_age_s;
} pt_login;

/* totp: the two-factor code (or a recovery code), NULL when none was given. */
int pt_svc_login(pt_ctx *ctx, const char *username, const char *password, const char *totp,
                 pt_login *out, pt_err *err);
int pt_svc_logout(pt_ctx *ctx, pt_err *err);
/* A staff member changes their own password; every session of the account ends. */
int pt_svc_password_change(pt_ctx *ctx, const char *current, const char *next, pt_err *err);

/* The password policy: 12 to 128 characters, not a common password. field names the input. */
int pt_svc_password_check(const char *password, const char *field, pt_err *err);

/* Creates a staff account; password is hashed with Argon2id. */
int pt_svc_staff_create(pt_db *db, const char *username, const char *password, const char *role,
                        int64_t *id, pt_err *err);
int pt_svc_staff_get(pt_ctx *ctx, int64_t id, pt_staff *out, pt_err *err);

typedef struct {
	const char *name;
	unsigned scopes;
	int64_t store_id;
} pt_api_key_input;

/* out->key... the secret is only in *secret, once. */
int pt_svc_api_key_create(pt_ctx *ctx, const pt_api_key_input *in, pt_api_key *out,
                          const char **secret, pt_err *err);
int pt_svc_api_key_list(pt_ctx *ctx, int64_t after_id, int limit, pt_api_key **out, int *n,
                        pt_err *err);
int pt_svc_api_key_get(pt_ctx *ctx, int64_t id, pt_api_key *out, pt_err *err);
int pt_svc_api_key_revoke(pt_ctx *ctx, int64_t id, pt_err *err);

/* Permission bits from a space-separated list of names (as stored). */
unsigned pt_scopes_parse(const char *names);
/* Space-separated names of the bits, into the arena. */
char *pt_scopes_format(pt_arena *a, unsigned scopes);

#endif
