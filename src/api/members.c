#include <string.h>

#include "api/api.h"
#include "core/dates.h"
#include "core/text.h"
#include "service/audit.h"
#include "service/checkout.h"
#include "service/market.h"
#include "service/members.h"
#include "service/points.h"
#include "service/tiers.h"
#include "util/clock.h"

enum { MAX_TAGS = 20 };

static json_t *member_json(pt_req *req, const pt_member *m)
{
	json_error_t jerr;
	json_t *tags = json_loads(m->tags ? m->tags : "[]", 0, &jerr);
	json_t *tier = m->tier_id ? json_pack("{s:I, s:s?}", "id", (json_int_t)m->tier_id, "name",
	                                      m->tier_name)
	                          : json_null();
	json_t *expiring = json_array();
	for (int i = 0; i < m->nexpiring; i++)
		json_array_append_new(expiring, json_pack("{s:I, s:s}", "points",
		                                          (json_int_t)m->expiring[i].remaining,
		                                          "expires_on", m->expiring[i].expires_on));
	return json_pack("{s:I, s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:I, "
	                 "s:o, s:I, s:o, s:o}",
	                 "id", (json_int_t)m->id, "card_no", m->card_no, "name", m->name, "phone",
	                 pt_api_phone(req, m->phone), "gender", pt_json_opt_str(m->gender),
	                 "birthday", pt_api_birthday(req, m->birthday), "store_id",
	                 pt_json_opt_id(m->store_id), "referral_code", m->referral_code,
	                 "referrer_id", pt_json_opt_id(m->referrer_id), "tags",
	                 tags ? tags : json_array(), "note", pt_json_opt_str(m->note), "tier", tier,
	                 "points", (json_int_t)m->spendable, "points_expiring", expiring,
	                 "total_spend", (json_int_t)m->total_spend, "created_at",
	                 pt_json_time(m->created_at), "updated_at", pt_json_time(m->updated_at));
}

static int check_phone(const char *key, const char *s, pt_err *err)
{
	size_t n = strlen(s);
	if (n < 6 || n > 20 || !pt_text_all_digits(s))
		return pt_err_set(err, PT_INVALID_ARGUMENT, key, "phone must be 6 to 20 digits",
		                  "手机号须为 6 至 20 位数字");
	return 0;
}

static int check_card(const char *key, const char *s, pt_err *err)
{
	size_t n = strlen(s);
	if (n < 4 || n > 32 ||
	    !pt_text_all_in(s, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))
		return pt_err_set(err, PT_INVALID_ARGUMENT, key,
		                  "card number must be 4 to 32 letters or digits",
		                  "卡号须为 4 至 32 位字母或数字");
	return 0;
}

static int check_birthday(const char *s, pt_err *err)
{
	int y, m, d;
	/* Not after today is checked by the service, which knows the business's time zone. */
	if (pt_date_parse(s, &y, &m, &d) != 0 || y < 1900)
		return pt_err_set(err, PT_INVALID_ARGUMENT, "birthday",
		                  "birthday must be a real date from 1900-01-01 on, YYYY-MM-DD",
		                  "生日须为 1900-01-01 之后的有效日期，格式 YYYY-MM-DD");
	return 0;
}

/* Reads a member body: create needs name and phone; a patch takes any field but the
 * referral code, and null clears the optional ones. */
