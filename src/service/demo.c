#include "service/demo.h"

#include <string.h>

#include "core/demo_people.h"
#include "service/catalog.h"
#include "service/checkout.h"
#include "service/market.h"
#include "service/points.h"
#include "util/clock.h"

enum {
	DAYS = 182,
	ORDERS_PER_DAY = 18,
	COUPON_HOLDERS = 600,
	DAY_MS = 24 * 3600 * 1000,
};

static const struct {
	const char *sku, *name, *category;
	int64_t price, member_price; /* member_price 0: none */
	bool discountable;
} demo_products[] = {
    {"DRK-001", "农夫山泉 550ml", "饮料", 200, 0, true},
    {"DRK-002", "可口可乐 330ml", "饮料", 350, 300, true},
    {"DRK-003", "东方树叶 500ml", "饮料", 550, 0, true},
    {"DRK-004", "伊利纯牛奶 250ml×12", "乳品", 6590, 5990, true},
    {"SNK-001", "乐事薯片 原味 70g", "零食", 850, 750, true},
    {"SNK-002", "奥利奥饼干 116g", "零食", 990, 0, true},
    {"SNK-003", "三只松鼠 每日坚果", "零食", 3990, 3590, true},
    {"SNK-004", "德芙巧克力 43g", "零食", 1050, 0, true},
    {"FRS-001", "红富士苹果 1kg", "生鲜", 1590, 1390, true},
    {"FRS-002", "海南香蕉 1kg", "生鲜", 890, 0, true},
    {"FRS-003", "鲜鸡蛋 10枚", "生鲜", 1290, 1190, true},
    {"GRO-001", "五常大米 5kg", "粮油", 6990, 6490, true},
    {"GRO-002", "金龙鱼调和油 5L", "粮油", 7990, 0, true},
    {"GRO-003", "海天生抽 500ml", "调味", 1190, 0, true},
    {"HOM-001", "维达抽纸 3层×6包", "日用", 2990, 2690, true},
    {"HOM-002", "蓝月亮洗衣液 2kg", "日用", 4990, 0, true},
    {"HOM-003", "高露洁牙膏 120g", "日用", 1590, 1390, true},
    {"PER-001", "舒肤佳沐浴露 720ml", "个护", 4590, 0, true},
    {"GFT-001", "购物卡 100元", "礼品卡", 10000, 0, false},
    {"GFT-002", "购物卡 50元", "礼品卡", 5000, 0, false},
};
enum { NPRODUCTS = sizeof(demo_products) / sizeof(demo_products[0]) };

static uint64_t next(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15u);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
	return z ^ (z >> 31);
}

static int below(uint64_t *s, int n)
{
	return (int)(next(s) % (uint64_t)n);
}

/* An EAN-13 barcode with its check digit, from the product's index. */
static void barcode(int i, char out[14])
{
	char body[24];
	snprintf(body, sizeof(body), "69%010d", (123400 + i * 17) % 1000000);
	int sum = 0;
	for (int k = 0; k < 12; k++)
		sum += (body[k] - '0') * (k % 2 ? 3 : 1);
	memcpy(out, body, 12);
	out[12] = (char)('0' + (10 - sum % 10) % 10);
	out[13] = '\0';
}

typedef struct {
	int64_t order_id, at;
	bool whole;
} pending_refund;

static int setup_catalog(pt_ctx *ctx, int64_t start, pt_err *err)
{
	char codes[NPRODUCTS][14];
	for (int i = 0; i < NPRODUCTS; i++) {
		pt_product_patch in = {.p = {.sku = demo_products[i].sku,
		                             .name = demo_products[i].name,
		                             .category = demo_products[i].category,
		                             .price = demo_products[i].price,
		                             .member_price = demo_products[i].member_price,
		                             .has_member_price = demo_products[i].member_price > 0,
		                             .points_multiplier_bp = 10000,
		                             .discountable = demo_products[i].discountable}};
		barcode(i, codes[i]);
		in.p.barcode = codes[i];
		pt_product p;
		if (pt_svc_product_create(ctx, &in, &p, err) != 0)
			return -1;
		for (int64_t store = 1; store <= 3; store++) {
			pt_stock_request rq = {.store_id = store,
			                       .sku = p.sku,
			                       .kind = "receive",
			                       .qty = 2000,
			                       .note = "开业备货"};
			pt_stock_result res;
			if (pt_svc_stock_move(ctx, &rq, &res, err) != 0 ||
			    pt_svc_stock_threshold(ctx, store, p.sku, 1500, &res.stock, err) != 0)
				return -1;
		}
	}
	pt_promotion promo = {.name = "满100减10，满200减30",
	                      .kind = "spend_threshold",
	                      .levels = "[{\"min_spend\":10000,\"off\":1000},"
	                                "{\"min_spend\":20000,\"off\":3000}]",
	                      .starts_at = start,
	                      .ends_at = start + 365LL * DAY_MS,
	                      .store_ids = "[]",
	                      .tier_ids = "[]"},
	             out;
	pt_promotion weekend = {.name = "会员双倍积分日",
	                        .kind = "points_multiplier",
	                        .levels = "[]",
	                        .multiplier_bp = 20000,
	                        .starts_at = start + 30LL * DAY_MS,
	                        .ends_at = start + 31LL * DAY_MS,
	                        .store_ids = "[]",
	                        .tier_ids = "[]"};
	return pt_svc_promotion_create(ctx, &promo, &out, err) ||
	       pt_svc_promotion_create(ctx, &weekend, &out, err);
}

