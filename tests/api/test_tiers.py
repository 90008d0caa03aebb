"""Tiers: CRUD with validation and conflicts; a member's tier at registration and its history.
Also: without --test-clock the /_test routes do not exist."""

import threading

from harness import (API, Client, Group, bad_list_params, check, check_time, eq, expect,
                     expect_error, walk_by_one)
from test_points import full, key_for

group = Group("points_tiers")

T = f"{API}/tiers"
M = f"{API}/members"
TIER_KEYS = {"id", "name", "rank", "threshold", "basis", "discount_bp", "points_multiplier_bp",
             "created_at", "updated_at"}
HISTORY_KEYS = {"from_tier_id", "to_tier_id", "reason", "created_at"}


def tiers(ctx, client=None):
    return ctx.walk(T, client=client or full(ctx))


def check_tier(t, want=None):
    check(isinstance(t, dict) and TIER_KEYS <= set(t),
          f"tier lacks {sorted(TIER_KEYS - set(t)) if isinstance(t, dict) else t}: {t}")
    check(isinstance(t["id"], int) and 0 < t["id"] < 2**53, f"tier id {t['id']!r}")
    check_time(t["created_at"], "tier created_at")
    check_time(t["updated_at"], "tier updated_at")
    for k, v in (want or {}).items():
        eq(t[k], v, f"tier.{k}")


def new_tier(ctx, **fields):
    body = {"name": f"等级{ctx.uniq()}", "rank": ctx.uniq() + 100, "threshold": 100000}
    body.update(fields)
    t = expect(full(ctx).post(T, body), 201)
    check_tier(t, body)
    return t


def history(ctx, mid, client=None):
    items = ctx.walk(f"{M}/{mid}/tier-history", client=client or full(ctx))
    for h in items:
        check(isinstance(h, dict) and HISTORY_KEYS <= set(h), f"tier-history item: {h}")
        check_time(h["created_at"], "tier-history created_at")
    return items


def tier_refusals():
    """(label, change, field) — each breaks one rule; `...` removes the field."""
    return [
        ("name empty", {"name": ""}, "name"),
        ("name 33 chars", {"name": "n" * 33}, "name"),
        ("name 33 Chinese chars", {"name": "金" * 33}, "name"),
        ("name a number", {"name": 5}, "name"),
        ("name null", {"name": None}, "name"),
        ("name missing", {"name": ...}, "name"),
        ("rank -1", {"rank": -1}, "rank"),
        ("rank 1001", {"rank": 1001}, "rank"),
        ("rank a string", {"rank": "1"}, "rank"),
        ("rank a float", {"rank": 1.5}, "rank"),
        ("rank null", {"rank": None}, "rank"),
        ("rank missing", {"rank": ...}, "rank"),
        ("threshold -1", {"threshold": -1}, "threshold"),
        ("threshold 1e12+1", {"threshold": 10**12 + 1}, "threshold"),
        ("threshold a string", {"threshold": "0"}, "threshold"),
        ("threshold a float", {"threshold": 0.5}, "threshold"),
        ("threshold missing", {"threshold": ...}, "threshold"),
        ("basis monthly", {"basis": "monthly"}, "basis"),
        ("basis empty", {"basis": ""}, "basis"),
        ("basis a number", {"basis": 1}, "basis"),
        ("discount_bp -1", {"discount_bp": -1}, "discount_bp"),
        ("discount_bp 10001", {"discount_bp": 10001}, "discount_bp"),
        ("discount_bp a string", {"discount_bp": "9500"}, "discount_bp"),
        ("points_multiplier_bp -1", {"points_multiplier_bp": -1}, "points_multiplier_bp"),
        ("points_multiplier_bp 100001", {"points_multiplier_bp": 100001}, "points_multiplier_bp"),
        ("unknown field", {"level": 1}, "level"),
        ("id given", {"id": 1}, "id"),
    ]


@group.test
def no_tier_without_tiers(ctx):
    eq(tiers(ctx), [], "tiers of a new database")
    m = ctx.new_member(client=full(ctx))
    eq(m["tier"], None, "tier of a member when there are no tiers")
    eq(history(ctx, m["id"]), [], "tier history")


