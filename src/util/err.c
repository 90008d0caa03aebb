#include "util/err.h"

#include <stdio.h>
#include <string.h>

#include "core/text.h"

static const struct {
	const char *name;
	int status;
} codes[PT_CODE_COUNT] = {
    [PT_OK] = {"ok", 200},
    [PT_INVALID_ARGUMENT] = {"invalid_argument", 400},
    [PT_UNAUTHENTICATED] = {"unauthenticated", 401},
    [PT_PERMISSION_DENIED] = {"permission_denied", 403},
    [PT_CSRF_FAILED] = {"csrf_failed", 403},
    [PT_NOT_FOUND] = {"not_found", 404},
    [PT_METHOD_NOT_ALLOWED] = {"method_not_allowed", 405},
    [PT_CONFLICT] = {"conflict", 409},
    [PT_INSUFFICIENT_POINTS] = {"insufficient_points", 409},
    [PT_OUT_OF_STOCK] = {"out_of_stock", 409},
    [PT_IDEMPOTENCY_IN_PROGRESS] = {"idempotency_in_progress", 409},
    [PT_PAYLOAD_TOO_LARGE] = {"payload_too_large", 413},
    [PT_UNSUPPORTED_MEDIA_TYPE] = {"unsupported_media_type", 415},
    [PT_IDEMPOTENCY_KEY_REUSE] = {"idempotency_key_reuse", 422},
    [PT_COUPON_NOT_APPLICABLE] = {"coupon_not_applicable", 422},
    [PT_RATE_LIMITED] = {"rate_limited", 429},
    [PT_INTERNAL] = {"internal", 500},
    [PT_UNAVAILABLE] = {"unavailable", 503},
};

/* A message may quote bytes that are not UTF-8 (a path as sent) or have a character cut at the
 * end of its buffer; JSON cannot carry either, and the answer would lose its error body. Each
 * byte that does not start a whole, valid character becomes '?'. */
static void keep_utf8(char *s)
{
	for (unsigned char *p = (unsigned char *)s; *p;) {
		int n = *p < 0x80             ? 1
		        : (*p & 0xE0) == 0xC0 ? 2
		        : (*p & 0xF0) == 0xE0 ? 3
		        : (*p & 0xF8) == 0xF0 ? 4
		                              : 0;
		if (n && pt_utf8_length((const char *)p, (size_t)n) == 1)
			p += n;
		else
			*p++ = '?';
	}
}

int pt_err_set(pt_err *err, pt_code code, const char *field, const char *en_fmt, const char *zh_fmt,
               ...)
{
	if (!err)
		return -1;
	va_list ap, ap2;
	va_start(ap, zh_fmt);
	va_copy(ap2, ap);
	err->code = code;
	err->retry = 0;
	err->retry_after = 0;
	snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
	vsnprintf(err->msg_en, sizeof(err->msg_en), en_fmt, ap);
	vsnprintf(err->msg_zh, sizeof(err->msg_zh), zh_fmt, ap2);
	keep_utf8(err->field);
	keep_utf8(err->msg_en);
	keep_utf8(err->msg_zh);
	va_end(ap2);
	va_end(ap);
	return -1;
}

int pt_err_oom(pt_err *err)
{
	return pt_err_set(err, PT_INTERNAL, NULL, "out of memory", "内存不足");
}

void pt_err_clear(pt_err *err)
{
	memset(err, 0, sizeof(*err));
}

const char *pt_code_name(pt_code code)
{
	return (unsigned)code < PT_CODE_COUNT ? codes[code].name : "internal";
}

int pt_code_status(pt_code code)
{
	return (unsigned)code < PT_CODE_COUNT ? codes[code].status : 500;
}
