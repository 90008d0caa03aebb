"""Points: settings, signup and referral bonuses, adjust with idempotency, the ledger, expiry
through the test clock (and the expiry job, `patron jobs expire`, `patron check`), reminders,
concurrent spending.

Shared helpers (clock, settings, adjust, expiry dates) are imported by test_model and test_tiers.
"""

import datetime
import itertools
import os
import sqlite3
import subprocess
import threading
import time
import zoneinfo

from harness import (ALL_SCOPES, ANY, API, POINTS_SCOPES, Client, Ctx, Group, check, check_time, eq,
                     expect, expect_error, fail, mask_phone, start_instance)

group = Group("points", serve_args=["--test-clock"])
expiry_group = Group("points_expiry", serve_args=["--test-clock"])

M = f"{API}/members"
SETTINGS = f"{API}/settings/points"
CLOCK = f"{API}/_test/clock"
EXPIRE_JOB = f"{API}/_test/jobs/expire"
REMINDERS = f"{API}/reminders/points-expiring"
UTC = datetime.timezone.utc

DEFAULTS = {
    "earn": {"per_amount": 100, "points": 1},
    "redeem": {"points": 100, "amount": 100, "max_ratio_bp": 5000},
    "expiry": {"mode": "none", "days": 365},
    "signup_bonus": 0,
    "referral": {"referrer_points": 0, "referee_points": 0, "on": "register"},
    "birthday": {"scope": "day", "multiplier_bp": 10000},
    "time_zone": "Asia/Shanghai",
}
ENTRY_KEYS = {"id", "kind", "points", "balance_after", "order_id", "reason", "expires_on",
              "created_at", "staff_id"}
KINDS = {"earn", "redeem", "expire", "adjust", "refund_clawback", "refund_return", "bonus_signup",
         "bonus_referral", "bonus_birthday", "lottery", "reward"}

_run = os.urandom(3).hex()
_keys = itertools.count(1)


# ---------------------------------------------------------------- helpers (shared)

def full(ctx):
    """A Bearer client with every permission, old and new (cached on the ctx)."""
    c = getattr(ctx, "_points_client", None)
    if c is None:
        c, _ = ctx.key(ALL_SCOPES + POINTS_SCOPES, name="points suite")  # before clock jumps
        ctx._points_client = c
    return c


def key_for(ctx, scopes=None, name=None):
    """A new API key: with scopes, minted by the suite's key; with the default scopes (which
    may hold permissions of later issues), by a fresh owner session."""
    return ctx.key(scopes, name=name, via=full(ctx) if scopes is not None else owner(ctx))


def owner(ctx):
    """A fresh owner session (with its CSRF token), valid at the clock's current time."""
    return ctx.login()


def merged(base, change):
    out = {}
    for k, v in base.items():
        out[k] = dict(v) if isinstance(v, dict) else v
    for k, v in change.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k].update(v)
        else:
            out[k] = v
    return out


def get_settings(ctx):
    return expect(full(ctx).get(SETTINGS), 200)


def put_settings(ctx, change):
    """PUTs a change; checks the answer is the whole merged object and GET agrees."""
    before = get_settings(ctx)
    got = expect(full(ctx).put(SETTINGS, change), 200)
    eq(got, merged(before, change), f"PUT {change} answer")
    eq(get_settings(ctx), got, f"GET after PUT {change}")
    return got


def expiry_rule(ctx, mode, days=None, tz=None):
    change = {"expiry": {"mode": mode}}
    if days is not None:
        change["expiry"]["days"] = days
    if tz is not None:
        change["time_zone"] = tz
    return put_settings(ctx, change)


def iso(dt):
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def set_clock(ctx, when):
    """Pins the server's clock (a datetime or RFC 3339 text); None returns to real time."""
    if isinstance(when, datetime.datetime):
        when = iso(when)
    r = ctx.anon.put(CLOCK, {"now": when})
    body = expect(r, 200)
    check(isinstance(body, dict) and "now" in body, f"clock answer: {r}")
    check_time(body["now"], "clock now")
    if when is not None and "." not in when:
        eq(utc(body["now"]), utc(when), "the clock's now")
    return body


def local_date(when, tz="Asia/Shanghai"):
    return when.astimezone(zoneinfo.ZoneInfo(tz)).date()


def expiry_date(mode, days, when, tz="Asia/Shanghai"):
    """The brief's rule: the date a lot credited at `when` expires on (None: never)."""
    d = local_date(when, tz)
    if mode == "rolling":
        return d + datetime.timedelta(days=days)
    if mode == "year_end":
        return datetime.date(d.year + 1, 12, 31)
    return None


def end_of(day, tz="Asia/Shanghai"):
    """The first instant after `day` (a lot expiring on `day` is gone from then on)."""
    nxt = day + datetime.timedelta(days=1)
    return datetime.datetime(nxt.year, nxt.month, nxt.day,
                             tzinfo=zoneinfo.ZoneInfo(tz)).astimezone(UTC)


def new_key():
    return f"k-{_run}-{next(_keys)}"


def adjust(client, mid, points=None, reason="测试调整", key=..., body=None):
    """POST .../points/adjust; key=... makes a fresh Idempotency-Key, None sends none."""
    if body is None:
        body = {"points": points, "reason": reason}
    if key is ...:
        key = new_key()
    return client.post(f"{M}/{mid}/points/adjust", body, headers={"Idempotency-Key": key})


def check_entry(e, want=None):
    check(isinstance(e, dict) and ENTRY_KEYS <= set(e), f"ledger entry lacks "
          f"{sorted(ENTRY_KEYS - set(e)) if isinstance(e, dict) else e}: {e}")
    check(isinstance(e["id"], int) and 0 < e["id"] < 2**53, f"entry id {e['id']!r}")
    check(e["kind"] in KINDS, f"entry kind {e['kind']!r}")
    check(isinstance(e["points"], int) and isinstance(e["balance_after"], int),
          f"entry points/balance_after not integers: {e}")
    check_time(e["created_at"], "entry created_at")
    for k, v in (want or {}).items():
        eq(e[k], v, f"entry.{k}")


def credit(ctx, mid, points, reason="测试入账", client=None):
    """A positive (or negative) adjustment that must succeed; returns the answer."""
    return expect(adjust(client or full(ctx), mid, points, reason), 201)


def member(ctx, mid, client=None):
    return expect((client or full(ctx)).get(f"{M}/{mid}"), 200)


def ledger(ctx, mid, limit=500, client=None):
    return ctx.walk(f"{M}/{mid}/ledger", limit=limit, client=client or full(ctx))


def expiring(*pairs):
    """points_expiring as the member shows it, from (points, date) pairs."""
    return [{"points": p, "expires_on": d.isoformat() if hasattr(d, "isoformat") else d}
            for p, d in pairs]


def check_points(ctx, mid, points, exp, what="member"):
    m = member(ctx, mid)
    eq(m["points"], points, f"{what} points")
    eq(m["points_expiring"], exp, f"{what} points_expiring")
    return m


def check_chain(entries, what="ledger"):
    """entries newest first: ids descending, balance_after consistent from the first entry."""
    ids = [e["id"] for e in entries]
    eq(ids, sorted(ids, reverse=True), f"{what} order (newest first)")
    eq(len(set(ids)), len(ids), f"{what} distinct ids")
    bal = 0
    for e in reversed(entries):
        bal += e["points"]
        eq(e["balance_after"], bal, f"{what} balance_after of entry {e['id']} ({e['kind']})")


def run_expire_job(ctx):
    body = expect(full(ctx).post(EXPIRE_JOB), 200)
    check(isinstance(body, dict) and set(body) >= {"expired_points", "members"},
          f"expire job answer: {body}")
    return body


def patron_check(ctx):
    r = ctx.inst.cli("check")
    out = (r.stdout + r.stderr).strip()
    if r.returncode != 0:
        fail(f"patron check exited {r.returncode}:\n{out[-3000:]}")
    check("check: all invariants hold" in out, f"patron check said: {out[-2000:]!r}")


def snapshot(ctx, mids):
    return {mid: (member(ctx, mid), ledger(ctx, mid)) for mid in mids}


def reset(ctx, clock=None):
    """Default settings; the clock pinned at `clock` (or real time)."""
    full(ctx)
    set_clock(ctx, clock)
    cur = get_settings(ctx)
    if cur != DEFAULTS:
        eq(expect(full(ctx).put(SETTINGS, DEFAULTS), 200), DEFAULTS, "settings reset")


# ---------------------------------------------------------------- settings