@group.test
def test_routes_absent_without_flag(ctx):
    for method, path, body in [("GET", f"{API}/_test/clock", None),
                               ("PUT", f"{API}/_test/clock", {"now": "2030-01-01T00:00:00Z"}),
                               ("POST", f"{API}/_test/jobs/expire", None),
                               ("POST", f"{API}/_test/jobs/tiers", None)]:
        with ctx.case(f"{method} {path}"):
            kw = {} if body is None else {"body": body}
            expect_error(full(ctx).request(method, path, **kw), 404, "not_found")
            expect_error(ctx.anon.request(method, path, **kw), 404, "not_found")


@group.test
def crud(ctx):
    api = full(ctx)
    t = expect(api.post(T, {"name": "银卡", "rank": 10, "threshold": 100000}), 201)
    check_tier(t, {"name": "银卡", "rank": 10, "threshold": 100000, "basis": "lifetime",
                   "discount_bp": 10000, "points_multiplier_bp": 10000})
    g = expect(api.post(T, {"name": "金卡", "rank": 20, "threshold": 500000,
                            "basis": "rolling_12m", "discount_bp": 9500,
                            "points_multiplier_bp": 15000}), 201)
    check_tier(g, {"name": "金卡", "rank": 20, "threshold": 500000, "basis": "rolling_12m",
                   "discount_bp": 9500, "points_multiplier_bp": 15000})
    with ctx.case("inclusive limits"):
        lo = expect(api.post(T, {"name": "金" * 32, "rank": 0, "threshold": 0, "discount_bp": 0,
                                 "points_multiplier_bp": 0}), 201)
        check_tier(lo, {"name": "金" * 32, "rank": 0, "threshold": 0, "discount_bp": 0,
                        "points_multiplier_bp": 0})
        hi = expect(api.post(T, {"name": "黑钻", "rank": 1000, "threshold": 10**12,
                                 "discount_bp": 10000, "points_multiplier_bp": 100000}), 201)
        check_tier(hi, {"rank": 1000, "threshold": 10**12, "points_multiplier_bp": 100000})
    listed = tiers(ctx)
    with ctx.case("limit and cursor"):
        eq(walk_by_one(api, T), listed, "tiers one a page")
        bad_list_params(api, T)
    ranks = [x["rank"] for x in listed]
    eq(ranks, sorted(ranks), "the list is ordered by rank")
    with ctx.case("pages of 1"):
        eq(ctx.walk(T, limit=1, client=api), listed, "tiers by pages of 1")
    by_id = {x["id"]: x for x in listed}
    eq(by_id[t["id"]], t, "silver in the list")
    eq(by_id[g["id"]], g, "gold in the list")

    before = tiers(ctx)
    for label, change, field in tier_refusals():
        with ctx.case(f"POST {label}"):
            body = {"name": f"校验{ctx.uniq()}", "rank": 500, "threshold": 0}
            for k, v in change.items():
                if v is ...:
                    body.pop(k)
                else:
                    body[k] = v
            expect_error(api.post(T, body), 400, "invalid_argument", field)
    with ctx.case("POST a taken name"):
        expect_error(api.post(T, {"name": "银卡", "rank": 501, "threshold": 0}), 409, "conflict",
                     "name")
    with ctx.case("POST a taken rank"):
        expect_error(api.post(T, {"name": "新等级", "rank": 10, "threshold": 0}), 409, "conflict",
                     "rank")
    eq(tiers(ctx), before, "tiers after refused POSTs")

    p = expect(api.patch(f"{T}/{t['id']}", {"name": "白银", "threshold": 120000,
                                            "discount_bp": 9800}), 200)
    check_tier(p, {"id": t["id"], "name": "白银", "rank": 10, "threshold": 120000,
                   "discount_bp": 9800, "basis": "lifetime", "points_multiplier_bp": 10000,
                   "created_at": t["created_at"]})
    check(p["updated_at"] >= t["updated_at"], "updated_at went back")
    with ctx.case("PATCH every field"):
        p2 = expect(api.patch(f"{T}/{t['id']}", {"rank": 11, "basis": "rolling_12m",
                                                 "points_multiplier_bp": 12000}), 200)
        check_tier(p2, {"rank": 11, "basis": "rolling_12m", "points_multiplier_bp": 12000,
                        "name": "白银"})
        p = p2
    with ctx.case("PATCH to its own name and rank"):
        p = expect(api.patch(f"{T}/{t['id']}", {"name": p["name"], "rank": p["rank"]}), 200)
    current = {x["id"]: x for x in tiers(ctx)}
    eq(current[t["id"]], p, "silver after PATCH")
    before = tiers(ctx)
    for label, change, field in tier_refusals():
        if ... in change.values():
            continue
        with ctx.case(f"PATCH {label}"):
            expect_error(api.patch(f"{T}/{t['id']}", change), 400, "invalid_argument", field)
    with ctx.case("PATCH to a taken name"):
        expect_error(api.patch(f"{T}/{t['id']}", {"name": "金卡"}), 409, "conflict", "name")
    with ctx.case("PATCH to a taken rank"):
        expect_error(api.patch(f"{T}/{t['id']}", {"rank": 20}), 409, "conflict", "rank")
    with ctx.case("a refused PATCH changes no field"):
        expect_error(api.patch(f"{T}/{t['id']}", {"threshold": 1, "rank": -1}), 400,
                     "invalid_argument", "rank")
        expect_error(api.patch(f"{T}/{t['id']}", {"threshold": 1, "name": "金卡"}), 409,
                     "conflict", "name")
    with ctx.case("unknown tier"):
        expect_error(api.patch(f"{T}/999999", {"name": "x"}), 404, "not_found")
        expect_error(api.delete(f"{T}/999999"), 404, "not_found")
    eq(tiers(ctx), before, "tiers after refused PATCHes")

    r = api.delete(f"{T}/{g['id']}")
    expect(r, 204)
    eq(r.body, b"", "204 body")
    check(g["id"] not in [x["id"] for x in tiers(ctx)], "a deleted tier is listed")
    expect_error(api.delete(f"{T}/{g['id']}"), 404, "not_found")
    expect_error(api.patch(f"{T}/{g['id']}", {"name": "x"}), 404, "not_found")
    with ctx.case("a deleted tier's name and rank are free again"):
        again = expect(api.post(T, {"name": "金卡", "rank": 20, "threshold": 1}), 201)
        check(again["id"] != g["id"], "a deleted tier's id was reused")


