#ifndef PT_SERVICE_H
#define PT_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "store/db.h"
#include "util/arena.h"
#include "util/err.h"

/* Permissions: what a role grants and what an API key's scopes name. */
typedef enum {
	PT_PERM_NONE = 0,
	PT_PERM_STORES_READ = 1u << 0,
	PT_PERM_STORES_WRITE = 1u << 1,
	PT_PERM_MEMBERS_READ = 1u << 2,
	PT_PERM_MEMBERS_WRITE = 1u << 3,
	PT_PERM_MEMBERS_PII = 1u << 4,
	PT_PERM_MEMBERS_ERASE = 1u << 5,
	PT_PERM_API_KEYS_MANAGE = 1u << 6,
	PT_PERM_METRICS_READ = 1u << 7,
	PT_PERM_POINTS_READ = 1u << 8,
	PT_PERM_POINTS_ADJUST = 1u << 9,
	PT_PERM_SETTINGS_READ = 1u << 10,
	PT_PERM_SETTINGS_WRITE = 1u << 11,
	PT_PERM_TIERS_READ = 1u << 12,
	PT_PERM_TIERS_WRITE = 1u << 13,
	PT_PERM_PRODUCTS_READ = 1u << 14,
	PT_PERM_PRODUCTS_WRITE = 1u << 15,
	PT_PERM_STOCK_READ = 1u << 16,
	PT_PERM_STOCK_WRITE = 1u << 17,
	PT_PERM_COUPONS_READ = 1u << 18,
	PT_PERM_COUPONS_WRITE = 1u << 19,
	PT_PERM_PROMOTIONS_READ = 1u << 20,
	PT_PERM_PROMOTIONS_WRITE = 1u << 21,
	PT_PERM_CHECKOUT = 1u << 22,
	PT_PERM_REFUNDS = 1u << 23,
	PT_PERM_ORDERS_READ = 1u << 24,
	PT_PERM_AUDIT_READ = 1u << 25,
	PT_PERM_STAFF_MANAGE = 1u << 26,
	PT_PERM_ROLES_MANAGE = 1u << 27,
	PT_PERM_ALL = (1u << 28) - 1,
} pt_perm;

#define PT_PERM_KEY_DEFAULT                                                                        \
	(PT_PERM_STORES_READ | PT_PERM_MEMBERS_READ | PT_PERM_MEMBERS_WRITE |                      \
	 PT_PERM_POINTS_READ | PT_PERM_TIERS_READ | PT_PERM_SETTINGS_READ |                        \
	 PT_PERM_PRODUCTS_READ | PT_PERM_STOCK_READ | PT_PERM_COUPONS_READ |                       \
	 PT_PERM_PROMOTIONS_READ | PT_PERM_CHECKOUT | PT_PERM_REFUNDS | PT_PERM_ORDERS_READ)

/* The permission's name ("members.read"), or NULL past the last one. */
const char *pt_perm_name(int bit);
/* Parses one name; 0 when unknown. */
pt_perm pt_perm_parse(const char *name);

/* Who is calling, and with what: passed to every service operation. */
typedef struct {
	pt_db *db;
	pt_arena *arena;
	int64_t staff_id;   /* 0 when the caller is an API key */
	int64_t api_key_id; /* 0 when the caller is staff */
	int64_t session_id; /* 0 unless authenticated by a session cookie */
	const char *username;
	const char *role;
	unsigned perms;
	int64_t store_id; /* an API key's store; 0 for all */
	/* The stores a store-scoped caller works in (staff: their stores; a key: its store).
	 * nstores 0: every store. */
	const int64_t *stores;
	int nstores;
	bool totp_pending; /* must enrol two-factor before doing anything else */
	const char *request_id;
	const char *ip;
} pt_ctx;

static inline bool pt_ctx_can(const pt_ctx *ctx, unsigned perm)
{
	return (ctx->perms & perm) == perm;
}

int pt_svc_require(const pt_ctx *ctx, unsigned perm, pt_err *err);

/* True when the caller may see the store's data. */
bool pt_ctx_store_ok(const pt_ctx *ctx, int64_t store_id);
/* The answer for another store's data: 404, never a hint that it exists. */
int pt_svc_store_hidden(int64_t id, pt_err *err);

#endif
