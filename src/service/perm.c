#include <string.h>

#include "service/service.h"

static const char *const names[] = {
    "stores.read",     "stores.write",     "members.read", "members.write", "members.pii",
    "members.erase",   "api_keys.manage",  "metrics.read", "points.read",   "points.adjust",
    "settings.read",   "settings.write",   "tiers.read",   "tiers.write",   "products.read",
    "products.write",  "stock.read",       "stock.write",  "coupons.read",  "coupons.write",
    "promotions.read", "promotions.write", "checkout",     "refunds",       "orders.read",
    "audit.read",      "staff.manage",     "roles.manage",
};

const char *pt_perm_name(int bit)
{
	return bit >= 0 && bit < (int)(sizeof(names) / sizeof(names[0])) ? names[bit] : NULL;
}

pt_perm pt_perm_parse(const char *name)
{
	/* Integrators write scopes several ways: members:read, member.pii, members.read. */
	char norm[64];
	size_t n = strlen(name);
	if (n == 0 || n >= sizeof(norm))
		return PT_PERM_NONE;
	for (size_t i = 0; i <= n; i++)
		norm[i] = name[i] == ':' ? '.' : name[i];
	if (strncmp(norm, "member.", 7) == 0) {
		memmove(norm + 7, norm + 6, n - 5);
		norm[6] = 's';
	}
	for (int i = 0; pt_perm_name(i); i++)
		if (strcmp(names[i], norm) == 0)
			return (pt_perm)(1u << i);
	return PT_PERM_NONE;
}

int pt_svc_require(const pt_ctx *ctx, unsigned perm, pt_err *err)
{
	if (pt_ctx_can(ctx, perm))
		return 0;
	for (int i = 0; pt_perm_name(i); i++)
		if ((perm & (1u << i)) && !(ctx->perms & (1u << i)))
			return pt_err_set(err, PT_PERMISSION_DENIED, NULL,
			                  "this needs the permission %s", "此操作需要权限 %s",
			                  names[i]);
	return pt_err_set(err, PT_PERMISSION_DENIED, NULL, "not allowed", "无权执行此操作");
}

bool pt_ctx_store_ok(const pt_ctx *ctx, int64_t store_id)
{
	if (ctx->nstores == 0)
		return true;
	for (int i = 0; i < ctx->nstores; i++)
		if (ctx->stores[i] == store_id)
			return true;
	return false;
}

int pt_svc_store_hidden(int64_t id, pt_err *err)
{
	return pt_err_set(err, PT_NOT_FOUND, NULL, "no such resource (%lld)", "资源不存在（%lld）",
	                  (long long)id);
}