@group.test
def permissions(ctx):
    reader, _ = key_for(ctx)  # default scopes include tiers.read
    nobody, _ = key_for(ctx, ["members.read"])
    before = tiers(ctx)
    eq(tiers(ctx, client=reader), before, "GET with tiers.read")
    expect_error(nobody.get(T), 403, "permission_denied")
    expect_error(ctx.anon.get(T), 401, "unauthenticated")
    some = before[0]["id"] if before else 1
    for method, path, body in [("POST", T, {"name": "越权", "rank": 900, "threshold": 0}),
                               ("PATCH", f"{T}/{some}", {"name": "越权"}),
                               ("DELETE", f"{T}/{some}", None)]:
        with ctx.case(f"{method} with tiers.read only"):
            kw = {} if body is None else {"body": body}
            expect_error(reader.request(method, path, **kw), 403, "permission_denied")
    writer, _ = key_for(ctx, ["tiers.write", "tiers.read"])
    with ctx.case("tiers.write may POST and DELETE"):
        t = expect(writer.post(T, {"name": "临时", "rank": 901, "threshold": 0}), 201)
        expect(writer.delete(f"{T}/{t['id']}"), 204)
    eq(tiers(ctx), before, "tiers at the end")


@group.test
def member_tier_at_registration(ctx):
    api = full(ctx)
    for t in tiers(ctx):  # start from no tiers
        expect(api.delete(f"{T}/{t['id']}"), 204)
    basic = new_tier(ctx, name="普通", rank=1, threshold=0)
    member_tier = new_tier(ctx, name="会员", rank=5, threshold=0)
    gold = new_tier(ctx, name="黄金", rank=9, threshold=100000)
    m = ctx.new_member(client=api)
    eq(m["tier"], {"id": member_tier["id"], "name": "会员"},
       "tier at registration (the highest-ranked with threshold 0)")
    eq(expect(api.get(f"{M}/{m['id']}"), 200)["tier"], m["tier"], "tier read back")
    h = history(ctx, m["id"])
    eq(len(h), 1, f"tier history: {h}")
    eq((h[0]["from_tier_id"], h[0]["to_tier_id"], h[0]["reason"]),
       (None, member_tier["id"], "register"), "the register entry")
    with ctx.case("history with a default key"):
        reader, _ = key_for(ctx)
        eq(ctx.walk(f"{M}/{m['id']}/tier-history", client=reader), h, "history")
    with ctx.case("history of an unknown member"):
        expect_error(api.get(f"{M}/999999/tier-history"), 404, "not_found")
    with ctx.case("search by tier_id"):
        ids = [x["id"] for x in ctx.walk(M, {"tier_id": member_tier["id"]}, client=api)]
        eq(ids, [m["id"]], "members of the tier")
        eq(ctx.walk(M, {"tier_id": gold["id"]}, client=api), [], "members of gold")

    before = tiers(ctx)
    with ctx.case("DELETE a held tier"):
        expect_error(api.delete(f"{T}/{member_tier['id']}"), 409, "conflict")
    eq(tiers(ctx), before, "tiers after a refused DELETE")
    eq(expect(api.get(f"{M}/{m['id']}"), 200)["tier"], m["tier"], "member after refused DELETE")
    with ctx.case("a renamed tier shows its new name on the member"):
        expect(api.patch(f"{T}/{member_tier['id']}", {"name": "普卡会员"}), 200)
        eq(expect(api.get(f"{M}/{m['id']}"), 200)["tier"],
           {"id": member_tier["id"], "name": "普卡会员"}, "member tier after rename")
    expect(api.delete(f"{T}/{gold['id']}"), 204)
    with ctx.case("a tier held by nobody can go"):
        expect(api.delete(f"{T}/{basic['id']}"), 204)
    with ctx.case("no threshold-0 tier: no tier at registration"):
        expect(api.patch(f"{T}/{member_tier['id']}", {"threshold": 1}), 200)
        new_tier(ctx, name="门槛", rank=50, threshold=1)
        m2 = ctx.new_member(client=api)
        eq(m2["tier"], None, "tier")
        eq(history(ctx, m2["id"]), [], "history")


