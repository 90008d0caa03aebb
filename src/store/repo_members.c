#include <stdio.h>
#include <string.h>

#include "store/repo.h"
#include "util/keys.h"

#define MEMBER_COLS                                                                                \
	"id, card_no, name, phone, gender, birthday, store_id, referral_code, referrer_id, tags, " \
	"note, tier_id, points, total_spend, created_at, updated_at, erased_at, "                  \
	"(SELECT name FROM tiers WHERE tiers.id = members.tier_id)"

static void member_from(const pt_rows *r, int i, pt_member *m)
{
	m->id = pt_rows_int(r, i, 0);
	m->card_no = pt_rows_get(r, i, 1);
	m->name = pt_rows_get(r, i, 2);
	m->phone = pt_rows_get(r, i, 3);
	m->gender = pt_rows_get(r, i, 4);
	m->birthday = pt_rows_get(r, i, 5);
	m->store_id = pt_rows_int(r, i, 6);
	m->referral_code = pt_rows_get(r, i, 7);
	m->referrer_id = pt_rows_int(r, i, 8);
	m->tags = pt_rows_get(r, i, 9);
	m->note = pt_rows_get(r, i, 10);
	m->tier_id = pt_rows_int(r, i, 11);
	m->tier_name = pt_rows_get(r, i, 17);
	m->points = pt_rows_int(r, i, 12);
	m->total_spend = pt_rows_int(r, i, 13);
	m->created_at = pt_rows_int(r, i, 14);
	m->updated_at = pt_rows_int(r, i, 15);
	m->erased_at = pt_rows_int(r, i, 16);
}

static pt_val opt_id(int64_t id)
{
	return id ? PT_INT(id) : PT_NULLV;
}

/* The personal fields as stored: sealed, with the phone's blind index. */
typedef struct {
	const char *phone, *birthday, *note, *phone_hash;
} sealed;

static int seal(pt_arena *a, const pt_member *m, sealed *out, pt_err *err)
{
	*out = (sealed){.phone = pt_keys_seal(a, "members.phone", m->phone),
	                .birthday = pt_keys_seal(a, "members.birthday", m->birthday),
	                .note = pt_keys_seal(a, "members.note", m->note),
	                .phone_hash = m->phone ? pt_keys_index(a, "phone", m->phone) : NULL};
	if ((m->phone && (!out->phone || !out->phone_hash)) || (m->birthday && !out->birthday) ||
	    (m->note && !out->note))
		return pt_err_oom(err);
	return 0;
}

int pt_repo_member_open(pt_arena *a, pt_member *m, pt_err *err)
{
	const char *phone = m->phone, *birthday = m->birthday, *note = m->note;
	m->phone = pt_keys_open(a, "members.phone", phone);
	m->birthday = pt_keys_open(a, "members.birthday", birthday);
	m->note = pt_keys_open(a, "members.note", note);
	if ((phone && !m->phone) || (birthday && !m->birthday) || (note && !m->note))
		return pt_err_set(err, PT_INTERNAL, NULL,
		                  "member %lld: personal data cannot be opened with the key file",
		                  "会员 %lld：无法用密钥文件解密个人数据", (long long)m->id);
	return 0;
}

/* The keyed hashes a phone can be found by: each prefix of 3 digits or more (the whole number
 * among them) and its last four digits, what cashiers ask for (手机尾号). */
static int index_phone(pt_db *db, pt_arena *a, int64_t member_id, const char *phone, pt_err *err)
{
	pt_val id = PT_INT(member_id);
	if (pt_db_exec(db, "DELETE FROM member_search WHERE member_id = $1", &id, 1, NULL, err))
		return -1;
	size_t n = phone ? strlen(phone) : 0;
	for (size_t len = 3; len <= n + 1 && n >= 4; len++) {
		char part[32];
		const char *purpose = "phone_prefix";
		if (len == n + 1) { /* the last four */
			purpose = "phone_last4";
			snprintf(part, sizeof(part), "%s", phone + n - 4);
		} else {
			snprintf(part, sizeof(part), "%.*s", (int)len, phone);
		}
		pt_val p[] = {PT_INT(member_id), PT_TEXT(pt_keys_index(a, purpose, part))};
		if (!p[1].s)
			return pt_err_oom(err);
		if (pt_db_exec(db, "INSERT INTO member_search (member_id, hash) VALUES ($1, $2)", p,
		               2, NULL, err) != 0)
			return -1;
	}
	return 0;
}

int pt_repo_member_insert(pt_db *db, pt_arena *a, const pt_member *m, int64_t *id, pt_err *err)
{
	sealed s;
	if (seal(a, m, &s, err) != 0)
		return -1;
	pt_val p[] = {PT_TEXT(m->card_no),       PT_TEXT(m->name),       PT_TEXT(s.phone),
	              PT_TEXT(m->gender),        PT_TEXT(s.birthday),    opt_id(m->store_id),
	              PT_TEXT(m->referral_code), opt_id(m->referrer_id), PT_TEXT(m->tags),
	              PT_TEXT(s.note),           PT_INT(m->created_at),  PT_TEXT(s.phone_hash)};
	pt_rows r;
	if (pt_db_query(
	        db, a,
	        "INSERT INTO members (card_no, name, phone, gender, birthday, store_id, "
	        "referral_code, referrer_id, tags, note, created_at, updated_at, phone_hash) "
	        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12) RETURNING id",
	        p, 12, &r, err) != 0)
		return -1;
	*id = pt_rows_int(&r, 0, 0);
	return index_phone(db, a, *id, m->phone, err);
}

