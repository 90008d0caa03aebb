"""Checkout (issue 4): the worked example of API.md through the API, quote == commit, refunds
(whole, in parts, the coupon), idempotency of /checkout, every refusal of the brief writing
nothing, points at the till (the redeem cap, tiers, multipliers, birthday, referral) and the
races on the last units and on one member's balance.

Shared helpers (clients, products, stock, coupons, promotions, state snapshots) are imported by
test_catalog.
"""

import datetime
import itertools
import os
import threading

from harness import (ALL_SCOPES, ANY, API, CHECKOUT_SCOPES, POINTS_SCOPES, Client, Group, check,
                     check_time, eq, expect, expect_error, fail)
from test_points import DEFAULTS, SETTINGS, iso, set_clock

group = Group("checkout", serve_args=["--test-clock"])
race_group = Group("checkout_race")

M = f"{API}/members"
P = f"{API}/products"
STOCK = f"{API}/stock"
MOVES = f"{API}/stock/movements"
TEMPLATES = f"{API}/coupon-templates"
COUPONS = f"{API}/coupons"
PROMOS = f"{API}/promotions"
QUOTE = f"{API}/checkout/quote"
CHECKOUT = f"{API}/checkout"
ORDERS = f"{API}/orders"
TIERS = f"{API}/tiers"
UTC = datetime.timezone.utc

ALWAYS = {"starts_at": "2020-01-01T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z"}
PRICED_KEYS = {"store_id", "member_id", "coupon_code", "gross", "member_discount",
               "promotion_discount", "coupon_discount", "total", "points_redeemed",
               "points_value", "cash_due", "points_earned", "max_redeemable_points", "lines",
               "adjustments", "note"}
LINE_KEYS = {"line", "sku", "name", "qty", "unit_price", "gross", "member_discount",
             "promotion_discount", "coupon_discount", "net", "points_redeemed", "points_value",
             "cash"}
COMMIT_EXTRA = {"order_id", "created_at", "points_balance"}
REFUND_KEYS = {"refund_id", "order_id", "cash", "points_value", "points_returned",
               "points_clawback", "lines", "created_at", "coupon_restored"}

_run = os.urandom(3).hex()
_keys = itertools.count(1)


# ---------------------------------------------------------------- helpers (shared)

def cx(ctx):
    """A Bearer client with every permission of issues 2-4 (cached on the ctx)."""
    c = getattr(ctx, "_checkout_client", None)
    if c is None:
        c, _ = ctx.key(ALL_SCOPES + POINTS_SCOPES + CHECKOUT_SCOPES, name="checkout suite")
        ctx._checkout_client = c
    return c


def new_key():
    return f"co-{_run}-{next(_keys)}"


def idem(key=...):
    return {"Idempotency-Key": new_key() if key is ... else key}


def put_settings(ctx, change):
    return expect(cx(ctx).put(SETTINGS, change), 200)


def reset(ctx):
    """Default points settings and the real clock (when the server has a test clock)."""
    if "--test-clock" in ctx.inst.serve_args:
        set_clock(ctx, None)
    if expect(cx(ctx).get(SETTINGS), 200) != DEFAULTS:
        eq(put_settings(ctx, DEFAULTS), DEFAULTS, "settings reset")


def new_store(ctx):
    return ctx.new_store()["id"]


def new_member(ctx, points=0, **fields):
    m = ctx.new_member(client=cx(ctx), **fields)
    if points:
        credit(ctx, m["id"], points)
    return m


def credit(ctx, mid, points):
    r = cx(ctx).post(f"{M}/{mid}/points/adjust", {"points": points, "reason": "测试入账"},
                     headers=idem())
    return expect(r, 201)


def new_product(ctx, price, **fields):
    body = {"sku": f"SKU-{_run}-{ctx.uniq()}", "name": f"商品{ctx.uniq()}", "price": price}
    body.update(fields)
    return expect(cx(ctx).post(P, body), 201)


def move(ctx, store_id, sku, kind, qty, key=..., **extra):
    body = {"store_id": store_id, "sku": sku, "kind": kind, "qty": qty}
    body.update(extra)
    return cx(ctx).post(MOVES, body, headers=idem(key))


def receive(ctx, store_id, sku, qty):
    return expect(move(ctx, store_id, sku, "receive", qty), 201)


def stock_of(ctx, store_id, client=None):
    """{sku: STOCK} of a store."""
    rows = ctx.walk(STOCK, {"store_id": store_id}, client=client or cx(ctx))
    return {r["sku"]: r for r in rows}


def qty(ctx, store_id, sku):
    row = stock_of(ctx, store_id).get(sku)
    return 0 if row is None else row["qty"]


def new_template(ctx, **fields):
    body = {"name": f"券{ctx.uniq()}", "kind": "amount_off", "value": 500, "valid_days": 30}
    body.update(fields)
    return expect(cx(ctx).post(TEMPLATES, body), 201)


def issue(ctx, template_id, member_ids):
    r = cx(ctx).post(f"{TEMPLATES}/{template_id}/issue", {"member_ids": list(member_ids)})
    return expect(r, 201)["coupons"]


def coupon_for(ctx, mid, **template):
    """A fresh template and one coupon of it for member mid; returns (coupon, template)."""
    t = new_template(ctx, **template)
    return issue(ctx, t["id"], [mid])[0], t


def coupon(ctx, code, **params):
    return expect(cx(ctx).get(f"{COUPONS}/{code}", params=params or None), 200)


def new_promotion(ctx, **fields):
    body = {"name": f"促销{ctx.uniq()}", "kind": "spend_threshold"}
    if fields.get("kind", "spend_threshold") == "spend_threshold":
        body["levels"] = [{"min_spend": 10000, "off": 1000}]
    body.update(ALWAYS)
    body.update(fields)
    return expect(cx(ctx).post(PROMOS, body), 201)


def basket(store_id, items, member_id=None, **extra):
    body = {"store_id": store_id, "items": items}
    if member_id is not None:
        body["member_id"] = member_id
    body.update(extra)
    return body


def quote(ctx, body, client=None):
    return (client or cx(ctx)).post(QUOTE, body)


def commit(ctx, body, key=..., client=None):
    return (client or cx(ctx)).post(CHECKOUT, body, headers=idem(key))


def group_writes(ctx):
    """Write transactions SQLite's group commit has committed (GET /metrics)."""
    r = ctx.owner.get("/metrics")
    eq(r.status, 200, f"GET /metrics: {r}")
    for line in r.body.decode().splitlines():
        if line.startswith("patron_group_commit_writes_total "):
            return int(line.split()[1])
    raise AssertionError("no patron_group_commit_writes_total in /metrics")


def sell(ctx, body):
    """Quote and commit one basket; checks they agree; returns the commit's body."""
    q = expect(quote(ctx, body), 200)
    c = expect(commit(ctx, body), 201)
    eq(without(c, COMMIT_EXTRA), q, "the commit (less order_id, created_at, points_balance) "
       "against the quote of the same basket")
    return c


def refund(ctx, order_id, body, key=..., client=None):
    return (client or cx(ctx)).post(f"{ORDERS}/{order_id}/refund", body, headers=idem(key))


def order(ctx, order_id):
    return expect(cx(ctx).get(f"{ORDERS}/{order_id}"), 200)


def orders(ctx, **params):
    return ctx.walk(ORDERS, params, client=cx(ctx))


def member(ctx, mid):
    return expect(cx(ctx).get(f"{M}/{mid}"), 200)


def ledger(ctx, mid):
    return ctx.walk(f"{M}/{mid}/ledger", client=cx(ctx))


def tier_history(ctx, mid):
    return ctx.walk(f"{M}/{mid}/tier-history", client=cx(ctx))


def without(d, keys):
    return {k: v for k, v in d.items() if k not in keys}


def replayed(r):
    return (r.header("Idempotent-Replayed") or "").lower() == "true"


def state(ctx, stores=(), members=(), codes=(), templates=False):
    """What a refused request must leave as it was: stock of the stores, the members (points,
    spend, tier) with their ledgers and tier histories, coupons, orders, template counts."""
    s = {"stock": {sid: stock_of(ctx, sid) for sid in stores},
         "members": {mid: (member(ctx, mid), ledger(ctx, mid), tier_history(ctx, mid))
                     for mid in members},
         "coupons": {c: without(coupon(ctx, c), {"applicable", "reason"}) for c in codes},
         "orders": [(o["order_id"], o["cash_refunded"], len(o["refunds"]))
                    for o in orders(ctx)]}
    if templates:
        s["templates"] = ctx.walk(TEMPLATES, client=cx(ctx))
    return s


def same_state(ctx, before, what, **where):
    after = state(ctx, **where)
    for part in before:
        eq(after[part], before[part], f"{part} after {what}")


def patron_check(ctx):
    r = ctx.inst.cli("check")
    out = (r.stdout + r.stderr).strip()
    if r.returncode != 0:
        fail(f"patron check exited {r.returncode}:\n{out[-3000:]}")


def check_priced(body, what="priced"):
    check(isinstance(body, dict) and PRICED_KEYS <= set(body),
          f"{what} lacks {sorted(PRICED_KEYS - set(body)) if isinstance(body, dict) else body}")
    for i, line in enumerate(body["lines"]):
        check(LINE_KEYS <= set(line), f"{what} line {i} lacks {sorted(LINE_KEYS - set(line))}")
        eq(line["line"], i, f"{what} line index")
        eq(line["net"], line["gross"] - line["member_discount"] - line["promotion_discount"]
           - line["coupon_discount"], f"{what} line {i} net")
        eq(line["cash"], line["net"] - line["points_value"], f"{what} line {i} cash")
    for k, lk in [("gross", "gross"), ("member_discount", "member_discount"),
                  ("promotion_discount", "promotion_discount"),
                  ("coupon_discount", "coupon_discount"), ("total", "net"),
                  ("points_redeemed", "points_redeemed"), ("points_value", "points_value"),
                  ("cash_due", "cash")]:
        eq(sum(line[lk] for line in body["lines"]), body[k], f"{what}: Σ lines {lk} vs {k}")
    eq(body["cash_due"], body["total"] - body["points_value"], f"{what} cash_due")


def check_adjustments(got, want, what="adjustments"):
    """want: dicts whose keys must all match, in order, and nothing else."""
    eq(len(got), len(want), f"{what} count ({got})")
    for i, (g, w) in enumerate(zip(got, want)):
        for k, v in w.items():
            eq(g.get(k), v, f"{what}[{i}].{k} ({g})")


def earned(lines, mults, earn=(100, 1), t=10000, p=10000, b=10000):
    """API.md step 7: one floor at the end."""
    per_amount, points = earn
    num = sum(line["cash"] * m for line, m in zip(lines, mults)) * points * t * p * b
    return num // (per_amount * 10000 ** 4)


