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
	const char *username, *role, *password_hash;
	int64_t created_at, disabled_at;
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
	int64_t id;
	const char *card_no, *name, *phone, *gender, *birthday, *referral_code, *note;
	const char *tags; /* JSON array text */
	int64_t store_id, referrer_id, tier_id;
	const char *tier_name;
	int64_t points, total_spend, created_at, updated_at, erased_at;
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
int pt_repo_session_insert(pt_db *db, pt_arena *a, const char *token_hash, const pt_session *s,
                           int64_t *id, pt_err *err);
int pt_repo_session_by_hash(pt_db *db, pt_arena *a, const char *token_hash, pt_session *out,
                            bool *found, pt_err *err);
int pt_repo_session_touch(pt_db *db, int64_t id, int64_t now, pt_err *err);
int pt_repo_session_delete(pt_db *db, int64_t id, pt_err *err);
int pt_repo_session_purge(pt_db *db, int64_t now, int64_t idle_ms, pt_err *err);

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
int pt_repo_member_update(pt_db *db, const pt_member *m, pt_err *err);
int pt_repo_member_set_tags(pt_db *db, int64_t member_id, const char *const *tags, int ntags,
                            pt_err *err);
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

#endif
