/* The points settings: one JSON document in the settings table, merged and checked field by
 * field, so a refused change names the field and changes nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/audit.h"
#include "service/points.h"
#include "util/clock.h"
#include "util/tz.h"

static const char *const expiry_modes[] = {"none", "rolling", "year_end"};

json_t *pt_points_rules_json(const pt_points_rules *r)
{
	return json_pack(
	    "{s:{s:I, s:I}, s:{s:I, s:I, s:I}, s:{s:s, s:I}, s:I, s:{s:I, s:I, s:s}, "
	    "s:{s:s, s:I}, s:s}",
	    "earn", "per_amount", (json_int_t)r->earn_per_amount, "points",
	    (json_int_t)r->earn_points, "redeem", "points", (json_int_t)r->redeem_points, "amount",
	    (json_int_t)r->redeem_amount, "max_ratio_bp", (json_int_t)r->redeem_max_ratio_bp,
	    "expiry", "mode", expiry_modes[r->expiry_mode], "days", (json_int_t)r->expiry_days,
	    "signup_bonus", (json_int_t)r->signup_bonus, "referral", "referrer_points",
	    (json_int_t)r->referrer_points, "referee_points", (json_int_t)r->referee_points, "on",
	    r->referral_on_first_purchase ? "first_purchase" : "register", "birthday", "scope",
	    r->birthday_month ? "month" : "day", "multiplier_bp",
	    (json_int_t)r->birthday_multiplier_bp, "time_zone", r->time_zone);
}

/* An object member of the patch, checked against its allowed keys. */
static int object(json_t *parent, const char *name, const char *const *keys, json_t **out,
                  pt_err *err)
{
	*out = json_object_get(parent, name);
	if (!*out)
		return 0;
	if (!json_is_object(*out))
		return pt_err_set(err, PT_INVALID_ARGUMENT, name, "%s must be an object",
		                  "%s 须为对象", name);
	const char *key;
	json_t *v;
	json_object_foreach(*out, key, v)
	{
		(void)v;
		bool known = false;
		for (const char *const *k = keys; *k && !known; k++)
			known = strcmp(*k, key) == 0;
		if (!known) {
			char path[128];
			snprintf(path, sizeof(path), "%s.%s", name, key);
			return pt_err_set(err, PT_INVALID_ARGUMENT, path, "unknown field '%s'",
			                  "未知字段“%s”", path);
		}
	}
	return 0;
}

static int integer(json_t *obj, const char *parent, const char *key, int64_t min, int64_t max,
                   int64_t *dst, pt_err *err)
{
	json_t *v = obj ? json_object_get(obj, key) : NULL;
	if (!v)
		return 0;
	char path[128];
	snprintf(path, sizeof(path), "%s%s%s", parent ? parent : "", parent ? "." : "", key);
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return pt_err_set(
		    err, PT_INVALID_ARGUMENT, path, "%s must be a whole number from %lld to %lld",
		    "%s 须为 %lld 至 %lld 的整数", path, (long long)min, (long long)max);
	*dst = json_integer_value(v);
	return 0;
}

/* A string from a fixed list; *index gets its position. */
static int choice(json_t *obj, const char *parent, const char *key, const char *const *options,
                  int *index, pt_err *err)
{
	json_t *v = obj ? json_object_get(obj, key) : NULL;
	if (!v)
		return 0;
	char path[128];
	snprintf(path, sizeof(path), "%s.%s", parent, key);
	for (int i = 0; json_is_string(v) && options[i]; i++)
		if (strcmp(options[i], json_string_value(v)) == 0) {
			*index = i;
			return 0;
		}
	return pt_err_set(err, PT_INVALID_ARGUMENT, path, "%s is not one of the allowed values",
	                  "%s 的值不在允许范围内", path);
}

