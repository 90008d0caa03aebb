/* patron-bench-data: the benchmark's business, built reproducibly through the service layer
 * (the same code the API runs, without HTTP), into a database `patron init` created.
 *
 *   patron-bench-data --db URL --members N --products K --stores S --coupons C --out DIR
 *
 * Member i (ids 1..N) has phone 139 followed by i in 8 digits and a 1,000-point signup bonus;
 * product k is SKU B followed by k in 5 digits, stocked 1,000,000 in every store; the first C
 * members hold a 5-yuan coupon, listed in DIR/coupons.txt as "MEMBER_ID CODE". DIR/token is an
 * API key that may do everything the load needs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_common.h"
#include "service/auth.h"
#include "service/catalog.h"
#include "service/market.h"
#include "service/members.h"
#include "service/points.h"
#include "service/stores.h"
#include "service/tiers.h"

enum { BATCH = 20000 };

typedef struct {
	pt_ctx *ctx;
	int64_t first, last;
} member_batch;

static int create_members(pt_db *db, void *arg, pt_err *err)
{
	member_batch *b = arg;
	pt_arena *outer = b->ctx->arena;
	/* Member i must get id i (the load generator picks ids and phones by number). A batch
	 * that PostgreSQL rolled back and pt_db_tx runs again has used up its ids: the identity
	 * sequence does not roll back, so it is set back to where the batch starts. */
	if (pt_db_kind_of(db) == PT_DB_POSTGRES) {
		pt_val from = PT_INT(b->first);
		if (pt_db_exec(db,
		               "SELECT setval(pg_get_serial_sequence('members', 'id'), $1, false)",
		               &from, 1, NULL, err) != 0)
			return -1;
	}
	for (int64_t i = b->first; i <= b->last; i++) {
		/* A fresh arena every few hundred members keeps the working set small. */
		if ((i - b->first) % 500 == 0) {
			if (b->ctx->arena != outer)
				pt_arena_free(b->ctx->arena);
			b->ctx->arena = pt_arena_new();
			if (!b->ctx->arena) {
				b->ctx->arena = outer;
				return pt_err_oom(err);
			}
		}
		char phone[16], name[32];
		snprintf(phone, sizeof(phone), "139%08lld", (long long)i);
		snprintf(name, sizeof(name), "会员%lld", (long long)i);
		pt_member_input in = {.set_name = true,
		                      .set_phone = true,
		                      .name = name,
		                      .phone = phone,
		                      .store_id = 1 + i % 3,
		                      .set_store_id = true};
		pt_member m;
		int rc = pt_svc_member_create(b->ctx, &in, &m, err);
		if (rc == 0 && m.id != i)
			rc = pt_err_set(err, PT_CONFLICT, NULL,
			                "member %lld got id %lld: start from an empty database",
			                "会员 %lld 的编号为 %lld：请从空数据库开始", (long long)i,
			                (long long)m.id);
		if (rc != 0 || i == b->last) {
			pt_arena_free(b->ctx->arena);
			b->ctx->arena = outer;
		}
		if (rc != 0)
			return -1;
	}
	return 0;
}

typedef struct {
	pt_ctx *ctx;
	int from, to, stores;
} product_batch;

static int create_products(pt_db *db, void *arg, pt_err *err)
{
	product_batch *b = arg;
	(void)db;
	for (int k = b->from; k <= b->to; k++) {
		char sku[16], name[32];
		snprintf(sku, sizeof(sku), "B%05d", k);
		snprintf(name, sizeof(name), "商品%d", k);
		int64_t price = 100 + (int64_t)(k * 7919 % 9900);
		pt_product_patch in = {.p = {.sku = sku,
		                             .name = name,
		                             .category = k % 2 ? "食品" : "日用",
		                             .price = price,
		                             .member_price = price * 9 / 10,
		                             .has_member_price = k % 5 == 0,
		                             .points_multiplier_bp = 10000,
		                             .discountable = k % 10 != 0}};
		pt_product p;
		if (pt_svc_product_create(b->ctx, &in, &p, err) != 0)
			return -1;
		for (int s = 1; s <= b->stores; s++) {
			pt_stock_request rq = {
			    .store_id = s, .sku = sku, .kind = "receive", .qty = 1000000};
			pt_stock_result res;
			if (pt_svc_stock_move(b->ctx, &rq, &res, err) != 0)
				return -1;
		}
	}
	return 0;
}

static int setup(pt_ctx *ctx, int stores, pt_err *err)
{
	json_t *patch = json_pack("{s:i}", "signup_bonus", 1000);
	pt_points_rules rules;
	int rc = pt_svc_points_settings_put(ctx, patch, &rules, err);
	json_decref(patch);
	for (int s = 1; rc == 0 && s <= stores; s++) {
		char code[16], name[32];
		snprintf(code, sizeof(code), "S%02d", s);
		snprintf(name, sizeof(name), "门店%d", s);
		pt_store_patch in = {
		    .set_code = true, .set_name = true, .code = code, .name = name};
		pt_store st;
		rc = pt_svc_store_create(ctx, &in, &st, err);
	}
	return rc;
}

