#ifndef PT_REPO_H
#define PT_REPO_H

/* The repositories: every SQL statement of the program lives behind these functions.
 * Rows come back as plain structs whose strings live in the caller's arena. Functions return
 * 0, or -1 with err set; a lookup that finds nothing returns 0 with *found = false. */

#include <stdbool.h>
#include <stdint.h>

#include "store/db.h"

typedef struct {
	int64_t id;
	const char *username, *role, *password_hash, *name, *phone;
	const char *store_ids;   /* JSON array; "[]": every store */
	const char *totp_secret; /* base32; pending until totp_enabled */
	bool totp_enabled;
	int64_t totp_last_step; /* the last time step a code was accepted for */
	int64_t created_at, disabled_at, locked_until;
} pt_staff;

typedef struct {
	int64_t id, staff_id, created_at, last_seen_at, expires_at;
	const char *csrf_token;
} pt_session;

typedef struct {
	int64_t id;
	const char *name, *prefix, *scopes; /* scopes: permission names, space-separated */
	int64_t store_id, created_by, created_at, revoked_at;
} pt_api_key;

typedef struct {
	int64_t id;
	const char *code, *name, *address, *phone;
	int64_t created_at, updated_at;
} pt_store;

typedef struct {
	int64_t id, points, remaining;
	const char *expires_on;
} pt_lot_row;

typedef struct {
	int64_t id;
	const char *card_no, *name, *phone, *gender, *birthday, *referral_code, *note;
	const char *tags; /* JSON array text */
	int64_t store_id, referrer_id, tier_id;
	const char *tier_name;
	int64_t points, total_spend, created_at, updated_at, erased_at;
	/* Filled by the service: spendable now, and unexpired points per expiry date. */
	int64_t spendable;
	pt_lot_row *expiring;
	int nexpiring;
} pt_member;

/* Migrations */
int pt_repo_migrate(pt_db *db, pt_err *err);
int pt_repo_schema_version(pt_db *db, pt_arena *a, int *version, int *latest, pt_err *err);

/* Staff and sessions */
int pt_repo_staff_insert(pt_db *db, pt_arena *a, const pt_staff *s, int64_t *id, pt_err *err);
int pt_repo_staff_by_username(pt_db *db, pt_arena *a, const char *username, pt_staff *out,
                              bool *found, pt_err *err);
int pt_repo_staff_by_id(pt_db *db, pt_arena *a, int64_t id, pt_staff *out, bool *found,
                        pt_err *err);
int pt_repo_staff_count(pt_db *db, pt_arena *a, int64_t *count, pt_err *err);
int pt_repo_staff_update(pt_db *db, const pt_staff *s, pt_err *err);
/* Sets the password hash and ends the account's sessions. */
int pt_repo_staff_set_password(pt_db *db, int64_t id, const char *hash, pt_err *err);
int pt_repo_staff_end_sessions(pt_db *db, int64_t id, pt_err *err);
int pt_repo_staff_totp_step(pt_db *db, int64_t id, int64_t step, pt_err *err);
int pt_repo_staff_set_totp(pt_db *db, int64_t id, const char *secret, bool enabled, pt_err *err);
int pt_repo_recovery_replace(pt_db *db, int64_t staff_id, const char *const *hashes, int n,
                             pt_err *err);
/* Marks an unused recovery code used; *ok false when there is none with this hash. */
int pt_repo_recovery_use(pt_db *db, int64_t staff_id, const char *hash, int64_t now, bool *ok,
                         pt_err *err);
int pt_repo_staff_list(pt_db *db, pt_arena *a, int64_t after_id, int limit, pt_staff **out, int *n,
                       pt_err *err);
/* Custom roles: permissions are space-separated names. */
int pt_repo_role_get(pt_db *db, pt_arena *a, const char *name, const char **perms, int64_t *id,
                     bool *found, pt_err *err);
int pt_repo_role_put(pt_db *db, pt_arena *a, const char *name, const char *perms, int64_t now,
                     int64_t *id, pt_err *err);
int pt_repo_role_delete(pt_db *db, const char *name, pt_err *err);
int pt_repo_roles(pt_db *db, pt_arena *a, pt_rows *out, pt_err *err);
int pt_repo_role_holders(pt_db *db, pt_arena *a, const char *name, int64_t *count, pt_err *err);
int pt_repo_session_insert(pt_db *db, pt_arena *a, const char *token_hash, const pt_session *s,
                           int64_t *id, pt_err *err);