@group.test
def review_moves_down(ctx):
    """A tier whose threshold rises above a member's spend: the member keeps it until the
    review (`patron jobs tiers`), which moves them down to the tier their spend qualifies for."""
    api = full(ctx)
    for t in tiers(ctx):
        r = api.delete(f"{T}/{t['id']}")
        check(r.status in (204, 409), f"DELETE a tier: {r}")
    base_rank = 700
    low = new_tier(ctx, name="复核低", rank=base_rank, threshold=0)
    high = new_tier(ctx, name="复核高", rank=base_rank + 1, threshold=0)
    m = ctx.new_member(client=api)
    eq(m["tier"], {"id": high["id"], "name": "复核高"}, "tier at registration")
    expect(api.patch(f"{T}/{high['id']}", {"threshold": 50000}), 200)
    eq(expect(api.get(f"{M}/{m['id']}"), 200)["tier"]["id"], high["id"],
       "no move down before the review")
    n = ctx.new_member(client=api)
    eq(n["tier"], {"id": low["id"], "name": "复核低"}, "a new member's tier")
    r = ctx.inst.cli("jobs", "tiers")
    eq(r.returncode, 0, f"patron jobs tiers: {(r.stdout + r.stderr)[-500:]}")
    eq(expect(api.get(f"{M}/{m['id']}"), 200)["tier"], {"id": low["id"], "name": "复核低"},
       "tier after the review")
    h = history(ctx, m["id"])
    order = lambda x: (x[0] or 0, x[1] or 0, x[2])  # noqa: E731
    eq(sorted(((x["from_tier_id"], x["to_tier_id"], x["reason"]) for x in h), key=order),
       sorted([(None, high["id"], "register"), (high["id"], low["id"], "review")], key=order),
       "tier history after the review")
    eq(len(history(ctx, n["id"])), 1, "the new member's history (no change)")
    r = ctx.inst.cli("jobs", "tiers")
    eq(r.returncode, 0, "a second review")
    eq(len(history(ctx, m["id"])), 2, "history after a second review")
    with ctx.case("the tier now held by nobody can go"):
        expect(api.delete(f"{T}/{high['id']}"), 204)