def units_part(x, q, start, k):
    """Of X split over q units (the first X mod q carry one more), what units
    [start, start + k) carry."""
    heavy = x % q
    return (x // q) * k + max(0, min(heavy, start + k) - min(heavy, start))


class RefundModel:
    """API.md "Refunds" over a committed order, part after part."""

    def __init__(self, committed):
        self.lines = [dict(line, left=line["qty"], done=0) for line in committed["lines"]]
        self.earned = committed["points_earned"]
        self.cash_original = committed["cash_due"]
        self.cash_refunded = 0
        self.clawed = 0

    def take(self, units):
        """units: {line index: n}; returns the expected refund figures."""
        cash = value = points = 0
        lines = []
        for i, line in enumerate(self.lines):
            n = units.get(i, 0)
            if not n:
                continue
            c = units_part(line["cash"], line["qty"], line["done"], n)
            v = units_part(line["points_value"], line["qty"], line["done"], n)
            p = units_part(line["points_redeemed"], line["qty"], line["done"], n)
            line["done"] += n
            line["left"] -= n
            cash, value, points = cash + c, value + v, points + p
            lines.append({"line": i, "sku": line["sku"], "name": line["name"], "qty": n,
                          "cash": c, "points_value": v, "points_redeemed": p})
        self.cash_refunded += cash
        left_after = self.cash_original - self.cash_refunded
        earned_left = self.earned - self.clawed
        if self.cash_original == 0:
            claw = earned_left if all(line["left"] == 0 for line in self.lines) else 0
        else:
            claw = earned_left - self.earned * left_after // self.cash_original
        self.clawed += claw
        return {"cash": cash, "points_value": value, "points_returned": points,
                "points_clawback": claw, "lines": lines}


def check_refund(got, want, what="refund"):
    check(isinstance(got, dict) and REFUND_KEYS <= set(got),
          f"{what} lacks {sorted(REFUND_KEYS - set(got)) if isinstance(got, dict) else got}")
    check_time(got["created_at"], f"{what} created_at")
    for k in ["cash", "points_value", "points_returned", "points_clawback"]:
        eq(got[k], want[k], f"{what} {k}")
    eq(len(got["lines"]), len(want["lines"]), f"{what} lines ({got['lines']})")
    for g, w in zip(got["lines"], want["lines"]):
        for k, v in w.items():
            eq(g.get(k), v, f"{what} line {w['line']} {k}")


# ---------------------------------------------------------------- the worked example

def tiers(ctx):
    """The group's ladder (made once): 金卡 from 0 (95%, 1.5×) and 铂金卡 from ¥10,000 (90%,
    2×). Every member registered in this group starts in 金卡."""
    t = getattr(ctx, "_co_tiers", None)
    if t is None:
        have = {x["name"]: x for x in ctx.walk(TIERS, client=cx(ctx))}
        if "金卡" not in have:
            have["金卡"] = expect(cx(ctx).post(TIERS, {
                "name": "金卡", "rank": 10, "threshold": 0, "discount_bp": 9500,
                "points_multiplier_bp": 15000}), 201)
        if "铂金卡" not in have:
            have["铂金卡"] = expect(cx(ctx).post(TIERS, {
                "name": "铂金卡", "rank": 20, "threshold": 1000000, "discount_bp": 9000,
                "points_multiplier_bp": 20000}), 201)
        t = ctx._co_tiers = (have["金卡"], have["铂金卡"])
    return t


class Example:
    """API.md's worked example, set up in a store of its own with a member holding `points`."""

    def __init__(self, ctx, points=10000, stock=50):
        self.gold, self.platinum = tiers(ctx)
        self.store = new_store(ctx)
        self.a = new_product(ctx, 5000, name="商品A")
        self.b = new_product(ctx, 3000, name="商品B", member_price=2500)
        self.c = new_product(ctx, 2000, name="商品C", discountable=False)
        for p in (self.a, self.b, self.c):
            receive(ctx, self.store, p["sku"], stock)
        self.promo = new_promotion(ctx, name="满100减10 满200减30", store_ids=[self.store],
                                   levels=[{"min_spend": 10000, "off": 1000},
                                           {"min_spend": 20000, "off": 3000}])
        self.m = new_member(ctx, points)
        eq(self.m["tier"], {"id": self.gold["id"], "name": "金卡"}, "the example member's tier")
        self.coupon, self.template = coupon_for(ctx, self.m["id"], name="满50减5", value=500,
                                                min_spend=5000)

    def body(self, redeem=1000, coupon=True, **extra):
        b = basket(self.store, [{"sku": self.a["sku"], "qty": 2}, {"sku": self.b["sku"], "qty": 1},
                                {"sku": self.c["sku"], "qty": 1}], self.m["id"], **extra)
        if coupon:
            b["coupon_code"] = self.coupon["code"]
        if redeem is not None:
            b["redeem_points"] = redeem
        return b

    def skus(self):
        return [self.a["sku"], self.b["sku"], self.c["sku"]]

    def expected_lines(self):
        cols = ["sku", "name", "qty", "unit_price", "gross", "member_discount",
                "promotion_discount", "coupon_discount", "net", "points_redeemed",
                "points_value", "cash"]
        rows = [(self.a, 2, 5000, 10000, 500, 792, 396, 8312, 665, 665, 7647),
                (self.b, 1, 3000, 3000, 500, 208, 104, 2188, 175, 175, 2013),
                (self.c, 1, 2000, 2000, 0, 0, 0, 2000, 160, 160, 1840)]
        return [dict(line=i, sku=p["sku"], name=p["name"], **dict(zip(cols[2:], r)))
                for i, (p, *r) in enumerate(rows)]

    def expected_adjustments(self):
        return [
            {"kind": "tier_discount", "amount": 500, "line": 0, "sku": self.a["sku"],
             "tier_id": self.gold["id"], "tier": "金卡", "discount_bp": 9500},
            {"kind": "member_price", "amount": 500, "line": 1, "sku": self.b["sku"],
             "member_price": 2500},
            {"kind": "promotion", "amount": 1000, "promotion_id": self.promo["id"],
             "name": self.promo["name"], "level": {"min_spend": 10000, "off": 1000},
             "times": 1},
            {"kind": "coupon", "amount": 500, "coupon_code": self.coupon["code"],
             "coupon": self.template["name"]},
            {"kind": "points", "amount": 1000, "points": 1000},
        ]


def check_example(ex, got, what, points=10000):
    check_priced(got, what)
    for k, v in {"store_id": ex.store, "member_id": ex.m["id"], "coupon_code": ex.coupon["code"],
                 "gross": 15000, "member_discount": 1000, "promotion_discount": 1000,
                 "coupon_discount": 500, "total": 12500, "points_redeemed": 1000,
                 "points_value": 1000, "cash_due": 11500, "points_earned": 172,
                 "max_redeemable_points": min(6200, points // 100 * 100)}.items():
        eq(got[k], v, f"{what} {k}")
    want = ex.expected_lines()
    eq(len(got["lines"]), 3, f"{what} lines")
    for g, w in zip(got["lines"], want):
        eq(g, w, f"{what} line {w['line']}")
    check_adjustments(got["adjustments"], ex.expected_adjustments(), f"{what} adjustments")


@group.test
def worked_example(ctx):
    reset(ctx)
    ex = Example(ctx)
    mid, store = ex.m["id"], ex.store
    q = expect(quote(ctx, ex.body()), 200)
    check_example(ex, q, "quote")
    eq(q["note"], None, "quote note")
    with ctx.case("a quote writes nothing"):
        eq(member(ctx, mid)["points"], 10000, "points after a quote")
        eq(coupon(ctx, ex.coupon["code"])["status"], "active", "coupon after a quote")
        eq([qty(ctx, store, s) for s in ex.skus()], [50, 50, 50], "stock after a quote")
        eq(orders(ctx, member_id=mid), [], "orders after a quote")
    with ctx.case("the coupon's min_spend is compared with the base after the promotion"):
        for min_spend, status in [(11000, 200), (11001, 422)]:
            cp, _ = coupon_for(ctx, mid, value=500, min_spend=min_spend)
            r = quote(ctx, dict(ex.body(), coupon_code=cp["code"]))
            if status == 200:
                eq(expect(r, 200)["coupon_discount"], 500, f"min_spend {min_spend}")
            else:
                expect_error(r, 422, "coupon_not_applicable", "coupon_code")
    with ctx.case("without redeem_points: max_redeemable_points alone"):
        q0 = expect(quote(ctx, ex.body(redeem=None)), 200)
        eq((q0["max_redeemable_points"], q0["points_redeemed"], q0["points_value"],
            q0["cash_due"], q0["points_earned"]), (6200, 0, 0, 12500, 187),
           "max_redeemable_points, redeemed, value, cash_due, earned")
        eq([a["kind"] for a in q0["adjustments"]],
           ["tier_discount", "member_price", "promotion", "coupon"], "adjustment kinds")

    r = commit(ctx, ex.body(note="收银台 3"))
    c = expect(r, 201)
    check((r.header("Location") or "").endswith(f"/orders/{c.get('order_id')}"),
          f"Location of the order: {r.header('Location')}")
    check(not replayed(r), "a first checkout answered as a replay")
    check_example(ex, c, "commit")
    eq(c["note"], "收银台 3", "commit note")
    check(isinstance(c["order_id"], int) and 0 < c["order_id"] < 2**53, f"order_id {c}")
    check_time(c["created_at"], "order created_at")
    eq(c["points_balance"], 10000 - 1000 + 172, "points_balance after the order")
    eq(without(c, COMMIT_EXTRA), dict(q, note="收银台 3"), "commit body against the quote")

    oid = c["order_id"]
    got = order(ctx, oid)
    eq(without(got, {"refunds", "cash_refunded", "points_clawed_back"}), c, "GET /orders/{id}")
    eq((got["refunds"], got["cash_refunded"], got["points_clawed_back"]), ([], 0, 0),
       "refunds of a new order")
    eq([o["order_id"] for o in orders(ctx, member_id=mid)], [oid], "orders of the member")
    eq([o["order_id"] for o in orders(ctx, store_id=store)], [oid], "orders of the store")
    m = member(ctx, mid)
    eq((m["points"], m["total_spend"]), (9172, 12500), "member points and total_spend")
    entries = ledger(ctx, mid)
    eq([(e["kind"], e["points"], e["order_id"]) for e in entries[:2]],
       [("earn", 172, oid), ("redeem", -1000, oid)], "the order's ledger entries")
    eq(entries[0]["balance_after"], 9172, "balance_after of the earn entry")
    cp = coupon(ctx, ex.coupon["code"])
    eq((cp["status"], cp["order_id"], cp["applicable"], cp["reason"]),
       ("used", oid, False, "used"), "the coupon after the order")
    eq([qty(ctx, store, s) for s in ex.skus()], [48, 49, 49], "stock after the order")
    patron_check(ctx)

    # The refund of C (API.md): cash 1840, 160 points back, 28 taken back.
    model = RefundModel(c)
    r = refund(ctx, oid, {"lines": [{"sku": ex.c["sku"], "qty": 1}]})
    rc = expect(r, 201)
    want = model.take({2: 1})
    eq((want["cash"], want["points_returned"], want["points_clawback"]), (1840, 160, 28),
       "the model against API.md")
    check_refund(rc, want, "refund of C")
    eq((rc["order_id"], rc["coupon_restored"], rc["points_balance"]),
       (oid, False, 9172 + 160 - 28), "refund order_id, coupon_restored, points_balance")
    eq(rc["lines"][0]["sku"], ex.c["sku"], "refunded sku")
    eq(member(ctx, mid)["points"], 9304, "points after the refund of C")
    eq([(e["kind"], e["points"], e["order_id"]) for e in ledger(ctx, mid)[:2]],
       [("refund_clawback", -28, oid), ("refund_return", 160, oid)],
       "ledger entries of the refund")
    eq(qty(ctx, store, ex.c["sku"]), 50, "stock of C after its refund")
    eq(coupon(ctx, ex.coupon["code"])["status"], "used", "coupon after a partial refund")
    got = order(ctx, oid)
    eq((got["cash_refunded"], got["points_clawed_back"]), (1840, 28), "order after refund")
    eq(got["refunds"], [rc], "the order's refunds")
    patron_check(ctx)

    with ctx.case("more than was bought, or not in the order: 409, nothing written"):
        snap = state(ctx, stores=[store], members=[mid], codes=[ex.coupon["code"]])
        for label, body, field in [
                ("C again", {"lines": [{"sku": ex.c["sku"], "qty": 1}]}, "lines[0].qty"),
                ("3 of A", {"lines": [{"sku": ex.a["sku"], "qty": 3}]}, "lines[0].qty"),
                ("A twice over", {"lines": [{"sku": ex.a["sku"], "qty": 2},
                                            {"sku": ex.a["sku"], "qty": 1}]}, "lines[1].qty"),
                ("a SKU not in the order", {"lines": [{"sku": "NOPE", "qty": 1}]}, ANY)]:
            with ctx.case(label):
                expect_error(refund(ctx, oid, body), 409, "conflict", field)
                same_state(ctx, snap, label, stores=[store], members=[mid],
                           codes=[ex.coupon["code"]])
    with ctx.case("malformed refunds: 400, nothing written"):
        snap = state(ctx, stores=[store], members=[mid])
        for label, body in [("qty 0", {"lines": [{"sku": ex.a["sku"], "qty": 0}]}),
                            ("qty missing", {"lines": [{"sku": ex.a["sku"]}]}),
                            ("both sku and line", {"lines": [{"sku": ex.a["sku"], "line": 0,
                                                              "qty": 1}]}),
                            ("empty lines", {"lines": []}),
                            ("unknown field", {"lines": [], "reason": "x"})]:
            with ctx.case(label):
                expect_error(refund(ctx, oid, body), 400, "invalid_argument")
        with ctx.case("no Idempotency-Key"):
            expect_error(refund(ctx, oid, {}, key=None), 400, "invalid_argument",
                         "Idempotency-Key")
        with ctx.case("unknown order"):
            expect_error(refund(ctx, 999999, {}), 404, "not_found")
            expect_error(cx(ctx).get(f"{ORDERS}/999999"), 404, "not_found")
        same_state(ctx, snap, "malformed refunds", stores=[store], members=[mid])

    # The rest: everything left, the coupon comes back.
    k = new_key()
    r = refund(ctx, oid, {}, key=k)
    rest = expect(r, 201)
    check_refund(rest, model.take({0: 2, 1: 1}), "refund of the rest")
    eq(rest["coupon_restored"], True, "coupon_restored on the full refund")
    with ctx.case("the refund is idempotent"):
        r2 = refund(ctx, oid, {}, key=k)
        eq((r2.status, r2.json), (201, rest), "replayed refund")
        eq(r2.header("Idempotent-Replayed"), "true", "Idempotent-Replayed of a refund")
        expect_error(refund(ctx, oid, {"lines": [{"sku": ex.a["sku"], "qty": 1}]}, key=k), 422,
                     "idempotency_key_reuse")
    eq((rc["cash"] + rest["cash"], rc["points_returned"] + rest["points_returned"],
        rc["points_clawback"] + rest["points_clawback"]), (11500, 1000, 172),
       "the two refunds add up to the order")
    m = member(ctx, mid)
    eq((m["points"], m["total_spend"]), (10000, 0), "points and spend after the full refund")
    cp = coupon(ctx, ex.coupon["code"])
    eq((cp["status"], cp["order_id"], cp["applicable"]), ("active", None, True),
       "the coupon after the full refund")
    eq([qty(ctx, store, s) for s in ex.skus()], [50, 50, 50], "stock after the full refund")
    got = order(ctx, oid)
    eq((got["cash_refunded"], got["points_clawed_back"], len(got["refunds"])), (11500, 172, 2),
       "order after the full refund")
    with ctx.case("{} on a fully refunded order: 409"):
        snap = state(ctx, stores=[store], members=[mid], codes=[ex.coupon["code"]])
        expect_error(refund(ctx, oid, {}), 409, "conflict")
        same_state(ctx, snap, "a refused refund", stores=[store], members=[mid],
                   codes=[ex.coupon["code"]])
    patron_check(ctx)
    with ctx.case("the restored coupon is spent again"):
        c2 = sell(ctx, ex.body())
        check_example(ex, c2, "second commit")
    patron_check(ctx)
    reset(ctx)


@group.test
def refunds_in_parts(ctx):
    """The example refunded unit by unit adds up to the whole; the last part restores the
    coupon. An order without member, open items and a fully paid-with-points case."""
    reset(ctx)
    ex = Example(ctx)
    mid, store = ex.m["id"], ex.store
    c = sell(ctx, ex.body())
    check_example(ex, c, "commit")
    oid = c["order_id"]
    model = RefundModel(c)
    parts = [({"lines": [{"sku": ex.a["sku"], "qty": 1}]}, {0: 1}),
             ({"lines": [{"line": 1, "qty": 1}]}, {1: 1}),
             ({"lines": [{"sku": ex.c["sku"], "qty": 1}, {"sku": ex.a["sku"], "qty": 1}]},
              {0: 1, 2: 1})]
    total = {"cash": 0, "points_returned": 0, "points_clawback": 0, "points_value": 0}
    balance = 9172
    for i, (body, units) in enumerate(parts):
        got = expect(refund(ctx, oid, body), 201)
        want = model.take(units)
        check_refund(got, want, f"part {i + 1}")
        for k in total:
            total[k] += got[k]
        balance += got["points_returned"] - got["points_clawback"]
        eq(got["points_balance"], balance, f"points_balance after part {i + 1}")
        eq(got["coupon_restored"], i == len(parts) - 1, f"coupon_restored after part {i + 1}")
        eq(member(ctx, mid)["points"], balance, f"points after part {i + 1}")
        patron_check(ctx)
    eq(total, {"cash": 11500, "points_returned": 1000, "points_clawback": 172,
               "points_value": 1000}, "the parts add up to the whole")
    eq(balance, 10000, "the member's points are back where they were")
    eq(coupon(ctx, ex.coupon["code"])["status"], "active", "coupon after the last part")
    eq([qty(ctx, store, s) for s in ex.skus()], [50, 50, 50], "stock after all parts")
    kinds = [(e["kind"], e["points"]) for e in ledger(ctx, mid) if e["order_id"] == oid]
    eq(sum(p for k, p in kinds if k == "refund_return"), 1000, "refund_return entries")
    eq(sum(p for k, p in kinds if k == "refund_clawback"), -172, "refund_clawback entries")
    expect_error(refund(ctx, oid, {}), 409, "conflict")

    with ctx.case("a part-refunded order: {} takes the rest"):
        c = sell(ctx, ex.body(coupon=False, redeem=2000))
        model = RefundModel(c)
        a = expect(refund(ctx, c["order_id"], {"lines": [{"sku": ex.b["sku"], "qty": 1}]}), 201)
        check_refund(a, model.take({1: 1}), "B")
        b = expect(refund(ctx, c["order_id"], {}), 201)
        check_refund(b, model.take({0: 2, 2: 1}), "the rest")
        eq(b["coupon_restored"], False, "coupon_restored without a coupon")
        eq((a["cash"] + b["cash"], a["points_returned"] + b["points_returned"],
            a["points_clawback"] + b["points_clawback"]),
           (c["cash_due"], c["points_redeemed"], c["points_earned"]), "parts against the order")
        patron_check(ctx)

    with ctx.case("no member, an open item named by its line"):
        p = new_product(ctx, 333)
        receive(ctx, store, p["sku"], 10)
        body = basket(store, [{"sku": p["sku"], "qty": 3},
                              {"name": "改衣服务", "unit_price": 1001, "qty": 2}])
        c = sell(ctx, body)
        eq((c["member_id"], c["total"], c["points_earned"], c["max_redeemable_points"]),
           (None, 3001, 0, 0), "an order without member")
        check("points_balance" not in c or c["points_balance"] is None,
              f"points_balance without a member: {c}")
        eq(c["lines"][1]["sku"], None, "sku of an open item")
        model = RefundModel(c)
        r1 = expect(refund(ctx, c["order_id"], {"lines": [{"line": 1, "qty": 1}]}), 201)
        check_refund(r1, model.take({1: 1}), "one open unit")
        eq(r1["cash"], 1001, "cash of one open unit")
        r2 = expect(refund(ctx, c["order_id"], {"lines": [{"sku": p["sku"], "qty": 2}]}), 201)
        check_refund(r2, model.take({0: 2}), "two of three")
        eq(r2["cash"], 666, "two units of 999")
        eq(qty(ctx, store, p["sku"]), 9, "stock after refunding two")
        expect_error(refund(ctx, c["order_id"], {"lines": [{"line": 1, "qty": 2}]}), 409,
                     "conflict")
        r3 = expect(refund(ctx, c["order_id"], {}), 201)
        check_refund(r3, model.take({0: 1, 1: 1}), "the rest")
        eq(r1["cash"] + r2["cash"] + r3["cash"], 3001, "cash refunded in all")
        patron_check(ctx)

    with ctx.case("a SKU on two lines: a refund by SKU takes the units left on each, in order"):
        p = new_product(ctx, 2500)
        receive(ctx, store, p["sku"], 10)
        c = sell(ctx, basket(store, [{"sku": p["sku"], "qty": 1}, {"name": "包装", "unit_price": 99,
                                                                   "qty": 1},
                                     {"sku": p["sku"], "qty": 2}], mid, redeem_points=1000))
        model = RefundModel(c)
        r = expect(refund(ctx, c["order_id"], {"lines": [{"sku": p["sku"], "qty": 2}]}), 201)
        check_refund(r, model.take({0: 1, 2: 1}), "2 of the SKU")
        expect_error(refund(ctx, c["order_id"], {"lines": [{"sku": p["sku"], "qty": 2}]}), 409,
                     "conflict")
        r = expect(refund(ctx, c["order_id"], {"lines": [{"sku": p["sku"], "qty": 1}]}), 201)
        check_refund(r, model.take({2: 1}), "the last of the SKU")
        eq(qty(ctx, store, p["sku"]), 10, "stock back")
        patron_check(ctx)

    with ctx.case("uneven units: the first X mod q units carry one more"):
        p = new_product(ctx, 1001)
        receive(ctx, store, p["sku"], 10)
        m = new_member(ctx, 1000)
        c = sell(ctx, basket(store, [{"sku": p["sku"], "qty": 7}], m["id"], redeem_points=300))
        model = RefundModel(c)
        got = []
        for n in (2, 1, 3, 1):
            r = expect(refund(ctx, c["order_id"], {"lines": [{"sku": p["sku"], "qty": n}]}), 201)
            check_refund(r, model.take({0: n}), f"{n} of 7")
            got.append(r)
        eq((sum(r["cash"] for r in got), sum(r["points_returned"] for r in got),
            sum(r["points_clawback"] for r in got)),
           (c["cash_due"], 300, c["points_earned"]), "the parts add up")
        eq(member(ctx, m["id"])["points"], 1000, "points back where they were")
        patron_check(ctx)
    reset(ctx)


@group.test
def refund_coupon_and_clawback_edges(ctx):
    """The coupon is not restored once expired; a clawback may leave a negative balance,
    which then spends nothing; points paid with go back to their lots with their expiry."""
    reset(ctx)
    tiers(ctx)
    store = new_store(ctx)
    d = new_product(ctx, 10000)
    p = new_product(ctx, 10000, discountable=False)
    z = new_product(ctx, 10000, discountable=False, points_multiplier_bp=0)
    for x in (d, p, z):
        receive(ctx, store, x["sku"], 20)
    one = lambda x: [{"sku": x["sku"], "qty": 1}]  # noqa: E731
    t0 = datetime.datetime(2031, 3, 10, 4, 0, tzinfo=UTC)
    set_clock(ctx, t0)
    with ctx.case("the coupon expired before the full refund: not restored"):
        m = new_member(ctx)
        cp, _ = coupon_for(ctx, m["id"], value=1000, valid_days=1)
        c = sell(ctx, basket(store, one(d), m["id"], coupon_code=cp["code"]))
        eq((c["total"], c["coupon_discount"]), (8500, 1000), "with the coupon")
        set_clock(ctx, t0 + datetime.timedelta(days=2))
        r = expect(refund(ctx, c["order_id"], {}), 201)
        eq(r["coupon_restored"], False, "coupon_restored after expiry")
        got = coupon(ctx, cp["code"])
        eq((got["status"], got["order_id"]), ("used", c["order_id"]), "the expired coupon")
        set_clock(ctx, t0)
        patron_check(ctx)

    with ctx.case("refunds in any order take back what each order earned"):
        m = new_member(ctx)
        c = sell(ctx, basket(store, one(p), m["id"]))
        eq(c["points_earned"], 150, "earned on ¥100 at 1.5×")
        s1 = sell(ctx, basket(store, one(p), m["id"], redeem_points=100))
        eq((s1["points_earned"], s1["points_balance"]), (148, 198), "after spending 100")
        s2 = sell(ctx, basket(store, one(p), m["id"], redeem_points=100))
        eq(s2["points_balance"], 246, "after spending another 100")
        for o, bal in [(s1, 198), (s2, 150), (c, 0)]:
            r = expect(refund(ctx, o["order_id"], {}), 201)
            eq((r["points_returned"], r["points_clawback"], r["points_balance"]),
               (o["points_redeemed"], o["points_earned"], bal), f"refund of {o['order_id']}")
        eq(member(ctx, m["id"])["points"], 0, "points after refunding everything")
        patron_check(ctx)

    with ctx.case("a clawback below zero; a negative balance spends nothing"):
        m = new_member(ctx)
        c = sell(ctx, basket(store, one(p), m["id"]))
        s1 = sell(ctx, basket(store, one(z), m["id"], redeem_points=100))
        eq(s1["points_balance"], 50, "after spending 100 of 150")
        r = expect(refund(ctx, c["order_id"], {}), 201)
        eq((r["points_clawback"], r["points_balance"]), (150, -100),
           "the whole earned taken back, below zero")
        eq(member(ctx, m["id"])["points"], -100, "member points (negative)")
        q = expect(quote(ctx, basket(store, one(z), m["id"])), 200)
        eq(q["max_redeemable_points"], 0, "max_redeemable_points of a negative balance")
        snap = state(ctx, stores=[store], members=[m["id"]])
        expect_error(commit(ctx, basket(store, one(z), m["id"], redeem_points=100)), 409,
                     "insufficient_points", "redeem_points")
        same_state(ctx, snap, "a refused redemption", stores=[store], members=[m["id"]])
        r = expect(refund(ctx, s1["order_id"], {}), 201)
        eq((r["points_returned"], r["points_clawback"], r["points_balance"]), (100, 0, 0),
           "refunding the spending order")
        patron_check(ctx)

    with ctx.case("points paid with return to their lots, with their expiry"):
        put_settings(ctx, {"expiry": {"mode": "rolling", "days": 30}})
        m = new_member(ctx)
        credit(ctx, m["id"], 300)
        set_clock(ctx, t0 + datetime.timedelta(days=5))
        credit(ctx, m["id"], 300)
        before = member(ctx, m["id"])["points_expiring"]
        eq([e["points"] for e in before], [300, 300], "two lots")
        c = sell(ctx, basket(store, one(z), m["id"], redeem_points=400))
        eq(member(ctx, m["id"])["points_expiring"],
           [{"points": 200, "expires_on": before[1]["expires_on"]}],
           "after spending 400, soonest-expiring first")
        r = expect(refund(ctx, c["order_id"], {}), 201)
        eq(r["points_returned"], 400, "points returned")
        eq(member(ctx, m["id"])["points_expiring"], before, "both lots whole again")
        patron_check(ctx)

    with ctx.case("a clawback takes back the points the order earned, not older ones"):
        set_clock(ctx, t0)
        m = new_member(ctx)
        credit(ctx, m["id"], 300)
        before = member(ctx, m["id"])["points_expiring"]
        set_clock(ctx, t0 + datetime.timedelta(days=5))
        c = sell(ctx, basket(store, one(p), m["id"]))
        eq([e["points"] for e in member(ctx, m["id"])["points_expiring"]], [300, 150],
           "the older lot and the one the sale earned")
        r = expect(refund(ctx, c["order_id"], {}), 201)
        eq(r["points_clawback"], 150, "points taken back")
        eq(member(ctx, m["id"])["points_expiring"], before,
           "the older lot untouched, as before the sale")
        patron_check(ctx)

    with ctx.case("points returned to a lot that has expired since: expired"):
        m = new_member(ctx)
        credit(ctx, m["id"], 300)
        exp = member(ctx, m["id"])["points_expiring"]
        c = sell(ctx, basket(store, one(z), m["id"], redeem_points=300))
        set_clock(ctx, t0 + datetime.timedelta(days=40))
        r = expect(refund(ctx, c["order_id"], {}), 201)
        eq((r["points_returned"], r["points_balance"]), (300, 0),
           "returned into a lot expired on " + exp[0]["expires_on"])
        got = member(ctx, m["id"])
        eq((got["points"], got["points_expiring"]), (0, []), "nothing spendable")
        expect(ctx.anon.post(f"{API}/_test/jobs/expire"), 200)
        entries = ledger(ctx, m["id"])
        eq([(e["kind"], e["points"]) for e in entries[:2]],
           [("expire", -300), ("refund_return", 300)], "the job expires what came back")
        eq(entries[0]["balance_after"], 0, "balance after the job")
        patron_check(ctx)
    reset(ctx)


# ---------------------------------------------------------------- idempotency

@group.test
def checkout_idempotency(ctx):
    reset(ctx)
    ex = Example(ctx, stock=10)
    mid, store, code = ex.m["id"], ex.store, ex.coupon["code"]
    key = new_key()
    body = ex.body()
    r1 = commit(ctx, body, key=key)
    first = expect(r1, 201)
    check(not replayed(r1), "the first answer says it is a replay")
    after = state(ctx, stores=[store], members=[mid], codes=[code])
    r2 = commit(ctx, body, key=key)
    eq(r2.status, 201, f"replay status: {r2}")
    eq(r2.json, first, "replayed body")
    with ctx.case("replay is byte-identical"):
        eq(r2.body, r1.body, "replayed body bytes")
    eq(r2.header("Idempotent-Replayed"), "true", "Idempotent-Replayed")
    same_state(ctx, after, "a replay", stores=[store], members=[mid], codes=[code])
    eq(len(orders(ctx, member_id=mid)), 1, "orders after a replay")
    eq([qty(ctx, store, s) for s in ex.skus()], [8, 9, 9], "stock after a replay")
    eq(member(ctx, mid)["points"], 9172, "points after a replay")
    with ctx.case("replay after the basket's prices and stock changed: the first answer"):
        expect(cx(ctx).patch(f"{P}/{ex.a['sku']}", {"price": 9999}), 200)
        receive(ctx, store, ex.a["sku"], 1)
        r3 = commit(ctx, body, key=key)
        eq((r3.status, r3.json, r3.header("Idempotent-Replayed")), (201, first, "true"),
           "replay after changes")
        expect(cx(ctx).patch(f"{P}/{ex.a['sku']}", {"price": 5000}), 200)
        expect(move(ctx, store, ex.a["sku"], "adjust", -1, note="撤回"), 201)
    after = state(ctx, stores=[store], members=[mid], codes=[code])
    for label, other in [("another qty", dict(body, items=[{"sku": ex.a["sku"], "qty": 1}])),
                         ("another redeem", dict(body, redeem_points=900)),
                         ("no coupon", without(body, {"coupon_code"})),
                         ("a note", dict(body, note="x"))]:
        with ctx.case(f"same key, {label}: 422"):
            expect_error(commit(ctx, other, key=key), 422, "idempotency_key_reuse")
    for label, k in [("missing", None), ("empty", ""), ("256 chars", "k" * 256),
                     ("non-ASCII", "clé")]:
        with ctx.case(f"Idempotency-Key {label}: 400"):
            expect_error(commit(ctx, ex.body(), key=k), 400, "invalid_argument",
                         "Idempotency-Key")
    with ctx.case("the checkout's key on another route: 422"):
        expect_error(refund(ctx, first["order_id"], {}, key=key), 422, "idempotency_key_reuse")
        expect_error(cx(ctx).post(f"{M}/{mid}/points/adjust", {"points": 5, "reason": "x"},
                                  headers={"Idempotency-Key": key}), 422,
                     "idempotency_key_reuse")
    same_state(ctx, after, "refused keys", stores=[store], members=[mid], codes=[code])

    with ctx.case("keys are per caller"):
        other, _ = ctx.key(ALL_SCOPES + POINTS_SCOPES + CHECKOUT_SCOPES, name="second till")
        b = ex.body(coupon=False, redeem=None)
        r = commit(ctx, b, key=key, client=other)
        got = expect(r, 201)
        check(not replayed(r) and got["order_id"] != first["order_id"],
              f"another caller's key answered as a replay: {r}")
        eq(len(orders(ctx, member_id=mid)), 2, "orders after the second caller")

    with ctx.case("a 409 out_of_stock is replayed as that 409, even once stock arrives"):
        p = new_product(ctx, 100)
        receive(ctx, store, p["sku"], 1)
        k = new_key()
        b = basket(store, [{"sku": p["sku"], "qty": 2}])
        rr = commit(ctx, b, key=k)
        expect_error(rr, 409, "out_of_stock", "items[0].sku")
        receive(ctx, store, p["sku"], 5)
        again = commit(ctx, b, key=k)
        eq((again.status, again.json, again.header("Idempotent-Replayed")),
           (409, rr.json, "true"), "replayed 409")
        eq(qty(ctx, store, p["sku"]), 6, "stock after the replayed 409")

    if ctx.inst.db.kind == "sqlite":
        with ctx.case("SQLite: a keyed checkout is one write transaction, claim and all"):
            p = new_product(ctx, 100)
            receive(ctx, store, p["sku"], 1)
            b = basket(store, [{"sku": p["sku"], "qty": 1}])
            before = group_writes(ctx)
            expect(commit(ctx, b), 201)
            eq(group_writes(ctx) - before, 1, "write transactions for one checkout")
            before = group_writes(ctx)
            k = new_key()
            refused = commit(ctx, b, key=k)
            expect_error(refused, 409, "out_of_stock", "items[0].sku")
            eq(group_writes(ctx) - before, 1, "write transactions for a refused checkout")
            again = commit(ctx, b, key=k)
            eq((again.status, again.body, again.header("Idempotent-Replayed")),
               (409, refused.body, "true"), "the refusal, replayed byte for byte")

    with ctx.case("racing one key: one order"):
        p = new_product(ctx, 700)
        receive(ctx, store, p["sku"], 50)
        k = new_key()
        b = basket(store, [{"sku": p["sku"], "qty": 1}], mid)
        n = 16
        clients = [Client(ctx.port, token=cx(ctx).token) for _ in range(n)]
        barrier = threading.Barrier(n)
        out = [None] * n

        def go(i):
            barrier.wait(30)
            out[i] = commit(ctx, b, key=k, client=clients[i])

        ts = [threading.Thread(target=go, args=(i,), daemon=True) for i in range(n)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        for cl in clients:
            cl.close()
        check(all(o is not None for o in out), "a racing request got no answer")
        firsts = [o for o in out if o.status == 201 and not replayed(o)]
        eq(len(firsts), 1, f"first answers among {[(o.status, replayed(o)) for o in out]}")
        for o in out:
            if o.status == 409:
                expect_error(o, 409, "idempotency_in_progress")
            elif o is not firsts[0]:
                eq((o.status, o.json, replayed(o)), (201, firsts[0].json, True), "a replay")
        eq(qty(ctx, store, p["sku"]), 49, "stock after the race on one key")
        eq(len([o for o in orders(ctx, member_id=mid)]), 3, "orders after the race")
    patron_check(ctx)
    reset(ctx)


@group.test
def orders_list(ctx):
    reset(ctx)
    tiers(ctx)
    store, other_store = new_store(ctx), new_store(ctx)
    p = new_product(ctx, 1500)
    for s_ in (store, other_store):
        receive(ctx, s_, p["sku"], 10)
    m1, m2 = new_member(ctx), new_member(ctx)
    t = [datetime.datetime(2031, 9, 1, 2, 0, tzinfo=UTC) + datetime.timedelta(hours=h)
         for h in range(4)]
    made = []
    for when, s_, m in [(t[0], store, m1), (t[1], store, m2), (t[2], other_store, m1),
                        (t[3], store, None)]:
        set_clock(ctx, when)
        c = sell(ctx, basket(s_, [{"sku": p["sku"], "qty": 1}], m and m["id"]))
        eq(c["created_at"], iso(when), "created_at on the test clock")
        made.append(c["order_id"])
    set_clock(ctx, None)
    eq(made, sorted(made), "order ids ascending")

    def ids(**params):
        got = [o["order_id"] for o in ctx.walk(ORDERS, params, limit=1, client=cx(ctx))]
        return [i for i in got if i in made]

    eq(ids(), made, "all (paged one by one)")
    eq(ids(member_id=m1["id"]), [made[0], made[2]], "member_id")
    eq(ids(store_id=store), [made[0], made[1], made[3]], "store_id")
    eq(ids(member_id=m1["id"], store_id=store), [made[0]], "member_id and store_id")
    eq(ids(**{"from": iso(t[1] - datetime.timedelta(minutes=1)),
              "to": iso(t[2] + datetime.timedelta(minutes=1))}), made[1:3], "from and to")
    eq(ids(**{"from": iso(t[3] + datetime.timedelta(minutes=1))}), [], "from after them all")
    listed = {o["order_id"]: o for o in orders(ctx)}
    for oid in made:
        eq(listed[oid], order(ctx, oid), f"order {oid}: the list against GET")
    for label, params, field in [("member_id abc", {"member_id": "abc"}, "member_id"),
                                 ("store_id 0", {"store_id": "0"}, "store_id"),
                                 ("from a date", {"from": "2031-09-01"}, "from"),
                                 ("to garbage", {"to": "soon"}, "to"),
                                 ("limit 501", {"limit": "501"}, "limit")]:
        with ctx.case(label):
            expect_error(cx(ctx).get(ORDERS, params=params), 400, "invalid_argument", field)
    for bad in ["0", "abc", "999999"]:
        with ctx.case(f"GET /orders/{bad}"):
            expect_error(cx(ctx).get(f"{ORDERS}/{bad}"), 404, "not_found")
    with ctx.case("permissions"):
        pos, _ = ctx.key(name="pos")
        eq(expect(pos.get(f"{ORDERS}/{made[0]}"), 200)["order_id"], made[0], "default key")
        nope, _ = ctx.key(["checkout"], name="till only")
        expect_error(nope.get(f"{ORDERS}/{made[0]}"), 403, "permission_denied")
        expect_error(nope.get(ORDERS), 403, "permission_denied")
        expect_error(refund(ctx, made[0], {}, client=nope), 403, "permission_denied")
    reset(ctx)


# ---------------------------------------------------------------- refusals

def unknown_code(ctx, code):
    """A well-formed code (right check character) that no coupon has: one character changed,
    then the check character found by asking the server (400 = wrong check, 404 = unknown)."""
    alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
    body = code.replace("-", "")
    first = alphabet[(alphabet.index(body[0]) + 1) % len(alphabet)]
    for ch in alphabet:
        cand = first + body[1:-1] + ch
        typed = f"{cand[:5]}-{cand[5:10]}-{cand[10:]}"
        r = cx(ctx).get(f"{COUPONS}/{typed}")
        if r.status == 404:
            return typed
        expect_error(r, 400, "invalid_argument")
    fail(f"no check character makes {first + body[1:-1]} well-formed")


def mistyped(code):
    """The code with one character changed (a typo the check character catches)."""
    alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
    i = 7 if code[7] != "-" else 8
    return code[:i] + alphabet[(alphabet.index(code[i]) + 1) % len(alphabet)] + code[i + 1:]


@group.test
def checkout_refusals(ctx):
    """Every refusal of the brief's Checkout list, on the quote and on the commit; none of
    them writes anything (stock, points, coupons, orders read back after each)."""
    reset(ctx)
    api = cx(ctx)
    gold, _ = tiers(ctx)
    store, other_store = new_store(ctx), new_store(ctx)
    p1 = new_product(ctx, 5000)
    p2 = new_product(ctx, 3000, member_price=2800)
    p3 = new_product(ctx, 2000, discountable=False)
    never = new_product(ctx, 100)  # never stocked in `store`
    for p in (p1, p2, p3):
        receive(ctx, store, p["sku"], 5)
    m = new_member(ctx, 5000)
    other = new_member(ctx, 1000)
    gone = new_member(ctx, 100)
    expect(api.delete(f"{M}/{gone['id']}"), 204)
    mid = m["id"]
    good, _ = coupon_for(ctx, mid, value=300, min_spend=1000)
    used, _ = coupon_for(ctx, mid, value=300)
    expired, _ = coupon_for(ctx, mid, valid_days=None, valid_from="2020-01-01T00:00:00Z",
                            valid_until="2020-02-01T00:00:00Z")
    future, _ = coupon_for(ctx, mid, valid_days=None, valid_from="2098-01-01T00:00:00Z",
                           valid_until="2098-02-01T00:00:00Z")
    others, _ = coupon_for(ctx, other["id"])
    elsewhere, _ = coupon_for(ctx, mid, store_ids=[other_store])
    big_min, _ = coupon_for(ctx, mid, min_spend=100000)
    items = [{"sku": p1["sku"], "qty": 1}, {"sku": p2["sku"], "qty": 1},
             {"sku": p3["sku"], "qty": 1}]
    sell(ctx, basket(store, [{"sku": p1["sku"], "qty": 1}], mid, coupon_code=used["code"]))
    base = basket(store, items, mid, coupon_code=good["code"], redeem_points=100)
    q = expect(quote(ctx, base), 200)
    eq((q["total"], q["max_redeemable_points"]), (4750 + 2800 + 2000 - 300, 4600),
       "the basket the refusals start from")
    nobody = unknown_code(ctx, good["code"])
    codes = [good["code"], used["code"], expired["code"], others["code"], elsewhere["code"]]
    where = {"stores": [store, other_store], "members": [mid, other["id"]], "codes": codes}
    snap = state(ctx, **where)

    def item(i, **change):
        its = [dict(x) for x in items]
        its[i] = {k: v for k, v in dict(its[i], **change).items() if v is not ...}
        return its

    def drop(key):
        return {k: v for k, v in base.items() if k != key}

    cases = [
        # label, body, status, code, field, on the quote too
        ("unknown store", dict(base, store_id=999999), 400, "invalid_argument", "store_id"),
        ("store_id missing", drop("store_id"), 400, "invalid_argument", "store_id"),
        ("store_id a string", dict(base, store_id=str(store)), 400, "invalid_argument",
         "store_id"),
        ("unknown member", dict(base, member_id=999999), 400, "invalid_argument", "member_id"),
        ("an erased member", dict(drop("coupon_code"), member_id=gone["id"], redeem_points=None),
         400, "invalid_argument", "member_id"),
        ("member_id 0", dict(base, member_id=0), 400, "invalid_argument", "member_id"),
        ("unknown SKU", dict(base, items=item(2, sku="NO-SUCH-SKU")), 400, "invalid_argument",
         "items[2].sku"),
        ("qty 0", dict(base, items=item(1, qty=0)), 400, "invalid_argument", "items[1].qty"),
        ("qty -1", dict(base, items=item(1, qty=-1)), 400, "invalid_argument", "items[1].qty"),
        ("qty 1.5", dict(base, items=item(1, qty=1.5)), 400, "invalid_argument",
         "items[1].qty"),
        ("qty missing", dict(base, items=item(1, qty=...)), 400, "invalid_argument",
         "items[1].qty"),
        ("open item without name", dict(base, items=items + [{"unit_price": 100, "qty": 1}]),
         400, "invalid_argument", "items[3].name"),
        ("open item without unit_price", dict(base, items=items + [{"name": "服务", "qty": 1}]),
         400, "invalid_argument", "items[3].unit_price"),
        ("open item with a negative price",
         dict(base, items=items + [{"name": "服务", "unit_price": -1, "qty": 1}]), 400,
         "invalid_argument", "items[3].unit_price"),
        ("an item neither product nor open", dict(base, items=items + [{"qty": 1}]), 400,
         "invalid_argument", ANY),
        ("qty 100001", dict(base, items=item(1, qty=100001)), 400, "invalid_argument",
         "items[1].qty"),
        ("open item price 1e10+1",
         dict(base, items=items + [{"name": "服务", "unit_price": 10**10 + 1, "qty": 1}]), 400,
         "invalid_argument", "items[3].unit_price"),
        ("no items", dict(base, items=[]), 400, "invalid_argument", "items"),
        ("201 items", dict(base, items=[{"sku": p1["sku"], "qty": 1}] * 201), 400,
         "invalid_argument", "items"),
        ("items missing", drop("items"), 400, "invalid_argument", "items"),
        ("unknown field", dict(base, discount=100), 400, "invalid_argument", "discount"),
        ("unknown item field", dict(base, items=item(0, price=1)), 400, "invalid_argument",
         "items[0].price"),
        ("coupon mistyped", dict(base, coupon_code=mistyped(good["code"])), 400,
         "invalid_argument", "coupon_code"),
        ("coupon unknown", dict(base, coupon_code=nobody), 422, "coupon_not_applicable",
         "coupon_code"),
        ("coupon garbage", dict(base, coupon_code="HELLO"), 422, "coupon_not_applicable",
         "coupon_code"),
        ("coupon used", dict(base, coupon_code=used["code"]), 422, "coupon_not_applicable",
         "coupon_code"),
        ("coupon expired", dict(base, coupon_code=expired["code"]), 422,
         "coupon_not_applicable", "coupon_code"),
        ("coupon not yet valid", dict(base, coupon_code=future["code"]), 422,
         "coupon_not_applicable", "coupon_code"),
        ("another member's coupon", dict(base, coupon_code=others["code"]), 422,
         "coupon_not_applicable", "coupon_code"),
        ("coupon for another store", dict(base, coupon_code=elsewhere["code"]), 422,
         "coupon_not_applicable", "coupon_code"),
        ("coupon below its minimum spend", dict(base, coupon_code=big_min["code"]), 422,
         "coupon_not_applicable", "coupon_code"),
        ("coupon without member", dict(drop("member_id"), redeem_points=None), 422,
         "coupon_not_applicable", "coupon_code"),
        ("redeem_points not a multiple", dict(base, redeem_points=150), 400,
         "invalid_argument", "redeem_points"),
        ("redeem_points 0", dict(base, redeem_points=0), 400, "invalid_argument",
         "redeem_points"),
        ("redeem_points negative", dict(base, redeem_points=-100), 400, "invalid_argument",
         "redeem_points"),
        ("redeem_points a string", dict(base, redeem_points="100"), 400, "invalid_argument",
         "redeem_points"),
        ("redeem_points above the cap", dict(base, redeem_points=4700), 400,
         "invalid_argument", "redeem_points"),
        ("redeem_points without member",
         dict(drop("member_id"), coupon_code=None, redeem_points=100), 400,
         "invalid_argument", "redeem_points"),
        ("redeem_points above the balance", dict(base, items=item(0, qty=3),
                                                  redeem_points=5100), 409,
         "insufficient_points", "redeem_points"),
    ]
    for label, body, status, code, field in cases:
        body = {k: v for k, v in body.items() if v is not None}
        for route in ("quote", "commit"):
            with ctx.case(f"{label} ({route})"):
                r = quote(ctx, body) if route == "quote" else commit(ctx, body)
                expect_error(r, status, code, field)
        with ctx.case(f"{label}: nothing written"):
            same_state(ctx, snap, label, **where)

    with ctx.case("the coupon refusal names its reason"):
        for c, word in [(used, "used"), (expired, "expired"), (others, "member"),
                        (elsewhere, "store")]:
            err = expect_error(api.post(QUOTE, dict(base, coupon_code=c["code"]),
                                        headers={"Accept-Language": "en"}), 422,
                               "coupon_not_applicable", "coupon_code")
            check(word in err["message"].lower(), f"message for a {word} coupon: {err}")

    for label, its, field in [
            ("out of stock", item(1, qty=6), "items[1].sku"),
            ("never stocked here", items + [{"sku": never["sku"], "qty": 1}], "items[3].sku"),
            ("out of stock on the last line only", items + [{"sku": p1["sku"], "qty": 5}],
             "items[3].sku")]:
        with ctx.case(f"{label}: 409 on the commit, nothing written"):
            body = dict(base, items=its)
            expect(quote(ctx, body), 200)
            expect_error(commit(ctx, body), 409, "out_of_stock", field)
            same_state(ctx, snap, label, **where)
    with ctx.case("totals that would overflow: 400"):
        put_settings(ctx, {"earn": {"per_amount": 1, "points": 1000000}})
        huge = basket(store, [{"name": "大额", "unit_price": 10**10, "qty": 100000}], mid)
        for route in (quote, commit):
            expect_error(route(ctx, huge), 400, "invalid_argument")
        put_settings(ctx, {"earn": DEFAULTS["earn"]})
        same_state(ctx, snap, "an overflow", **where)
    with ctx.case("not JSON / wrong content type"):
        for r in [api.post(CHECKOUT, raw=b"{store_id:1}", headers=idem()),
                  api.post(CHECKOUT, raw=b"[]", headers=idem()),
                  api.post(QUOTE, raw=b"null")]:
            expect_error(r, 400, "invalid_argument")
        expect_error(api.post(CHECKOUT, raw=b"store_id=1", ctype="text/plain", headers=idem()),
                     415, "unsupported_media_type")
    with ctx.case("permissions"):
        reader, _ = ctx.key(["products.read", "orders.read"], name="reader")
        expect_error(commit(ctx, base, client=reader), 403, "permission_denied")
        expect_error(quote(ctx, base, client=reader), 403, "permission_denied")
        expect_error(commit(ctx, base, client=ctx.anon), 401, "unauthenticated")
        bare = ctx.client(cookie=ctx.login().cookie)
        expect_error(commit(ctx, base, client=bare), 403, "csrf_failed")
        pos, k = ctx.key(name="till")  # default scopes: what a POS needs
        for s in ["checkout", "refunds", "orders.read", "products.read", "stock.read",
                  "coupons.read", "promotions.read"]:
            check(s in k["scopes"], f"default scopes {k['scopes']} lack {s}")
        for s in ["products.write", "stock.write", "coupons.write", "promotions.write"]:
            check(s not in k["scopes"], f"default scopes {k['scopes']} hold {s}")
        expect_error(refund(ctx, 1, {}, client=reader), 403, "permission_denied")
        expect(quote(ctx, base, client=pos), 200)
        expect(quote(ctx, base, client=ctx.login()), 200)
    same_state(ctx, snap, "all refusals", **where)
    with ctx.case("the starting basket still sells"):
        c = sell(ctx, base)
        eq(c["total"], q["total"], "total")
    patron_check(ctx)
    reset(ctx)


@group.test
def redeem_zero_value_setting(ctx):
    """redeem.amount 0 is a setting the brief allows (0..1e9): points then pay nothing at the
    till; a member's basket still prices and sells, redeeming is refused."""
    reset(ctx)
    tiers(ctx)
    store = new_store(ctx)
    p = new_product(ctx, 1000)
    receive(ctx, store, p["sku"], 5)
    m = new_member(ctx, 500)
    one = [{"sku": p["sku"], "qty": 1}]
    put_settings(ctx, {"redeem": {"amount": 0}})
    try:
        r = quote(ctx, basket(store, one, m["id"]))
        check(r.status == 200, f"a member's quote with redeem.amount 0: {r}")
        eq((r.json["max_redeemable_points"], r.json["points_earned"]), (0, 14),
           "max_redeemable_points, points_earned")
        snap = state(ctx, stores=[store], members=[m["id"]])
        for route in (quote, commit):
            expect_error(route(ctx, basket(store, one, m["id"], redeem_points=100)), 400,
                         "invalid_argument", "redeem_points")
        same_state(ctx, snap, "refused redemptions", stores=[store], members=[m["id"]])
        eq(sell(ctx, basket(store, one, m["id"]))["points_balance"], 514, "a sale")
        patron_check(ctx)
    finally:
        reset(ctx)


# ---------------------------------------------------------------- points at the till

@group.test
def redeem_cap(ctx):
    reset(ctx)
    tiers(ctx)
    store = new_store(ctx)
    p = new_product(ctx, 10000, discountable=False, points_multiplier_bp=0)
    receive(ctx, store, p["sku"], 20)
    m = new_member(ctx, 8000)
    mid = m["id"]
    one = [{"sku": p["sku"], "qty": 1}]
    where = {"stores": [store], "members": [mid]}
    q = expect(quote(ctx, basket(store, one, mid)), 200)
    eq((q["total"], q["max_redeemable_points"]), (10000, 5000), "cap of 50% of ¥100")
    snap = state(ctx, **where)
    for route in (quote, commit):
        with ctx.case(f"one step over the cap ({route.__name__})"):
            expect_error(route(ctx, basket(store, one, mid, redeem_points=5100)), 400,
                         "invalid_argument", "redeem_points")
    same_state(ctx, snap, "a redemption over the cap", **where)
    c = sell(ctx, basket(store, one, mid, redeem_points=5000))
    eq((c["points_value"], c["cash_due"], c["points_earned"], c["points_balance"]),
       (5000, 5000, 0, 3000), "exactly at the cap")
    with ctx.case("insufficient: 409; max_redeemable_points follows the balance"):
        q = expect(quote(ctx, basket(store, one, mid)), 200)
        eq(q["max_redeemable_points"], 3000, "max_redeemable_points limited by the balance")
        snap = state(ctx, **where)
        for route in (quote, commit):
            expect_error(route(ctx, basket(store, one, mid, redeem_points=3100)), 409,
                         "insufficient_points", "redeem_points")
        same_state(ctx, snap, "an insufficient redemption", **where)
        eq(sell(ctx, basket(store, one, mid, redeem_points=3000))["points_balance"], 0,
           "spending exactly the balance")
    with ctx.case("other rules: 200 points = ¥1.50, cap 25%"):
        put_settings(ctx, {"redeem": {"points": 200, "amount": 150, "max_ratio_bp": 2500}})
        credit(ctx, mid, 10000)
        two = [{"sku": p["sku"], "qty": 2}]  # ¥200: cap ¥50 = 33 steps of ¥1.50 (¥49.50)
        q = expect(quote(ctx, basket(store, two, mid)), 200)
        eq(q["max_redeemable_points"], 6600, "max_redeemable_points")
        snap = state(ctx, **where)
        for bad, code, status in [(6800, "invalid_argument", 400),
                                  (6700, "invalid_argument", 400),
                                  (100, "invalid_argument", 400)]:
            expect_error(commit(ctx, basket(store, two, mid, redeem_points=bad)), status, code,
                         "redeem_points")
        same_state(ctx, snap, "refused redemptions", **where)
        c = sell(ctx, basket(store, two, mid, redeem_points=6600))
        eq((c["points_value"], c["cash_due"], c["points_balance"]), (4950, 15050, 3400),
           "at the cap")
        eq([(ln["points_redeemed"], ln["points_value"]) for ln in c["lines"]], [(6600, 4950)],
           "the line's share")
    with ctx.case("max_ratio_bp 0: nothing redeemable"):
        put_settings(ctx, {"redeem": {"max_ratio_bp": 0}})
        eq(expect(quote(ctx, basket(store, one, mid)), 200)["max_redeemable_points"], 0,
           "max_redeemable_points")
        expect_error(quote(ctx, basket(store, one, mid, redeem_points=200)), 400,
                     "invalid_argument", "redeem_points")
    patron_check(ctx)
    reset(ctx)


@group.test
def tier_upgrade_at_checkout(ctx):
    reset(ctx)
    gold, plat = tiers(ctx)
    store = new_store(ctx)
    big = new_product(ctx, 990000, discountable=False)
    small = new_product(ctx, 10000, discountable=False)
    disc = new_product(ctx, 20000)
    for p in (big, small, disc):
        receive(ctx, store, p["sku"], 10)
    m = new_member(ctx)
    mid = m["id"]
    c = sell(ctx, basket(store, [{"sku": big["sku"], "qty": 1}], mid))
    got = member(ctx, mid)
    eq((got["tier"]["id"], got["total_spend"]), (gold["id"], 990000), "below 铂金卡")
    eq(c["points_earned"], 14850, "earned at 1.5×")
    c = sell(ctx, basket(store, [{"sku": small["sku"], "qty": 1}], mid))
    got = member(ctx, mid)
    eq((got["tier"], got["total_spend"]), ({"id": plat["id"], "name": "铂金卡"}, 1000000),
       "reaching the threshold exactly moves up at once")
    eq(c["points_earned"], 150, "the upgrading order earns at the tier before it (1.5×)")
    h = tier_history(ctx, mid)
    eq([(x["from_tier_id"], x["to_tier_id"], x["reason"]) for x in h][-1:],
       [(gold["id"], plat["id"], "upgrade")], "tier history")
    eq([x["reason"] for x in h], ["register", "upgrade"], "tier-history reasons")
    q = expect(quote(ctx, basket(store, [{"sku": disc["sku"], "qty": 1}], mid)), 200)
    eq((q["member_discount"], q["points_earned"]), (2000, 360),
       "the next basket at 铂金卡 (90%, 2×)")
    check_adjustments(q["adjustments"], [{"kind": "tier_discount", "tier_id": plat["id"],
                                          "tier": "铂金卡", "discount_bp": 9000,
                                          "amount": 2000}])
    with ctx.case("one order passing the threshold"):
        m2 = new_member(ctx)
        c = sell(ctx, basket(store, [{"sku": big["sku"], "qty": 2}], m2["id"]))
        eq(member(ctx, m2["id"])["tier"]["id"], plat["id"], "tier after a big order")
        eq(c["points_earned"], 29700, "earned at the tier before the order")
        eq([x["reason"] for x in tier_history(ctx, m2["id"])], ["register", "upgrade"],
           "tier history")
    with ctx.case("a quote moves nobody"):
        m3 = new_member(ctx)
        expect(quote(ctx, basket(store, [{"sku": big["sku"], "qty": 2}], m3["id"])), 200)
        got = member(ctx, m3["id"])
        eq((got["tier"]["id"], got["total_spend"]), (gold["id"], 0), "after a quote")
        eq([x["reason"] for x in tier_history(ctx, m3["id"])], ["register"], "tier history")
    patron_check(ctx)
    reset(ctx)


@group.test
def points_multipliers(ctx):
    """Product multiplier × tier × the best applicable points_multiplier promotion × birthday,
    one floor at the end."""
    reset(ctx)
    gold, plat = tiers(ctx)
    store, elsewhere = new_store(ctx), new_store(ctx)
    x2 = new_product(ctx, 999, points_multiplier_bp=20000, discountable=False)
    x1 = new_product(ctx, 1234, discountable=False)
    for p in (x2, x1):
        receive(ctx, store, p["sku"], 50)
    items = [{"sku": x2["sku"], "qty": 1}, {"sku": x1["sku"], "qty": 1},
             {"name": "服务", "unit_price": 777, "qty": 1}]  # an open item: 95% → 738
    mults = [20000, 10000, 10000]
    weighted = 999 * 2 + 1234 + 738
    t0 = datetime.datetime(2031, 6, 14, 17, 0, tzinfo=UTC)  # 2031-06-15 01:00 in Shanghai
    set_clock(ctx, t0)
    plain = new_member(ctx)
    q = expect(quote(ctx, basket(store, items, plain["id"])), 200)
    eq([ln["cash"] for ln in q["lines"]], [999, 1234, 738], "line cash")
    eq(q["points_earned"], earned(q["lines"], mults, t=15000), "no promotion, no birthday")
    eq(q["points_earned"], weighted * 15 // 1000, "by hand")

    new_promotion(ctx, kind="points_multiplier", multiplier_bp=20000, store_ids=[store])
    new_promotion(ctx, kind="points_multiplier", multiplier_bp=30000, store_ids=[store],
                  tier_ids=[plat["id"]])
    new_promotion(ctx, kind="points_multiplier", multiplier_bp=50000, store_ids=[elsewhere])
    new_promotion(ctx, kind="points_multiplier", multiplier_bp=40000, store_ids=[store],
                  starts_at="2031-06-16T00:00:00Z", ends_at="2031-07-01T00:00:00Z")
    new_promotion(ctx, kind="points_multiplier", multiplier_bp=40000, store_ids=[store],
                  starts_at="2031-01-01T00:00:00Z", ends_at="2031-06-14T16:00:00Z")
    with ctx.case("the best applicable points promotion (2×)"):
        q = expect(quote(ctx, basket(store, items, plain["id"])), 200)
        eq(q["points_earned"], earned(q["lines"], mults, t=15000, p=20000), "earned")
        eq(q["points_earned"], weighted * 3 // 100, "by hand")
        eq([a["kind"] for a in q["adjustments"]], ["tier_discount"],
           "adjustments (a points promotion changes no price)")
        q = expect(quote(ctx, basket(store, items)), 200)
        eq(q["points_earned"], 0, "no member, no points")

    put_settings(ctx, {"birthday": {"scope": "day", "multiplier_bp": 30000}})
    bday = new_member(ctx, birthday="1990-06-15")
    eve = new_member(ctx, birthday="1990-06-14")
    with ctx.case("birthday today in Asia/Shanghai (UTC is still the 14th)"):
        c = sell(ctx, basket(store, items, bday["id"]))
        eq(c["points_earned"], earned(c["lines"], mults, t=15000, p=20000, b=30000),
           "birthday member")
        eq(c["points_earned"], weighted * 9 // 100, "by hand")
        eq([e["kind"] for e in ledger(ctx, bday["id"])], ["earn"], "ledger of the birthday")
        q = expect(quote(ctx, basket(store, items, eve["id"])), 200)
        eq(q["points_earned"], earned(q["lines"], mults, t=15000, p=20000),
           "birthday yesterday (scope day)")
    with ctx.case("scope month"):
        put_settings(ctx, {"birthday": {"scope": "month"}})
        q = expect(quote(ctx, basket(store, items, eve["id"])), 200)
        eq(q["points_earned"], earned(q["lines"], mults, t=15000, p=20000, b=30000),
           "birthday month")
    with ctx.case("earn rules; the birthday in the business time zone (UTC)"):
        put_settings(ctx, {"earn": {"per_amount": 1000, "points": 7}, "time_zone": "UTC",
                           "birthday": {"scope": "day"}})
        q = expect(quote(ctx, basket(store, items, bday["id"])), 200)
        eq(q["points_earned"], earned(q["lines"], mults, earn=(1000, 7), t=15000, p=20000),
           "in UTC the 15th is tomorrow")
        q = expect(quote(ctx, basket(store, items, eve["id"])), 200)
        eq(q["points_earned"],
           earned(q["lines"], mults, earn=(1000, 7), t=15000, p=20000, b=30000),
           "in UTC the 14th is today")
    with ctx.case("born on 29 February: the 28th in other years"):
        put_settings(ctx, {"earn": DEFAULTS["earn"], "time_zone": "Asia/Shanghai"})
        leap = new_member(ctx, birthday="2000-02-29")
        set_clock(ctx, datetime.datetime(2031, 2, 28, 4, 0, tzinfo=UTC))
        q = expect(quote(ctx, basket(store, items, leap["id"])), 200)
        eq(q["points_earned"], earned(q["lines"], mults, t=15000, p=40000, b=30000),
           "2031-02-28 (and the 4× promotion that ended in June is running)")
        set_clock(ctx, datetime.datetime(2032, 2, 28, 4, 0, tzinfo=UTC))
        q = expect(quote(ctx, basket(store, items, leap["id"])), 200)
        eq(q["points_earned"], earned(q["lines"], mults, t=15000, p=20000),
           "2032-02-28 (a leap year)")
    with ctx.case("points are not earned on the part paid with points"):
        set_clock(ctx, t0)
        put_settings(ctx, {"earn": DEFAULTS["earn"], "time_zone": "Asia/Shanghai"})
        credit(ctx, plain["id"], 1000)
        c = sell(ctx, basket(store, items, plain["id"], redeem_points=1000))
        eq(c["cash_due"], 999 + 1234 + 738 - 1000, "cash_due")
        eq(c["points_earned"], earned(c["lines"], mults, t=15000, p=20000), "earned on cash")
    patron_check(ctx)
    reset(ctx)


@group.test
def referral_first_purchase(ctx):
    reset(ctx)
    tiers(ctx)
    store = new_store(ctx)
    p = new_product(ctx, 1000)
    receive(ctx, store, p["sku"], 20)
    put_settings(ctx, {"referral": {"referrer_points": 30, "referee_points": 20,
                                    "on": "first_purchase"}})
    a = new_member(ctx)
    b = new_member(ctx, referral_code=a["referral_code"])
    eq(b["points"], 0, "the new member's points at registration")
    eq(member(ctx, a["id"])["points"], 0, "referrer before the first purchase")
    one = [{"sku": p["sku"], "qty": 1}]

    def bonuses(mid=a["id"]):
        return [(e["points"], e["order_id"]) for e in ledger(ctx, mid)
                if e["kind"] == "bonus_referral"]

    q = expect(quote(ctx, basket(store, one, b["id"])), 200)
    eq((bonuses(), bonuses(b["id"])), ([], []), "bonuses after a quote")
    k = new_key()
    first = expect(commit(ctx, basket(store, one, b["id"]), key=k), 201)
    eq(bonuses(), [(30, first["order_id"])], "the referrer's bonus on the first purchase")
    eq(bonuses(b["id"]), [(20, first["order_id"])], "the new member's bonus with it")
    eq(member(ctx, a["id"])["points"], 30, "referrer points")
    eq(member(ctx, b["id"])["points"], 20 + q["points_earned"], "the new member's points")
    eq(first["points_balance"], 20 + q["points_earned"], "points_balance counts the bonus")
    r = commit(ctx, basket(store, one, b["id"]), key=k)
    eq((r.status, r.json, r.header("Idempotent-Replayed")), (201, first, "true"),
       "a replayed first purchase")
    sell(ctx, basket(store, one, b["id"]))
    eq((bonuses(), bonuses(b["id"])), ([(30, first["order_id"])], [(20, first["order_id"])]),
       "bonuses after more purchases (paid once)")
    eq(member(ctx, a["id"])["points"], 30, "referrer points after more purchases")
    with ctx.case("the referrer's own purchase pays no bonus; a refused one pays none"):
        sell(ctx, basket(store, one, a["id"]))
        c2 = new_member(ctx, referral_code=a["referral_code"])
        expect_error(commit(ctx, basket(store, [{"sku": p["sku"], "qty": 99}], c2["id"])),
                     409, "out_of_stock", "items[0].sku")
        eq(len(bonuses()), 1, "bonus entries after a refused first purchase")
        c = sell(ctx, basket(store, one, c2["id"]))
        eq(bonuses()[0], (30, c["order_id"]), "the second referee's first purchase")
        eq(len(bonuses()), 2, "bonus entries")
    patron_check(ctx)
    reset(ctx)


@group.test
def coupon_void(ctx):
    """A coupon issued by mistake is voided: it can never be used after; a used or void one,
    or one that is not there, is refused and nothing changes."""
    reset(ctx)
    store = new_store(ctx)
    p = new_product(ctx, 10000)
    receive(ctx, store, p["sku"], 10)
    m = new_member(ctx)
    c, _ = coupon_for(ctx, m["id"])
    api = cx(ctx)
    r = expect(api.post(f"{COUPONS}/{c['code']}/void", {}), 200)
    eq((r["code"], r["status"], r["applicable"], r["reason"]), (c["code"], "void", False, "void"),
       "the answer")
    got = coupon(ctx, c["code"])
    eq((got["status"], got["applicable"], got["reason"]), ("void", False, "void"), "GET after")
    snap = state(ctx, stores=[store], members=[m["id"]], codes=[c["code"]])
    expect_error(commit(ctx, basket(store, [{"sku": p["sku"], "qty": 1}], m["id"],
                                    coupon_code=c["code"])), 422, "coupon_not_applicable",
                 "coupon_code")
    expect_error(api.post(f"{COUPONS}/{c['code']}/void", {}), 409, "conflict")
    same_state(ctx, snap, "a void coupon at the till, voided again", stores=[store],
               members=[m["id"]], codes=[c["code"]])
    with ctx.case("a used coupon is not voided"):
        u, _ = coupon_for(ctx, m["id"])
        sell(ctx, basket(store, [{"sku": p["sku"], "qty": 1}], m["id"], coupon_code=u["code"]))
        expect_error(api.post(f"{COUPONS}/{u['code']}/void"), 409, "conflict")
        eq(coupon(ctx, u["code"])["status"], "used", "still used")
    with ctx.case("unknown, mistyped, a body, no permission"):
        fresh, _ = coupon_for(ctx, m["id"])
        expect_error(api.post(f"{COUPONS}/{unknown_code(ctx, fresh['code'])}/void", {}), 404,
                     "not_found")
        expect_error(api.post(f"{COUPONS}/{mistyped(fresh['code'])}/void", {}), 400,
                     "invalid_argument", "coupon_code")
        expect_error(api.post(f"{COUPONS}/{fresh['code']}/void", {"why": "x"}), 400,
                     "invalid_argument", "why")
        till, _ = ctx.key(["coupons.read", "checkout"], name="till")
        expect_error(till.post(f"{COUPONS}/{fresh['code']}/void", {}), 403, "permission_denied")
        eq(coupon(ctx, fresh["code"])["status"], "active", "untouched")
    reset(ctx)


# ---------------------------------------------------------------- races

def race(ctx, n, fn):
    """Runs fn(client, i) on n threads released together; returns their answers."""
    api = cx(ctx)
    clients = [Client(ctx.port, token=api.token) for _ in range(n)]
    barrier = threading.Barrier(n)
    out = [None] * n

    def go(i):
        barrier.wait(60)
        out[i] = fn(clients[i], i)

    ts = [threading.Thread(target=go, args=(i,), daemon=True) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    for c in clients:
        c.close()
    check(all(o is not None for o in out), "a racing request got no answer")
    return out


@race_group.test
def last_units(ctx):
    """32 tills sell the last 5 units (distinct keys): exactly 5 orders, 27 × out_of_stock."""
    store = new_store(ctx)
    p = new_product(ctx, 4200)
    other = new_product(ctx, 100)
    receive(ctx, store, p["sku"], 5)
    receive(ctx, store, other["sku"], 100)
    before = len(orders(ctx))
    out = race(ctx, 32, lambda c, i: commit(ctx, basket(store, [
        {"sku": other["sku"], "qty": 1}, {"sku": p["sku"], "qty": 1}]), client=c))
    ok = [o for o in out if o.status == 201]
    for o in out:
        if o.status != 201:
            expect_error(o, 409, "out_of_stock", "items[1].sku")
    eq(len(ok), 5, f"sales of the last 5 units ({sorted(o.status for o in out)})")
    eq(len(out) - len(ok), 27, "refused sales")
    eq(len({o.json["order_id"] for o in ok}), 5, "distinct orders")
    st = stock_of(ctx, store)
    eq((st[p["sku"]]["qty"], st[other["sku"]]["qty"]), (0, 95),
       "stock after the race (nothing of a refused order written)")
    eq(len(orders(ctx)) - before, 5, "orders written")
    with ctx.case("stock movements and transfers race too"):
        receive(ctx, store, p["sku"], 3)
        to = new_store(ctx)
        out = race(ctx, 16, lambda c, i: c.post(MOVES, {
            "store_id": store, "sku": p["sku"], "kind": "transfer" if i % 2 else "adjust",
            "qty": 1 if i % 2 else -1, **({"to_store_id": to} if i % 2 else {})},
            headers=idem()))
        eq(sorted(o.status for o in out), [201] * 3 + [409] * 13, "moves of the last 3 units")
        eq(qty(ctx, store, p["sku"]), 0, "stock after the moves")
    patron_check(ctx)


@race_group.test
def one_balance(ctx):
    """32 tills redeem 100 points each from one member's 1,000: exactly 10 succeed, the
    balance is never seen below zero."""
    reset(ctx)
    store = new_store(ctx)
    p = new_product(ctx, 1000, points_multiplier_bp=0)  # earns nothing: only redemptions move
    receive(ctx, store, p["sku"], 100)
    m = new_member(ctx, 1000)
    mid = m["id"]
    low = []
    stop = threading.Event()

    def watch():
        c = Client(ctx.port, token=cx(ctx).token)
        try:
            while not stop.is_set():
                pts = expect(c.get(f"{M}/{mid}"), 200)["points"]
                if pts < 0:
                    low.append(pts)
        finally:
            c.close()

    w = threading.Thread(target=watch, daemon=True)
    w.start()
    try:
        out = race(ctx, 32, lambda c, i: commit(ctx, basket(
            store, [{"sku": p["sku"], "qty": 1}], mid, redeem_points=100), client=c))
    finally:
        stop.set()
        w.join(30)
    ok = [o for o in out if o.status == 201]
    for o in out:
        if o.status != 201:
            expect_error(o, 409, "insufficient_points", "redeem_points")
    eq(len(ok), 10, f"successful redemptions ({sorted(o.status for o in out)})")
    eq(sorted(o.json["points_balance"] for o in ok), list(range(0, 1000, 100)),
       "balances after each success")
    eq(low, [], "balances seen below zero")
    eq(member(ctx, mid)["points"], 0, "points at the end")
    eq(qty(ctx, store, p["sku"]), 90, "stock at the end")
    entries = ledger(ctx, mid)
    eq(sorted(e["kind"] for e in entries), ["adjust"] + ["redeem"] * 10, "ledger entries")
    check(all(e["balance_after"] >= 0 for e in entries), "an entry below zero")
    eq(len(orders(ctx, member_id=mid)), 10, "orders")
    patron_check(ctx)


@race_group.test
def one_order_one_coupon(ctx):
    """16 tills refund one order at once (distinct keys): one refund; 16 tills refund one unit
    each of 5: five refunds; 16 tills spend one coupon: one order."""
    store = new_store(ctx)
    p = new_product(ctx, 2000)
    receive(ctx, store, p["sku"], 100)
    m = new_member(ctx, 1000)
    mid = m["id"]
    c = expect(commit(ctx, basket(store, [{"sku": p["sku"], "qty": 3}], mid,
                                  redeem_points=300)), 201)
    out = race(ctx, 16, lambda cl, i: refund(ctx, c["order_id"], {}, client=cl))
    eq(sorted(o.status for o in out), [201] + [409] * 15, "whole refunds of one order")
    for o in out:
        if o.status != 201:
            expect_error(o, 409, "conflict")
    got = order(ctx, c["order_id"])
    eq((len(got["refunds"]), got["cash_refunded"], got["points_clawed_back"]),
       (1, c["cash_due"], c["points_earned"]), "the order after the race")
    eq(member(ctx, mid)["points"], 1000, "points after the race")
    eq(qty(ctx, store, p["sku"]), 100, "stock after the race")

    c = expect(commit(ctx, basket(store, [{"sku": p["sku"], "qty": 5}], mid,
                                  redeem_points=500)), 201)
    out = race(ctx, 16, lambda cl, i: refund(ctx, c["order_id"], {"lines": [
        {"sku": p["sku"], "qty": 1}]}, client=cl))
    ok = [o.json for o in out if o.status == 201]
    eq(len(ok), 5, f"one-unit refunds of five ({sorted(o.status for o in out)})")
    eq((sum(r["cash"] for r in ok), sum(r["points_returned"] for r in ok),
        sum(r["points_clawback"] for r in ok)),
       (c["cash_due"], 500, c["points_earned"]), "the five add up to the order")
    eq(member(ctx, mid)["points"], 1000, "points after the unit refunds")
    eq(qty(ctx, store, p["sku"]), 100, "stock after the unit refunds")

    t = new_template(ctx, value=100)
    cp = issue(ctx, t["id"], [mid])[0]
    before = len(orders(ctx, member_id=mid))
    out = race(ctx, 16, lambda cl, i: commit(ctx, basket(
        store, [{"sku": p["sku"], "qty": 1}], mid, coupon_code=cp["code"]), client=cl))
    eq(sorted(o.status for o in out), [201] + [422] * 15, "checkouts with one coupon")
    for o in out:
        if o.status != 201:
            expect_error(o, 422, "coupon_not_applicable", "coupon_code")
    eq(len(orders(ctx, member_id=mid)) - before, 1, "orders with the coupon")
    eq(qty(ctx, store, p["sku"]), 99, "stock after the coupon race")
    eq(coupon(ctx, cp["code"])["status"], "used", "the coupon")
    patron_check(ctx)
