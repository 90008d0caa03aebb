#ifndef PT_ERR_H
#define PT_ERR_H

#include <stdarg.h>

/* The error codes of API.md; the one error type of the project. */
typedef enum {
	PT_OK = 0,
	PT_INVALID_ARGUMENT,
	PT_UNAUTHENTICATED,
	PT_PERMISSION_DENIED,
	PT_CSRF_FAILED,
	PT_NOT_FOUND,
	PT_METHOD_NOT_ALLOWED,
	PT_CONFLICT,
	PT_INSUFFICIENT_POINTS,
	PT_OUT_OF_STOCK,
	PT_IDEMPOTENCY_IN_PROGRESS,
	PT_PAYLOAD_TOO_LARGE,
	PT_UNSUPPORTED_MEDIA_TYPE,
	PT_IDEMPOTENCY_KEY_REUSE,
	PT_COUPON_NOT_APPLICABLE,
	PT_RATE_LIMITED,
	PT_INTERNAL,
	PT_UNAVAILABLE,
	PT_CODE_COUNT
} pt_code;

/* Filled once, where the failure happens; passed up unchanged. Messages are kept in both
 * languages so the reply can choose by Accept-Language without a second lookup. */
typedef struct {
	pt_code code;
	int retry; /* set by the store for serialization failures: the transaction may be re-run */
	int retry_after; /* seconds, for rate_limited and unavailable answers; 0: the default */
	char field[64];
	char msg_en[256];
	char msg_zh[256];
} pt_err;

/* Sets err (when not NULL) and returns -1. en_fmt and zh_fmt take the same arguments in the
 * same order. field may be NULL. */
int pt_err_set(pt_err *err, pt_code code, const char *field, const char *en_fmt, const char *zh_fmt,
               ...) __attribute__((format(printf, 4, 6), format(printf, 5, 6)));

void pt_err_clear(pt_err *err);
/* Out of memory: PT_INTERNAL, returns -1. */
int pt_err_oom(pt_err *err);

const char *pt_code_name(pt_code code);
int pt_code_status(pt_code code);

#endif