int pt_svc_demo_business(pt_db *db, pt_err *err)
{
	pt_arena *keep = pt_arena_new(), *a = pt_arena_new();
	if (!keep || !a) {
		pt_arena_free(keep);
		pt_arena_free(a);
		return pt_err_oom(err);
	}
	int64_t end = pt_clock_now_ms(), start = end - (int64_t)DAYS * DAY_MS;
	uint64_t seed = PT_DEMO_PEOPLE_SEED ^ 0x0ddba11u;
	pt_ctx ctx = {.db = db, .arena = keep, .perms = PT_PERM_ALL};
	pt_clock_set_ms(start);
	int rc = setup_catalog(&ctx, start, err);
	json_t *patch = json_pack("{s:{s:s}, s:{s:i}}", "expiry", "mode", "year_end", "birthday",
	                          "multiplier_bp", 20000);
	pt_points_rules rules;
	if (rc == 0)
		rc = pt_svc_points_settings_put(&ctx, patch, &rules, err);
	json_decref(patch);

	/* Coupons for the first members: 满50减5, valid 90 days. */
	pt_coupon_template tpl = {.name = "满50减5",
	                          .kind = "amount_off",
	                          .value = 500,
	                          .min_spend = 5000,
	                          .valid_days = 90,
	                          .store_ids = "[]"},
	                   t;
	const char *coupon_of[COUPON_HOLDERS] = {0};
	if (rc == 0)
		rc = pt_svc_template_create(&ctx, &tpl, &t, err);
	if (rc == 0) {
		int64_t ids[COUPON_HOLDERS];
		for (int i = 0; i < COUPON_HOLDERS; i++)
			ids[i] = i + 1;
		pt_coupon *coupons;
		rc = pt_svc_coupons_issue(&ctx, t.id, ids, COUPON_HOLDERS, &coupons, err);
		for (int i = 0; rc == 0 && i < COUPON_HOLDERS; i++)
			coupon_of[i] = coupons[i].code;
	}

	pending_refund refunds[64];
	int nrefunds = 0;
	for (int day = 0; rc == 0 && day < DAYS; day++) {
		for (int k = 0; rc == 0 && k < ORDERS_PER_DAY; k++) {
			int64_t at =
			    start + (int64_t)day * DAY_MS + (9 * 3600 + k * 40 * 60) * 1000LL;
			pt_clock_set_ms(at);
			ctx.arena = a;
			/* Refunds come a few days after their order. */
			for (int r = 0; rc == 0 && r < nrefunds;) {
				if (refunds[r].at > at) {
					r++;
					continue;
				}
				pt_refund_item one = {.line = 0, .qty = 1};
				json_t *ans;
				pt_err ignore = {0};
				/* Some were returned in part already: what is left goes back. */
				if (pt_svc_refund(&ctx, refunds[r].order_id,
				                  refunds[r].whole ? NULL : &one,
				                  refunds[r].whole ? 0 : 1, &ans, &ignore) != 0 &&
				    ignore.code != PT_CONFLICT) {
					*err = ignore;
					rc = -1;
				}
				refunds[r] = refunds[--nrefunds];
			}
			int nitems = 1 + below(&seed, 4);
			pt_checkout_item items[5];
			for (int i = 0; i < nitems; i++)
				items[i] = (pt_checkout_item){
				    .sku = demo_products[below(&seed, NPRODUCTS - 1)].sku,
				    .qty = 1 + below(&seed, 3)};
			/* Most sales go to members, many of them to a few dozen regulars, so the
			 * demo has silver and gold members as a real shop does. */
			int who = below(&seed, 10);
			int64_t member = who < 2   ? 1 + below(&seed, 10)
			                 : who < 4 ? 11 + below(&seed, 50)
			                 : who < 7 ? 1 + below(&seed, 10000)
			                           : 0;
			pt_checkout_request rq = {.store_id = 1 + below(&seed, 3),
			                          .member_id = member,
			                          .items = items,
			                          .nitems = nitems};
			if (member && member <= COUPON_HOLDERS && coupon_of[member - 1] &&
			    below(&seed, 3) == 0) {
				rq.coupon_code = coupon_of[member - 1];
				coupon_of[member - 1] = NULL;
			}
			if (member && below(&seed, 5) == 0) {
				rq.redeem = true;
				rq.redeem_points = 100 * (1 + below(&seed, 3));
			}
			json_t *priced;
			pt_err why = {0};
			int r = pt_svc_checkout(&ctx, &rq, true, NULL, &priced, NULL, &why);
			if (r != 0 && why.code != PT_INTERNAL && why.code != PT_UNAVAILABLE) {
				/* Not enough points, a coupon below its minimum: the cashier drops
				 * them and rings it up again. */
				rq.redeem = false;
				rq.coupon_code = NULL;
				r = pt_svc_checkout(&ctx, &rq, true, NULL, &priced, NULL, &why);
			}
			if (r != 0) {
				*err = why;
				rc = -1;
				break;
			}
			if (below(&seed, 40) == 0 && nrefunds < 64)
				refunds[nrefunds++] = (pending_refund){
				    json_integer_value(json_object_get(priced, "order_id")),
				    at + (1 + below(&seed, 5)) * (int64_t)DAY_MS, below(&seed, 2)};
			pt_arena_free(a);
			a = pt_arena_new();
			if (!a) {
				rc = pt_err_oom(err);
				break;
			}
		}
	}
	pt_clock_set_ms(-1);
	pt_arena_free(a);
	pt_arena_free(keep);
	return rc;
}
