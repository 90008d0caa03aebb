#include "service/market.h"
#include "service/audit.h"
#include "service/staff.h"

#include <sodium.h>
#include <string.h>

#include "core/coupon_code.h"
#include "util/clock.h"

enum { DAY_MS = 24 * 3600 * 1000 };

bool pt_id_list_allows(const char *json_ids, int64_t id)
{
	json_error_t e;
	json_t *ids = json_loads(json_ids ? json_ids : "[]", 0, &e);
	bool allowed = !ids || json_array_size(ids) == 0;
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v) allowed = allowed || json_integer_value(v) == id;
	json_decref(ids);
	return allowed;
}

/* A tier list (JSON text) names tiers that exist: a typo would otherwise make a promotion
 * that applies to nobody, silently. */
static int tiers_exist(pt_db *db, pt_arena *a, const char *json_ids, pt_err *err)
{
	const int64_t *ids;
	int n;
	if (pt_store_ids_parse(a, json_ids, &ids, &n) != 0)
		return pt_err_oom(err);
	for (int i = 0; i < n; i++) {
		pt_tier t;
		bool found = false;
		if (pt_repo_tier_get(db, a, ids[i], &t, &found, err) != 0)
			return -1;
		if (!found)
			return pt_err_set(err, PT_INVALID_ARGUMENT, "tier_ids",
			                  "tier %lld does not exist", "等级 %lld 不存在",
			                  (long long)ids[i]);
	}
	return 0;
}

/* A promotion's or coupon template's store list (JSON text; empty means every store). A
 * caller limited to some stores names its own, each of them; a new list must also name
 * stores that exist (a typo would make one that applies nowhere). */
static int check_store_list(const pt_ctx *ctx, pt_db *db, const char *json_ids, bool new_list,
                            pt_err *err)
{
	const int64_t *ids;
	int n;
	if (pt_store_ids_parse(ctx->arena, json_ids, &ids, &n) != 0)
		return pt_err_oom(err);
	if (ctx->nstores && n == 0)
		return pt_err_set(err, PT_PERMISSION_DENIED, "store_ids",
		                  "you work in some stores only: name them in store_ids",
		                  "您只管理部分门店：请在 store_ids 中列出");
	for (int i = 0; i < n; i++)
		if (!pt_ctx_store_ok(ctx, ids[i]))
			return pt_svc_store_hidden(ids[i], err);
	return new_list ? pt_svc_stores_exist(db, ctx->arena, ids, n, err) : 0;
}

typedef struct {
	pt_ctx *ctx;
	const pt_coupon_template *in;
	pt_coupon_template *out;
} template_args;

static int template_tx(pt_db *db, void *arg, pt_err *err)
{
	template_args *x = arg;
	if (check_store_list(x->ctx, db, x->in->store_ids, true, err) != 0)
		return -1;
	*x->out = *x->in;
	x->out->created_at = pt_clock_now_ms();
	return pt_repo_template_insert(db, x->ctx->arena, x->out, &x->out->id, err) ||
	       pt_svc_audit(x->ctx, "coupon_template.create", "coupon_template", x->out->id,
	                    json_pack("{s:s}", "name", x->out->name), err);
}

int pt_svc_template_create(pt_ctx *ctx, const pt_coupon_template *in, pt_coupon_template *out,
                           pt_err *err)
{
	template_args x = {ctx, in, out};
	return pt_db_tx(ctx->db, true, template_tx, &x, err);
}

int pt_svc_template_get(pt_ctx *ctx, int64_t id, pt_coupon_template *out, pt_err *err)
{
	bool found = false;
	if (pt_repo_template_get(ctx->db, ctx->arena, id, false, out, &found, err) != 0)
		return -1;
	if (!found)
		return pt_err_set(err, PT_NOT_FOUND, NULL, "no coupon template %lld",
		                  "优惠券模板 %lld 不存在", (long long)id);
	return 0;
}

int pt_svc_template_list(pt_ctx *ctx, int64_t after_id, int limit, pt_coupon_template **out, int *n,
                         pt_err *err)
{
	return pt_repo_template_list(ctx->db, ctx->arena, after_id, limit, out, n, err);
}