int pt_repo_member_update(pt_db *db, pt_arena *a, const pt_member *m, pt_err *err)
{
	sealed s;
	if (seal(a, m, &s, err) != 0)
		return -1;
	pt_val p[] = {PT_TEXT(m->card_no), PT_TEXT(m->name),     PT_TEXT(s.phone),
	              PT_TEXT(m->gender),  PT_TEXT(s.birthday),  opt_id(m->store_id),
	              PT_TEXT(m->tags),    PT_TEXT(s.note),      PT_INT(m->updated_at),
	              PT_INT(m->id),       PT_TEXT(s.phone_hash)};
	if (pt_db_exec(db,
	               "UPDATE members SET card_no = $1, name = $2, phone = $3, gender = $4, "
	               "birthday = $5, store_id = $6, tags = $7, note = $8, updated_at = $9, "
	               "phone_hash = $11 WHERE id = $10 AND erased_at IS NULL",
	               p, 11, NULL, err) != 0)
		return -1;
	return index_phone(db, a, m->id, m->phone, err);
}

int pt_repo_member_set_tags(pt_db *db, int64_t member_id, const char *const *tags, int ntags,
                            pt_err *err)
{
	pt_val id = PT_INT(member_id);
	if (pt_db_exec(db, "DELETE FROM member_tags WHERE member_id = $1", &id, 1, NULL, err) != 0)
		return -1;
	for (int i = 0; i < ntags; i++) {
		pt_val p[] = {PT_INT(member_id), PT_TEXT(tags[i])};
		if (pt_db_exec(db,
		               "INSERT INTO member_tags (member_id, tag) VALUES ($1, $2) "
		               "ON CONFLICT DO NOTHING",
		               p, 2, NULL, err) != 0)
			return -1;
	}
	return 0;
}

static int member_one(pt_db *db, pt_arena *a, const char *sql, pt_val key, pt_member *out,
                      bool *found, pt_err *err)
{
	pt_rows r;
	if (pt_db_query(db, a, sql, &key, 1, &r, err) != 0)
		return -1;
	*found = r.nrows > 0;
	if (*found) {
		member_from(&r, 0, out);
		return pt_repo_member_open(a, out, err);
	}
	return 0;
}

int pt_repo_member_get(pt_db *db, pt_arena *a, int64_t id, pt_member *out, bool *found, pt_err *err)
{
	return member_one(db, a,
	                  "SELECT " MEMBER_COLS " FROM members WHERE id = $1 AND erased_at IS NULL",
	                  PT_INT(id), out, found, err);
}

int pt_repo_member_find(pt_db *db, pt_arena *a, const char *by, const char *value, pt_member *out,
                        bool *found, pt_err *err)
{
	const char *sql;
	if (strcmp(by, "phone") == 0) {
		sql = "SELECT " MEMBER_COLS " FROM members WHERE phone_hash = $1";
		value = pt_keys_index(a, "phone", value);
		if (!value)
			return pt_err_oom(err);
	} else if (strcmp(by, "card_no") == 0)
		sql = "SELECT " MEMBER_COLS " FROM members WHERE card_no = $1";
	else
		sql = "SELECT " MEMBER_COLS " FROM members WHERE referral_code = $1";
	return member_one(db, a, sql, PT_TEXT(value), out, found, err);
}

/* LIKE pattern for a prefix, with the wildcards of the input escaped. */
static char *prefix_pattern(pt_arena *a, const char *s)
{
	size_t n = strlen(s);
	char *p = pt_arena_alloc(a, n * 2 + 2), *w = p;
	if (!p)
		return NULL;
	for (; *s; s++) {
		if (*s == '%' || *s == '_' || *s == '\\')
			*w++ = '\\';
		*w++ = *s;
	}
	*w++ = '%';
	*w = '\0';
	return p;
}