static int read_member(pt_req *req, bool create, pt_member_input *in, pt_err *err)
{
	static const char *const create_fields[] = {
	    "name",     "phone", "gender",        "birthday", "card_no",
	    "store_id", "tags",  "referral_code", "note",     NULL};
	json_t *b = req->body;
	unsigned required = create ? PT_F_REQUIRED : 0, optional = PT_F_NULLABLE;
	pt_field name, phone, gender, birthday, card, store, tags, ref, note;
	if (pt_json_only(b, create_fields, err) ||
	    pt_json_text(b, "name", required, 1, 64, &name, err) ||
	    pt_json_text(b, "phone", required, 0, 64, &phone, err) ||
	    pt_json_text(b, "gender", optional, 0, 16, &gender, err) ||
	    pt_json_text(b, "birthday", optional, 0, 16, &birthday, err) ||
	    pt_json_text(b, "card_no", create ? PT_F_NULLABLE : 0, 0, 64, &card, err) ||
	    pt_json_int(b, "store_id", optional, 1, (INT64_C(1) << 53) - 1, &store, err) ||
	    pt_json_array(b, "tags", optional, MAX_TAGS, &tags, err) ||
	    pt_json_text(b, "referral_code", PT_F_NULLABLE, 1, 32, &ref, err) ||
	    pt_json_text(b, "note", PT_F_NULLABLE | PT_F_MULTILINE, 0, 500, &note, err))
		return -1;
	if (!create && ref.present)
		return pt_err_set(err, PT_INVALID_ARGUMENT, "referral_code",
		                  "the referrer is set when the member registers",
		                  "推荐人只能在注册时填写");
	if (phone.s && check_phone("phone", phone.s, err))
		return -1;
	if (card.s && check_card("card_no", card.s, err))
		return -1;
	if (gender.s && strcmp(gender.s, "male") && strcmp(gender.s, "female") &&
	    strcmp(gender.s, "other"))
		return pt_err_set(err, PT_INVALID_ARGUMENT, "gender",
		                  "gender must be male, female or other",
		                  "性别须为 male、female 或 other");
	if (birthday.s && check_birthday(birthday.s, err))
		return -1;
	const char **tag_list = NULL;
	int ntags = 0;
	if (tags.present && !tags.is_null) {
		tag_list = pt_arena_alloc(req->ctx.arena, sizeof(char *) * (MAX_TAGS + 1));
		if (!tag_list)
			return pt_err_oom(err);
		size_t i;
		json_t *v;
		json_array_foreach(tags.j, i, v)
		{
			const char *t = json_string_value(v);
			if (!t || pt_text_check("tags", t, 0, 1, 32, err) != 0)
				return pt_err_set(err, PT_INVALID_ARGUMENT, "tags",
				                  "each tag must be a string of 1 to 32 characters",
				                  "每个标签须为 1 至 32 个字符的字符串");
			bool seen = false;
			for (int k = 0; k < ntags && !seen; k++)
				seen = strcmp(tag_list[k], t) == 0;
			if (!seen)
				tag_list[ntags++] = t;
		}
	}
	*in = (pt_member_input){
	    .set_name = name.present,
	    .set_phone = phone.present,
	    .set_gender = gender.present,
	    .set_birthday = birthday.present,
	    .set_card_no = card.present,
	    .set_store_id = store.present,
	    .set_tags = tags.present,
	    .set_note = note.present,
	    .name = name.s,
	    .phone = phone.s,
	    .gender = gender.s && *gender.s ? gender.s : NULL,
	    .birthday = birthday.s && *birthday.s ? birthday.s : NULL,
	    .card_no = card.s,
	    .note = note.s && *note.s ? note.s : NULL,
	    .referral_code = ref.s,
	    .store_id = store.i,
	    .tags = tag_list,
	    .ntags = ntags,
	};
	return 0;
}

int pt_api_members_create(pt_req *req, pt_err *err)
{
	pt_member_input in;
	pt_member m;
	if (read_member(req, true, &in, err) || pt_svc_member_create(&req->ctx, &in, &m, err))
		return -1;
	req->location = pt_arena_printf(req->ctx.arena, "/api/v1/members/%lld", (long long)m.id);
	return pt_reply_json(req, 201, member_json(req, &m));
}

int pt_api_members_patch(pt_req *req, pt_err *err)
{
	int64_t id;
	pt_member_input in;
	pt_member m;
	if (pt_req_id(req, "id", &id, err) || read_member(req, false, &in, err) ||
	    pt_svc_member_patch(&req->ctx, id, &in, &m, err) ||
	    pt_api_audit_pii_read(req, &m.id, 1, err))
		return -1;
	return pt_reply_json(req, 200, member_json(req, &m));
}

int pt_api_members_get(pt_req *req, pt_err *err)
{
	int64_t id;
	pt_member m;
	if (pt_req_id(req, "id", &id, err) || pt_svc_member_get(&req->ctx, id, &m, err) ||
	    pt_api_audit_pii_read(req, &m.id, 1, err))
		return -1;
	return pt_reply_json(req, 200, member_json(req, &m));
}

int pt_api_members_erase(pt_req *req, pt_err *err)
{
	int64_t id;
	if (pt_req_id(req, "id", &id, err) || pt_svc_member_erase(&req->ctx, id, err))
		return -1;
	return pt_reply_empty(req, 204);
}

int pt_api_members_lookup(pt_req *req, pt_err *err)
{
	static const char *const keys[] = {"phone", "card_no", "code"};
	const char *by = NULL, *value = NULL;
	for (int i = 0; i < 3; i++) {
		const char *v = pt_req_query(req, keys[i]);
		if (!v)
			continue;
		if (by)
			return pt_err_set(err, PT_INVALID_ARGUMENT, keys[i],
			                  "give one of phone, card_no or code, not several",
			                  "phone、card_no、code 只能给一个");
		by = keys[i];
		value = v;
	}
	if (!by)
		return pt_err_set(err, PT_INVALID_ARGUMENT, "phone",
		                  "give phone, card_no or code to look up",
		                  "请提供 phone、card_no 或 code 之一");
	if (strcmp(by, "phone") == 0 ? check_phone(by, value, err) : check_card(by, value, err))
		return -1;
	pt_member m;
	if (pt_svc_member_lookup(&req->ctx, by, value, &m, err) != 0)
		return -1;
	/* Found by the phone itself: the answer tells the caller nothing new. */
	if (strcmp(by, "phone") != 0 && pt_api_audit_pii_read(req, &m.id, 1, err) != 0)
		return -1;
	return pt_reply_json(req, 200, member_json(req, &m));
}

