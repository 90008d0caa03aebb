#include "service/members.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/card.h"
#include "core/text.h"
#include "service/audit.h"
#include "service/points.h"
#include "util/clock.h"

enum { CODE_LEN = 8 };

/* No 0/O, 1/I/L: a referral code is read aloud and typed by hand. */
static const char code_alphabet[] = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";

void pt_member_codes_make(uint64_t random, char card_no[16], char referral_code[16])
{
	pt_card_make(random, card_no);
	uint64_t r = random * 0x9E3779B97F4A7C15u + 0x632BE59BD9B4E019u;
	r ^= r >> 29;
	for (int i = 0; i < CODE_LEN; i++) {
		referral_code[i] = code_alphabet[r % (sizeof(code_alphabet) - 1)];
		r /= sizeof(code_alphabet) - 1;
	}
	referral_code[CODE_LEN] = '\0';
}

static int not_found(int64_t id, pt_err *err)
{
	return pt_err_set(err, PT_NOT_FOUND, NULL, "no member %lld", "会员 %lld 不存在",
	                  (long long)id);
}

static const char *tags_json(pt_arena *a, const char *const *tags, int n)
{
	json_t *arr = json_array();
	for (int i = 0; arr && i < n; i++)
		json_array_append_new(arr, json_string(tags[i]));
	char *text = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
	json_decref(arr);
	if (!text)
		return NULL;
	char *copy = pt_arena_strdup(a, text);
	free(text);
	return copy;
}

/* A member's home store: one that exists, and for a caller limited to some stores one of
 * theirs (members are shared, but a store they cannot see is not theirs to choose). */
static int check_store(const pt_ctx *ctx, pt_db *db, pt_arena *a, int64_t store_id, pt_err *err)
{
	pt_store s;
	bool found = false;
	if (!store_id)
		return 0;
	if (!pt_ctx_store_ok(ctx, store_id))
		return pt_svc_store_hidden(store_id, err);
	if (pt_repo_store_get(db, a, store_id, &s, &found, err) != 0)
		return -1;
	if (!found)
		return pt_err_set(err, PT_INVALID_ARGUMENT, "store_id", "store %lld does not exist",
		                  "门店 %lld 不存在", (long long)store_id);
	return 0;
}

/* Unique columns name the field in their conflict; say it in words a cashier understands. */
static int explain_conflict(pt_err *err, const pt_member *m, bool generated)
{
	if (err->code != PT_CONFLICT)
		return -1;
	if (strncmp(err->field, "phone", 5) == 0)
		return pt_err_set(err, PT_CONFLICT, "phone", "phone %s belongs to another member",
		                  "手机号 %s 已被其他会员使用", m->phone);
	if (strcmp(err->field, "card_no") == 0 && !generated)
		return pt_err_set(err, PT_CONFLICT, "card_no",
		                  "card number %s belongs to another member",
		                  "卡号 %s 已被其他会员使用", m->card_no);
	/* A generated card number or referral code collided: run again with new ones. */
	err->retry = 1;
	return -1;
}

/* A birthday may not be after today in the business's time zone. */
static int check_birthday(pt_db *db, pt_arena *a, const char *birthday, pt_err *err)
{
	pt_points_rules rules;
	char today[11];
	if (!birthday)
		return 0;
	if (pt_svc_points_rules(db, a, &rules, err) != 0)
		return -1;
	pt_svc_today(&rules, today);
	if (strcmp(birthday, today) > 0)
		return pt_err_set(err, PT_INVALID_ARGUMENT, "birthday",
		                  "birthday %s is after today (%s)", "生日 %s 晚于今天（%s）",
		                  birthday, today);
	return 0;
}

/* The points a member shows: spendable now and what expires when. */
static int fill_points(pt_db *db, pt_arena *a, pt_member *m, pt_err *err)
{
	pt_points_rules rules;
	return pt_svc_points_rules(db, a, &rules, err) ||
	       pt_svc_points_of(db, a, &rules, m->id, m->points, &m->spendable, &m->expiring,
	                        &m->nexpiring, err);
}

typedef struct {
	pt_ctx *ctx;
	int64_t id;
	const pt_member_input *in;
	pt_member *out;
} args;