typedef struct {
	pt_ctx *ctx;
	int64_t template_id;
	const int64_t *member_ids;
	int n;
	pt_coupon *out;
} issue_args;

static int issue_tx(pt_db *db, void *arg, pt_err *err)
{
	issue_args *x = arg;
	pt_arena *a = x->ctx->arena;
	pt_coupon_template t;
	bool found = false;
	int64_t now = pt_clock_now_ms();
	if (pt_repo_template_get(db, a, x->template_id, true, &t, &found, err) != 0)
		return -1;
	if (!found)
		return pt_err_set(err, PT_NOT_FOUND, NULL, "no coupon template %lld",
		                  "优惠券模板 %lld 不存在", (long long)x->template_id);
	if (t.has_total_limit && t.issued + x->n > t.total_limit)
		return pt_err_set(err, PT_CONFLICT, "member_ids",
		                  "template %lld may issue %lld more coupons; %d asked",
		                  "模板 %lld 还可发放 %lld 张，请求 %d 张", (long long)t.id,
		                  (long long)(t.total_limit - t.issued), x->n);
	int64_t valid_from = t.valid_days ? now : t.valid_from;
	int64_t valid_until = t.valid_days ? now + t.valid_days * DAY_MS : t.valid_until;
	for (int i = 0; i < x->n; i++) {
		pt_member m;
		char field[32];
		snprintf(field, sizeof(field), "member_ids[%d]", i);
		if (pt_repo_member_get(db, a, x->member_ids[i], &m, &found, err) != 0)
			return -1;
		if (!found)
			return pt_err_set(err, PT_INVALID_ARGUMENT, field, "no member %lld",
			                  "会员 %lld 不存在", (long long)x->member_ids[i]);
		int64_t held = 0;
		if (t.has_per_member_limit) {
			/* The count sees the coupons this issue inserted already. */
			if (pt_repo_coupon_count(db, a, t.id, m.id, &held, err) != 0)
				return -1;
			if (held >= t.per_member_limit)
				return pt_err_set(err, PT_CONFLICT, field,
				                  "member %lld already holds %lld of these coupons",
				                  "会员 %lld 已持有 %lld 张此券", (long long)m.id,
				                  (long long)held);
		}
		uint32_t r[13];
		randombytes_buf(r, sizeof(r));
		char *code = pt_arena_alloc(a, PT_COUPON_CODE_LEN + 1);
		if (!code)
			return pt_err_oom(err);
		pt_coupon_code_make(r, code);
		x->out[i] = (pt_coupon){.code = code,
		                        .template_id = t.id,
		                        .member_id = m.id,
		                        .status = "active",
		                        .valid_from = valid_from,
		                        .valid_until = valid_until,
		                        .created_at = now,
		                        .t = t};
		if (pt_repo_coupon_insert(db, a, &x->out[i], &x->out[i].id, err) != 0) {
			if (err->code == PT_CONFLICT)
				err->retry = 1; /* 64 random bits collided: draw again */
			return -1;
		}
	}
	return pt_repo_template_add_issued(db, t.id, x->n, err) ||
	       pt_svc_audit(x->ctx, "coupon.issue", "coupon_template", t.id,
	                    json_pack("{s:i}", "count", x->n), err);
}

int pt_svc_coupons_issue(pt_ctx *ctx, int64_t template_id, const int64_t *member_ids, int n,
                         pt_coupon **out, pt_err *err)
{
	*out = pt_arena_alloc(ctx->arena, sizeof(pt_coupon) * (size_t)(n + 1));
	if (!*out)
		return pt_err_oom(err);
	issue_args x = {ctx, template_id, member_ids, n, *out};
	return pt_db_tx(ctx->db, true, issue_tx, &x, err);
}