def settings_refusals():
    """(label, body, field): each breaks one rule of the brief."""
    cases = []
    for path, bad in [
            ("earn.per_amount", [0, -1, 10**9 + 1, "100", 1.5, None, True]),
            ("earn.points", [-1, 10**6 + 1, "1", 0.5]),
            ("redeem.points", [0, -100, 10**9 + 1]),
            ("redeem.amount", [-1, 10**9 + 1, "100"]),
            ("redeem.max_ratio_bp", [-1, 10001, 50.5]),
            ("expiry.mode", ["never", "", "ROLLING", "year-end", None, 1]),
            ("expiry.days", [0, -5, 3651, "30", 1.5, None]),
            ("signup_bonus", [-1, 10**9 + 1, "5", 2.5, None, [5]]),
            ("referral.referrer_points", [-1, 10**9 + 1, "10"]),
            ("referral.referee_points", [-1, 10**9 + 1, None]),
            ("referral.on", ["purchase", "", "REGISTER", None, 0]),
            ("birthday.scope", ["week", "", "Day", None]),
            ("birthday.multiplier_bp", [9999, 0, 1000001, -10000, "10000"]),
            ("time_zone", ["Mars/Olympus", "", "asia/shanghai", "Asia/Shanghai ", "Asia",
                           "zone.tab", "../../../etc/passwd", "/etc/localtime", "+08:00", 8,
                           None]),
    ]:
        top, _, sub = path.partition(".")
        for v in bad:
            body = {top: {sub: v}} if sub else {top: v}
            cases.append((f"{path}={v!r}", body, path))
    cases += [
        ("unknown top-level key", {"earn_rate": 1}, "earn_rate"),
        ("unknown key in earn", {"earn": {"rate": 1}}, "earn.rate"),
        ("unknown key in expiry", {"expiry": {"mode": "rolling", "day": 30}}, "expiry.day"),
        ("unknown key in referral", {"referral": {"bonus": 1}}, "referral.bonus"),
        ("earn not an object", {"earn": 5}, "earn"),
        ("expiry null", {"expiry": None}, "expiry"),
        ("referral a list", {"referral": []}, "referral"),
        ("birthday a string", {"birthday": "day"}, "birthday"),
        ("a valid change with a bad one", {"signup_bonus": 7, "earn": {"points": -1}},
         "earn.points"),
        ("a valid nested change with a bad one",
         {"expiry": {"mode": "year_end", "days": 0}}, "expiry.days"),
    ]
    return cases


@group.test
def settings_defaults_and_put(ctx):
    reset(ctx)
    eq(get_settings(ctx), DEFAULTS, "GET defaults")
    every = {
        "earn": {"per_amount": 1000, "points": 3},
        "redeem": {"points": 200, "amount": 150, "max_ratio_bp": 2500},
        "expiry": {"mode": "rolling", "days": 90},
        "signup_bonus": 88,
        "referral": {"referrer_points": 30, "referee_points": 20, "on": "first_purchase"},
        "birthday": {"scope": "month", "multiplier_bp": 20000},
        "time_zone": "America/New_York",
    }
    with ctx.case("PUT the full object"):
        eq(expect(full(ctx).put(SETTINGS, every), 200), every, "PUT full answer")
        eq(get_settings(ctx), every, "GET after a full PUT")
    with ctx.case("PUT parts: nested objects merge"):
        for change in [{"expiry": {"mode": "year_end"}}, {"expiry": {"days": 30}},
                       {"referral": {"on": "register"}}, {"earn": {"points": 2}},
                       {"signup_bonus": 0}, {"time_zone": "UTC"},
                       {"birthday": {"multiplier_bp": 15000}, "redeem": {"amount": 100}},
                       {"expiry": {"mode": "rolling", "days": 30}}]:
            put_settings(ctx, change)
    with ctx.case("PUT {} changes nothing"):
        before = get_settings(ctx)
        eq(expect(full(ctx).put(SETTINGS, {}), 200), before, "PUT {} answer")
        eq(get_settings(ctx), before, "GET after PUT {}")
    with ctx.case("inclusive limits"):
        for change in [
                {"earn": {"per_amount": 1, "points": 0}},
                {"earn": {"per_amount": 10**9, "points": 10**6}},
                {"redeem": {"points": 1, "amount": 0, "max_ratio_bp": 0}},
                {"redeem": {"points": 10**9, "amount": 10**9, "max_ratio_bp": 10000}},
                {"expiry": {"mode": "none", "days": 1}},
                {"expiry": {"mode": "rolling", "days": 3650}},
                {"signup_bonus": 10**9}, {"signup_bonus": 0},
                {"referral": {"referrer_points": 10**9, "referee_points": 0}},
                {"referral": {"referrer_points": 0, "referee_points": 10**9}},
                {"birthday": {"scope": "day", "multiplier_bp": 10000}},
                {"birthday": {"scope": "month", "multiplier_bp": 1000000}},
                {"time_zone": "Asia/Shanghai"}, {"time_zone": "Europe/London"},
                {"time_zone": "Asia/Tokyo"}]:
            put_settings(ctx, change)
    reset(ctx)


@group.test
def settings_validation(ctx):
    reset(ctx)
    start = put_settings(ctx, {"signup_bonus": 5, "expiry": {"mode": "rolling", "days": 60}})
    for label, body, field in settings_refusals():
        with ctx.case(label):
            expect_error(full(ctx).put(SETTINGS, body), 400, "invalid_argument", field)
            eq(get_settings(ctx), start, f"settings after refusing {label}")
    for label, raw in [("array body", b"[]"), ("not JSON", b"{earn:1}"), ("a number", b"5"),
                       ("null", b"null")]:
        with ctx.case(label):
            expect_error(full(ctx).put(SETTINGS, raw=raw), 400, "invalid_argument")
            eq(get_settings(ctx), start, f"settings after refusing {label}")
    with ctx.case("not JSON content type"):
        expect_error(full(ctx).put(SETTINGS, raw=b"signup_bonus=1", ctype="text/plain"), 415,
                     "unsupported_media_type")
        eq(get_settings(ctx), start, "settings after a 415")
    reset(ctx)


@group.test
def settings_permissions(ctx):
    reset(ctx)
    reader, _ = key_for(ctx, ["settings.read"])
    nobody, _ = key_for(ctx, ["members.read"])
    default, k = key_for(ctx)
    for s in ["points.read", "tiers.read", "settings.read"]:
        with ctx.case(f"default key scopes include {s}"):
            check(s in k["scopes"], f"default scopes {k['scopes']}")
    eq(expect(reader.get(SETTINGS), 200), DEFAULTS, "GET with settings.read")
    eq(expect(default.get(SETTINGS), 200), DEFAULTS, "GET with a default key")
    expect_error(nobody.get(SETTINGS), 403, "permission_denied")
    expect_error(reader.put(SETTINGS, {"signup_bonus": 9}), 403, "permission_denied")
    expect_error(default.put(SETTINGS, {"signup_bonus": 9}), 403, "permission_denied")
    expect_error(ctx.anon.get(SETTINGS), 401, "unauthenticated")
    expect_error(ctx.anon.put(SETTINGS, {"signup_bonus": 9}), 401, "unauthenticated")
    eq(get_settings(ctx), DEFAULTS, "settings after refused PUTs")
    with ctx.case("the owner's session (with CSRF) may PUT"):
        eq(expect(owner(ctx).put(SETTINGS, {"signup_bonus": 9}), 200)["signup_bonus"], 9,
           "signup_bonus")
    with ctx.case("owner session without CSRF token"):
        bare = ctx.client(cookie=owner(ctx).cookie)
        expect_error(bare.put(SETTINGS, {"signup_bonus": 10}), 403, "csrf_failed")
        eq(get_settings(ctx)["signup_bonus"], 9, "signup_bonus after a CSRF refusal")
    reset(ctx)


# ---------------------------------------------------------------- bonuses

@group.test
def signup_bonus(ctx):
    reset(ctx)
    with ctx.case("no bonus: no entry"):
        m = ctx.new_member(client=full(ctx))
        eq((m["points"], m["points_expiring"]), (0, []), "points of a new member")
        eq(ledger(ctx, m["id"]), [], "ledger without a signup bonus")
    put_settings(ctx, {"signup_bonus": 50})
    m = ctx.new_member(client=full(ctx))
    eq((m["points"], m["points_expiring"]), (50, []), "points in the create answer")
    check_points(ctx, m["id"], 50, [])
    entries = ledger(ctx, m["id"])
    eq(len(entries), 1, f"ledger entries: {entries}")
    check_entry(entries[0], {"kind": "bonus_signup", "points": 50, "balance_after": 50,
                             "expires_on": None, "order_id": None})
    with ctx.case("the signup bonus under a rolling expiry"):
        now = datetime.datetime(2031, 5, 20, 3, 0, tzinfo=UTC)
        set_clock(ctx, now)
        expiry_rule(ctx, "rolling", 30)
        m = ctx.new_member(client=full(ctx))
        exp = expiry_date("rolling", 30, now)
        eq(m["points_expiring"], expiring((50, exp)), "points_expiring in the create answer")
        e = ledger(ctx, m["id"])
        eq(len(e), 1, "entries")
        check_entry(e[0], {"kind": "bonus_signup", "points": 50, "expires_on": exp.isoformat()})
    reset(ctx)


def referral_entries(ctx, mid):
    return sorted((e["kind"], e["points"]) for e in ledger(ctx, mid))