@group.test
def review_covers_every_page(ctx):
    """The review reads members 500 at a time and writes only those who move: members on
    every page move down, and a member already in the right tier is not written again."""
    api = full(ctx)
    for t in tiers(ctx):
        r = api.delete(f"{T}/{t['id']}")
        check(r.status in (204, 409), f"DELETE a tier: {r}")
    low = new_tier(ctx, name="分页低", rank=950, threshold=0)
    high = new_tier(ctx, name="分页高", rank=951, threshold=0)
    moving = [ctx.new_member(client=api)["id"] for _ in range(1100)]
    expect(api.patch(f"{T}/{high['id']}", {"threshold": 50000}), 200)
    staying = ctx.new_member(client=api)
    eq(staying["tier"]["id"], low["id"], "a new member's tier")
    r = ctx.inst.cli("jobs", "tiers")
    eq(r.returncode, 0, f"patron jobs tiers: {(r.stdout + r.stderr)[-500:]}")
    in_low = {m["id"] for m in ctx.walk(M, {"tier_id": low["id"]}, client=api)}
    eq([i for i in moving if i not in in_low], [], "members the review did not move down")
    eq(ctx.walk(M, {"tier_id": high["id"]}, client=api), [], "members left in the high tier")
    eq(len(history(ctx, moving[-1])), 2, "the last member's history")
    eq(len(history(ctx, staying["id"])), 1, "the staying member's history (no change)")


@group.test
def concurrent_creates(ctx):
    """Racing POSTs of one name (or one rank): one 201, the rest 409 on that field, never 500."""
    api = full(ctx)
    n = 16
    for field in ["name", "rank"]:
        with ctx.case(field):
            before = tiers(ctx)
            u = ctx.uniq()
            bodies = [{"name": f"并发{u}" if field == "name" else f"并发{u}-{i}",
                       "rank": 800 + i if field == "name" else 850,
                       "threshold": 1} for i in range(n)]
            barrier = threading.Barrier(n)
            out = [None] * n

            def go(i):
                c = Client(ctx.port, token=api.token)
                try:
                    barrier.wait(60)
                    out[i] = c.post(T, bodies[i])
                finally:
                    c.close()

            ts = [threading.Thread(target=go, args=(i,), daemon=True) for i in range(n)]
            for t in ts:
                t.start()
            for t in ts:
                t.join(60)
            made = [o for o in out if o is not None and o.status == 201]
            eq(len(made), 1, f"created: {[o.status if o else None for o in out]}")
            for o in out:
                if o is not made[0]:
                    expect_error(o, 409, "conflict", field)
            eq(len(tiers(ctx)), len(before) + 1, "tiers afterwards")
            expect(api.delete(f"{T}/{made[0].json['id']}"), 204)


restart_group = Group("tiers_restart", server=False)


@restart_group.test
def daily_review_once_a_day_across_restarts(ctx):
    """serve reviews tiers at start when today's review has not run, and remembers the day in
    the database: a restart the same day does not review every member again."""
    import time
    from harness import start_instance
    inst = start_instance(ctx.cfg, "tiers-restart")
    try:
        def reviews():
            return inst.log_text().count("job=tiers")
        deadline = time.monotonic() + 30
        while reviews() < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        eq(reviews(), 1, "reviews after the first start")
        inst.stop()
        inst.start()
        # The jobs thread runs every due job at once after start, expiry first.
        deadline = time.monotonic() + 30
        while inst.log_text().count("job=expire") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        eq(inst.log_text().count("job=expire"), 2, "expiry runs after the restart")
        eq(reviews(), 1, "reviews after a restart the same day")
        r = inst.cli("jobs", "tiers")
        eq(r.returncode, 0, f"patron jobs tiers: {r.stdout}{r.stderr}")
        inst.stop()
    finally:
        inst.cleanup()