int pt_svc_coupon_get(pt_ctx *ctx, const char *typed, pt_coupon *out, pt_err *err)
{
	char code[PT_COUPON_CODE_LEN + 1];
	int rc = pt_coupon_code_normalize(typed, code);
	if (rc == -2)
		return pt_err_set(err, PT_INVALID_ARGUMENT, "coupon_code",
		                  "coupon code %s has a wrong check character: probably mistyped",
		                  "优惠券码 %s 校验位不符，可能输错了", typed);
	bool found = false;
	if (rc == 0 && pt_repo_coupon_find(ctx->db, ctx->arena, "code", code, 0, out, &found, err))
		return -1;
	if (!found)
		return pt_err_set(err, PT_NOT_FOUND, NULL, "no coupon %s", "优惠券 %s 不存在",
		                  typed);
	return 0;
}

int pt_svc_member_coupons(pt_ctx *ctx, int64_t member_id, int64_t after_id, int limit,
                          pt_coupon **out, int *n, pt_err *err)
{
	pt_member m;
	bool found = false;
	if (pt_repo_member_get(ctx->db, ctx->arena, member_id, &m, &found, err) != 0)
		return -1;
	if (!found)
		return pt_err_set(err, PT_NOT_FOUND, NULL, "no member %lld", "会员 %lld 不存在",
		                  (long long)member_id);
	return pt_repo_member_coupons(ctx->db, ctx->arena, member_id, after_id, limit, out, n, err);
}

typedef struct {
	pt_ctx *ctx;
	const char *code;
	pt_coupon *out;
} void_args;

static int void_tx(pt_db *db, void *arg, pt_err *err)
{
	void_args *x = arg;
	pt_coupon *c = x->out;
	if (pt_svc_coupon_get(x->ctx, x->code, c, err) != 0)
		return -1;
	pt_err hidden = {0};
	if (check_store_list(x->ctx, db, c->t.store_ids, false, &hidden) != 0)
		return pt_err_set(err, PT_NOT_FOUND, NULL, "no coupon %s", "优惠券 %s 不存在",
		                  c->code);
	bool ok = false;
	if (pt_repo_coupon_void(db, c->id, &ok, err) != 0)
		return -1;
	if (!ok)
		return strcmp(c->status, "used") == 0
		           ? pt_err_set(err, PT_CONFLICT, NULL,
		                        "coupon %s has been used: refund its order instead",
		                        "优惠券 %s 已使用：请改为退货", c->code)
		           : pt_err_set(err, PT_CONFLICT, NULL, "coupon %s is void already",
		                        "优惠券 %s 已作废", c->code);
	c->status = "void";
	return pt_svc_audit(
	    x->ctx, "coupon.void", "coupon", c->id,
	    json_pack("{s:s, s:I}", "code", c->code, "member_id", (json_int_t)c->member_id), err);
}

int pt_svc_coupon_void(pt_ctx *ctx, const char *typed, pt_coupon *out, pt_err *err)
{
	void_args x = {ctx, typed, out};
	return pt_db_tx(ctx->db, true, void_tx, &x, err);
}

const char *pt_coupon_refusal(const pt_coupon *c, int64_t member_id, int64_t store_id, int64_t base,
                              int64_t now)
{
	if (strcmp(c->status, "used") == 0)
		return "used";
	if (strcmp(c->status, "active") != 0)
		return "void";
	if (now >= c->valid_until)
		return "expired";
	if (now < c->valid_from)
		return "not_yet_valid";
	if (member_id && c->member_id != member_id)
		return "wrong_member";
	if (store_id && !pt_id_list_allows(c->t.store_ids, store_id))
		return "wrong_store";
	if (base >= 0 && base < c->t.min_spend)
		return "below_min_spend";
	return NULL;
}

int pt_coupon_refuse(const char *reason, const pt_coupon *c, pt_err *err)
{
	static const struct {
		const char *reason, *en, *zh;
	} words[] = {
	    {"used", "coupon %s has been used", "优惠券 %s 已使用"},
	    {"void", "coupon %s is void", "优惠券 %s 已作废"},
	    {"expired", "coupon %s has expired", "优惠券 %s 已过期"},
	    {"not_yet_valid", "coupon %s is not valid yet", "优惠券 %s 尚未生效"},
	    {"wrong_member", "coupon %s belongs to another member", "优惠券 %s 属于其他会员"},
	    {"wrong_store", "coupon %s is not valid in this store", "优惠券 %s 不适用于本门店"},
	    {"below_min_spend", "coupon %s needs a larger purchase", "优惠券 %s 未达到最低消费"},
	    {"no_member", "coupon %s needs its member at checkout", "使用优惠券 %s 需要会员"},
	};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(words[i].reason, reason) == 0)
			return pt_err_set(err, PT_COUPON_NOT_APPLICABLE, "coupon_code", words[i].en,
			                  words[i].zh, c->code);
	return pt_err_set(err, PT_COUPON_NOT_APPLICABLE, "coupon_code", "coupon %s cannot be used",
	                  "优惠券 %s 不可用", c->code);
}