static int query_id(pt_req *req, const char *key, int64_t *out, pt_err *err)
{
	const char *s = pt_req_query(req, key);
	*out = 0;
	if (!s)
		return 0;
	int64_t v = 0;
	for (const char *p = s; *p && v < (INT64_C(1) << 53); p++)
		v = *p >= '0' && *p <= '9' ? v * 10 + (*p - '0') : -1;
	if (!*s || v <= 0 || v >= (INT64_C(1) << 53))
		return pt_err_set(err, PT_INVALID_ARGUMENT, key, "%s must be a positive id",
		                  "%s 须为正整数 id", key);
	*out = v;
	return 0;
}

int pt_api_members_search(pt_req *req, pt_err *err)
{
	pt_member_filter f = {0};
	f.q = pt_req_query(req, "q");
	f.tag = pt_req_query(req, "tag");
	if (f.q && !*f.q)
		f.q = NULL;
	if (f.q && pt_text_check("q", f.q, 0, 1, 64, err))
		return -1;
	if (f.tag && pt_text_check("tag", f.tag, 0, 1, 32, err))
		return -1;
	if (query_id(req, "store_id", &f.store_id, err) ||
	    query_id(req, "tier_id", &f.tier_id, err) ||
	    pt_list_params(req, &f.after_id, &f.limit, err))
		return -1;
	int limit = f.limit, n;
	f.limit = limit + 1;
	pt_member *members;
	if (pt_svc_member_search(&req->ctx, &f, &members, &n, err) != 0)
		return -1;
	int shown = n > limit ? limit : n;
	int64_t *ids = pt_arena_alloc(req->ctx.arena, sizeof(*ids) * (size_t)(shown + 1));
	json_t *items = json_array();
	for (int i = 0; i < n; i++) {
		json_array_append_new(items, member_json(req, &members[i]));
		if (i < shown)
			ids[i] = members[i].id;
	}
	if (pt_api_audit_pii_read(req, ids, shown, err) != 0) {
		json_decref(items);
		return -1;
	}
	return pt_list_reply(req, items, limit, n > limit ? members[limit - 1].id : 0);
}

/* One member's data, whole, for a PIPL/GDPR request: profile, points history, orders,
 * coupons and tier changes. Audited. */
int pt_api_members_export(pt_req *req, pt_err *err)
{
	enum { ALL = 100000 };
	int64_t id;
	pt_member m;
	pt_ledger_row *ledger;
	pt_tier_change *tiers;
	pt_coupon *coupons;
	json_t *orders;
	int64_t last;
	int nl, nt, nc;
	pt_order_query q = {.limit = ALL};
	if (pt_req_id(req, "id", &id, err) || pt_svc_member_get(&req->ctx, id, &m, err) ||
	    pt_svc_ledger_list(&req->ctx, id, 0, ALL, &ledger, &nl, err) ||
	    pt_svc_tier_history(&req->ctx, id, 0, ALL, &tiers, &nt, err) ||
	    pt_svc_member_coupons(&req->ctx, id, 0, ALL, &coupons, &nc, err))
		return -1;
	q.member_id = id;
	if (pt_svc_order_list(&req->ctx, &q, &orders, &last, err) != 0)
		return -1;
	json_t *jl = json_array(), *jt = json_array(), *jc = json_array();
	for (int i = 0; i < nl; i++)
		json_array_append_new(jl, json_pack("{s:I, s:s, s:I, s:I, s:o, s:o, s:o}", "id",
		                                    (json_int_t)ledger[i].id, "kind",
		                                    ledger[i].kind, "points",
		                                    (json_int_t)ledger[i].points, "balance_after",
		                                    (json_int_t)ledger[i].balance_after, "order_id",
		                                    pt_json_opt_id(ledger[i].order_id), "reason",
		                                    pt_json_opt_str(ledger[i].reason), "created_at",
		                                    pt_json_time(ledger[i].created_at)));
	for (int i = 0; i < nt; i++)
		json_array_append_new(
		    jt, json_pack("{s:o, s:o, s:s, s:o}", "from_tier_id",
		                  pt_json_opt_id(tiers[i].from_tier_id), "to_tier_id",
		                  pt_json_opt_id(tiers[i].to_tier_id), "reason", tiers[i].reason,
		                  "created_at", pt_json_time(tiers[i].created_at)));
	for (int i = 0; i < nc; i++)
		json_array_append_new(jc, json_pack("{s:s, s:s, s:s, s:o}", "code", coupons[i].code,
		                                    "name", coupons[i].t.name, "status",
		                                    coupons[i].status, "valid_until",
		                                    pt_json_time(coupons[i].valid_until)));
	if (pt_svc_audit(&req->ctx, "member.export", "member", id, NULL, err) != 0) {
		json_decref(jl);
		json_decref(jt);
		json_decref(jc);
		json_decref(orders);
		return -1;
	}
	return pt_reply_json(req, 200,
	                     json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "member",
	                               member_json(req, &m), "ledger", jl, "orders", orders,
	                               "coupons", jc, "tier_history", jt, "exported_at",
	                               pt_json_time(pt_clock_now_ms())));
}