int pt_repo_member_search(pt_db *db, pt_arena *a, const pt_member_filter *f, pt_member **out,
                          int *n, pt_err *err)
{
	/* A few fixed fragments, so each combination is one prepared statement. */
	char sql[1024];
	pt_val p[8];
	int np = 0;
	int len =
	    snprintf(sql, sizeof(sql),
	             "SELECT " MEMBER_COLS " FROM members WHERE erased_at IS NULL AND id > $1");
	p[np++] = PT_INT(f->after_id);
	if (f->q) {
		char *pattern = prefix_pattern(a, f->q);
		if (!pattern)
			return pt_err_oom(err);
		p[np++] = PT_TEXT(pattern);
		/* Phones are sealed: their prefixes and last four digits are found by keyed hash.
		 */
		const char *prefix = pt_keys_index(a, "phone_prefix", f->q);
		const char *last4 = pt_keys_index(a, "phone_last4", f->q);
		if (!prefix || !last4)
			return pt_err_oom(err);
		p[np++] = PT_TEXT(prefix);
		p[np++] = PT_TEXT(last4);
		len += snprintf(
		    sql + len, sizeof(sql) - (size_t)len,
		    " AND (card_no LIKE $%d ESCAPE '\\' OR name LIKE $%d ESCAPE '\\' OR id "
		    "IN (SELECT member_id FROM member_search WHERE hash IN ($%d, $%d)))",
		    np - 2, np - 2, np - 1, np);
	}
	if (f->tag) {
		p[np++] = PT_TEXT(f->tag);
		len +=
		    snprintf(sql + len, sizeof(sql) - (size_t)len,
		             " AND id IN (SELECT member_id FROM member_tags WHERE tag = $%d)", np);
	}
	if (f->store_id) {
		p[np++] = PT_INT(f->store_id);
		len += snprintf(sql + len, sizeof(sql) - (size_t)len, " AND store_id = $%d", np);
	}
	if (f->tier_id) {
		p[np++] = PT_INT(f->tier_id);
		len += snprintf(sql + len, sizeof(sql) - (size_t)len, " AND tier_id = $%d", np);
	}
	p[np++] = PT_INT(f->limit);
	snprintf(sql + len, sizeof(sql) - (size_t)len, " ORDER BY id LIMIT $%d", np);
	/* The statement cache keys on the text, so it must outlive this call. */
	char *text = pt_arena_strdup(a, sql);
	pt_rows r;
	if (!text)
		return pt_err_oom(err);
	if (pt_db_query(db, a, text, p, np, &r, err) != 0)
		return -1;
	*out = pt_arena_alloc(a, sizeof(pt_member) * (size_t)(r.nrows + 1));
	if (!*out)
		return pt_err_oom(err);
	for (int i = 0; i < r.nrows; i++) {
		member_from(&r, i, &(*out)[i]);
		if (pt_repo_member_open(a, &(*out)[i], err) != 0)
			return -1;
	}
	*n = r.nrows;
	return 0;
}

int pt_repo_member_erase(pt_db *db, int64_t id, int64_t now, pt_err *err)
{
	pt_val p[] = {PT_INT(now), PT_INT(id)};
	if (pt_db_exec(db,
	               "UPDATE members SET card_no = NULL, name = NULL, phone = NULL, phone_hash = "
	               "NULL, gender = NULL, "
	               "birthday = NULL, referral_code = NULL, tags = '[]', note = NULL, "
	               "updated_at = $1, erased_at = $1 WHERE id = $2 AND erased_at IS NULL",
	               p, 2, NULL, err) != 0)
		return -1;
	pt_val m = PT_INT(id);
	return pt_db_exec(db, "DELETE FROM member_tags WHERE member_id = $1", &m, 1, NULL, err) ||
	       pt_db_exec(db, "DELETE FROM member_search WHERE member_id = $1", &m, 1, NULL, err);
}

int pt_repo_check_members(pt_db *db, pt_arena *a, int64_t *problems, pt_err *err)
{
	pt_rows r;
	*problems = 0;
	if (pt_db_query(
	        db, a,
	        "SELECT id FROM members WHERE erased_at IS NULL AND (name IS NULL OR phone "
	        "IS NULL OR card_no IS NULL OR referral_code IS NULL) ORDER BY id LIMIT 100",
	        NULL, 0, &r, err) != 0)
		return -1;
	*problems += r.nrows;
	if (pt_db_query(db, a,
	                "SELECT id FROM members WHERE erased_at IS NOT NULL AND (name IS NOT NULL "
	                "OR phone IS NOT NULL OR card_no IS NOT NULL OR birthday IS NOT NULL "
	                "OR note IS NOT NULL) ORDER BY id LIMIT 100",
	                NULL, 0, &r, err) != 0)
		return -1;
	*problems += r.nrows;
	return 0;
}

int pt_repo_check_pii(pt_db *db, pt_arena *a, int64_t *unreadable, pt_err *err)
{
	pt_rows r;
	*unreadable = 0;
	if (pt_db_query(db, a,
	                "SELECT phone FROM members WHERE phone IS NOT NULL ORDER BY id LIMIT 200",
	                NULL, 0, &r, err) != 0)
		return -1;
	for (int i = 0; i < r.nrows; i++)
		if (!pt_keys_open(a, "members.phone", pt_rows_get(&r, i, 0)))
			(*unreadable)++;
	return 0;
}

int pt_repo_member_reseal(pt_db *db, pt_arena *a, int64_t after_id, int limit, int64_t *last,
                          int *n, pt_err *err)
{
	pt_member *rows;
	pt_member_filter f = {.after_id = after_id, .limit = limit};
	if (pt_repo_member_search(db, a, &f, &rows, n, err) != 0)
		return -1;
	for (int i = 0; i < *n; i++) {
		if (pt_repo_member_update(db, a, &rows[i], err) != 0)
			return -1;
		*last = rows[i].id;
	}
	return 0;
}