typedef struct {
	pt_ctx *ctx;
	int64_t id;
	const pt_promotion *in;
	json_t *patch;
	pt_promotion *out;
} promo_args;

static int promo_create_tx(pt_db *db, void *arg, pt_err *err)
{
	promo_args *x = arg;
	if (check_store_list(x->ctx, db, x->in->store_ids, true, err) != 0 ||
	    tiers_exist(db, x->ctx->arena, x->in->tier_ids, err) != 0)
		return -1;
	*x->out = *x->in;
	x->out->created_at = x->out->updated_at = pt_clock_now_ms();
	return pt_repo_promotion_insert(db, x->ctx->arena, x->out, &x->out->id, err) ||
	       pt_svc_audit(x->ctx, "promotion.create", "promotion", x->out->id,
	                    json_pack("{s:s}", "name", x->out->name), err);
}

int pt_svc_promotion_create(pt_ctx *ctx, const pt_promotion *in, pt_promotion *out, pt_err *err)
{
	promo_args x = {ctx, 0, in, NULL, out};
	return pt_db_tx(ctx->db, true, promo_create_tx, &x, err);
}

int pt_svc_promotion_get(pt_ctx *ctx, int64_t id, pt_promotion *out, pt_err *err)
{
	bool found = false;
	if (pt_repo_promotion_get(ctx->db, ctx->arena, id, out, &found, err) != 0)
		return -1;
	if (!found)
		return pt_err_set(err, PT_NOT_FOUND, NULL, "no promotion %lld", "促销 %lld 不存在",
		                  (long long)id);
	return 0;
}

int pt_svc_promotion_list(pt_ctx *ctx, bool active_only, int64_t after_id, int limit,
                          pt_promotion **out, int *n, pt_err *err)
{
	return pt_repo_promotion_list(ctx->db, ctx->arena, active_only ? pt_clock_now_ms() : 0,
	                              after_id, limit, out, n, err);
}

static bool same_text(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static int promo_patch_tx(pt_db *db, void *arg, pt_err *err)
{
	promo_args *x = arg;
	const pt_promotion *was = x->in, *p = x->out;
	/* Not one a store-limited caller could have made: as if it were not there. */
	pt_err hidden = {0};
	if (check_store_list(x->ctx, db, was->store_ids, false, &hidden) != 0)
		return pt_err_set(err, PT_NOT_FOUND, NULL, "no promotion %lld", "促销 %lld 不存在",
		                  (long long)x->id);
	/* Lists the patch leaves as they are stay valid even if a tier in them was deleted. */
	if (check_store_list(x->ctx, db, p->store_ids, !same_text(p->store_ids, was->store_ids),
	                     err) != 0 ||
	    (!same_text(p->tier_ids, was->tier_ids) &&
	     tiers_exist(db, x->ctx->arena, p->tier_ids, err) != 0))
		return -1;
	x->out->id = x->id;
	x->out->updated_at = pt_clock_now_ms();
	return pt_repo_promotion_update(db, x->out, err) ||
	       pt_svc_audit(x->ctx, "promotion.update", "promotion", x->id,
	                    json_pack("{s:s}", "name", x->out->name), err);
}

int pt_svc_promotion_patch(pt_ctx *ctx, int64_t id, const pt_promotion *current, pt_promotion *out,
                           pt_err *err)
{
	promo_args x = {ctx, id, current, NULL, out};
	return pt_db_tx(ctx->db, true, promo_patch_tx, &x, err);
}