int pt_points_rules_merge(pt_points_rules *r, json_t *patch, pt_err *err)
{
	static const char *const top[] = {"earn",     "redeem",   "expiry",    "signup_bonus",
	                                  "referral", "birthday", "time_zone", NULL};
	static const char *const earn_keys[] = {"per_amount", "points", NULL};
	static const char *const redeem_keys[] = {"points", "amount", "max_ratio_bp", NULL};
	static const char *const expiry_keys[] = {"mode", "days", NULL};
	static const char *const referral_keys[] = {"referrer_points", "referee_points", "on",
	                                            NULL};
	static const char *const birthday_keys[] = {"scope", "multiplier_bp", NULL};
	static const char *const modes[] = {"none", "rolling", "year_end", NULL};
	static const char *const ons[] = {"register", "first_purchase", NULL};
	static const char *const scopes[] = {"day", "month", NULL};
	const int64_t big = 1000000000;
	const char *key;
	json_t *v;
	json_object_foreach(patch, key, v)
	{
		(void)v;
		bool known = false;
		for (const char *const *k = top; *k && !known; k++)
			known = strcmp(*k, key) == 0;
		if (!known)
			return pt_err_set(err, PT_INVALID_ARGUMENT, key, "unknown field '%s'",
			                  "未知字段“%s”", key);
	}
	json_t *earn, *redeem, *expiry, *referral, *birthday;
	int mode = (int)r->expiry_mode, on = r->referral_on_first_purchase,
	    scope = r->birthday_month;
	if (object(patch, "earn", earn_keys, &earn, err) ||
	    integer(earn, "earn", "per_amount", 1, big, &r->earn_per_amount, err) ||
	    integer(earn, "earn", "points", 0, 1000000, &r->earn_points, err) ||
	    object(patch, "redeem", redeem_keys, &redeem, err) ||
	    integer(redeem, "redeem", "points", 1, big, &r->redeem_points, err) ||
	    integer(redeem, "redeem", "amount", 0, big, &r->redeem_amount, err) ||
	    integer(redeem, "redeem", "max_ratio_bp", 0, 10000, &r->redeem_max_ratio_bp, err) ||
	    object(patch, "expiry", expiry_keys, &expiry, err) ||
	    choice(expiry, "expiry", "mode", modes, &mode, err) ||
	    integer(expiry, "expiry", "days", 1, 3650, &r->expiry_days, err) ||
	    integer(patch, NULL, "signup_bonus", 0, big, &r->signup_bonus, err) ||
	    object(patch, "referral", referral_keys, &referral, err) ||
	    integer(referral, "referral", "referrer_points", 0, big, &r->referrer_points, err) ||
	    integer(referral, "referral", "referee_points", 0, big, &r->referee_points, err) ||
	    choice(referral, "referral", "on", ons, &on, err) ||
	    object(patch, "birthday", birthday_keys, &birthday, err) ||
	    choice(birthday, "birthday", "scope", scopes, &scope, err) ||
	    integer(birthday, "birthday", "multiplier_bp", 10000, 1000000,
	            &r->birthday_multiplier_bp, err))
		return -1;
	r->expiry_mode = (pt_expiry_mode)mode;
	r->referral_on_first_purchase = on;
	r->birthday_month = scope;
	json_t *tz = json_object_get(patch, "time_zone");
	if (tz) {
		const char *zone = json_string_value(tz);
		if (!zone || strlen(zone) >= sizeof(r->time_zone) || !pt_tz_known(zone))
			return pt_err_set(err, PT_INVALID_ARGUMENT, "time_zone",
			                  "time_zone must be a known IANA time zone such as "
			                  "Asia/Shanghai",
			                  "time_zone 须为有效的 IANA 时区，例如 Asia/Shanghai");
		snprintf(r->time_zone, sizeof(r->time_zone), "%s", zone);
	}
	return 0;
}

int pt_svc_points_rules(pt_db *db, pt_arena *a, pt_points_rules *out, pt_err *err)
{
	const char *text;
	bool found = false;
	pt_points_rules_default(out);
	if (pt_repo_setting_get(db, a, "points", &text, &found, err) != 0)
		return -1;
	if (!found)
		return 0;
	/* Every sale and lookup reads the rules: parse them again only when their text changed
	 * (one copy per thread, so no lock). */
	static _Thread_local struct {
		char text[2048];
		pt_points_rules rules;
	} parsed;
	if (strcmp(parsed.text, text) == 0) {
		*out = parsed.rules;
		return 0;
	}
	json_error_t jerr;
	json_t *stored = json_loads(text, 0, &jerr);
	int rc = stored ? pt_points_rules_merge(out, stored, err) : -1;
	json_decref(stored);
	if (rc != 0)
		return pt_err_set(err, PT_INTERNAL, NULL,
		                  "the stored points settings are unreadable",
		                  "已保存的积分设置无法读取");
	if (strlen(text) < sizeof(parsed.text)) {
		strcpy(parsed.text, text);
		parsed.rules = *out;
	}
	return 0;
}

typedef struct {
	pt_ctx *ctx;
	json_t *patch;
	pt_points_rules *out;
} put_args;

static int put_tx(pt_db *db, void *arg, pt_err *err)
{
	put_args *p = arg;
	if (pt_repo_setting_lock(db, p->ctx->arena, "points", pt_clock_now_ms(), err) != 0 ||
	    pt_svc_points_rules(db, p->ctx->arena, p->out, err) != 0 ||
	    pt_points_rules_merge(p->out, p->patch, err) != 0)
		return -1;
	json_t *doc = pt_points_rules_json(p->out);
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!text)
		return pt_err_oom(err);
	int rc = pt_repo_setting_put(db, "points", text, pt_clock_now_ms(), err);
	free(text);
	return rc ? rc
	          : pt_svc_audit(p->ctx, "settings.points", "settings", 0, json_incref(p->patch),
	                         err);
}

int pt_svc_points_settings_put(pt_ctx *ctx, json_t *patch, pt_points_rules *out, pt_err *err)
{
	put_args p = {ctx, patch, out};
	return pt_db_tx(ctx->db, true, put_tx, &p, err);
}

void pt_svc_today(const pt_points_rules *rules, char out[11])
{
	if (pt_tz_date(rules->time_zone, pt_clock_now_ms(), out) != 0)
		pt_tz_date("UTC", pt_clock_now_ms(), out);
}