static int create_tx(pt_db *db, void *arg, pt_err *err)
{
	args *s = arg;
	const pt_member_input *in = s->in;
	pt_arena *a = s->ctx->arena;
	pt_member *m = s->out;
	if (check_store(s->ctx, db, a, in->store_id, err) != 0 ||
	    check_birthday(db, a, in->birthday, err) != 0)
		return -1;
	int64_t referrer_id = 0;
	if (in->referral_code) {
		pt_member referrer;
		bool found = false;
		if (pt_repo_member_find(db, a, "referral_code", in->referral_code, &referrer,
		                        &found, err) != 0)
			return -1;
		if (!found)
			return pt_err_set(err, PT_INVALID_ARGUMENT, "referral_code",
			                  "no member has referral code %s", "没有会员使用推荐码 %s",
			                  in->referral_code);
		referrer_id = referrer.id;
	}
	uint64_t random;
	randombytes_buf(&random, sizeof(random));
	char *card = pt_arena_alloc(a, 16), *code = pt_arena_alloc(a, 16);
	const char *tags = tags_json(a, in->tags, in->ntags);
	if (!card || !code || !tags)
		return pt_err_oom(err);
	pt_member_codes_make(random, card, code);
	*m = (pt_member){.card_no = in->card_no ? in->card_no : card,
	                 .name = in->name,
	                 .phone = in->phone,
	                 .gender = in->gender,
	                 .birthday = in->birthday,
	                 .store_id = in->store_id,
	                 .referral_code = code,
	                 .referrer_id = referrer_id,
	                 .tags = tags,
	                 .note = in->note,
	                 .created_at = pt_clock_now_ms()};
	m->updated_at = m->created_at;
	if (pt_repo_member_insert(db, a, m, &m->id, err) != 0)
		return explain_conflict(err, m, !in->card_no);
	bool found = false;
	return pt_repo_member_set_tags(db, m->id, in->tags, in->ntags, err) ||
	       pt_svc_points_on_register(s->ctx, m, err) ||
	       pt_repo_member_get(db, a, m->id, m, &found, err) || fill_points(db, a, m, err);
}

int pt_svc_member_create(pt_ctx *ctx, const pt_member_input *in, pt_member *out, pt_err *err)
{
	args s = {ctx, 0, in, out};
	return pt_db_tx(ctx->db, true, create_tx, &s, err);
}

/* What a change touched, by name only: the audit trail holds no personal data. */
static json_t *changed_fields(const pt_member_input *in)
{
	json_t *names = json_array();
	const struct {
		bool set;
		const char *name;
	} fields[] = {{in->set_name, "name"},       {in->set_phone, "phone"},
	              {in->set_gender, "gender"},   {in->set_birthday, "birthday"},
	              {in->set_card_no, "card_no"}, {in->set_store_id, "store_id"},
	              {in->set_note, "note"},       {in->set_tags, "tags"}};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (fields[i].set)
			json_array_append_new(names, json_string(fields[i].name));
	return json_pack("{s:o}", "fields", names);
}

static int patch_tx(pt_db *db, void *arg, pt_err *err)
{
	args *s = arg;
	const pt_member_input *in = s->in;
	pt_arena *a = s->ctx->arena;
	pt_member *m = s->out;
	bool found = false;
	if (pt_repo_member_get(db, a, s->id, m, &found, err) != 0)
		return -1;
	if (!found)
		return not_found(s->id, err);
	if ((in->set_store_id && check_store(s->ctx, db, a, in->store_id, err) != 0) ||
	    (in->set_birthday && check_birthday(db, a, in->birthday, err) != 0))
		return -1;
	if (in->set_name)
		m->name = in->name;
	if (in->set_phone)
		m->phone = in->phone;
	if (in->set_gender)
		m->gender = in->gender;
	if (in->set_birthday)
		m->birthday = in->birthday;
	if (in->set_card_no)
		m->card_no = in->card_no;
	if (in->set_store_id)
		m->store_id = in->store_id;
	if (in->set_note)
		m->note = in->note;
	if (in->set_tags && !(m->tags = tags_json(a, in->tags, in->ntags)))
		return pt_err_oom(err);
	m->updated_at = pt_clock_now_ms();
	if (pt_repo_member_update(db, a, m, err) != 0)
		return explain_conflict(err, m, false);
	return (in->set_tags && pt_repo_member_set_tags(db, m->id, in->tags, in->ntags, err)) ||
	       fill_points(db, a, m, err) ||
	       pt_svc_audit(s->ctx, "member.update", "member", m->id, changed_fields(in), err);
}

