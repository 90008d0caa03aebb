"""The catalog of issue 4: products, stock (receive, adjust, transfer, thresholds, alerts,
out_of_stock), coupon templates and their issue (limits, all or none), coupon lookup with the
reasons it does not apply, mistyped codes, promotions (validation, the active filter, stores,
tiers, which one wins). Refusals are read back: they write nothing."""

import datetime
import re
import urllib.parse

from harness import ANY, API, Group, check, check_time, eq, expect, expect_error
from test_checkout import (ALWAYS, COUPONS, MOVES, P, PROMOS, STOCK, TEMPLATES, TIERS, basket,
                           commit, coupon, cx, idem, issue, mistyped, move, new_member,
                           new_product, new_promotion, new_store, new_template, patron_check,
                           quote, receive, stock_of, unknown_code, without)

group = Group("checkout_catalog")

M = f"{API}/members"
PRODUCT_KEYS = {"id", "sku", "name", "price", "member_price", "barcode", "category", "cost",
                "points_multiplier_bp", "discountable", "created_at", "updated_at"}
STOCK_KEYS = {"store_id", "sku", "name", "qty", "low_threshold", "low", "updated_at"}
COUPON_KEYS = {"id", "code", "template_id", "member_id", "name", "status", "value", "kind",
               "min_spend", "valid_from", "valid_until", "order_id"}
TEMPLATE_KEYS = {"id", "name", "kind", "value", "min_spend", "max_off", "valid_days",
                 "valid_from", "valid_until", "store_ids", "total_limit", "per_member_limit",
                 "issued", "created_at"}
PROMO_KEYS = {"id", "name", "kind", "starts_at", "ends_at", "store_ids", "tier_ids", "levels",
              "repeat", "max_off", "multiplier_bp", "created_at", "updated_at"}
CODE = re.compile(r"^[2-9A-HJKMNP-Z]{5}-[2-9A-HJKMNP-Z]{5}-[2-9A-HJKMNP-Z]{4}$")


def products(ctx):
    return ctx.walk(P, client=cx(ctx))


