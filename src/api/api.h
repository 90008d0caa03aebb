#ifndef PT_API_H
#define PT_API_H

/* The api layer: one file per resource, turning requests into service calls and results into
 * JSON. Shapes and ranges are checked here; every error carries a code from API.md. */

#include "http/http.h"

extern const pt_route pt_api_routes[];
extern const int pt_api_route_count;

/* Fields of a JSON body. */
enum { PT_F_REQUIRED = 1, PT_F_NULLABLE = 2, PT_F_MULTILINE = 4 };

typedef struct {
	bool present, is_null;
	const char *s;
	int64_t i;
	json_t *j;
} pt_field;

/* Refuses any key of obj not in allowed (NULL-terminated). */
int pt_json_only(json_t *obj, const char *const *allowed, pt_err *err);
/* A string of min..max characters (code points), valid UTF-8 without control characters;
 * with min >= 1 it may not be blank either. */
int pt_json_text(json_t *obj, const char *key, unsigned flags, int min, int max, pt_field *out,
                 pt_err *err);
int pt_json_int(json_t *obj, const char *key, unsigned flags, int64_t min, int64_t max,
                pt_field *out, pt_err *err);
int pt_json_bool(json_t *obj, const char *key, unsigned flags, pt_field *out, pt_err *err);
/* An optional array of positive ids, kept as JSON text ("[]" when absent). */
int pt_json_id_array(pt_arena *a, json_t *body, const char *key, const char **out, pt_err *err);
/* An RFC 3339 time into epoch milliseconds; *present false when absent or null. */
int pt_json_time_field(json_t *body, const char *key, unsigned flags, int64_t *ms, bool *present,
                       pt_err *err);
int pt_json_array(json_t *obj, const char *key, unsigned flags, int max_items, pt_field *out,
                  pt_err *err);
/* Checks a text value that did not come from JSON (a query argument), by the same rules. */
int pt_text_check(const char *key, const char *s, unsigned flags, int min, int max, pt_err *err);

/* Lists: limit (1..500, default 50) and an opaque cursor. */
int pt_list_params(pt_req *req, int64_t *after_id, int *limit, pt_err *err);
/* Answers {"items": items, "next_cursor"}: items holds up to limit + 1 entries, the extra one
 * only telling that there is more; it is dropped here. */
int pt_list_reply(pt_req *req, json_t *items, int limit, int64_t last_id);
/* The same for a list small enough to be read whole (tiers, roles): all is every entry, in
 * order (taken), and the cursor counts the entries of the pages before. */
int pt_list_reply_all(pt_req *req, json_t *all, pt_err *err);

json_t *pt_json_time(int64_t ms);
json_t *pt_json_opt_str(const char *s);
json_t *pt_json_opt_id(int64_t id);

/* Personal data as the caller may see it: without members.pii a phone comes back masked
 * (138****1234) and a birthday without its year (--MM-DD, ISO 8601). */
const char *pt_api_phone(pt_req *req, const char *phone);
json_t *pt_api_birthday(pt_req *req, const char *birthday);
/* Records that full phones of these members were shown to the caller (one entry per
 * request); nothing when the caller sees them masked. */
int pt_api_audit_pii_read(pt_req *req, const int64_t *member_ids, int n, pt_err *err);