int pt_svc_member_patch(pt_ctx *ctx, int64_t id, const pt_member_input *in, pt_member *out,
                        pt_err *err)
{
	args s = {ctx, id, in, out};
	return pt_db_tx(ctx->db, true, patch_tx, &s, err);
}

typedef struct {
	pt_ctx *ctx;
	int64_t id;
	const char *by, *value;
	pt_member *out;
} read_args;

static int get_tx(pt_db *db, void *arg, pt_err *err)
{
	read_args *x = arg;
	bool found = false;
	if (pt_repo_member_get(db, x->ctx->arena, x->id, x->out, &found, err) != 0)
		return -1;
	return found ? fill_points(db, x->ctx->arena, x->out, err) : not_found(x->id, err);
}

/* Reads in one read transaction: one snapshot, and one lock taken instead of one for each
 * statement. */
int pt_svc_member_get(pt_ctx *ctx, int64_t id, pt_member *out, pt_err *err)
{
	read_args x = {.ctx = ctx, .id = id, .out = out};
	return pt_db_tx(ctx->db, false, get_tx, &x, err);
}

static int lookup(pt_ctx *ctx, const char *by, const char *value, pt_member *out, pt_err *err);

static int lookup_tx(pt_db *db, void *arg, pt_err *err)
{
	read_args *x = arg;
	(void)db;
	return lookup(x->ctx, x->by, x->value, x->out, err);
}

int pt_svc_member_lookup(pt_ctx *ctx, const char *by, const char *value, pt_member *out,
                         pt_err *err)
{
	read_args x = {.ctx = ctx, .by = by, .value = value, .out = out};
	return pt_db_tx(ctx->db, false, lookup_tx, &x, err);
}

static int lookup(pt_ctx *ctx, const char *by, const char *value, pt_member *out, pt_err *err)
{
	bool found = false;
	/* The card QR code carries the card number. */
	const char *column = strcmp(by, "code") == 0 ? "card_no" : by;
	if (pt_repo_member_find(ctx->db, ctx->arena, column, value, out, &found, err) != 0)
		return -1;
	if (found)
		return fill_points(ctx->db, ctx->arena, out, err);
	if (strcmp(column, "card_no") == 0 && strlen(value) == PT_CARD_DIGITS &&
	    pt_text_all_digits(value) && !pt_luhn_valid(value))
		return pt_err_set(err, PT_INVALID_ARGUMENT, by,
		                  "card number %s has a wrong check digit: probably mistyped",
		                  "卡号 %s 校验位不符，可能输错了", value);
	if (strcmp(by, "phone") == 0)
		return pt_err_set(err, PT_NOT_FOUND, NULL, "no member has this phone number",
		                  "没有会员使用此手机号");
	return pt_err_set(err, PT_NOT_FOUND, NULL, "no member has this card", "没有会员使用此卡号");
}

int pt_svc_member_search(pt_ctx *ctx, const pt_member_filter *f, pt_member **out, int *n,
                         pt_err *err)
{
	if (pt_repo_member_search(ctx->db, ctx->arena, f, out, n, err) != 0)
		return -1;
	for (int i = 0; i < *n; i++)
		if (fill_points(ctx->db, ctx->arena, &(*out)[i], err) != 0)
			return -1;
	return 0;
}

typedef struct {
	pt_ctx *ctx;
	int64_t id;
} erase_args;

static int erase_tx(pt_db *db, void *arg, pt_err *err)
{
	erase_args *e = arg;
	pt_member m;
	bool found = false;
	if (pt_repo_member_get(db, e->ctx->arena, e->id, &m, &found, err) != 0)
		return -1;
	if (!found)
		return not_found(e->id, err);
	return pt_repo_member_erase(db, e->id, pt_clock_now_ms(), err) ||
	       pt_svc_audit(e->ctx, "member.erase", "member", e->id, NULL, err);
}

int pt_svc_member_erase(pt_ctx *ctx, int64_t id, pt_err *err)
{
	erase_args e = {ctx, id};
	return pt_db_tx(ctx->db, true, erase_tx, &e, err);
}