int pt_repo_session_by_hash(pt_db *db, pt_arena *a, const char *token_hash, pt_session *out,
                            bool *found, pt_err *err);
int pt_repo_session_touch(pt_db *db, int64_t id, int64_t now, pt_err *err);
int pt_repo_session_delete(pt_db *db, int64_t id, pt_err *err);
int pt_repo_session_purge(pt_db *db, int64_t now, int64_t idle_ms, pt_err *err);

/* Failed logins: lockout per account, throttling per address */
int pt_repo_login_failure_add(pt_db *db, const char *username, const char *ip, int64_t now,
                              pt_err *err);
/* by: "username" or "ip"; failures at or after since. */
int pt_repo_login_failures(pt_db *db, pt_arena *a, const char *by, const char *value, int64_t since,
                           int64_t *count, int64_t *oldest, pt_err *err);
int pt_repo_login_failures_clear(pt_db *db, const char *username, pt_err *err);
int pt_repo_staff_lock(pt_db *db, int64_t staff_id, int64_t until, pt_err *err);

/* API keys */
int pt_repo_api_key_insert(pt_db *db, pt_arena *a, const char *key_hash, const pt_api_key *k,
                           int64_t *id, pt_err *err);
int pt_repo_api_key_by_hash(pt_db *db, pt_arena *a, const char *key_hash, pt_api_key *out,
                            bool *found, pt_err *err);
int pt_repo_api_key_by_id(pt_db *db, pt_arena *a, int64_t id, pt_api_key *out, bool *found,
                          pt_err *err);
int pt_repo_api_key_list(pt_db *db, pt_arena *a, int64_t after_id, int limit, pt_api_key **out,
                         int *n, pt_err *err);
int pt_repo_api_key_revoke(pt_db *db, int64_t id, int64_t now, pt_err *err);

/* Stores */
int pt_repo_store_insert(pt_db *db, pt_arena *a, const pt_store *s, int64_t *id, pt_err *err);
int pt_repo_store_update(pt_db *db, const pt_store *s, pt_err *err);
int pt_repo_store_get(pt_db *db, pt_arena *a, int64_t id, pt_store *out, bool *found, pt_err *err);
int pt_repo_store_list(pt_db *db, pt_arena *a, int64_t after_id, int limit, pt_store **out, int *n,
                       pt_err *err);

/* Members */
typedef struct {
	const char *q;             /* prefix of phone, card number or name; NULL for any */
	const char *tag;           /* NULL for any */
	int64_t store_id, tier_id; /* 0 for any */
	int64_t after_id;
	int limit;
} pt_member_filter;

int pt_repo_member_insert(pt_db *db, pt_arena *a, const pt_member *m, int64_t *id, pt_err *err);
int pt_repo_member_update(pt_db *db, pt_arena *a, const pt_member *m, pt_err *err);
/* Reads members above after_id and writes their personal data again under the current key:
 * key rotation. *last is the last id done; *n how many. */
int pt_repo_member_reseal(pt_db *db, pt_arena *a, int64_t after_id, int limit, int64_t *last,
                          int *n, pt_err *err);
int pt_repo_member_set_tags(pt_db *db, int64_t member_id, const char *const *tags, int ntags,
                            pt_err *err);
/* Opens the sealed fields (phone, birthday, note) of a member row just read, in place. */
int pt_repo_member_open(pt_arena *a, pt_member *m, pt_err *err);
int pt_repo_member_get(pt_db *db, pt_arena *a, int64_t id, pt_member *out, bool *found,
                       pt_err *err);
/* by: "phone", "card_no" or "referral_code"; erased members are never found. */
int pt_repo_member_find(pt_db *db, pt_arena *a, const char *by, const char *value, pt_member *out,
                        bool *found, pt_err *err);
int pt_repo_member_search(pt_db *db, pt_arena *a, const pt_member_filter *f, pt_member **out,
                          int *n, pt_err *err);
int pt_repo_member_erase(pt_db *db, int64_t id, int64_t now, pt_err *err);