@group.test
def referral_bonus(ctx):
    reset(ctx)
    put_settings(ctx, {"signup_bonus": 50,
                       "referral": {"referrer_points": 30, "referee_points": 20, "on": "register"}})
    a = ctx.new_member(client=full(ctx))
    eq(a["points"], 50, "referrer after signup")
    b = ctx.new_member(client=full(ctx), referral_code=a["referral_code"])
    eq(b["referrer_id"], a["id"], "referrer_id")
    eq(b["points"], 70, "referee points in the create answer")
    check_points(ctx, b["id"], 70, [], "referee")
    check_points(ctx, a["id"], 80, [], "referrer")
    eq(referral_entries(ctx, b["id"]), [("bonus_referral", 20), ("bonus_signup", 50)],
       "referee entries")
    eq(referral_entries(ctx, a["id"]), [("bonus_referral", 30), ("bonus_signup", 50)],
       "referrer entries")
    for mid in (a["id"], b["id"]):
        entries = ledger(ctx, mid)
        check_chain(entries, f"ledger of {mid}")
        for e in entries:
            check_entry(e, {"expires_on": None, "order_id": None})

    with ctx.case("on first_purchase: neither part at registration"):
        put_settings(ctx, {"referral": {"on": "first_purchase"}})
        c = ctx.new_member(client=full(ctx), referral_code=a["referral_code"])
        eq(c["points"], 50, "referee points (the signup bonus only)")
        eq(referral_entries(ctx, c["id"]), [("bonus_signup", 50)], "referee entries")
        check_points(ctx, a["id"], 80, [], "referrer (nothing until the first purchase)")
        eq(referral_entries(ctx, a["id"]), [("bonus_referral", 30), ("bonus_signup", 50)],
           "referrer entries")

    with ctx.case("a zero part writes no entry"):
        put_settings(ctx, {"signup_bonus": 0, "referral": {"on": "register", "referee_points": 0,
                                                           "referrer_points": 15}})
        d = ctx.new_member(client=full(ctx), referral_code=b["referral_code"])
        eq(d["points"], 0, "referee points")
        eq(ledger(ctx, d["id"]), [], "referee entries")
        check_points(ctx, b["id"], 85, [], "referrer")

    with ctx.case("unknown referral_code: 400, nothing written"):
        put_settings(ctx, {"signup_bonus": 50, "referral": {"referee_points": 20}})
        before = ctx.members()
        snap = snapshot(ctx, [a["id"], b["id"]])
        for code in ["NOSUCHCODE", a["referral_code"] + "X", "", 12345]:
            r = full(ctx).post(M, {"name": "无效推荐", "phone": ctx.phone(),
                                   "referral_code": code})
            expect_error(r, 400, "invalid_argument", "referral_code")
        eq(ctx.members(), before, "members after refused registrations")
        eq(snapshot(ctx, [a["id"], b["id"]]), snap, "referrers after refused registrations")
    reset(ctx)


# ---------------------------------------------------------------- adjust

def adjust_refusals():
    return [
        ("points 0", {"points": 0, "reason": "r"}, "points"),
        ("points 1e9+1", {"points": 10**9 + 1, "reason": "r"}, "points"),
        ("points -1e9-1", {"points": -10**9 - 1, "reason": "r"}, "points"),
        ("points a float", {"points": 1.5, "reason": "r"}, "points"),
        ("points a string", {"points": "10", "reason": "r"}, "points"),
        ("points null", {"points": None, "reason": "r"}, "points"),
        ("points true", {"points": True, "reason": "r"}, "points"),
        ("points huge", {"points": 2**63, "reason": "r"}, ANY),  # may fail in the JSON parser
        ("points missing", {"reason": "r"}, "points"),
        ("reason missing", {"points": 10}, "reason"),
        ("reason empty", {"points": 10, "reason": ""}, "reason"),
        ("reason null", {"points": 10, "reason": None}, "reason"),
        ("reason 201 chars", {"points": 10, "reason": "r" * 201}, "reason"),
        ("reason 201 Chinese chars", {"points": 10, "reason": "因" * 201}, "reason"),
        ("reason a number", {"points": 10, "reason": 5}, "reason"),
        ("unknown field", {"points": 10, "reason": "r", "store_id": 1}, "store_id"),
        ("kind given", {"points": 10, "reason": "r", "kind": "earn"}, "kind"),
    ]


@group.test
def adjust_basics(ctx):
    reset(ctx)
    api = full(ctx)
    m = ctx.new_member(client=api)
    mid = m["id"]
    r = adjust(api, mid, 100, "开业赠送")
    got = expect(r, 201)
    check(isinstance(got, dict) and set(got) >= {"entry", "points", "balance"}, f"answer: {r}")
    check_entry(got["entry"], {"kind": "adjust", "points": 100, "balance_after": 100,
                               "reason": "开业赠送", "expires_on": None, "order_id": None,
                               "staff_id": None})
    eq((got["points"], got["balance"]), (100, 100), "points, balance")
    with ctx.case("first answer has no Idempotent-Replayed: true"):
        check((r.header("Idempotent-Replayed") or "").lower() != "true",
              f"Idempotent-Replayed on a first answer: {r.header('Idempotent-Replayed')}")
    check_points(ctx, mid, 100, [])
    eq(ledger(ctx, mid), [got["entry"]], "ledger after one adjustment")

    got = expect(adjust(api, mid, -30, "扣减"), 201)
    check_entry(got["entry"], {"kind": "adjust", "points": -30, "balance_after": 70,
                               "reason": "扣减", "expires_on": None})
    eq((got["points"], got["balance"]), (70, 70), "after -30")
    with ctx.case("the longest reason, in Chinese"):
        got = expect(adjust(api, mid, 5, "因" * 200), 201)
        eq(got["entry"]["reason"], "因" * 200, "200-char reason")
    with ctx.case("the largest amounts"):
        big = ctx.new_member(client=api)
        eq(expect(adjust(api, big["id"], 10**9, "max"), 201)["points"], 10**9, "+1e9")
        eq(expect(adjust(api, big["id"], -10**9, "max"), 201)["points"], 0, "-1e9")
    got = expect(adjust(api, mid, -75, "清零"), 201)
    eq((got["points"], got["balance"]), (0, 0), "down to exactly 0")

    with ctx.case("the owner's session: staff_id is the user"):
        me = expect(owner(ctx).get(f"{API}/me"), 200)
        got = expect(adjust(owner(ctx), mid, 20, "店长调整"), 201)
        check_entry(got["entry"], {"staff_id": me["user"]["id"], "points": 20})
        expect(adjust(owner(ctx), mid, -20, "店长调整"), 201)

    snap = snapshot(ctx, [mid])
    with ctx.case("beyond spendable: 409 insufficient_points"):
        expect_error(adjust(api, mid, -1), 409, "insufficient_points", "points")
        expect(adjust(api, mid, 10), 201)
        expect_error(adjust(api, mid, -11), 409, "insufficient_points", "points")
        expect(adjust(api, mid, -10), 201)
        snap = snapshot(ctx, [mid])
    for label, body, field in adjust_refusals():
        with ctx.case(label):
            expect_error(adjust(api, mid, body=body), 400, "invalid_argument", field)
    for label, raw in [("not JSON", b"{points:1}"), ("array", b"[1]"), ("empty", b"")]:
        with ctx.case(label):
            r = api.post(f"{M}/{mid}/points/adjust", raw=raw,
                         headers={"Idempotency-Key": new_key()})
            expect_error(r, 400, "invalid_argument")
    with ctx.case("unknown member"):
        expect_error(adjust(api, 999999, 10), 404, "not_found")
        expect_error(api.get(f"{M}/999999/ledger"), 404, "not_found")
    for bad in ["0", "abc", "-1", "1.5"]:
        with ctx.case(f"member id {bad!r} in the path"):
            expect_error(adjust(api, bad, 10), 404, "not_found")
            expect_error(api.get(f"{M}/{bad}/ledger"), 404, "not_found")
    with ctx.case("methods not allowed"):
        for method, path in [("GET", f"{M}/{mid}/points/adjust"), ("POST", f"{M}/{mid}/ledger"),
                             ("DELETE", SETTINGS), ("POST", SETTINGS), ("POST", REMINDERS)]:
            r = api.request(method, path)
            expect_error(r, 405, "method_not_allowed")
            check(r.header("Allow"), f"405 without Allow: {r}")
    with ctx.case("erased member"):
        gone = ctx.new_member(client=api)
        expect(api.delete(f"{M}/{gone['id']}"), 204)
        expect_error(adjust(api, gone["id"], 10), 404, "not_found")
    eq(snapshot(ctx, [mid]), snap, "member and ledger after refused adjustments")
    reset(ctx)


@group.test
def adjust_permissions(ctx):
    reset(ctx)
    m = ctx.new_member(client=full(ctx))
    credit(ctx, m["id"], 50)
    snap = snapshot(ctx, [m["id"]])
    reader, _ = key_for(ctx, ["members.read", "members.write", "points.read"])
    default, _ = key_for(ctx)
    for label, c in [("points.read only", reader), ("default scopes", default)]:
        with ctx.case(label):
            expect_error(adjust(c, m["id"], 10), 403, "permission_denied")
            expect_error(adjust(c, m["id"], -10), 403, "permission_denied")
    with ctx.case("default key reads the ledger"):
        eq(ctx.walk(f"{M}/{m['id']}/ledger", client=default), snap[m["id"]][1], "ledger")
    with ctx.case("ledger without points.read"):
        nope, _ = key_for(ctx, ["members.read"])
        expect_error(nope.get(f"{M}/{m['id']}/ledger"), 403, "permission_denied")
    with ctx.case("no credentials"):
        expect_error(adjust(ctx.anon, m["id"], 10), 401, "unauthenticated")
    with ctx.case("owner session without CSRF"):
        bare = ctx.client(cookie=owner(ctx).cookie)
        expect_error(adjust(bare, m["id"], 10), 403, "csrf_failed")
    eq(snapshot(ctx, [m["id"]]), snap, "member and ledger after refused adjustments")
    with ctx.case("adjust only, no read scopes"):
        adj, _ = key_for(ctx, ["points.adjust"])
        eq(expect(adjust(adj, m["id"], 1), 201)["points"], 51, "adjust with points.adjust only")
        expect(adjust(adj, m["id"], -1), 201)
    reset(ctx)