def utc(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


# ---------------------------------------------------------------- products

def product_refusals():
    """(label, body change, field); `...` drops the field."""
    return [
        ("sku missing", {"sku": ...}, "sku"),
        ("sku empty", {"sku": ""}, "sku"),
        ("sku with a space", {"sku": "A B"}, "sku"),
        ("sku with a slash", {"sku": "A/B"}, "sku"),
        ("sku in Chinese", {"sku": "可乐"}, "sku"),
        ("sku 65 chars", {"sku": "S" * 65}, "sku"),
        ("sku a number", {"sku": 123}, "sku"),
        ("name missing", {"name": ...}, "name"),
        ("name empty", {"name": ""}, "name"),
        ("name null", {"name": None}, "name"),
        ("price missing", {"price": ...}, "price"),
        ("price -1", {"price": -1}, "price"),
        ("price 1e10+1", {"price": 10**10 + 1}, "price"),
        ("price a string", {"price": "350"}, "price"),
        ("price a float", {"price": 3.5}, "price"),
        ("member_price -1", {"member_price": -1}, "member_price"),
        ("cost a string", {"cost": "1"}, "cost"),
        ("points_multiplier_bp -1", {"points_multiplier_bp": -1}, "points_multiplier_bp"),
        ("points_multiplier_bp 100001", {"points_multiplier_bp": 100001},
         "points_multiplier_bp"),
        ("discountable a string", {"discountable": "yes"}, "discountable"),
        ("discountable 1", {"discountable": 1}, "discountable"),
        ("barcode empty", {"barcode": ""}, "barcode"),
        ("unknown field", {"stock": 5}, "stock"),
        ("id given", {"id": 1}, "id"),
    ]


@group.test
def products_crud(ctx):
    api = cx(ctx)
    full = {"sku": "COLA-330", "name": "可口可乐 330ml", "price": 350, "member_price": 300,
            "barcode": "6901234567892", "category": "饮料", "cost": 200,
            "points_multiplier_bp": 15000, "discountable": False}
    r = api.post(P, full)
    p = expect(r, 201)
    check(isinstance(p, dict) and set(p) == PRODUCT_KEYS, f"product keys: {p}")
    for k, v in full.items():
        eq(p[k], v, f"product.{k}")
    check(isinstance(p["id"], int) and 0 < p["id"] < 2**53, f"product id {p['id']!r}")
    check_time(p["created_at"], "created_at")
    check_time(p["updated_at"], "updated_at")
    with ctx.case("Location"):
        check((r.header("Location") or "").endswith("/products/COLA-330"),
              f"Location {r.header('Location')}")
    eq(expect(api.get(f"{P}/COLA-330"), 200), p, "GET by SKU")
    mini = expect(api.post(P, {"sku": "Tea_1.5-L", "name": "绿茶", "price": 0}), 201)
    for k, v in {"member_price": None, "barcode": None, "category": None, "cost": None,
                 "points_multiplier_bp": 10000, "discountable": True, "price": 0}.items():
        eq(mini[k], v, f"default {k}")
    with ctx.case("inclusive limits"):
        edge = expect(api.post(P, {"sku": "S" * 64, "name": "名" * 128, "price": 10**10,
                                   "points_multiplier_bp": 100000}), 201)
        eq((edge["price"], edge["points_multiplier_bp"]), (10**10, 100000), "limits")
        eq(expect(api.post(P, {"sku": "ZERO", "name": "零", "price": 1,
                               "points_multiplier_bp": 0}), 201)["points_multiplier_bp"], 0,
           "multiplier 0")

    with ctx.case("PATCH"):
        got = expect(api.patch(f"{P}/COLA-330", {"price": 380, "member_price": None,
                                                  "category": "碳酸饮料"}), 200)
        eq({k: got[k] for k in ("price", "member_price", "category", "barcode", "cost",
                                "discountable", "name")},
           {"price": 380, "member_price": None, "category": "碳酸饮料",
            "barcode": "6901234567892", "cost": 200, "discountable": False,
            "name": "可口可乐 330ml"}, "after PATCH")
        eq(got["created_at"], p["created_at"], "created_at after PATCH")
        check(utc(got["updated_at"]) >= utc(p["updated_at"]), "updated_at went back")
        eq(expect(api.get(f"{P}/COLA-330"), 200), got, "GET after PATCH")
        p = got

    before = products(ctx)
    with ctx.case("taken SKU and barcode: 409"):
        expect_error(api.post(P, dict(full, barcode=None)), 409, "conflict", "sku")
        expect_error(api.post(P, dict(full, sku="OTHER")), 409, "conflict", "barcode")
        expect_error(api.patch(f"{P}/Tea_1.5-L", {"sku": "COLA-330"}), 409, "conflict", "sku")
        expect_error(api.patch(f"{P}/Tea_1.5-L", {"barcode": "6901234567892"}), 409, "conflict",
                     "barcode")
    for label, change, field in product_refusals():
        with ctx.case(label):
            body = dict(full, sku="NEW-1", barcode=None)
            body.update(change)
            body = {k: v for k, v in body.items() if v is not ...}
            expect_error(api.post(P, body), 400, "invalid_argument", field)
    with ctx.case("PATCH refusals"):
        expect_error(api.patch(f"{P}/COLA-330", {"price": -5}), 400, "invalid_argument",
                     "price")
        expect_error(api.patch(f"{P}/COLA-330", {"weight": 5}), 400, "invalid_argument",
                     "weight")
        expect_error(api.patch(f"{P}/NOPE", {"price": 5}), 404, "not_found")
    eq(products(ctx), before, "products after refusals")
    with ctx.case("unknown SKU"):
        expect_error(api.get(f"{P}/NOPE"), 404, "not_found")

    with ctx.case("search by SKU, barcode, name prefix, category"):
        def find(**params):
            return [x["sku"] for x in ctx.walk(P, params, client=api)]
        eq(find(q="COLA-330"), ["COLA-330"], "q=SKU")
        eq(find(q="6901234567892"), ["COLA-330"], "q=barcode")
        eq(find(q="可口"), ["COLA-330"], "q=name prefix")
        eq(find(q="绿"), ["Tea_1.5-L"], "q=another name prefix")
        eq(find(q="COLA"), [], "q=part of a SKU is no match")
        eq(find(q="330ml"), [], "q=not a prefix of the name")
        eq(find(category="碳酸饮料"), ["COLA-330"], "category")
        eq(find(category="无"), [], "unknown category")
        eq(find(q="可口", category="饮料"), [], "q and another category")
        eq(ctx.walk(P, limit=1, client=api), products(ctx), "all products, one by one")
    with ctx.case("permissions"):
        reader, k = ctx.key(name="pos")
        eq(expect(reader.get(f"{P}/COLA-330"), 200), p, "default key reads products")
        expect_error(reader.post(P, dict(full, sku="X-1", barcode=None)), 403,
                     "permission_denied")
        expect_error(reader.patch(f"{P}/COLA-330", {"price": 1}), 403, "permission_denied")
        expect_error(ctx.anon.get(P), 401, "unauthenticated")
    eq(products(ctx), before, "products after refused writes")


# ---------------------------------------------------------------- stock

@group.test
def stock_movements(ctx):
    api = cx(ctx)
    s1, s2, s3 = new_store(ctx), new_store(ctx), new_store(ctx)
    p = new_product(ctx, 1200, name="矿泉水")
    q = new_product(ctx, 800, name="饼干")
    r = move(ctx, s1, p["sku"], "receive", 10, note="到货")
    got = expect(r, 201)
    check(isinstance(got.get("movement_id"), int), f"movement_id: {got}")
    check("to_stock" not in got or got["to_stock"] is None, f"to_stock on a receive: {got}")
    st = got["stock"]
    check(set(st) == STOCK_KEYS, f"STOCK keys: {st}")
    eq({k: st[k] for k in ("store_id", "sku", "name", "qty", "low_threshold", "low")},
       {"store_id": s1, "sku": p["sku"], "name": "矿泉水", "qty": 10, "low_threshold": 0,
        "low": False}, "stock after receiving 10")
    check_time(st["updated_at"], "stock updated_at")
    eq(expect(move(ctx, s1, p["sku"], "adjust", -3, note="破损"), 201)["stock"]["qty"], 7,
       "after adjust -3")
    eq(expect(move(ctx, s1, p["sku"], "adjust", 2, note="盘盈"), 201)["stock"]["qty"], 9,
       "after adjust +2")
    got = expect(move(ctx, s1, p["sku"], "transfer", 4, to_store_id=s2), 201)
    eq((got["stock"]["store_id"], got["stock"]["qty"], got["to_stock"]["store_id"],
        got["to_stock"]["qty"]), (s1, 5, s2, 4), "after transferring 4")
    eq(expect(move(ctx, s1, p["sku"], "adjust", -5), 201)["stock"]["qty"], 0, "down to zero")
    receive(ctx, s1, p["sku"], 5)
    receive(ctx, s1, q["sku"], 3)
    eq({k: v["qty"] for k, v in stock_of(ctx, s1).items()}, {p["sku"]: 5, q["sku"]: 3},
       "GET /stock of store 1")
    eq({k: v["qty"] for k, v in stock_of(ctx, s2).items()}, {p["sku"]: 4}, "store 2")
    eq(stock_of(ctx, s3), {}, "a store without stock")
    with ctx.case("GET /stock without store_id lists every store"):
        rows = ctx.walk(STOCK, client=api)
        eq(sorted((x["store_id"], x["sku"], x["qty"]) for x in rows),
           sorted([(s1, p["sku"], 5), (s1, q["sku"], 3), (s2, p["sku"], 4)]), "all stock")
        eq(ctx.walk(STOCK, limit=1, client=api), rows, "all stock, one by one")

    snap = (stock_of(ctx, s1), stock_of(ctx, s2), stock_of(ctx, s3))
    refusals = [
        ("receive 0", dict(kind="receive", qty=0), 400, "invalid_argument", "qty"),
        ("receive -1", dict(kind="receive", qty=-1), 400, "invalid_argument", "qty"),
        ("adjust 0", dict(kind="adjust", qty=0), 400, "invalid_argument", "qty"),
        ("transfer 0", dict(kind="transfer", qty=0, to_store_id=s2), 400, "invalid_argument",
         "qty"),
        ("qty a string", dict(kind="receive", qty="5"), 400, "invalid_argument", "qty"),
        ("qty a float", dict(kind="receive", qty=1.5), 400, "invalid_argument", "qty"),
        ("kind sale", dict(kind="sale", qty=1), 400, "invalid_argument", "kind"),
        ("kind missing", dict(kind=..., qty=1), 400, "invalid_argument", "kind"),
        ("transfer without to_store_id", dict(kind="transfer", qty=1), 400,
         "invalid_argument", "to_store_id"),
        ("transfer to the same store", dict(kind="transfer", qty=1, to_store_id=s1), 400,
         "invalid_argument", "to_store_id"),
        ("to_store_id on a receive", dict(kind="receive", qty=1, to_store_id=s2), 400,
         "invalid_argument", "to_store_id"),
        ("transfer to an unknown store", dict(kind="transfer", qty=1, to_store_id=999999), 400,
         "invalid_argument", "to_store_id"),
        ("unknown store", dict(kind="receive", qty=1, store_id=999999), 400,
         "invalid_argument", "store_id"),
        ("unknown sku", dict(kind="receive", qty=1, sku="NOPE"), 400, "invalid_argument",
         "sku"),
        ("note 201 chars", dict(kind="receive", qty=1, note="注" * 201), 400,
         "invalid_argument", "note"),
        ("unknown field", dict(kind="receive", qty=1, reason="x"), 400, "invalid_argument",
         "reason"),
        ("adjust below zero", dict(kind="adjust", qty=-6), 409, "out_of_stock", ANY),
        ("transfer more than held", dict(kind="transfer", qty=6, to_store_id=s2), 409,
         "out_of_stock", ANY),
        ("adjust below zero where never held", dict(kind="adjust", qty=-1, store_id=s3), 409,
         "out_of_stock", ANY),
    ]
    for label, change, status, code, field in refusals:
        with ctx.case(label):
            body = {"store_id": s1, "sku": p["sku"]}
            body.update(change)
            body = {k: v for k, v in body.items() if v is not ...}
            expect_error(api.post(MOVES, body, headers=idem()), status, code, field)
            eq((stock_of(ctx, s1), stock_of(ctx, s2), stock_of(ctx, s3)), snap,
               f"stock after refusing {label}")
    with ctx.case("no Idempotency-Key"):
        expect_error(move(ctx, s1, p["sku"], "receive", 1, key=None), 400, "invalid_argument",
                     "Idempotency-Key")
    with ctx.case("a replayed receive receives once"):
        k = "stock-replay-" + p["sku"]
        r1 = move(ctx, s1, p["sku"], "receive", 7, key=k)
        first = expect(r1, 201)
        r2 = move(ctx, s1, p["sku"], "receive", 7, key=k)
        eq((r2.status, r2.json, r2.header("Idempotent-Replayed")), (201, first, "true"),
           "replay")
        expect_error(move(ctx, s1, p["sku"], "receive", 8, key=k), 422,
                     "idempotency_key_reuse")
        eq(stock_of(ctx, s1)[p["sku"]]["qty"], 12, "stock after a replayed receive")
        expect(move(ctx, s1, p["sku"], "adjust", -7), 201)
    eq((stock_of(ctx, s1), stock_of(ctx, s2), stock_of(ctx, s3))[1:], snap[1:],
       "other stores")
    with ctx.case("permissions"):
        pos, _ = ctx.key(name="pos")
        eq(stock_of(ctx, s1, client=pos)[p["sku"]]["qty"], 5, "default key reads stock")
        expect_error(pos.post(MOVES, {"store_id": s1, "sku": p["sku"], "kind": "receive",
                                      "qty": 1}, headers=idem()), 403, "permission_denied")
    for bad in ["abc", "0", "-1"]:
        with ctx.case(f"GET /stock?store_id={bad}"):
            expect_error(api.get(STOCK, params={"store_id": bad}), 400, "invalid_argument",
                         "store_id")
    patron_check(ctx)


@group.test
def stock_thresholds_and_alerts(ctx):
    api = cx(ctx)
    s1, s2 = new_store(ctx), new_store(ctx)
    p = new_product(ctx, 500, name="牛奶")
    q = new_product(ctx, 600, name="酸奶")
    receive(ctx, s1, p["sku"], 5)
    receive(ctx, s2, p["sku"], 5)
    receive(ctx, s1, q["sku"], 50)

    def alerts(store=None):
        params = {"store_id": store} if store else None
        return sorted((x["store_id"], x["sku"], x["qty"], x["low_threshold"], x["low"])
                      for x in ctx.walk(f"{STOCK}/alerts", params, client=api)
                      if x["sku"] in (p["sku"], q["sku"]))

    eq(alerts(), [], "no alerts without thresholds")
    got = expect(api.put(f"{STOCK}/thresholds", {"store_id": s1, "sku": p["sku"],
                                                   "low_threshold": 6}), 200)
    check(set(got) == STOCK_KEYS, f"STOCK keys: {got}")
    eq((got["qty"], got["low_threshold"], got["low"]), (5, 6, True), "5 below 6")
    expect(api.put(f"{STOCK}/thresholds", {"store_id": s2, "sku": p["sku"],
                                             "low_threshold": 5}), 200)
    expect(api.put(f"{STOCK}/thresholds", {"store_id": s1, "sku": q["sku"],
                                             "low_threshold": 50}), 200)
    eq(alerts(), [(s1, p["sku"], 5, 6, True)], "alerts: qty < threshold only (5 = 5 is fine)")
    eq(alerts(s1), [(s1, p["sku"], 5, 6, True)], "alerts of store 1")
    eq(alerts(s2), [], "alerts of store 2")
    eq(stock_of(ctx, s1)[p["sku"]]["low"], True, "GET /stock shows low")
    receive(ctx, s1, p["sku"], 1)
    eq(alerts(), [], "received up to the threshold")
    expect(move(ctx, s1, q["sku"], "adjust", -1), 201)
    expect(move(ctx, s2, p["sku"], "transfer", 1, to_store_id=s1), 201)
    eq(alerts(), [(s1, q["sku"], 49, 50, True), (s2, p["sku"], 4, 5, True)],
       "alerts after an adjustment and a transfer")
    with ctx.case("a checkout takes stock below the threshold"):
        expect(commit(ctx, basket(s1, [{"sku": p["sku"], "qty": 1}])), 201)
        eq(alerts(s1), [(s1, q["sku"], 49, 50, True)], "7 → 6: at the threshold, not low")
        expect(commit(ctx, basket(s1, [{"sku": p["sku"], "qty": 1}])), 201)
        eq(alerts(s1), [(s1, p["sku"], 5, 6, True), (s1, q["sku"], 49, 50, True)],
           "alerts after sales")
    with ctx.case("a threshold where the product was never held"):
        s3 = new_store(ctx)
        got = expect(api.put(f"{STOCK}/thresholds", {"store_id": s3, "sku": q["sku"],
                                                       "low_threshold": 1}), 200)
        eq((got["qty"], got["low"]), (0, True), "nothing held, threshold 1")
        eq(alerts(s3), [(s3, q["sku"], 0, 1, True)], "alerts of the new store")
        expect(api.put(f"{STOCK}/thresholds", {"store_id": s3, "sku": q["sku"],
                                                 "low_threshold": 0}), 200)
        eq(alerts(s3), [], "threshold 0: never low")
    snap = (stock_of(ctx, s1), stock_of(ctx, s2))
    for label, body, field in [
            ("negative", {"store_id": s1, "sku": p["sku"], "low_threshold": -1},
             "low_threshold"),
            ("a string", {"store_id": s1, "sku": p["sku"], "low_threshold": "5"},
             "low_threshold"),
            ("missing", {"store_id": s1, "sku": p["sku"]}, "low_threshold"),
            ("unknown sku", {"store_id": s1, "sku": "NOPE", "low_threshold": 1}, "sku"),
            ("unknown store", {"store_id": 999999, "sku": p["sku"], "low_threshold": 1},
             "store_id"),
            ("unknown field", {"store_id": s1, "sku": p["sku"], "low_threshold": 1, "x": 1},
             "x")]:
        with ctx.case(f"threshold {label}"):
            expect_error(api.put(f"{STOCK}/thresholds", body), 400, "invalid_argument", field)
    eq((stock_of(ctx, s1), stock_of(ctx, s2)), snap, "stock after refused thresholds")
    with ctx.case("permissions"):
        pos, _ = ctx.key(name="pos")
        expect(pos.get(f"{STOCK}/alerts"), 200)
        expect_error(pos.put(f"{STOCK}/thresholds", {"store_id": s1, "sku": p["sku"],
                                                       "low_threshold": 1}), 403,
                     "permission_denied")


# ---------------------------------------------------------------- coupons

def template_refusals(store):
    return [
        ("name missing", {"name": ...}, "name"),
        ("name empty", {"name": ""}, "name"),
        ("kind fixed", {"kind": "fixed"}, "kind"),
        ("kind missing", {"kind": ...}, "kind"),
        ("amount_off value 0", {"value": 0}, "value"),
        ("amount_off value -1", {"value": -1}, "value"),
        ("percent_off value 10000", {"kind": "percent_off", "value": 10000}, "value"),
        ("percent_off value -1", {"kind": "percent_off", "value": -1}, "value"),
        ("value a string", {"value": "500"}, "value"),
        ("value missing", {"value": ...}, "value"),
        ("min_spend -1", {"min_spend": -1}, "min_spend"),
        ("max_off 0", {"max_off": 0}, "max_off"),
        ("valid_days 0", {"valid_days": 0}, "valid_days"),
        ("valid_days 3651", {"valid_days": 3651}, "valid_days"),
        ("valid_days and dates", {"valid_from": "2030-01-01T00:00:00Z",
                                  "valid_until": "2030-02-01T00:00:00Z"}, ANY),
        ("no validity", {"valid_days": ...}, ANY),
        ("valid_from alone", {"valid_days": ..., "valid_from": "2030-01-01T00:00:00Z"}, ANY),
        ("valid_until before valid_from", {"valid_days": ...,
                                           "valid_from": "2030-02-01T00:00:00Z",
                                           "valid_until": "2030-01-01T00:00:00Z"},
         "valid_until"),
        ("valid_until = valid_from", {"valid_days": ..., "valid_from": "2030-02-01T00:00:00Z",
                                      "valid_until": "2030-02-01T00:00:00Z"}, "valid_until"),
        ("valid_from not a time", {"valid_days": ..., "valid_from": "2030-02-01",
                                   "valid_until": "2030-03-01T00:00:00Z"}, "valid_from"),
        ("store_ids not a list", {"store_ids": store}, "store_ids"),
        ("store_ids with 0", {"store_ids": [0]}, "store_ids"),
        ("store_ids with a string", {"store_ids": [str(store)]}, "store_ids"),
        ("store_ids with a store that does not exist", {"store_ids": [store, 999999]},
         "store_ids"),
        ("total_limit 0", {"total_limit": 0}, "total_limit"),
        ("per_member_limit 0", {"per_member_limit": 0}, "per_member_limit"),
        ("unknown field", {"code": "X"}, "code"),
    ]


@group.test
def coupon_templates_and_issue(ctx):
    api = cx(ctx)
    store = new_store(ctx)
    body = {"name": "满100减20", "kind": "amount_off", "value": 2000, "min_spend": 10000,
            "valid_days": 30, "store_ids": [store], "total_limit": 3, "per_member_limit": 1}
    t = expect(api.post(TEMPLATES, body), 201)
    check(set(t) == TEMPLATE_KEYS, f"template keys: {t}")
    for k, v in body.items():
        eq(t[k], v, f"template.{k}")
    eq((t["issued"], t["max_off"], t["valid_from"], t["valid_until"]), (0, None, None, None),
       "template defaults")
    eq(expect(api.get(f"{TEMPLATES}/{t['id']}"), 200), t, "GET template")
    pct = expect(api.post(TEMPLATES, {"name": "九折券", "kind": "percent_off", "value": 9000,
                                      "max_off": 500, "valid_from": "2030-01-01T00:00:00Z",
                                      "valid_until": "2030-12-31T16:00:00Z"}), 201)
    eq((pct["valid_days"], pct["valid_from"], pct["valid_until"], pct["min_spend"],
        pct["store_ids"], pct["total_limit"], pct["per_member_limit"]),
       (None, "2030-01-01T00:00:00Z", "2030-12-31T16:00:00Z", 0, [], None, None),
       "a dated percent_off template")
    with ctx.case("inclusive limits"):
        for change in [{"kind": "percent_off", "value": 0}, {"kind": "percent_off",
                                                             "value": 9999},
                       {"value": 1}, {"valid_days": 3650}, {"valid_days": 1}]:
            expect(api.post(TEMPLATES, dict(body, **change)), 201)
    listed = ctx.walk(TEMPLATES, client=api)
    check(t in listed and pct in listed, "templates missing from the list")
    for label, change, field in template_refusals(store):
        with ctx.case(label):
            b = {k: v for k, v in dict(body, **change).items() if v is not ...}
            expect_error(api.post(TEMPLATES, b), 400, "invalid_argument", field)
    eq(ctx.walk(TEMPLATES, client=api), listed, "templates after refusals")
    expect_error(api.get(f"{TEMPLATES}/999999"), 404, "not_found")

    m1, m2, m3, m4 = (new_member(ctx) for _ in range(4))
    pm = new_template(ctx, per_member_limit=1)
    got = issue(ctx, t["id"], [m1["id"], m2["id"]])
    eq([c["member_id"] for c in got], [m1["id"], m2["id"]], "coupons in member order")
    for c in got:
        check(set(c) == COUPON_KEYS, f"coupon keys: {c}")
        check(CODE.match(c["code"]), f"coupon code {c['code']!r}: 5-5-4 of the easy alphabet")
        check(not set(c["code"]) & set("01OIL"), f"ambiguous characters in {c['code']}")
        eq({k: c[k] for k in ("template_id", "name", "status", "value", "kind", "min_spend",
                              "order_id")},
           {"template_id": t["id"], "name": "满100减20", "status": "active", "value": 2000,
            "kind": "amount_off", "min_spend": 10000, "order_id": None}, "coupon fields")
        check_time(c["valid_from"], "valid_from")
        check_time(c["valid_until"], "valid_until")
        eq(utc(c["valid_until"]) - utc(c["valid_from"]), datetime.timedelta(days=30),
           "valid for 30 days")
    eq(expect(api.get(f"{TEMPLATES}/{t['id']}"), 200)["issued"], 2, "issued")

    def held(m):
        return [c["code"] for c in ctx.walk(f"{M}/{m['id']}/coupons", client=api)]

    eq(held(m1), [got[0]["code"]], "m1's coupons")
    snap = ([held(m) for m in (m1, m2, m3, m4)], ctx.walk(TEMPLATES, client=api))
    for label, tid, ids, status, code, field in [
            ("per_member_limit reached", t["id"], [m1["id"]], 409, "conflict", "member_ids[0]"),
            ("one member twice over its limit", pm["id"], [m3["id"], m3["id"]], 409, "conflict",
             "member_ids[1]"),
            ("over total_limit (1 left, 2 asked)", t["id"], [m3["id"], m4["id"]], 409,
             "conflict", ANY),
            ("an unknown member among good ones", pm["id"], [m3["id"], 999999], 400,
             "invalid_argument", "member_ids[1]"),
            ("no members", t["id"], [], 400, "invalid_argument", "member_ids"),
            ("a string id", t["id"], [str(m3["id"])], 400, "invalid_argument", ANY),
            ("unknown template", 999999, [m3["id"]], 404, "not_found", ANY)]:
        with ctx.case(label):
            r = api.post(f"{TEMPLATES}/{tid}/issue", {"member_ids": ids})
            expect_error(r, status, code, field)
            eq(([held(m) for m in (m1, m2, m3, m4)], ctx.walk(TEMPLATES, client=api)), snap,
               f"coupons and templates after refusing {label}")
    with ctx.case("an erased member"):
        gone = new_member(ctx)
        expect(api.delete(f"{M}/{gone['id']}"), 204)
        expect_error(api.post(f"{TEMPLATES}/{t['id']}/issue", {"member_ids": [gone["id"]]}),
                     400, "invalid_argument", "member_ids[0]")
    with ctx.case("issue body refusals"):
        expect_error(api.post(f"{TEMPLATES}/{t['id']}/issue", {}), 400, "invalid_argument",
                     "member_ids")
        expect_error(api.post(f"{TEMPLATES}/{t['id']}/issue",
                              {"member_ids": [m3["id"]], "count": 2}), 400,
                     "invalid_argument", "count")
    last = issue(ctx, t["id"], [m3["id"]])
    eq(expect(api.get(f"{TEMPLATES}/{t['id']}"), 200)["issued"], 3, "issued up to the limit")
    expect_error(api.post(f"{TEMPLATES}/{t['id']}/issue", {"member_ids": [m4["id"]]}), 409,
                 "conflict")
    eq(held(m3), [last[0]["code"]], "m3's coupon")
    eq(held(m4), [], "m4 got none")
    with ctx.case("unlimited templates: many distinct codes at once, a member many times"):
        free = new_template(ctx)
        many = issue(ctx, free["id"], [m4["id"]] * 60)
        codes = [c["code"] for c in many]
        eq(len(set(codes)), 60, "distinct codes")
        check(all(CODE.match(c) for c in codes), "code format")
        eq(len(held(m4)), 60, "m4's coupons")
        eq(ctx.walk(f"{M}/{m4['id']}/coupons", limit=7, client=api),
           ctx.walk(f"{M}/{m4['id']}/coupons", client=api), "m4's coupons, seven a page")
    with ctx.case("permissions"):
        pos, _ = ctx.key(name="pos")
        expect(pos.get(f"{COUPONS}/{last[0]['code']}"), 200)
        expect_error(pos.post(TEMPLATES, body), 403, "permission_denied")
        expect_error(pos.post(f"{TEMPLATES}/{t['id']}/issue", {"member_ids": [m4["id"]]}),
                     403, "permission_denied")
    expect_error(api.get(f"{M}/999999/coupons"), 404, "not_found")


@group.test
def coupon_lookup(ctx):
    api = cx(ctx)
    store, other_store = new_store(ctx), new_store(ctx)
    prod = new_product(ctx, 6000)
    receive(ctx, store, prod["sku"], 5)
    m, other = new_member(ctx), new_member(ctx)
    t = new_template(ctx, value=1000, min_spend=5000, store_ids=[store])
    c = issue(ctx, t["id"], [m["id"]])[0]
    code = c["code"]
    got = coupon(ctx, code)
    eq(without(got, {"applicable", "reason", "template"}), c, "GET /coupons/{code}")
    eq((got["applicable"], got["reason"]), (True, None), "an active coupon")
    eq(got["template"], expect(api.get(f"{TEMPLATES}/{t['id']}"), 200), "the template")
    with ctx.case("typed loosely: case, spaces and dashes do not matter"):
        for typed in [code.lower(), code.replace("-", ""), code.replace("-", " "),
                      " ".join(code.replace("-", "")), code.lower().replace("-", "")]:
            eq(coupon(ctx, urllib.parse.quote(typed))["id"], c["id"], f"typed {typed!r}")
    for label, params, reason in [
            ("its member, its store, enough", {"member_id": m["id"], "store_id": store,
                                               "amount": 5000}, None),
            ("another member", {"member_id": other["id"]}, "wrong_member"),
            ("another store", {"store_id": other_store}, "wrong_store"),
            ("below the minimum spend", {"amount": 4999}, "below_min_spend"),
            ("amount 0", {"amount": 0}, "below_min_spend")]:
        with ctx.case(label):
            got = coupon(ctx, code, **params)
            eq((got["applicable"], got["reason"]), (reason is None, reason), label)
    with ctx.case("dates"):
        old = new_template(ctx, valid_days=None, valid_from="2020-01-01T00:00:00Z",
                           valid_until="2020-06-01T00:00:00Z")
        soon = new_template(ctx, valid_days=None, valid_from="2098-01-01T00:00:00Z",
                            valid_until="2098-06-01T00:00:00Z")
        for tpl, reason in [(old, "expired"), (soon, "not_yet_valid")]:
            cc = issue(ctx, tpl["id"], [m["id"]])[0]
            eq((cc["valid_from"], cc["valid_until"]), (tpl["valid_from"], tpl["valid_until"]),
               "a dated coupon's validity")
            got = coupon(ctx, cc["code"], member_id=m["id"])
            eq((got["applicable"], got["reason"]), (False, reason), reason)
    with ctx.case("used"):
        o = expect(commit(ctx, basket(store, [{"sku": prod["sku"], "qty": 1}], m["id"],
                                      coupon_code=code.lower())), 201)
        eq((o["coupon_code"], o["coupon_discount"]), (code, 1000), "the coupon at checkout")
        got = coupon(ctx, code)
        eq((got["status"], got["order_id"], got["applicable"], got["reason"]),
           ("used", o["order_id"], False, "used"), "a used coupon")
    with ctx.case("mistyped: 400; unknown: 404"):
        expect_error(api.get(f"{COUPONS}/{mistyped(code)}"), 400, "invalid_argument")
        swapped = code[:6] + code[7] + code[6] + code[8:]
        if swapped != code:
            expect_error(api.get(f"{COUPONS}/{swapped}"), 400, "invalid_argument")
        expect_error(api.get(f"{COUPONS}/{unknown_code(ctx, code)}"), 404, "not_found")
    for bad in ["abc", "-1"]:
        with ctx.case(f"member_id={bad}"):
            expect_error(api.get(f"{COUPONS}/{code}", params={"member_id": bad}), 400,
                         "invalid_argument", "member_id")
    eq([x["code"] for x in ctx.walk(f"{M}/{m['id']}/coupons", client=api)][0], code,
       "the member's coupons")


# ---------------------------------------------------------------- promotions

def promotion_refusals():
    return [
        ("name missing", {"name": ...}, "name"),
        ("kind missing", {"kind": ...}, "kind"),
        ("kind unknown", {"kind": "buy_one_get_one"}, "kind"),
        ("no levels", {"levels": []}, "levels"),
        ("levels missing", {"levels": ...}, "levels"),
        ("levels null", {"levels": None}, "levels"),
        ("off above min_spend", {"levels": [{"min_spend": 100, "off": 101}]}, "levels[0]"),
        ("min_spend 0", {"levels": [{"min_spend": 0, "off": 0}]}, "levels[0]"),
        ("off 0", {"levels": [{"min_spend": 100, "off": 0}]}, "levels[0]"),
        ("a bad second level", {"levels": [{"min_spend": 100, "off": 10},
                                           {"min_spend": 200}]}, "levels[1]"),
        ("an unknown key in a level", {"levels": [{"min_spend": 100, "off": 10,
                                                   "max": 1}]}, "levels[0]"),
        ("11 levels", {"levels": [{"min_spend": 100 * (i + 1), "off": i + 1}
                                  for i in range(11)]}, "levels"),
        ("max_off 0", {"max_off": 0}, "max_off"),
        ("repeat a string", {"repeat": "yes"}, "repeat"),
        ("starts_at missing", {"starts_at": ...}, "starts_at"),
        ("ends_at missing", {"ends_at": ...}, "ends_at"),
        ("ends_at before starts_at", {"starts_at": "2030-02-01T00:00:00Z",
                                      "ends_at": "2030-01-01T00:00:00Z"}, "ends_at"),
        ("ends_at = starts_at", {"starts_at": "2030-02-01T00:00:00Z",
                                 "ends_at": "2030-02-01T00:00:00Z"}, "ends_at"),
        ("starts_at not a time", {"starts_at": "tomorrow"}, "starts_at"),
        ("store_ids not a list", {"store_ids": 1}, "store_ids"),
        ("tier_ids with 0", {"tier_ids": [0]}, "tier_ids"),
        ("store_ids with a store that does not exist", {"store_ids": [999999]}, "store_ids"),
        ("tier_ids with a tier that does not exist", {"tier_ids": [999999]}, "tier_ids"),
        ("multiplier without kind points_multiplier", {"kind": "points_multiplier",
                                                       "levels": ...}, "multiplier_bp"),
        ("multiplier_bp 9999", {"kind": "points_multiplier", "levels": ...,
                                "multiplier_bp": 9999}, "multiplier_bp"),
        ("multiplier_bp 1000001", {"kind": "points_multiplier", "levels": ...,
                                   "multiplier_bp": 1000001}, "multiplier_bp"),
        ("unknown field", {"priority": 1}, "priority"),
    ]


@group.test
def promotions_crud(ctx):
    api = cx(ctx)
    store = new_store(ctx)
    body = {"name": "满100减10 满200减30", "kind": "spend_threshold",
            "levels": [{"min_spend": 10000, "off": 1000}, {"min_spend": 20000, "off": 3000}],
            "repeat": False, "max_off": 5000, "store_ids": [store], "tier_ids": [], **ALWAYS}
    r = api.post(PROMOS, body)
    p = expect(r, 201)
    check(set(p) == PROMO_KEYS, f"promotion keys: {p}")
    for k, v in body.items():
        eq(p[k], v, f"promotion.{k}")
    eq(p["multiplier_bp"], None, "multiplier_bp of a spend_threshold")
    eq(expect(api.get(f"{PROMOS}/{p['id']}"), 200), p, "GET promotion")
    pm = expect(api.post(PROMOS, {"name": "双倍积分", "kind": "points_multiplier",
                                  "multiplier_bp": 20000, **ALWAYS}), 201)
    eq((pm["levels"], pm["multiplier_bp"], pm["store_ids"], pm["tier_ids"], pm["repeat"],
        pm["max_off"]), (None, 20000, [], [], False, None), "a points_multiplier")
    with ctx.case("inclusive limits"):
        expect(api.post(PROMOS, dict(body, levels=[{"min_spend": 1, "off": 1}] * 10)), 201)
        expect(api.post(PROMOS, {"name": "x", "kind": "points_multiplier", "store_ids": [store],
                                 "multiplier_bp": 1000000, **ALWAYS}), 201)
    before = ctx.walk(PROMOS, client=api)
    for label, change, field in promotion_refusals():
        with ctx.case(label):
            b = {k: v for k, v in dict(body, **change).items() if v is not ...}
            expect_error(api.post(PROMOS, b), 400, "invalid_argument", field)
    eq(ctx.walk(PROMOS, client=api), before, "promotions after refusals")
    with ctx.case("PATCH"):
        got = expect(api.patch(f"{PROMOS}/{p['id']}", {"name": "秋季满减",
                                                       "max_off": None}), 200)
        eq(without(got, {"updated_at", "name", "max_off"}),
           without(p, {"updated_at", "name", "max_off"}), "unchanged fields")
        eq((got["name"], got["max_off"]), ("秋季满减", None), "patched fields")
        eq(expect(api.get(f"{PROMOS}/{p['id']}"), 200), got, "GET after PATCH")
        p = got
        for change, field in [({"kind": "points_multiplier"}, "kind"),
                              ({"levels": []}, "levels"),
                              ({"ends_at": "2019-01-01T00:00:00Z"}, "ends_at"),
                              ({"store_ids": [999999]}, "store_ids"),
                              ({"tier_ids": [999999]}, "tier_ids"),
                              ({"color": "red"}, "color")]:
            expect_error(api.patch(f"{PROMOS}/{p['id']}", change), 400, "invalid_argument",
                         field)
        eq(expect(api.get(f"{PROMOS}/{p['id']}"), 200), p, "after refused PATCHes")
        expect_error(api.patch(f"{PROMOS}/999999", {"name": "x"}), 404, "not_found")
        expect_error(api.get(f"{PROMOS}/999999"), 404, "not_found")

    with ctx.case("?active=true: only those running now"):
        past = new_promotion(ctx, starts_at="2020-01-01T00:00:00Z",
                             ends_at="2020-02-01T00:00:00Z", store_ids=[store])
        future = new_promotion(ctx, starts_at="2098-01-01T00:00:00Z",
                               ends_at="2098-02-01T00:00:00Z", store_ids=[store])
        now = new_promotion(ctx, store_ids=[store])
        active = {x["id"] for x in ctx.walk(PROMOS, {"active": "true"}, client=api)}
        every = {x["id"] for x in ctx.walk(PROMOS, client=api)}
        check(now["id"] in active and p["id"] in active and pm["id"] in active,
              f"running promotions missing from ?active=true: {active}")
        check(past["id"] not in active and future["id"] not in active,
              f"ended or future promotions in ?active=true: {active}")
        check({past["id"], future["id"], now["id"]} <= every, "the full list")
        eq({x["id"] for x in ctx.walk(PROMOS, {"active": "false"}, client=api)}, every,
           "?active=false")
        expect_error(api.get(PROMOS, params={"active": "yes"}), 400, "invalid_argument",
                     "active")
    with ctx.case("permissions"):
        pos, _ = ctx.key(name="pos")
        expect(pos.get(f"{PROMOS}/{p['id']}"), 200)
        expect_error(pos.post(PROMOS, body), 403, "permission_denied")
        expect_error(pos.patch(f"{PROMOS}/{p['id']}", {"name": "x"}), 403,
                     "permission_denied")


@group.test
def promotions_at_the_till(ctx):
    """Which promotion applies (store, tier, time), the largest wins without stacking, ties
    go to the lowest id, repeat and max_off; percent_off coupons."""
    api = cx(ctx)
    silver = expect(api.post(TIERS, {"name": "银卡", "rank": 1, "threshold": 0}), 201)
    gold = expect(api.post(TIERS, {"name": "金卡", "rank": 2, "threshold": 10**9}), 201)
    store, other_store = new_store(ctx), new_store(ctx)
    d = new_product(ctx, 10000)
    nd = new_product(ctx, 10000, discountable=False)
    m = new_member(ctx)
    eq(m["tier"]["id"], silver["id"], "the member's tier")

    def promo_of(items, member=True):
        q = expect(quote(ctx, basket(store, items, m["id"] if member else None)), 200)
        adj = [a for a in q["adjustments"] if a["kind"] == "promotion"]
        return q["promotion_discount"], (adj[0]["promotion_id"] if adj else None), q

    one = [{"sku": d["sku"], "qty": 1}]
    two = [{"sku": d["sku"], "qty": 2}]
    eq(promo_of(one)[:2], (0, None), "no promotion yet")
    p1 = new_promotion(ctx, store_ids=[store], levels=[{"min_spend": 10000, "off": 800}])
    p_gold = new_promotion(ctx, store_ids=[store], tier_ids=[gold["id"]],
                           levels=[{"min_spend": 10000, "off": 5000}])
    p_rep = new_promotion(ctx, store_ids=[store], repeat=True, max_off=1000,
                          levels=[{"min_spend": 5000, "off": 400}])
    new_promotion(ctx, store_ids=[other_store], levels=[{"min_spend": 100, "off": 100}])
    new_promotion(ctx, store_ids=[store], starts_at="2020-01-01T00:00:00Z",
                  ends_at="2020-02-01T00:00:00Z", levels=[{"min_spend": 100, "off": 100}])
    with ctx.case("a tie (800 each): the lowest id"):
        eq(promo_of(one)[:2], (800, p1["id"]), "¥100")
    with ctx.case("repeat, capped by max_off; no stacking"):
        off, pid, q = promo_of(two)
        eq((off, pid), (1000, p_rep["id"]), "¥200: 4 × 400 capped at 1000 beats 800")
        eq(q["total"], 19000, "total")
        eq([ln["promotion_discount"] for ln in q["lines"]], [1000], "allocated")
    with ctx.case("non-discountable lines are no base"):
        eq(promo_of([{"sku": nd["sku"], "qty": 5}])[:2], (0, None), "only non-discountable")
        off, pid, q = promo_of([{"sku": nd["sku"], "qty": 1}, {"sku": d["sku"], "qty": 1}])
        eq((off, pid), (800, p1["id"]), "base ¥100 of ¥200")
        eq([ln["promotion_discount"] for ln in q["lines"]], [0, 800], "allocated")
    with ctx.case("tier_ids"):
        p_silver = new_promotion(ctx, store_ids=[store], tier_ids=[silver["id"]],
                                 levels=[{"min_spend": 10000, "off": 900}])
        eq(promo_of(one)[:2], (900, p_silver["id"]), "a 银卡 promotion for a 银卡 member")
        eq(promo_of(one, member=False)[:2], (800, p1["id"]),
           "no member: tier promotions do not apply")
        off, pid, q = promo_of(one)
        check(pid != p_gold["id"], "a 金卡 promotion applied to a 银卡 member")
    with ctx.case("the highest level reached"):
        s2 = new_store(ctx)
        pl = new_promotion(ctx, store_ids=[s2], levels=[{"min_spend": 10000, "off": 1000},
                                                        {"min_spend": 20000, "off": 3000}])
        for n, want in [(1, 1000), (2, 3000), (3, 3000)]:
            q = expect(quote(ctx, basket(s2, [{"sku": d["sku"], "qty": n}])), 200)
            eq(q["promotion_discount"], want, f"{n} × ¥100")
            promo = [a for a in q["adjustments"] if a["kind"] == "promotion"]
            eq((promo[0]["promotion_id"], promo[0]["level"]["off"]), (pl["id"], want),
               "the promotion adjustment")
    with ctx.case("percent_off coupons"):
        s3 = new_store(ctx)
        tpl = new_template(ctx, kind="percent_off", value=8500)
        cap = new_template(ctx, kind="percent_off", value=9000, max_off=500)
        c1 = issue(ctx, tpl["id"], [m["id"]])[0]
        c2 = issue(ctx, cap["id"], [m["id"]])[0]
        for c, want in [(c1, 1500), (c2, 500)]:
            q = expect(quote(ctx, basket(s3, one, m["id"], coupon_code=c["code"])), 200)
            eq((q["coupon_discount"], q["total"]), (want, 10000 - want), c["name"])
        q = expect(quote(ctx, basket(s3, [{"sku": d["sku"], "qty": 1},
                                          {"name": "服务", "unit_price": 333, "qty": 1}],
                                     m["id"], coupon_code=c1["code"])), 200)
        eq(q["coupon_discount"], 10333 - (10333 * 8500 + 5000) // 10000,
           "15% off ¥103.33, rounded half up")
        eq(sum(ln["coupon_discount"] for ln in q["lines"]), q["coupon_discount"], "allocated")
    patron_check(ctx)