/* Checks for `patron check`: each returns the number of problems found and logs them. */
int pt_repo_check_members(pt_db *db, pt_arena *a, int64_t *problems, pt_err *err);
/* Of the first 200 members' phone numbers, how many the loaded key file cannot open. */
int pt_repo_check_pii(pt_db *db, pt_arena *a, int64_t *unreadable, pt_err *err);

/* ---- Points ---- */

int pt_repo_setting_get(pt_db *db, pt_arena *a, const char *name, const char **value, bool *found,
                        pt_err *err);
/* Makes sure the row exists and holds it for the rest of the transaction, so concurrent
 * changes of one settings document apply one after the other. */
int pt_repo_setting_lock(pt_db *db, pt_arena *a, const char *name, int64_t now, pt_err *err);
int pt_repo_setting_put(pt_db *db, const char *name, const char *value, int64_t now, pt_err *err);

typedef struct {
	int64_t id;
	const char *kind;
	int64_t member_id, store_id, order_id, staff_id, api_key_id, created_at;
	const char *reason;
} pt_transfer;

typedef struct {
	int64_t id, transfer_id, member_id, store_id, points, balance_after, created_at;
	const char *account; /* "wallet" or a system account */
	const char *expires_on;
	bool has_balance;
} pt_entry;

/* A wallet entry as the ledger shows it, with its transfer's kind and cause. */
typedef struct {
	int64_t id, points, balance_after, order_id, staff_id, created_at;
	const char *kind, *reason, *expires_on;
} pt_ledger_row;

/* Locks the member's row for the rest of the transaction (SQLite: the write lock is held
 * already) and reads the ledger balance. */
int pt_repo_member_lock(pt_db *db, pt_arena *a, int64_t member_id, int64_t *balance, bool *found,
                        pt_err *err);
int pt_repo_member_set_points(pt_db *db, int64_t member_id, int64_t balance, pt_err *err);
int pt_repo_transfer_insert(pt_db *db, pt_arena *a, const pt_transfer *t, int64_t *id, pt_err *err);
int pt_repo_entry_insert(pt_db *db, pt_arena *a, const pt_entry *e, int64_t *id, pt_err *err);
int pt_repo_lot_insert(pt_db *db, pt_arena *a, int64_t member_id, int64_t entry_id, int64_t points,
                       const char *expires_on, int64_t now, int64_t *id, pt_err *err);
/* The member's lots with points left, soonest-expiring first, never-expiring last, then oldest. */
int pt_repo_lots_open(pt_db *db, pt_arena *a, int64_t member_id, pt_lot_row **out, int *n,
                      pt_err *err);
int pt_repo_lot_move(pt_db *db, int64_t member_id, int64_t lot_id, int64_t entry_id, int64_t points,
                     pt_err *err);
/* Points left in the member's lots that expired before today. */
int pt_repo_lots_expired_sum(pt_db *db, pt_arena *a, int64_t member_id, const char *today,
                             int64_t *sum, pt_err *err);
/* The points the member's lots still hold, per expiry date, soonest first (lots that never
 * expire are not among them). */
int pt_repo_lots_by_date(pt_db *db, pt_arena *a, int64_t member_id, pt_lot_row **out, int *n,
                         pt_err *err);
/* Where the expiry job has got to: it visits lots in (expires_on, id) order. */
typedef struct {
	char date[16];
	int64_t lot_id;
} pt_expiry_cursor;
/* The members of the next lots (at most limit) that still hold points and expired before
 * today, past the cursor, which moves to the last of them; a member with several such lots
 * may come more than once. *n is 0 when none are left. Each batch reads only its own lots
 * from the index of lots holding points by date, not every lot in the database. */
int pt_repo_expired_lots_next(pt_db *db, pt_arena *a, const char *today, pt_expiry_cursor *at,
                              int limit, int64_t **member_ids, int *n, pt_err *err);
int pt_repo_ledger_list(pt_db *db, pt_arena *a, int64_t member_id, int64_t before_id, int limit,
                        pt_ledger_row **out, int *n, pt_err *err);
int pt_repo_ledger_entry(pt_db *db, pt_arena *a, int64_t entry_id, pt_ledger_row *out, pt_err *err);

typedef struct {
	int64_t member_id, points;
	const char *expires_on;
} pt_expiring_row;

int pt_repo_expiring_between(pt_db *db, pt_arena *a, const char *from, const char *to,
                             int64_t after_member, int limit, pt_expiring_row **out, int *n,
                             pt_err *err);

