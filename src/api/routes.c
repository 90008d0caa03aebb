/* Every endpoint, its method and the permission it needs, in one table. Routes with literal
 * segments come before parameterised ones of the same shape (/members/lookup before
 * /members/{id}). */
#include "api/api.h"

const pt_route pt_api_routes[] = {
    {PT_GET, "/healthz", pt_api_healthz, 0, PT_ROUTE_PUBLIC},
    {PT_GET, "/metrics", pt_api_metrics, PT_PERM_METRICS_READ, 0},

    {PT_POST, "/api/v1/auth/login", pt_api_login, 0, PT_ROUTE_PUBLIC},
    {PT_POST, "/api/v1/auth/logout", pt_api_logout, 0, 0},
    {PT_GET, "/api/v1/me", pt_api_me, 0, 0},
    {PT_POST, "/api/v1/me/password", pt_api_me_password, 0, 0},
    {PT_POST, "/api/v1/me/totp", pt_api_totp_begin, 0, 0},
    {PT_DELETE, "/api/v1/me/totp", pt_api_totp_disable, 0, 0},
    {PT_POST, "/api/v1/me/totp/verify", pt_api_totp_verify, 0, 0},

    {PT_GET, "/api/v1/api-keys", pt_api_keys_list, PT_PERM_API_KEYS_MANAGE, 0},
    {PT_POST, "/api/v1/api-keys", pt_api_keys_create, PT_PERM_API_KEYS_MANAGE, 0},
    {PT_DELETE, "/api/v1/api-keys/{id}", pt_api_keys_revoke, PT_PERM_API_KEYS_MANAGE, 0},

    {PT_GET, "/api/v1/stores", pt_api_stores_list, PT_PERM_STORES_READ, 0},
    {PT_POST, "/api/v1/stores", pt_api_stores_create, PT_PERM_STORES_WRITE, 0},
    {PT_GET, "/api/v1/stores/{id}", pt_api_stores_get, PT_PERM_STORES_READ, 0},
    {PT_PATCH, "/api/v1/stores/{id}", pt_api_stores_patch, PT_PERM_STORES_WRITE, 0},

    {PT_GET, "/api/v1/members", pt_api_members_search, PT_PERM_MEMBERS_READ, 0},
    {PT_POST, "/api/v1/members", pt_api_members_create, PT_PERM_MEMBERS_WRITE, 0},
    {PT_GET, "/api/v1/members/lookup", pt_api_members_lookup, PT_PERM_MEMBERS_READ, 0},
    {PT_GET, "/api/v1/members/{id}", pt_api_members_get, PT_PERM_MEMBERS_READ, 0},
    {PT_PATCH, "/api/v1/members/{id}", pt_api_members_patch, PT_PERM_MEMBERS_WRITE, 0},
    {PT_DELETE, "/api/v1/members/{id}", pt_api_members_erase, PT_PERM_MEMBERS_ERASE, 0},
    {PT_GET, "/api/v1/members/{id}/export", pt_api_members_export, PT_PERM_MEMBERS_PII, 0},
    {PT_GET, "/api/v1/members/{id}/ledger", pt_api_ledger_list, PT_PERM_POINTS_READ, 0},
    {PT_POST, "/api/v1/members/{id}/points/adjust", pt_api_points_adjust, PT_PERM_POINTS_ADJUST,
     PT_ROUTE_IDEMPOTENT},
    {PT_GET, "/api/v1/members/{id}/tier-history", pt_api_tier_history, PT_PERM_TIERS_READ, 0},

    {PT_GET, "/api/v1/settings/points", pt_api_settings_points_get, PT_PERM_SETTINGS_READ, 0},
    {PT_PUT, "/api/v1/settings/points", pt_api_settings_points_put, PT_PERM_SETTINGS_WRITE, 0},
    {PT_GET, "/api/v1/settings/security", pt_api_settings_security_get, PT_PERM_SETTINGS_READ, 0},
    {PT_PUT, "/api/v1/settings/security", pt_api_settings_security_put, PT_PERM_SETTINGS_WRITE, 0},
    {PT_GET, "/api/v1/reminders/points-expiring", pt_api_reminders_expiring, PT_PERM_POINTS_READ,
     0},

    {PT_GET, "/api/v1/tiers", pt_api_tiers_list, PT_PERM_TIERS_READ, 0},
    {PT_POST, "/api/v1/tiers", pt_api_tiers_create, PT_PERM_TIERS_WRITE, 0},
    {PT_GET, "/api/v1/tiers/{id}", pt_api_tiers_get, PT_PERM_TIERS_READ, 0},
    {PT_PATCH, "/api/v1/tiers/{id}", pt_api_tiers_patch, PT_PERM_TIERS_WRITE, 0},
    {PT_DELETE, "/api/v1/tiers/{id}", pt_api_tiers_delete, PT_PERM_TIERS_WRITE, 0},

    {PT_GET, "/api/v1/products", pt_api_products_list, PT_PERM_PRODUCTS_READ, 0},
    {PT_POST, "/api/v1/products", pt_api_products_create, PT_PERM_PRODUCTS_WRITE, 0},
    {PT_GET, "/api/v1/products/{sku}", pt_api_products_get, PT_PERM_PRODUCTS_READ, 0},
    {PT_PATCH, "/api/v1/products/{sku}", pt_api_products_patch, PT_PERM_PRODUCTS_WRITE, 0},

    {PT_GET, "/api/v1/stock", pt_api_stock_list, PT_PERM_STOCK_READ, 0},
    {PT_GET, "/api/v1/stock/alerts", pt_api_stock_alerts, PT_PERM_STOCK_READ, 0},
    {PT_POST, "/api/v1/stock/movements", pt_api_stock_move, PT_PERM_STOCK_WRITE,
     PT_ROUTE_IDEMPOTENT},
    {PT_PUT, "/api/v1/stock/thresholds", pt_api_stock_threshold, PT_PERM_STOCK_WRITE, 0},

    {PT_GET, "/api/v1/coupon-templates", pt_api_templates_list, PT_PERM_COUPONS_READ, 0},
    {PT_POST, "/api/v1/coupon-templates", pt_api_templates_create, PT_PERM_COUPONS_WRITE, 0},
    {PT_GET, "/api/v1/coupon-templates/{id}", pt_api_templates_get, PT_PERM_COUPONS_READ, 0},
    {PT_POST, "/api/v1/coupon-templates/{id}/issue", pt_api_templates_issue, PT_PERM_COUPONS_WRITE,
     0},
    {PT_GET, "/api/v1/coupons/{code}", pt_api_coupons_get, PT_PERM_COUPONS_READ, 0},
    {PT_POST, "/api/v1/coupons/{code}/void", pt_api_coupons_void, PT_PERM_COUPONS_WRITE, 0},
    {PT_GET, "/api/v1/members/{id}/coupons", pt_api_member_coupons, PT_PERM_COUPONS_READ, 0},

    {PT_GET, "/api/v1/promotions", pt_api_promotions_list, PT_PERM_PROMOTIONS_READ, 0},
    {PT_POST, "/api/v1/promotions", pt_api_promotions_create, PT_PERM_PROMOTIONS_WRITE, 0},
    {PT_GET, "/api/v1/promotions/{id}", pt_api_promotions_get, PT_PERM_PROMOTIONS_READ, 0},
    {PT_PATCH, "/api/v1/promotions/{id}", pt_api_promotions_patch, PT_PERM_PROMOTIONS_WRITE, 0},

    {PT_POST, "/api/v1/checkout/quote", pt_api_checkout_quote, PT_PERM_CHECKOUT, PT_ROUTE_READS},
    {PT_POST, "/api/v1/checkout", pt_api_checkout_commit, PT_PERM_CHECKOUT,
     PT_ROUTE_IDEMPOTENT | PT_ROUTE_PREPARES},
    {PT_GET, "/api/v1/orders", pt_api_orders_list, PT_PERM_ORDERS_READ, 0},
    {PT_GET, "/api/v1/orders/{id}", pt_api_orders_get, PT_PERM_ORDERS_READ, 0},
    {PT_POST, "/api/v1/orders/{id}/refund", pt_api_orders_refund, PT_PERM_REFUNDS,
     PT_ROUTE_IDEMPOTENT},

    {PT_GET, "/api/v1/audit", pt_api_audit_list, PT_PERM_AUDIT_READ, 0},

    {PT_GET, "/api/v1/staff", pt_api_staff_list, PT_PERM_STAFF_MANAGE, 0},
    {PT_POST, "/api/v1/staff", pt_api_staff_create, PT_PERM_STAFF_MANAGE, 0},
    {PT_GET, "/api/v1/staff/{id}", pt_api_staff_get, PT_PERM_STAFF_MANAGE, 0},
    {PT_PATCH, "/api/v1/staff/{id}", pt_api_staff_patch, PT_PERM_STAFF_MANAGE, 0},
    {PT_POST, "/api/v1/staff/{id}/password", pt_api_staff_password, PT_PERM_STAFF_MANAGE, 0},
    {PT_GET, "/api/v1/roles", pt_api_roles_list, PT_PERM_STAFF_MANAGE, 0},
    {PT_POST, "/api/v1/roles", pt_api_roles_create, PT_PERM_ROLES_MANAGE, 0},
    {PT_PUT, "/api/v1/roles/{name}", pt_api_roles_put, PT_PERM_ROLES_MANAGE, 0},
    {PT_DELETE, "/api/v1/roles/{name}", pt_api_roles_delete, PT_PERM_ROLES_MANAGE, 0},

    {PT_GET, "/api/v1/_test/clock", pt_api_test_clock_get, 0,
     PT_ROUTE_PUBLIC | PT_ROUTE_TEST_CLOCK},
    {PT_PUT, "/api/v1/_test/clock", pt_api_test_clock_put, 0,
     PT_ROUTE_PUBLIC | PT_ROUTE_TEST_CLOCK},
    {PT_POST, "/api/v1/_test/jobs/{name}", pt_api_test_job, 0,
     PT_ROUTE_PUBLIC | PT_ROUTE_TEST_CLOCK},
};

const int pt_api_route_count = sizeof(pt_api_routes) / sizeof(pt_api_routes[0]);
