#include <string.h>

#include "service/service.h"

static const char *const names[] = {
    "stores.read",     "stores.write",     "members.read", "members.write", "members.pii",
    "members.erase",   "api_keys.manage",  "metrics.read", "points.read",   "points.adjust",
    "settings.read",   "settings.write",   "tiers.read",   "tiers.write",   "products.read",
    "products.write",  "stock.read",       "stock.write",  "coupons.read",  "coupons.write",
    "promotions.read", "promotions.write", "checkout",     "refunds",       "orders.read",
    "audit.read",
};

const char *pt_perm_name(int bit)
{
	return bit >= 0 && bit < (int)(sizeof(names) / sizeof(names[0])) ? names[bit] : NULL;
}

pt_perm pt_perm_parse(const char *name)
{
	for (int i = 0; pt_perm_name(i); i++)
		if (strcmp(names[i], name) == 0)
			return (pt_perm)(1u << i);
	return PT_PERM_NONE;
}

unsigned pt_role_perms(const char *role)
{
	if (strcmp(role, "owner") == 0)
		return PT_PERM_ALL;
	return 0;
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