/* patron check: each fills *bad with the number of failing rows and prints up to a few. */
typedef struct {
	int64_t unbalanced_transfers, wallet_mismatches, lot_mismatches, negative_lots;
	int64_t outstanding, member_balances;
	int64_t example_transfer, example_member, example_lot;
} pt_ledger_check;
int pt_repo_check_ledger(pt_db *db, pt_arena *a, pt_ledger_check *out, pt_err *err);

/* ---- Tiers ---- */

typedef struct {
	int64_t id, rank, threshold, discount_bp, points_multiplier_bp, created_at, updated_at;
	const char *name, *basis;
} pt_tier;

int pt_repo_tier_insert(pt_db *db, pt_arena *a, const pt_tier *t, int64_t *id, pt_err *err);
int pt_repo_tier_update(pt_db *db, const pt_tier *t, pt_err *err);
int pt_repo_tier_delete(pt_db *db, int64_t id, pt_err *err);
int pt_repo_tier_get(pt_db *db, pt_arena *a, int64_t id, pt_tier *out, bool *found, pt_err *err);
/* All tiers, lowest rank first. */
int pt_repo_tier_all(pt_db *db, pt_arena *a, pt_tier **out, int *n, pt_err *err);
int pt_repo_tier_members(pt_db *db, pt_arena *a, int64_t tier_id, int64_t *count, pt_err *err);
int pt_repo_member_set_tier(pt_db *db, int64_t member_id, int64_t tier_id, pt_err *err);
/* Puts every member without a tier into tier_id, with its history: a new business's start. */
int pt_repo_tier_assign_all(pt_db *db, int64_t tier_id, int64_t now, pt_err *err);
int pt_repo_tier_history_insert(pt_db *db, int64_t member_id, int64_t from, int64_t to,
                                const char *reason, int64_t now, pt_err *err);

typedef struct {
	int64_t id, from_tier_id, to_tier_id, created_at;
	const char *reason;
} pt_tier_change;

int pt_repo_tier_history(pt_db *db, pt_arena *a, int64_t member_id, int64_t after_id, int limit,
                         pt_tier_change **out, int *n, pt_err *err);
int pt_repo_spend_add(pt_db *db, int64_t member_id, const char *day, int64_t amount, pt_err *err);
int pt_repo_spend_since(pt_db *db, pt_arena *a, int64_t member_id, const char *from_day,
                        int64_t *sum, pt_err *err);
/* A member as the tier review sees it; tier_id 0 for none. */
typedef struct {
	int64_t id, tier_id, total_spend;
} pt_member_tier_row;

/* Members above after_id, at most limit, not erased, in id order: for the tier review. */
int pt_repo_member_tier_page(pt_db *db, pt_arena *a, int64_t after_id, int limit,
                             pt_member_tier_row **out, int *n, pt_err *err);

/* ---- Idempotency keys ---- */

typedef struct {
	int64_t id, status, created_at;
	const char *request_hash, *state, *response;
} pt_idem_row;

/* Who runs a key: on PostgreSQL the claiming connection holds a session advisory lock on it
 * until finish or delete, and the lock dies with the connection, so a retry can tell a key
 * whose server crashed (lock free) from one still running anywhere (lock held). On SQLite,
 * where one server owns the file, a running key older than this server's start is dead. */

/* Inserts a running key; *claimed false when the caller already has this key. */
int pt_repo_idem_claim(pt_db *db, pt_arena *a, const char *caller, const char *key,
                       const char *hash, int64_t now, int64_t *id, bool *claimed, pt_err *err);
int pt_repo_idem_get(pt_db *db, pt_arena *a, const char *caller, const char *key, pt_idem_row *out,
                     bool *found, pt_err *err);
/* Takes over a running key whose server died: on PostgreSQL its lock is free; on SQLite it
 * was claimed before started_at (this server's start) or before stale_before. */
int pt_repo_idem_take_over(pt_db *db, pt_arena *a, int64_t id, int64_t stale_before,
                           int64_t started_at, int64_t now, bool *taken, pt_err *err);
int pt_repo_idem_finish(pt_db *db, int64_t id, int status, const char *response, pt_err *err);
int pt_repo_idem_delete(pt_db *db, int64_t id, pt_err *err);
int pt_repo_idem_purge(pt_db *db, int64_t before, pt_err *err);

#endif
