#ifndef PT_SERVICE_SECURITY_H
#define PT_SERVICE_SECURITY_H

#include <jansson.h>

#include "service/service.h"

/* The owner's security rules (GET/PUT /settings/security). */
typedef struct {
	bool has_refund_limit;
	int64_t cashier_refund_limit;  /* cash a cashier may refund at once, fen */
	bool totp_owner, totp_manager; /* these roles must use two-factor sign-in */
} pt_security_rules;

int pt_svc_security_rules(pt_db *db, pt_arena *a, pt_security_rules *out, pt_err *err);
json_t *pt_security_rules_json(const pt_security_rules *r);
int pt_svc_security_put(pt_ctx *ctx, json_t *patch, pt_security_rules *out, pt_err *err);
/* True when the rules make this role use two-factor sign-in. */
bool pt_security_requires_totp(const pt_security_rules *r, const char *role);

#endif