/* Handlers */
int pt_api_healthz(pt_req *req, pt_err *err);
int pt_api_metrics(pt_req *req, pt_err *err);
int pt_api_login(pt_req *req, pt_err *err);
int pt_api_logout(pt_req *req, pt_err *err);
int pt_api_me(pt_req *req, pt_err *err);
int pt_api_totp_begin(pt_req *req, pt_err *err);
int pt_api_me_password(pt_req *req, pt_err *err);
int pt_api_totp_verify(pt_req *req, pt_err *err);
int pt_api_totp_disable(pt_req *req, pt_err *err);
int pt_api_keys_create(pt_req *req, pt_err *err);
int pt_api_keys_list(pt_req *req, pt_err *err);
int pt_api_keys_revoke(pt_req *req, pt_err *err);
int pt_api_stores_list(pt_req *req, pt_err *err);
int pt_api_stores_create(pt_req *req, pt_err *err);
int pt_api_stores_get(pt_req *req, pt_err *err);
int pt_api_stores_patch(pt_req *req, pt_err *err);
int pt_api_members_create(pt_req *req, pt_err *err);
int pt_api_members_search(pt_req *req, pt_err *err);
int pt_api_members_lookup(pt_req *req, pt_err *err);
int pt_api_members_get(pt_req *req, pt_err *err);
int pt_api_members_patch(pt_req *req, pt_err *err);
int pt_api_members_erase(pt_req *req, pt_err *err);
int pt_api_members_export(pt_req *req, pt_err *err);
int pt_api_settings_points_get(pt_req *req, pt_err *err);
int pt_api_settings_points_put(pt_req *req, pt_err *err);
int pt_api_settings_security_get(pt_req *req, pt_err *err);
int pt_api_settings_security_put(pt_req *req, pt_err *err);
int pt_api_ledger_list(pt_req *req, pt_err *err);
int pt_api_points_adjust(pt_req *req, pt_err *err);
int pt_api_reminders_expiring(pt_req *req, pt_err *err);
int pt_api_tiers_list(pt_req *req, pt_err *err);
int pt_api_tiers_create(pt_req *req, pt_err *err);
int pt_api_tiers_get(pt_req *req, pt_err *err);
int pt_api_tiers_patch(pt_req *req, pt_err *err);
int pt_api_tiers_delete(pt_req *req, pt_err *err);
int pt_api_tier_history(pt_req *req, pt_err *err);
int pt_api_test_clock_get(pt_req *req, pt_err *err);
int pt_api_test_clock_put(pt_req *req, pt_err *err);
int pt_api_test_job(pt_req *req, pt_err *err);
int pt_api_products_create(pt_req *req, pt_err *err);
int pt_api_products_patch(pt_req *req, pt_err *err);
int pt_api_products_get(pt_req *req, pt_err *err);
int pt_api_products_list(pt_req *req, pt_err *err);
int pt_api_stock_move(pt_req *req, pt_err *err);
int pt_api_stock_list(pt_req *req, pt_err *err);
int pt_api_stock_alerts(pt_req *req, pt_err *err);
int pt_api_stock_threshold(pt_req *req, pt_err *err);
int pt_api_templates_create(pt_req *req, pt_err *err);
int pt_api_templates_get(pt_req *req, pt_err *err);
int pt_api_templates_list(pt_req *req, pt_err *err);
int pt_api_templates_issue(pt_req *req, pt_err *err);
int pt_api_coupons_get(pt_req *req, pt_err *err);
int pt_api_coupons_void(pt_req *req, pt_err *err);
int pt_api_member_coupons(pt_req *req, pt_err *err);
int pt_api_promotions_create(pt_req *req, pt_err *err);
int pt_api_promotions_get(pt_req *req, pt_err *err);
int pt_api_promotions_list(pt_req *req, pt_err *err);
int pt_api_promotions_patch(pt_req *req, pt_err *err);
int pt_api_checkout_quote(pt_req *req, pt_err *err);
int pt_api_checkout_commit(pt_req *req, pt_err *err); /* PT_ROUTE_PREPARES: prices first */
int pt_api_orders_refund(pt_req *req, pt_err *err);
int pt_api_orders_get(pt_req *req, pt_err *err);
int pt_api_orders_list(pt_req *req, pt_err *err);
int pt_api_audit_list(pt_req *req, pt_err *err);
int pt_api_staff_create(pt_req *req, pt_err *err);
int pt_api_staff_patch(pt_req *req, pt_err *err);
int pt_api_staff_get(pt_req *req, pt_err *err);
int pt_api_staff_list(pt_req *req, pt_err *err);
int pt_api_staff_password(pt_req *req, pt_err *err);
int pt_api_roles_list(pt_req *req, pt_err *err);
int pt_api_roles_create(pt_req *req, pt_err *err);
int pt_api_roles_put(pt_req *req, pt_err *err);
int pt_api_roles_delete(pt_req *req, pt_err *err);

#endif
