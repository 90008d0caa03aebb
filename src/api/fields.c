#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "core/text.h"
#include "util/clock.h"

int pt_json_only(json_t *obj, const char *const *allowed, pt_err *err)
{
	const char *key;
	json_t *value;
	json_object_foreach(obj, key, value)
	{
		(void)value;
		bool known = false;
		for (const char *const *a = allowed; *a && !known; a++)
			known = strcmp(*a, key) == 0;
		if (!known)
			return pt_err_set(err, PT_INVALID_ARGUMENT, key, "unknown field '%s'",
			                  "未知字段“%s”", key);
	}
	return 0;
}

/* Finds the key; handles absence and null by the flags. Returns 1 when a value is there to
 * check, 0 when done, -1 on error. */
static int lookup(json_t *obj, const char *key, unsigned flags, pt_field *out, pt_err *err)
{
	memset(out, 0, sizeof(*out));
	json_t *v = obj ? json_object_get(obj, key) : NULL;
	if (!v) {
		if (flags & PT_F_REQUIRED)
			return pt_err_set(err, PT_INVALID_ARGUMENT, key, "'%s' is required",
			                  "缺少必填字段“%s”", key);
		return 0;
	}
	out->present = true;
	out->j = v;
	if (json_is_null(v)) {
		if (!(flags & PT_F_NULLABLE))
			return pt_err_set(err, PT_INVALID_ARGUMENT, key, "'%s' cannot be null",
			                  "“%s”不能为 null", key);
		out->is_null = true;
		return 0;
	}
	return 1;
}

int pt_text_check(const char *key, const char *s, unsigned flags, int min, int max, pt_err *err)
{
	long chars = pt_utf8_length(s, strlen(s));
	if (chars < 0)
		return pt_err_set(err, PT_INVALID_ARGUMENT, key, "'%s' is not valid UTF-8",
		                  "“%s”不是有效的 UTF-8 文本", key);
	if (pt_text_has_control(s, flags & PT_F_MULTILINE))
		return pt_err_set(err, PT_INVALID_ARGUMENT, key,
		                  "'%s' contains a control character", "“%s”含有控制字符", key);
	if (min == 0 && chars > max)
		return pt_err_set(err, PT_INVALID_ARGUMENT, key,
		                  "'%s' may be at most %d characters", "“%s”最多 %d 个字符", key,
		                  max);
	if (chars < min || chars > max || (min >= 1 && pt_text_is_blank(s)))
		return pt_err_set(err, PT_INVALID_ARGUMENT, key, "'%s' must be %d to %d characters",
		                  "“%s”须为 %d 至 %d 个字符", key, min, max);
	return 0;
}

int pt_json_text(json_t *obj, const char *key, unsigned flags, int min, int max, pt_field *out,
                 pt_err *err)
{
	int rc = lookup(obj, key, flags, out, err);
	if (rc <= 0)
		return rc;
	if (!json_is_string(out->j))
		return pt_err_set(err, PT_INVALID_ARGUMENT, key, "'%s' must be a string",
		                  "“%s”须为字符串", key);
	out->s = json_string_value(out->j);
	/* "\u0000" decodes to an embedded NUL, which C strings would silently cut. */
	if (strlen(out->s) != json_string_length(out->j))
		return pt_err_set(err, PT_INVALID_ARGUMENT, key, "'%s' contains a NUL character",
		                  "“%s”含有 NUL 字符", key);
	return pt_text_check(key, out->s, flags, min, max, err);
}

int pt_json_int(json_t *obj, const char *key, unsigned flags, int64_t min, int64_t max,
                pt_field *out, pt_err *err)
{
	int rc = lookup(obj, key, flags, out, err);
	if (rc <= 0)
		return rc;
	if (!json_is_integer(out->j))
		return pt_err_set(err, PT_INVALID_ARGUMENT, key, "'%s' must be a whole number",
		                  "“%s”须为整数", key);
	out->i = json_integer_value(out->j);
	if (out->i < min || out->i > max)
		return pt_err_set(err, PT_INVALID_ARGUMENT, key, "'%s' must be from %lld to %lld",
		                  "“%s”须在 %lld 至 %lld 之间", key, (long long)min,
		                  (long long)max);
	return 0;
}

int pt_json_bool(json_t *obj, const char *key, unsigned flags, pt_field *out, pt_err *err)
{
	int rc = lookup(obj, key, flags, out, err);
	if (rc <= 0)
		return rc;
	if (!json_is_boolean(out->j))
		return pt_err_set(err, PT_INVALID_ARGUMENT, key, "'%s' must be true or false",
		                  "“%s”须为 true 或 false", key);
	out->i = json_is_true(out->j);
	return 0;
}