static int issue_coupons(pt_ctx *ctx, int64_t n, FILE *out, pt_err *err)
{
	pt_coupon_template tpl = {.name = "满0减5",
	                          .kind = "amount_off",
	                          .value = 500,
	                          .valid_days = 365,
	                          .store_ids = "[]"},
	                   t;
	if (n <= 0)
		return 0;
	if (pt_svc_template_create(ctx, &tpl, &t, err) != 0)
		return -1;
	int64_t ids[BATCH];
	for (int64_t first = 1; first <= n; first += BATCH) {
		pt_arena *a = pt_arena_new();
		if (!a)
			return pt_err_oom(err);
		ctx->arena = a;
		int count = 0;
		for (int64_t i = first; i <= n && count < BATCH; i++)
			ids[count++] = i;
		pt_coupon *coupons;
		int rc = pt_svc_coupons_issue(ctx, t.id, ids, count, &coupons, err);
		for (int i = 0; rc == 0 && i < count; i++)
			fprintf(out, "%lld %s\n", (long long)coupons[i].member_id, coupons[i].code);
		pt_arena_free(a);
		if (rc != 0)
			return -1;
	}
	return 0;
}

static int write_token(pt_ctx *ctx, const char *dir, pt_err *err)
{
	pt_api_key_input in = {.name = "bench", .scopes = PT_PERM_ALL};
	pt_api_key key;
	const char *secret;
	if (pt_svc_api_key_create(ctx, &in, &key, &secret, err) != 0)
		return -1;
	char path[1024];
	snprintf(path, sizeof(path), "%s/token", dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return pt_err_set(err, PT_INTERNAL, NULL, "cannot write %s", "无法写入 %s", path);
	fprintf(f, "%s\n", secret);
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	const char *url = NULL, *dir = ".";
	int64_t members = 1000000, coupons = 100000;
	int products = 10000, stores = 3;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--db") == 0)
			url = argv[i + 1];
		else if (strcmp(argv[i], "--members") == 0)
			members = atoll(argv[i + 1]);
		else if (strcmp(argv[i], "--products") == 0)
			products = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--stores") == 0)
			stores = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--coupons") == 0)
			coupons = atoll(argv[i + 1]);
		else if (strcmp(argv[i], "--out") == 0)
			dir = argv[i + 1];
		else
			return bench_usage(
			    "patron-bench-data --db URL [--members N] [--products K] "
			    "[--stores S] [--coupons C] [--out DIR]");
	}
	if (!url || members < 1 || products < 3 || stores < 1 || coupons > members)
		return bench_usage("patron-bench-data --db URL [--members N] [--products K] "
		                   "[--stores S] [--coupons C] [--out DIR]");
	pt_err err = {0};
	pt_db *db = bench_open(url, &err);
	if (!db || pt_db_bulk_load(db, &err) != 0)
		return bench_fail(&err);
	pt_arena *keep = pt_arena_new();
	pt_ctx ctx = {.db = db, .arena = keep, .perms = PT_PERM_ALL};
	double t0 = bench_seconds();
	if (setup(&ctx, stores, &err) != 0 || write_token(&ctx, dir, &err) != 0)
		return bench_fail(&err);
	for (int from = 1; from <= products; from += 500) {
		pt_arena *a = pt_arena_new();
		ctx.arena = a;
		product_batch b = {&ctx, from, from + 499 < products ? from + 499 : products,
		                   stores};
		int rc = pt_db_tx(db, true, create_products, &b, &err);
		pt_arena_free(a);
		if (rc != 0)
			return bench_fail(&err);
	}
	double t1 = bench_seconds();
	ctx.arena = keep;
	for (int64_t first = 1; first <= members; first += BATCH) {
		pt_arena *a = pt_arena_new();
		ctx.arena = a;
		member_batch b = {&ctx, first,
		                  first + BATCH - 1 < members ? first + BATCH - 1 : members};
		int rc = pt_db_tx(db, true, create_members, &b, &err);
		pt_arena_free(a);
		if (rc != 0)
			return bench_fail(&err);
		if (first % 100000 == 1 && first > 1)
			fprintf(stderr, "  %lld members\n", (long long)first - 1);
	}
	double t2 = bench_seconds();
	ctx.arena = keep;
	char path[1024];
	snprintf(path, sizeof(path), "%s/coupons.txt", dir);
	FILE *f = fopen(path, "w");
	if (!f || issue_coupons(&ctx, coupons, f, &err) != 0)
		return bench_fail(&err);
	fclose(f);
	double t3 = bench_seconds();
	/* Today's tier review done, as in a business already running: serve starts without it. */
	bool ran;
	int64_t changed;
	if (pt_svc_job_tiers_daily(db, &ran, &changed, &err) != 0)
		return bench_fail(&err);
	double t4 = bench_seconds();
	printf("{\"members\": %lld, \"products\": %d, \"stores\": %d, \"coupons\": %lld, "
	       "\"seconds\": {\"catalog\": %.1f, \"members\": %.1f, \"coupons\": %.1f, "
	       "\"tier_review\": %.1f}}\n",
	       (long long)members, products, stores, (long long)coupons, t1 - t0, t2 - t1, t3 - t2,
	       t4 - t3);
	pt_arena_free(keep);
	pt_db_close(db);
	return 0;
}
