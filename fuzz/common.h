#ifndef PT_FUZZ_COMMON_H
#define PT_FUZZ_COMMON_H

/* What the harnesses share: reading structured values out of the fuzzer's bytes, a failed
 * invariant, and a throwaway SQLite database set up as `patron init` does. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/http.h"
#include "store/db.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* --- Bytes into values ----------------------------------------------------------------------
 * Each read takes what it needs from the front; past the end everything reads as 0, so any
 * input is a valid one. */
typedef struct {
	const uint8_t *p;
	size_t n;
} fz_bytes;

uint8_t fz_u8(fz_bytes *b);
uint64_t fz_u64(fz_bytes *b);
bool fz_bool(fz_bytes *b);
/* lo..hi inclusive (lo <= hi). */
int64_t fz_range(fz_bytes *b, int64_t lo, int64_t hi);
/* An amount of any size: mostly small, sometimes the edges of 64 bits or negative. */
int64_t fz_amount(fz_bytes *b);

/* An invariant does not hold: says which on stderr (after fz_dump, when a harness set one to
 * describe its input), then abort() so the fuzzer keeps the input. */
void fz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
extern void (*fz_dump)(void);
#define FZ_CHECK(cond)                                                                             \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fz_fail("%s:%d: invariant does not hold: %s", __FILE__, __LINE__, #cond);  \
	} while (0)

/* --- A database for the harnesses that need one ------------------------------------------ */

#define FZ_OWNER_PASSWORD "fuzz-owner-Password-42"

/* Once per process: libsodium, liboath, default settings, quiet logs (errors only). */
void fz_process_init(void);

/* A new directory under $TMPDIR (removed at exit) holding a migrated SQLite database, its key
 * file and the owner account, as `patron init` leaves them. Fills url ("sqlite:..."); the
 * settings point at it. Aborts when anything fails: a broken harness must not pass. */
void fz_database(char *url, size_t url_size);

/* The requests that build what the database harnesses fuzz against, run as the owner:
 * stores 1 and 2, a tier, products FZ-A (member price), FZ-B (not discountable) and FZ-C,
 * members 1 to 3 (1 with points and a coupon), stock, a promotion, a coupon template (1) with
 * coupons, order 1 (member 1, points redeemed), the staff account cashier1 (store 1) and the
 * role checker. */
typedef struct {
	const char *method, *path, *body;
	bool idempotent; /* needs an Idempotency-Key */
} fz_fixture;

extern const fz_fixture fz_fixtures[];
extern const int fz_fixture_count;

/* Who calls: the owner (session), the API key (default scopes, store 1), cashier1 (session). */
typedef enum { FZ_OWNER, FZ_KEY, FZ_CASHIER, FZ_CALLERS } fz_caller;

const char *fz_caller_name(fz_caller who);
/* The session token (cookie value) or API key of a caller, and the session's CSRF token (NULL
 * for the key). */
const char *fz_caller_token(fz_caller who);
const char *fz_caller_csrf(fz_caller who);

/* The input with its placeholders replaced by the current values, NUL-terminated (the input
 * may hold NULs too); free() it. @SESSION@ and @CSRF@ are the owner's session cookie value and
 * CSRF token, @CASHIER@ and @CASHIER_CSRF@ cashier1's, @KEY@ the API key, @COUPON@ the code of
 * a coupon of member 1. */
char *fz_expand(const uint8_t *data, size_t size, size_t *out_size);

/* fz_database, then the fixtures and the callers' credentials. Returns the database, open. */
pt_db *fz_setup(char *url, size_t url_size);
/* New sessions for the owner and cashier1 and a new API key, for when an input may have ended
 * them (a logout, a password change, a revoked key); a refusal keeps the old ones. */
void fz_refresh_callers(pt_db *db);

typedef struct {
	const pt_route *route;
	int status;       /* the handler's, or the refusal's (pt_code_status) */
	json_t *reply;    /* the handler's answer: the caller's to json_decref (may be NULL) */
	const char *text; /* an answer in plain text (metrics) */
	const char *location, *set_cookie;
	pt_err err; /* the refusal, when the handler (or the caller's check) failed */
} fz_answer;

/* One request as the server's dispatch runs it after the body is parsed: the route (test-clock
 * routes do not exist), the caller and the route's permission, the handler. All inside one
 * transaction, committed when keep is set, else rolled back so every input meets the same
 * database. Returns -1 when no route matches method and path, else 0 with out filled. */
int fz_call(pt_db *db, pt_arena *a, fz_caller who, const char *method, const char *path,
            json_t *body, bool keep, fz_answer *out);

#endif