int pt_json_array(json_t *obj, const char *key, unsigned flags, int max_items, pt_field *out,
                  pt_err *err)
{
	int rc = lookup(obj, key, flags, out, err);
	if (rc <= 0)
		return rc;
	if (!json_is_array(out->j))
		return pt_err_set(err, PT_INVALID_ARGUMENT, key, "'%s' must be an array",
		                  "“%s”须为数组", key);
	if ((int)json_array_size(out->j) > max_items)
		return pt_err_set(err, PT_INVALID_ARGUMENT, key, "'%s' may hold at most %d items",
		                  "“%s”最多 %d 项", key, max_items);
	return 0;
}

static int parse_positive(const char *s, int64_t max, int64_t *out)
{
	int64_t v = 0;
	if (!s || !*s || strlen(s) > 18)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	if (v < 1 || v > max)
		return -1;
	*out = v;
	return 0;
}

int pt_list_params(pt_req *req, int64_t *after_id, int *limit, pt_err *err)
{
	const char *l = pt_req_query(req, "limit"), *c = pt_req_query(req, "cursor");
	int64_t v = 50;
	if (l && parse_positive(l, 500, &v) != 0)
		return pt_err_set(err, PT_INVALID_ARGUMENT, "limit",
		                  "limit must be a whole number from 1 to 500",
		                  "limit 须为 1 至 500 的整数");
	*limit = (int)v;
	*after_id = 0;
	if (c && *c && parse_positive(c, (INT64_C(1) << 53) - 1, after_id) != 0)
		return pt_err_set(err, PT_INVALID_ARGUMENT, "cursor",
		                  "cursor is not one this server gave",
		                  "cursor 无效（须为上一页返回的值）");
	return 0;
}

int pt_list_reply(pt_req *req, json_t *items, int limit, int64_t last_id)
{
	json_t *next = json_null();
	if ((int)json_array_size(items) > limit) {
		json_array_remove(items, (size_t)limit);
		next = json_sprintf("%lld", (long long)last_id);
	}
	return pt_reply_json(req, 200,
	                     json_pack("{s:o, s:o}", "items", items, "next_cursor", next));
}

int pt_list_reply_all(pt_req *req, json_t *all, pt_err *err)
{
	int64_t offset;
	int limit;
	if (pt_list_params(req, &offset, &limit, err) != 0) {
		json_decref(all);
		return -1;
	}
	size_t n = json_array_size(all), from = offset < (int64_t)n ? (size_t)offset : n;
	json_t *items = json_array();
	for (size_t i = from; i < n && i <= from + (size_t)limit; i++)
		json_array_append(items, json_array_get(all, i));
	json_decref(all);
	return pt_list_reply(req, items, limit, (int64_t)from + limit);
}

json_t *pt_json_time(int64_t ms)
{
	char buf[32];
	pt_clock_format_rfc3339(ms, buf);
	return json_string(buf);
}

json_t *pt_json_opt_str(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *pt_json_opt_id(int64_t id)
{
	return id ? json_integer(id) : json_null();
}

#define ID_MAX ((INT64_C(1) << 53) - 1)

/* An optional array of positive ids, kept as JSON text ("[]" when absent). */
int pt_json_id_array(pt_arena *a, json_t *body, const char *key, const char **out, pt_err *err)
{
	pt_field f;
	if (pt_json_array(body, key, PT_F_NULLABLE, 100, &f, err))
		return -1;
	*out = "[]";
	if (!f.present || f.is_null)
		return 0;
	size_t i;
	json_t *v;
	json_array_foreach(f.j, i, v)
	{
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > ID_MAX)
			return pt_err_set(err, PT_INVALID_ARGUMENT, key,
			                  "%s must be an array of positive ids",
			                  "%s 须为正整数 id 数组", key);
	}
	char *text = json_dumps(f.j, JSON_COMPACT);
	*out = text ? pt_arena_strdup(a, text) : NULL;
	free(text);
	if (!*out)
		return pt_err_oom(err);
	return 0;
}

/* A time in RFC 3339 into epoch milliseconds. */
int pt_json_time_field(json_t *body, const char *key, unsigned flags, int64_t *ms, bool *present,
                       pt_err *err)
{
	pt_field f;
	if (pt_json_text(body, key, flags, 1, 64, &f, err))
		return -1;
	*present = f.present && !f.is_null;
	if (*present && pt_clock_parse_rfc3339(f.s, ms) != 0)
		return pt_err_set(err, PT_INVALID_ARGUMENT, key,
		                  "%s must be an RFC 3339 time such as 2026-11-23T08:00:00Z",
		                  "%s 须为 RFC 3339 时间，例如 2026-11-23T08:00:00Z", key);
	return 0;
}