@group.test
def idempotency_key_header(ctx):
    reset(ctx)
    api = full(ctx)
    mid = ctx.new_member(client=api)["id"]
    credit(ctx, mid, 10)
    snap = snapshot(ctx, [mid])
    for label, key in [("missing", None), ("empty", ""), ("256 chars", "k" * 256),
                       ("a tab inside", "a\tb"), ("a control char", "a\x01b"),
                       ("non-ASCII", "clé"), ("DEL", "a\x7fb")]:
        with ctx.case(f"Idempotency-Key {label}"):
            r = adjust(api, mid, 5, key=key)
            expect_error(r, 400, "invalid_argument", "Idempotency-Key")
    with ctx.case("missing key also on an otherwise bad body"):
        r = api.post(f"{M}/{mid}/points/adjust", {"points": 5, "reason": "r"})
        expect_error(r, 400, "invalid_argument", "Idempotency-Key")
    eq(snapshot(ctx, [mid]), snap, "after refused keys")
    for label, key in [("255 chars", "k" * 255 + _run), ("a space inside", f"a b {_run}"),
                       ("every printable char", "".join(chr(c) for c in range(0x21, 0x7f)) + _run)]:
        with ctx.case(f"Idempotency-Key {label}"):
            key = key[-255:]
            first = expect(adjust(api, mid, 1, key=key), 201)
            r = adjust(api, mid, 1, key=key)
            eq(expect(r, 201), first, "replay")
            eq(r.header("Idempotent-Replayed"), "true", "Idempotent-Replayed")
    reset(ctx)


@group.test
def idempotency_replay_and_reuse(ctx):
    reset(ctx)
    api = full(ctx)
    mid = ctx.new_member(client=api)["id"]
    other = ctx.new_member(client=api)["id"]
    key = new_key()
    body = {"points": 10, "reason": "幂等"}
    r1 = adjust(api, mid, body=body, key=key)
    first = expect(r1, 201)
    entries = ledger(ctx, mid)
    eq(len(entries), 1, "entries after the first request")

    def replay_of(r, orig, what):
        eq(r.status, orig.status, f"{what}: status")
        eq(r.json, orig.json, f"{what}: body")
        eq(r.header("Idempotent-Replayed"), "true", f"{what}: Idempotent-Replayed")

    r2 = adjust(api, mid, body=body, key=key)
    replay_of(r2, r1, "replay")
    with ctx.case("replay is byte-identical"):
        eq(r2.body, r1.body, "replayed body bytes")
    eq(ledger(ctx, mid), entries, "ledger after a replay")
    credit(ctx, mid, 5)
    replay_of(adjust(api, mid, body=body, key=key), r1, "replay after the balance changed")
    check_points(ctx, mid, 15, [])
    snap = snapshot(ctx, [mid, other])

    for label, b, path_mid in [("different points", {"points": 11, "reason": "幂等"}, mid),
                               ("different reason", {"points": 10, "reason": "幂等!"}, mid),
                               ("negative", {"points": -10, "reason": "幂等"}, mid),
                               ("another member", body, other)]:
        with ctx.case(f"reuse: {label}"):
            expect_error(adjust(api, path_mid, body=b, key=key), 422, "idempotency_key_reuse")
    eq(snapshot(ctx, [mid, other]), snap, "after refused reuses")
    eq(first["entry"]["points"], 10, "first entry")

    with ctx.case("keys are per caller"):
        api2, _ = key_for(ctx, ALL_SCOPES + POINTS_SCOPES, name="second caller")
        r = adjust(api2, mid, body=body, key=key)
        got = expect(r, 201)
        check((r.header("Idempotent-Replayed") or "").lower() != "true",
              "another caller's request was answered as a replay")
        check(got["entry"]["id"] != first["entry"]["id"], "another caller got the same entry")
        eq(got["points"], 25, "points after the second caller's request")
        r = adjust(owner(ctx), mid, body=body, key=key)
        eq(expect(r, 201)["points"], 35, "points after the owner's request with the same key")
        snap = snapshot(ctx, [mid, other])

    with ctx.case("a 409 is replayed as that 409"):
        poor = ctx.new_member(client=api)["id"]
        k = new_key()
        rr = adjust(api, poor, -50, key=k)
        expect_error(rr, 409, "insufficient_points", "points")
        credit(ctx, poor, 100)
        replay_of(adjust(api, poor, -50, key=k), rr, "replayed 409")
        check_points(ctx, poor, 100, [], "after a replayed 409")
        expect_error(adjust(api, poor, -49, key=k), 422, "idempotency_key_reuse")
    with ctx.case("a 400 is replayed as that 400"):
        k = new_key()
        rr = adjust(api, mid, body={"points": 0, "reason": "x"}, key=k)
        expect_error(rr, 400, "invalid_argument", "points")
        replay_of(adjust(api, mid, body={"points": 0, "reason": "x"}, key=k), rr, "replayed 400")
    with ctx.case("a 404 is replayed as that 404"):
        k = new_key()
        rr = adjust(api, 999999, 5, key=k)
        expect_error(rr, 404, "not_found")
        replay_of(adjust(api, 999999, 5, key=k), rr, "replayed 404")
    eq(snapshot(ctx, [mid, other]), snap, "after the replays")
    with ctx.case("keys are kept at least 24 hours (also through the expiry job)"):
        t0 = datetime.datetime(2033, 1, 1, 4, 0, tzinfo=UTC)
        set_clock(ctx, t0)
        k = new_key()
        rr = adjust(api, mid, 1, key=k)
        expect(rr, 201)
        set_clock(ctx, t0 + datetime.timedelta(hours=24))
        run_expire_job(ctx)
        replay_of(adjust(api, mid, 1, key=k), rr, "replay 24 hours later")
        set_clock(ctx, t0 + datetime.timedelta(hours=24, minutes=59))
        run_expire_job(ctx)
        replay_of(adjust(api, mid, 1, key=k), rr, "replay 24 h 59 min later")
    reset(ctx)


@group.test
def idempotency_in_progress(ctx):
    """Many identical requests with one key at once: one is done, the others are replays of
    it or 409 idempotency_in_progress, and exactly one entry is written per key."""
    reset(ctx)
    api = full(ctx)
    mid = ctx.new_member(client=api)["id"]
    threads = 24
    rounds = 6 if ctx.quick else 20
    seen_409 = seen_replay = 0
    clients = [Client(ctx.port, token=api.token) for _ in range(threads)]
    total = 0
    try:
        for rnd in range(rounds):
            key = new_key()
            body = {"points": rnd + 1, "reason": f"并发 {rnd}"}
            barrier = threading.Barrier(threads)
            out = [None] * threads

            def go(i):
                barrier.wait(60)
                out[i] = adjust(clients[i], mid, body=body, key=key)

            ts = [threading.Thread(target=go, args=(i,), daemon=True) for i in range(threads)]
            for t in ts:
                t.start()
            for t in ts:
                t.join(60)
            check(all(o is not None for o in out), "a racing request got no answer")
            originals = [o for o in out if o.status == 201
                         and (o.header("Idempotent-Replayed") or "").lower() != "true"]
            eq(len(originals), 1, f"round {rnd}: first (not replayed) answers "
               f"{[(o.status, o.header('Idempotent-Replayed')) for o in out]}")
            orig = originals[0]
            for o in out:
                if o is orig:
                    continue
                if o.status == 409:
                    expect_error(o, 409, "idempotency_in_progress")
                    seen_409 += 1
                else:
                    eq(o.status, 201, f"round {rnd}: status of a racing request: {o}")
                    eq(o.header("Idempotent-Replayed"), "true", "Idempotent-Replayed")
                    eq(o.json, orig.json, f"round {rnd}: replayed body")
                    seen_replay += 1
            total += rnd + 1
            entries = ledger(ctx, mid)
            eq(len(entries), rnd + 1, f"entries after round {rnd}")
            eq(entries[0]["balance_after"], total, f"balance after round {rnd}")
            if seen_409 and seen_replay and rnd >= 2:
                break
        # Once done, the key answers replays only.
        r = adjust(api, mid, body=body, key=key)
        eq(r.header("Idempotent-Replayed"), "true", "replay after the race")
    finally:
        for c in clients:
            c.close()
    print(f"    racing one key: {seen_409} answers were 409 idempotency_in_progress, "
          f"{seen_replay} replays")
    check_points(ctx, mid, total, [])
    with ctx.case("the first request held on a lock (PostgreSQL: the member's row; SQLite: "
                  "the database's write lock)"):
        total += in_progress_while_locked(ctx, mid)
        check_points(ctx, mid, total, [])
    reset(ctx)


class PostgresRowLock:
    """psql holds the member's row lock: the first adjust claims its key, then waits."""

    def __init__(self, ctx, mid):
        self.url = ctx.inst.db.url
        self.psql = subprocess.Popen(["psql", "-X", "-q", "-d", self.url],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.psql.stdin.write(f"BEGIN;\nSELECT id FROM members WHERE id = {mid} FOR UPDATE;\n"
                              "\\echo LOCKED\n")
        self.psql.stdin.flush()
        for line in self.psql.stdout:
            if "LOCKED" in line:
                break

    def someone_waits(self):
        q = subprocess.run(["psql", "-X", "-q", "-t", "-A", "-d", self.url, "-c",
                            "SELECT count(*) FROM pg_stat_activity WHERE "
                            "datname = current_database() AND wait_event_type = 'Lock'"],
                           capture_output=True, text=True, timeout=30)
        return q.stdout.strip() not in ("", "0")

    def release(self):
        try:
            self.psql.stdin.write("ROLLBACK;\n")
            self.psql.stdin.close()
        except OSError:
            pass
        self.psql.wait(30)


class SqliteWriteLock:
    """Another process holds SQLite's write lock: the first adjust waits for it."""

    def __init__(self, ctx, mid):
        self.db = sqlite3.connect(ctx.inst.db.url[len("sqlite:"):], timeout=10,
                                  isolation_level=None)
        self.db.execute("BEGIN IMMEDIATE")
        self.since = time.monotonic()

    def someone_waits(self):
        # Nothing shows a waiting writer from outside: half a second is long enough to be
        # queued behind the lock.
        return time.monotonic() - self.since > 0.5

    def release(self):
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")
        self.db.close()


def in_progress_while_locked(ctx, mid):
    """A first adjust waits on a lock held from outside the server; a repeat meanwhile must be
    409 idempotency_in_progress, the key with another body 422, and once the lock is gone the
    first is done once and replayed. Returns the points credited."""
    api = full(ctx)
    key = new_key()
    body = {"points": 7, "reason": "锁等待"}
    first = {}

    def go():
        c = Client(ctx.port, token=api.token)
        try:
            first["r"] = adjust(c, mid, body=body, key=key)
        finally:
            c.close()

    t = threading.Thread(target=go, daemon=True)
    lock = (PostgresRowLock if ctx.inst.db.kind == "postgres" else SqliteWriteLock)(ctx, mid)
    try:
        t.start()
        deadline = time.monotonic() + 20
        while not lock.someone_waits():
            check(time.monotonic() < deadline, "the first request never waited on the lock")
            time.sleep(0.05)
        check("r" not in first, f"the first request did not wait: {first.get('r')}")
        expect_error(adjust(api, mid, body=body, key=key), 409, "idempotency_in_progress")
        expect_error(adjust(api, mid, body={"points": 8, "reason": "锁等待"}, key=key), 422,
                     "idempotency_key_reuse")
        check("r" not in first, "the first request finished while the lock was held")
    finally:
        lock.release()
        t.join(30)
    got = expect(first["r"], 201)
    r = adjust(api, mid, body=body, key=key)
    eq(r.header("Idempotent-Replayed"), "true", "replay once the first is done")
    eq(expect(r, 201), got, "replayed body")
    return 7


@group.test
def concurrent_spending(ctx):
    """64 concurrent -100s (distinct keys) against 1,000 points: exactly 10 succeed."""
    reset(ctx)
    api = full(ctx)
    mid = ctx.new_member(client=api)["id"]
    credit(ctx, mid, 1000)
    n = 64
    barrier = threading.Barrier(n + 1)
    out = [None] * n
    low = []
    stop = threading.Event()

    def go(i):
        c = Client(ctx.port, token=api.token)
        try:
            barrier.wait(60)
            out[i] = adjust(c, mid, -100, f"并发扣减 {i}")
        finally:
            c.close()

    def watch():
        c = Client(ctx.port, token=api.token)
        barrier.wait(60)
        try:
            while not stop.is_set():
                p = member(ctx, mid, client=c)["points"]
                if p < 0:
                    low.append(p)
        finally:
            c.close()

    ts = [threading.Thread(target=go, args=(i,), daemon=True) for i in range(n)]
    w = threading.Thread(target=watch, daemon=True)
    for t in ts + [w]:
        t.start()
    for t in ts:
        t.join(120)
    stop.set()
    w.join(30)
    check(all(o is not None for o in out), "a request got no answer")
    ok = [o for o in out if o.status == 201]
    refused = [o for o in out if o.status != 201]
    for o in refused:
        expect_error(o, 409, "insufficient_points", "points")
    eq(len(ok), 10, "successful -100s")
    eq(len(refused), 54, "refused -100s")
    eq(sorted(o.json["points"] for o in ok), list(range(0, 1000, 100)),
       "points after each success")
    eq(low, [], "the balance seen below zero")
    check_points(ctx, mid, 0, [])
    entries = ledger(ctx, mid)
    eq(len(entries), 11, "entries")
    check_chain(entries)
    check(all(e["balance_after"] >= 0 for e in entries), "an entry with a negative balance")
    patron_check(ctx)
    reset(ctx)


@group.test
def concurrent_settings_puts(ctx):
    """Partial PUTs of different fields at once: every one of them is kept (no lost update)."""
    reset(ctx)
    api = full(ctx)
    fields = [("earn", "per_amount"), ("earn", "points"), ("redeem", "points"),
              ("redeem", "amount"), ("redeem", "max_ratio_bp"), ("expiry", "days"),
              ("signup_bonus", None), ("referral", "referrer_points"),
              ("referral", "referee_points"), ("birthday", "multiplier_bp")]
    rounds = 3 if ctx.quick else 10
    lost = []
    for rnd in range(rounds):
        changes = []
        for i, (top, sub) in enumerate(fields):
            value = 10000 + rnd * 100 + i if top == "birthday" else 1 + rnd * 100 + i
            changes.append({top: {sub: value}} if sub else {top: value})
        barrier = threading.Barrier(len(changes))
        out = [None] * len(changes)

        def go(i):
            c = Client(ctx.port, token=api.token)
            try:
                barrier.wait(60)
                out[i] = c.put(SETTINGS, changes[i])
            finally:
                c.close()

        ts = [threading.Thread(target=go, args=(i,), daemon=True) for i in range(len(changes))]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        for o in out:
            check(o is not None, "a PUT got no answer")
            expect(o, 200)
        got = get_settings(ctx)
        want = got
        for ch in changes:
            want = merged(want, ch)
        if got != want:
            lost.append(sorted(f"{k}.{kk}" if isinstance(v, dict) else k
                               for ch in changes for k, v in ch.items()
                               for kk in (v if isinstance(v, dict) else [None])
                               if (got[k][kk] if kk else got[k]) != (v[kk] if kk else v)))
    eq(lost, [], "changes lost by concurrent PUTs (per round)")
    reset(ctx)


@group.test
def concurrent_referrals(ctx):
    """Many registrations at once with one referral code: the referrer gets every bonus."""
    reset(ctx)
    api = full(ctx)
    put_settings(ctx, {"referral": {"referrer_points": 10, "referee_points": 3, "on": "register"}})
    a = ctx.new_member(client=api)
    n = 12 if ctx.quick else 32
    phones = [ctx.phone("135") for _ in range(n)]
    barrier = threading.Barrier(n)
    out = [None] * n

    def go(i):
        c = Client(ctx.port, token=api.token)
        try:
            barrier.wait(60)
            out[i] = c.post(M, {"name": f"推荐{i}", "phone": phones[i],
                                "referral_code": a["referral_code"]})
        finally:
            c.close()

    ts = [threading.Thread(target=go, args=(i,), daemon=True) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    for o in out:
        check(o is not None, "a registration got no answer")
        eq(expect(o, 201)["points"], 3, "referee points")
    check_points(ctx, a["id"], 10 * n, [], "referrer")
    entries = ledger(ctx, a["id"])
    eq(len(entries), n, "referrer entries")
    check_chain(entries, "referrer ledger")
    patron_check(ctx)
    reset(ctx)


@group.test
def erased_members(ctx):
    """An erased member: no reminders, no referrals by their code, no adjustments; the ledger
    stays consistent (`patron check`), also through the expiry job."""
    now = datetime.datetime(2032, 3, 1, 4, 0, tzinfo=UTC)
    reset(ctx, now)
    api = full(ctx)
    put_settings(ctx, {"expiry": {"mode": "rolling", "days": 5},
                       "referral": {"referrer_points": 10, "referee_points": 0}})
    e = ctx.new_member(client=api)
    keep = ctx.new_member(client=api)
    credit(ctx, e["id"], 50)
    credit(ctx, keep["id"], 60)
    within = {it["member_id"] for it in reminders(ctx, within_days=30).values()}
    check({e["id"], keep["id"]} <= within, f"both members expected in the reminders: {within}")
    expect(api.delete(f"{M}/{e['id']}"), 204)
    with ctx.case("no reminder for an erased member"):
        got = reminders(ctx, within_days=30)
        check(e["id"] not in got, f"erased member in the reminders: {got.get(e['id'])}")
        check(keep["id"] in got, "the other member is missing from the reminders")
    with ctx.case("the erased member's referral code"):
        r = api.post(M, {"name": "被擦除者推荐", "phone": ctx.phone(),
                         "referral_code": e["referral_code"]})
        expect_error(r, 400, "invalid_argument", "referral_code")
    with ctx.case("adjust an erased member"):
        expect_error(adjust(api, e["id"], 5), 404, "not_found")
        expect_error(adjust(api, e["id"], -5), 404, "not_found")
    patron_check(ctx)
    set_clock(ctx, now + datetime.timedelta(days=10))
    with ctx.case("the expiry job with an erased member"):
        got = run_expire_job(ctx)
        check(got["expired_points"] >= 60, f"job answer {got}")
        check_points(ctx, keep["id"], 0, [], "the kept member")
        again = run_expire_job(ctx)
        eq((again["expired_points"], again["members"]), (0, 0), "a second run")
    patron_check(ctx)
    reset(ctx)


# ---------------------------------------------------------------- ledger

@group.test
def ledger_pagination(ctx):
    reset(ctx)
    api = full(ctx)
    mid = ctx.new_member(client=api)["id"]
    made = []
    for i in range(1, 24):
        made.append(credit(ctx, mid, i if i % 3 else -1, f"第{i}笔")["entry"])
    whole = ledger(ctx, mid)
    eq([e["id"] for e in whole], [e["id"] for e in reversed(made)], "ledger ids, newest first")
    eq(whole, list(reversed(made)), "ledger entries as answered by adjust")
    check_chain(whole)
    for limit in [1, 5, 22, 23, 500]:
        with ctx.case(f"limit={limit}"):
            seen, cursor, pages = [], None, 0
            while True:
                p = {"limit": limit}
                if cursor:
                    p["cursor"] = cursor
                page = expect(api.get(f"{M}/{mid}/ledger", params=p), 200)
                check(set(page) >= {"items", "next_cursor"}, f"list envelope: {page}")
                check(len(page["items"]) <= limit, f"page longer than {limit}")
                seen += page["items"]
                pages += 1
                cursor = page["next_cursor"]
                if cursor is None:
                    break
                check(pages <= 40, "pagination does not end")
            eq(seen, whole, f"entries over pages of {limit}")
            eq(pages, -(-23 // limit), "number of pages")
    with ctx.case("entries written between pages"):
        page = expect(api.get(f"{M}/{mid}/ledger", params={"limit": 10}), 200)
        newer = credit(ctx, mid, 7)["entry"]
        seen = list(page["items"])
        cursor = page["next_cursor"]
        while cursor:
            page = expect(api.get(f"{M}/{mid}/ledger", params={"limit": 10, "cursor": cursor}),
                          200)
            seen += page["items"]
            cursor = page["next_cursor"]
        eq(seen, whole, "a walk begun before a new entry (the new one is not repeated)")
        eq(ledger(ctx, mid)[0], newer, "the new entry first afterwards")
    with ctx.case("default limit 50"):
        page = expect(api.get(f"{M}/{mid}/ledger"), 200)
        eq(len(page["items"]), 24, "entries on a default page")
    for bad in ["0", "501", "x", "-1"]:
        with ctx.case(f"limit={bad}"):
            expect_error(api.get(f"{M}/{mid}/ledger", params={"limit": bad}), 400,
                         "invalid_argument", "limit")
    with ctx.case("bad cursor"):
        expect_error(api.get(f"{M}/{mid}/ledger", params={"cursor": "not-a-cursor"}), 400,
                     "invalid_argument", "cursor")
    with ctx.case("ledgers are per member"):
        other = ctx.new_member(client=api)["id"]
        credit(ctx, other, 3)
        eq([e["points"] for e in ledger(ctx, other)], [3], "the other member's ledger")
    reset(ctx)


# ---------------------------------------------------------------- expiry (shared server)

@group.test
def spending_order(ctx):
    """Lots are spent soonest-expiring first, no-expiry last: seen through what expires later."""
    now = datetime.datetime(2031, 1, 10, 4, 0, tzinfo=UTC)
    reset(ctx, now)
    api = full(ctx)
    mid = ctx.new_member(client=api)["id"]
    expiry_rule(ctx, "rolling", 30)
    e30 = credit(ctx, mid, 100)["entry"]
    expiry_rule(ctx, "rolling", 10)
    e10 = credit(ctx, mid, 100)["entry"]
    expiry_rule(ctx, "none")
    enone = credit(ctx, mid, 100)["entry"]
    expiry_rule(ctx, "year_end")
    eyear = credit(ctx, mid, 100)["entry"]
    d10, d30 = datetime.date(2031, 1, 20), datetime.date(2031, 2, 9)
    eq([e30["expires_on"], e10["expires_on"], enone["expires_on"], eyear["expires_on"]],
       ["2031-02-09", "2031-01-20", None, "2032-12-31"], "expires_on of the four lots")
    check_points(ctx, mid, 400, expiring((100, d10), (100, d30), (100, "2032-12-31")))
    got = credit(ctx, mid, -150)
    check_entry(got["entry"], {"expires_on": None, "points": -150})
    eq(got["points"], 250, "points after -150")
    check_points(ctx, mid, 250, expiring((50, d30), (100, "2032-12-31")),
                 "after -150 (the 20 Jan lot first, then 9 Feb)")
    set_clock(ctx, end_of(d30) - datetime.timedelta(seconds=1))
    check_points(ctx, mid, 250, expiring((50, d30), (100, "2032-12-31")), "on 9 Feb, 23:59:59")
    set_clock(ctx, end_of(d30))
    check_points(ctx, mid, 200, expiring((100, "2032-12-31")), "on 10 Feb, 00:00:00")
    with ctx.case("expired points cannot be spent"):
        expect_error(adjust(api, mid, -201), 409, "insufficient_points", "points")
    got = credit(ctx, mid, -150)
    eq(got["points"], 50, "points after the second -150")
    check(got["balance"] in (50, 100), f"ledger balance {got['balance']} (50 once the job ran, "
          f"100 before)")
    check_points(ctx, mid, 50, [], "after the second -150 (the 2032 lot, then the undated)")
    expect_error(adjust(api, mid, -51), 409, "insufficient_points", "points")
    eq(credit(ctx, mid, -50)["points"], 0, "points at the end")
    run_expire_job(ctx)
    entries = ledger(ctx, mid)
    check_chain(entries)
    eq(sum(e["points"] for e in entries if e["kind"] == "expire"), -50, "expired in all")
    eq(entries[0]["balance_after"], 0, "ledger balance at the end")
    reset(ctx)


def reminder_oracle(ctx, today, within):
    """What the reminder list must hold, from every member's points_expiring."""
    last = today + datetime.timedelta(days=within)
    want = {}
    for m in ctx.walk(M, client=full(ctx)):
        hits = [x for x in m["points_expiring"]
                if today <= datetime.date.fromisoformat(x["expires_on"]) <= last]
        if hits:
            want[m["id"]] = {"member_id": m["id"], "name": m["name"], "phone": m["phone"],
                             "points": sum(x["points"] for x in hits),
                             "expires_on": min(x["expires_on"] for x in hits)}
    return want


def reminders(ctx, client=None, limit=500, **params):
    items = ctx.walk(REMINDERS, params, limit=limit, client=client or full(ctx))
    for it in items:
        check(set(it) >= {"member_id", "name", "phone", "points", "expires_on"},
              f"reminder item: {it}")
    ids = [it["member_id"] for it in items]
    eq(len(set(ids)), len(ids), "each member once")
    return {it["member_id"]: {k: it[k] for k in ("member_id", "name", "phone", "points",
                                                 "expires_on")} for it in items}


@group.test
def reminders_points_expiring(ctx):
    now = datetime.datetime(2030, 6, 1, 4, 0, tzinfo=UTC)  # 12:00 on 1 June in Shanghai
    reset(ctx, now)
    api = full(ctx)
    r = [ctx.new_member(client=api) for _ in range(6)]
    ids = [m["id"] for m in r]
    expiry_rule(ctx, "rolling", 1)
    credit(ctx, ids[0], 10)                   # 2030-06-02
    expiry_rule(ctx, "rolling", 30)
    credit(ctx, ids[0], 20)                   # 2030-07-01
    credit(ctx, ids[1], 5)                    # 2030-07-01
    expiry_rule(ctx, "rolling", 31)
    credit(ctx, ids[2], 7)                    # 2030-07-02
    expiry_rule(ctx, "rolling", 400)
    credit(ctx, ids[3], 9)
    expiry_rule(ctx, "none")
    credit(ctx, ids[4], 11)
    expiry_rule(ctx, "rolling", 5)
    credit(ctx, ids[5], 8)
    credit(ctx, ids[5], -8)                   # nothing left in its lot
    set_clock(ctx, datetime.datetime(2030, 6, 2, 10, 0, tzinfo=UTC))  # 18:00 on 2 June
    today = datetime.date(2030, 6, 2)

    def mine(got):
        return {k: (v["points"], v["expires_on"]) for k, v in got.items() if k in ids}

    for within, want in [
            (1, {ids[0]: (10, "2030-06-02")}),
            (29, {ids[0]: (30, "2030-06-02"), ids[1]: (5, "2030-07-01")}),
            (30, {ids[0]: (30, "2030-06-02"), ids[1]: (5, "2030-07-01"),
                  ids[2]: (7, "2030-07-02")}),
            (365, {ids[0]: (30, "2030-06-02"), ids[1]: (5, "2030-07-01"),
                   ids[2]: (7, "2030-07-02")})]:
        with ctx.case(f"within_days={within}"):
            got = reminders(ctx, within_days=within)
            eq(mine(got), want, f"my members within {within} days")
            eq(got, reminder_oracle(ctx, today, within), f"all members within {within} days")
    with ctx.case("default within_days is 30"):
        eq(reminders(ctx), reminders(ctx, within_days=30), "default vs 30")
    with ctx.case("pages of 1"):
        eq(reminders(ctx, limit=1, within_days=30), reminders(ctx, within_days=30), "pages of 1")
    set_clock(ctx, datetime.datetime(2030, 6, 2, 16, 0, tzinfo=UTC))  # 00:00 on 3 June
    today = datetime.date(2030, 6, 3)
    with ctx.case("a lot expired yesterday is no reminder"):
        got = reminders(ctx, within_days=1)
        eq(mine(got), {}, "my members within 1 day on 3 June")
        got = reminders(ctx, within_days=28)
        eq(mine(got), {ids[0]: (20, "2030-07-01"), ids[1]: (5, "2030-07-01")},
           "within 28 days on 3 June")
        eq(got, reminder_oracle(ctx, today, 28), "all members within 28 days")
    with ctx.case("phone masked without members.pii"):
        masked, _ = key_for(ctx, ["members.read", "points.read"])
        got = reminders(ctx, client=masked, within_days=30)
        for mid in (ids[0], ids[1], ids[2]):
            eq(got[mid]["phone"], mask_phone(r[ids.index(mid)]["phone"]), "masked phone")
        got = reminders(ctx, within_days=30)
        eq(got[ids[0]]["phone"], r[0]["phone"], "phone with members.pii")
        eq(got[ids[0]]["name"], r[0]["name"], "name")
    for bad in ["0", "366", "-1", "x", "1.5"]:
        with ctx.case(f"within_days={bad!r}"):
            expect_error(api.get(REMINDERS, params={"within_days": bad}), 400, "invalid_argument",
                         "within_days")
    with ctx.case("permission"):
        nope, _ = key_for(ctx, ["members.read"])
        expect_error(nope.get(REMINDERS), 403, "permission_denied")
        expect_error(ctx.anon.get(REMINDERS), 401, "unauthenticated")
    reset(ctx)


@group.test
def test_clock_route(ctx):
    reset(ctx)
    got = expect(ctx.anon.get(CLOCK), 200)
    check_time(got["now"], "real-time now")
    drift = abs((utc(got["now"]) - datetime.datetime.now(UTC)).total_seconds())
    check(drift < 120, f"the unpinned clock is {drift:.0f} s off real time")
    set_clock(ctx, "2029-03-04T05:06:07Z")
    eq(expect(ctx.anon.get(CLOCK), 200)["now"], "2029-03-04T05:06:07Z", "GET pinned clock")
    with ctx.case("an offset time"):
        got = set_clock(ctx, "2029-03-04T13:06:07+08:00")
        eq(utc(got["now"]), utc("2029-03-04T05:06:07Z"), "offset normalised to UTC")
    with ctx.case("the pinned time is the time of new records"):
        m = ctx.new_member(client=full(ctx))
        eq(utc(m["created_at"]), utc("2029-03-04T05:06:07Z"), "member created_at")
        e = credit(ctx, m["id"], 1)["entry"]
        eq(utc(e["created_at"]), utc("2029-03-04T05:06:07Z"), "entry created_at")
    for label, body in [("not a time", {"now": "tomorrow"}), ("a number", {"now": 5}),
                        ("no zone", {"now": "2029-03-04T05:06:07"}), ("missing", {}),
                        ("unknown field", {"now": None, "speed": 2})]:
        with ctx.case(f"bad clock body: {label}"):
            expect_error(ctx.anon.put(CLOCK, body), 400, "invalid_argument")
            eq(expect(ctx.anon.get(CLOCK), 200)["now"], "2029-03-04T05:06:07Z",
               "clock after a refused PUT")
    set_clock(ctx, None)
    got = expect(ctx.anon.get(CLOCK), 200)
    drift = abs((utc(got["now"]) - datetime.datetime.now(UTC)).total_seconds())
    check(drift < 120, f"after null the clock is {drift:.0f} s off real time")


# ---------------------------------------------------------------- expiry (own server)

def wait_background_jobs(seconds=2.0):
    """Gives serve's scheduler time to run a job a clock jump made due."""
    time.sleep(seconds)


@expiry_group.test
def expiry_job_runs_once_across_processes(ctx):
    """Lots that expired in the past (real time); two `patron jobs expire` and the HTTP job at
    once: every member gets exactly one expire entry, and `patron check` passes."""
    api = full(ctx)
    set_clock(ctx, "2024-06-01T04:00:00Z")
    expiry_rule(ctx, "year_end")
    mids, want = [], {}
    for i in range(8):
        mid = ctx.new_member(client=api)["id"]
        mids.append(mid)
        e = credit(ctx, mid, 100 + i)["entry"]
        eq(e["expires_on"], "2025-12-31", "expires_on of a lot credited in 2024")
        if i % 2:
            credit(ctx, mid, -(50 + i))
        want[mid] = 50 if i % 2 else 100 + i
    expiry_rule(ctx, "none")
    keeper = ctx.new_member(client=api)["id"]
    credit(ctx, keeper, 33)
    check_points(ctx, mids[0], 100, expiring((100, "2025-12-31")))
    set_clock(ctx, None)  # real time: the 2025 lots are gone
    for mid in mids:
        check_points(ctx, mid, 0, [], f"member {mid} in real time")
    check_points(ctx, keeper, 33, [], "the undated lot")

    results = {}

    def cli(i):
        results[f"cli{i}"] = ctx.inst.cli("jobs", "expire")

    def http():
        c = Client(ctx.port, token=api.token)
        try:
            results["http"] = c.post(EXPIRE_JOB)
        finally:
            c.close()

    ts = [threading.Thread(target=cli, args=(i,)) for i in range(2)]
    ts.append(threading.Thread(target=http))
    for t in ts:
        t.start()
    for t in ts:
        t.join(300)
    for i in range(2):
        r = results[f"cli{i}"]
        eq(r.returncode, 0, f"patron jobs expire exit status ({(r.stdout + r.stderr)[-500:]})")
    h = expect(results["http"], 200)
    check(0 <= h["expired_points"] <= sum(want.values()) and 0 <= h["members"] <= len(mids),
          f"HTTP job answer {h}")
    for mid in mids:
        entries = ledger(ctx, mid)
        exp = [e for e in entries if e["kind"] == "expire"]
        eq([e["points"] for e in exp], [-want[mid]], f"expire entries of member {mid}")
        eq(entries[0]["kind"], "expire", "the expire entry is the newest")
        eq(entries[0]["balance_after"], 0, "balance after expiry")
        check_chain(entries, f"ledger of {mid}")
    eq([e["kind"] for e in ledger(ctx, keeper)], ["adjust"], "the undated lot's ledger")
    again = run_expire_job(ctx)
    eq((again["expired_points"], again["members"]), (0, 0), "a second run")
    r = ctx.inst.cli("jobs", "expire")
    eq(r.returncode, 0, "a third run")
    for mid in mids:
        eq(sum(1 for e in ledger(ctx, mid) if e["kind"] == "expire"), 1,
           f"expire entries of {mid} after more runs")
    patron_check(ctx)


@expiry_group.test
def expiry_at_the_instant(ctx):
    """year_end in Asia/Shanghai: 23:30 on 31 Dec 2026 is a point of 2026 (expires 2027-12-31);
    gone at 00:00:00 on 1 Jan 2028 local, the job then writes the entry once."""
    api = full(ctx)
    set_clock(ctx, "2026-12-31T15:30:00Z")
    put_settings(ctx, {"expiry": {"mode": "year_end"}, "time_zone": "Asia/Shanghai",
                       "signup_bonus": 0})
    mid = ctx.new_member(client=api)["id"]
    e1 = credit(ctx, mid, 100)["entry"]
    eq(e1["expires_on"], "2027-12-31", "23:30 on 31 Dec 2026 local")
    check_points(ctx, mid, 100, expiring((100, "2027-12-31")))
    set_clock(ctx, "2026-12-31T16:30:00Z")
    e2 = credit(ctx, mid, 40)["entry"]
    eq(e2["expires_on"], "2028-12-31", "00:30 on 1 Jan 2027 local")
    credit(ctx, mid, -10)
    exp_both = expiring((90, "2027-12-31"), (40, "2028-12-31"))
    check_points(ctx, mid, 130, exp_both, "after -10 (from the 2027 lot)")

    # Jump to half an hour before the end and let serve's hourly job (due after a jump) run
    # there, so that it is not due again when the clock steps past the end.
    set_clock(ctx, "2027-12-31T15:30:00Z")
    wait_background_jobs(2.5)
    check_points(ctx, mid, 130, exp_both, "half an hour before the end")
    before = ledger(ctx, mid)
    set_clock(ctx, "2027-12-31T15:59:59Z")
    check_points(ctx, mid, 130, exp_both, "at 23:59:59 on 31 Dec 2027 local")
    with ctx.case("at 23:59:59.999"):
        set_clock(ctx, "2027-12-31T15:59:59.999Z")
        check_points(ctx, mid, 130, exp_both, "at 23:59:59.999")
    set_clock(ctx, "2028-01-01T00:00:00+08:00")
    m = check_points(ctx, mid, 40, expiring((40, "2028-12-31")), "at 00:00:00 on 1 Jan 2028")
    with ctx.case("the member list and lookup agree"):
        listed = [x for x in ctx.walk(M, client=api) if x["id"] == mid]
        eq(listed, [m], "the member in the list")
        eq(expect(api.get(f"{M}/lookup", params={"phone": m["phone"]}), 200), m,
           "the member by lookup")
    eq(ledger(ctx, mid), before, "ledger before the job (no expire entry yet)")
    expect_error(adjust(api, mid, -41), 409, "insufficient_points", "points")

    got = run_expire_job(ctx)
    eq((got["expired_points"], got["members"]), (90, 1), "the job's answer")
    entries = ledger(ctx, mid)
    eq(len(entries), len(before) + 1, "entries after the job")
    check_entry(entries[0], {"kind": "expire", "points": -90, "balance_after": 40,
                             "order_id": None})
    eq(utc(entries[0]["created_at"]), utc("2027-12-31T16:00:00Z"), "expire entry created_at")
    eq(entries[1:], before, "older entries unchanged")
    check_chain(entries)
    check_points(ctx, mid, 40, expiring((40, "2028-12-31")), "after the job")
    again = run_expire_job(ctx)
    eq((again["expired_points"], again["members"]), (0, 0), "the job run again")
    eq(ledger(ctx, mid), entries, "ledger after the second run")
    got = credit(ctx, mid, -40)
    eq((got["points"], got["balance"]), (0, 0), "spending the rest")
    patron_check(ctx)
    with ctx.case("patron jobs expire in real time finds nothing"):
        r = ctx.inst.cli("jobs", "expire")
        eq(r.returncode, 0, f"exit status: {(r.stdout + r.stderr)[-300:]}")
        eq(ledger(ctx, mid)[0]["kind"], "adjust", "newest entry")


@expiry_group.test
def expiry_dates(ctx):
    """expires_on for rolling and year_end across days, years, leap days and time zones."""
    api = full(ctx)
    cases = [
        ("rolling", 10, "Asia/Shanghai", "2027-03-01T15:59:59Z", "2027-03-11"),
        ("rolling", 10, "Asia/Shanghai", "2027-03-01T16:00:00Z", "2027-03-12"),
        ("rolling", 1, "Asia/Shanghai", "2027-12-31T12:00:00Z", "2028-01-01"),
        ("rolling", 365, "Asia/Shanghai", "2028-02-29T04:00:00Z", "2029-02-28"),
        ("rolling", 366, "Asia/Shanghai", "2028-02-28T04:00:00Z", "2029-02-28"),
        ("rolling", 1, "Asia/Shanghai", "2028-02-28T04:00:00Z", "2028-02-29"),
        ("rolling", 3650, "Asia/Shanghai", "2028-06-30T04:00:00Z", "2038-06-28"),
        ("year_end", 365, "Asia/Shanghai", "2028-02-29T04:00:00Z", "2029-12-31"),
        ("year_end", 365, "Asia/Shanghai", "2028-12-31T15:59:59Z", "2029-12-31"),
        ("year_end", 365, "Asia/Shanghai", "2028-12-31T16:00:00Z", "2030-12-31"),
        ("year_end", 365, "UTC", "2028-12-31T16:30:00Z", "2029-12-31"),
        ("year_end", 365, "UTC", "2029-01-01T00:00:00Z", "2030-12-31"),
        ("rolling", 10, "America/New_York", "2029-03-02T04:30:00Z", "2029-03-11"),
        ("rolling", 10, "America/New_York", "2029-03-02T05:00:00Z", "2029-03-12"),
    ]
    for mode, days, tz, now, want in cases:
        label = f"{mode} {days} {tz} at {now}"
        with ctx.case(label):
            eq(expiry_date(mode, days, utc(now), tz).isoformat(), want, "the test's own rule")
            set_clock(ctx, now)
            put_settings(ctx, {"expiry": {"mode": mode, "days": days}, "time_zone": tz})
            mid = ctx.new_member(client=api)["id"]
            e = credit(ctx, mid, 10)["entry"]
            eq(e["expires_on"], want, "expires_on")
            check_points(ctx, mid, 10, expiring((10, want)))
            last = end_of(datetime.date.fromisoformat(want), tz)
            set_clock(ctx, last - datetime.timedelta(seconds=1))
            check_points(ctx, mid, 10, expiring((10, want)), "the last second")
            set_clock(ctx, last)
            check_points(ctx, mid, 0, [], "the first second after")
    with ctx.case("mode none: no expiry, ever"):
        set_clock(ctx, "2030-01-01T00:00:00Z")
        put_settings(ctx, {"expiry": {"mode": "none"}, "time_zone": "Asia/Shanghai"})
        mid = ctx.new_member(client=api)["id"]
        eq(credit(ctx, mid, 10)["entry"]["expires_on"], None, "expires_on")
        set_clock(ctx, "2099-01-01T00:00:00Z")
        check_points(ctx, mid, 10, [], "70 years later")
    put_settings(ctx, {"time_zone": "Asia/Shanghai"})
    set_clock(ctx, "2099-01-02T00:00:00Z")
    run_expire_job(ctx)
    patron_check(ctx)
    set_clock(ctx, None)


@expiry_group.test
def expiry_background_job(ctx):
    """serve runs the expiry job on its own clock: a jump past an expiry makes it due.
    (A server of its own, whose clock only ever moves forward.)"""
    inst = start_instance(ctx.cfg, "expiry-bg", ["--test-clock"])
    try:
        c = Ctx(ctx.cfg, inst)
        api = full(c)
        set_clock(c, "2040-01-05T04:00:00Z")
        put_settings(c, {"expiry": {"mode": "rolling", "days": 2}})
        mid = c.new_member(client=api)["id"]
        credit(c, mid, 12)
        set_clock(c, "2040-01-09T04:00:00Z")
        check_points(c, mid, 0, [])
        t0 = time.monotonic()
        deadline = t0 + (30 if ctx.quick else 90)
        while time.monotonic() < deadline:
            if ledger(c, mid)[0]["kind"] == "expire":
                break
            time.sleep(0.25)
        entries = ledger(c, mid)
        eq([(e["kind"], e["points"]) for e in entries], [("expire", -12), ("adjust", 12)],
           f"ledger {time.monotonic() - t0:.0f} s after the jump (serve's own job)")
        print(f"    serve's expiry job ran {time.monotonic() - t0:.1f} s after the clock jump")
        eq(run_expire_job(c)["expired_points"], 0, "an explicit run afterwards")
        patron_check(c)
        inst.stop()
    finally:
        inst.cleanup()


def db_exec(ctx, sql):
    """Runs SQL on the instance's database behind the server's back (to damage it on purpose)."""
    if ctx.inst.db.kind == "sqlite":
        cmd = ["sqlite3", ctx.inst.db.url.split(":", 1)[1], sql]
    else:
        cmd = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", ctx.inst.db.url, "-c", sql]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        fail(f"{cmd[0]} {sql!r}: {r.stderr.strip()}")


@expiry_group.test
def check_finds_damage(ctx):
    """`patron check` exits 1 and says what is wrong when the ledger is damaged on purpose.
    (Knows the table names of the schema; repairs each damage before the next.)"""
    api = full(ctx)
    put_settings(ctx, {"expiry": {"mode": "none"}})
    mid = ctx.new_member(client=api)["id"]
    e = credit(ctx, mid, 100)["entry"]
    credit(ctx, mid, -30)
    patron_check(ctx)
    for label, damage, repair in [
            ("a wallet's cached balance", f"UPDATE members SET points = points + 1 WHERE id = {mid}",
             f"UPDATE members SET points = points - 1 WHERE id = {mid}"),
            ("a lot's remaining", f"UPDATE point_lots SET remaining = remaining + 5 "
             f"WHERE member_id = {mid}",
             f"UPDATE point_lots SET remaining = remaining - 5 WHERE member_id = {mid}"),
            ("a lot below zero", f"UPDATE point_lots SET remaining = -1 WHERE member_id = {mid}",
             f"UPDATE point_lots SET remaining = 70 WHERE member_id = {mid}"),
            ("a transfer that does not sum to zero",
             f"UPDATE point_entries SET points = points + 1 WHERE account <> 'wallet' AND transfer_id = (SELECT transfer_id FROM point_entries "
             f"WHERE id = {e['id']})",
             f"UPDATE point_entries SET points = points - 1 WHERE account <> 'wallet' AND transfer_id = (SELECT transfer_id FROM point_entries "
             f"WHERE id = {e['id']})")]:
        with ctx.case(label):
            db_exec(ctx, damage)
            try:
                r = ctx.inst.cli("check")
                out = (r.stdout + r.stderr).strip()
                eq(r.returncode, 1, f"patron check exit status ({out[-500:]!r})")
                check("all invariants hold" not in out, f"check says all is well: {out!r}")
                check(out, "patron check printed nothing")
            finally:
                db_exec(ctx, repair)
            patron_check(ctx)
