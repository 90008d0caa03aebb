"""Security (issue 5): the role x endpoint matrix read from src/api/routes.c, store scope, staff
and roles CRUD with the manager's limits, the password policy, CSRF on the new endpoints, the
audit trail (entries, filters, the hash chain under `patron check`), and, on a --test-clock
server, account lockout, address throttling and session expiry.

What the brief fixes is asserted exactly; where it is silent the tests say what they assume.
"""

import datetime
import difflib
import json
import os
import re
import subprocess

from harness import (ANY, API, OWNER_PASSWORD, Group, check, check_time, eq, expect,
                     expect_error, fail, mask_phone, session_cookie, set_cookie_header,
                     bad_list_params, walk_by_one)
from test_points import iso, set_clock, utc

group = Group("security")
clock_group = Group("security_clock", serve_args=["--test-clock"])

HERE = os.path.dirname(os.path.abspath(__file__))
ROUTES_C = os.path.join(HERE, "..", "..", "src", "api", "routes.c")

LOGIN = f"{API}/auth/login"
STAFF = f"{API}/staff"
ROLES = f"{API}/roles"
AUDIT = f"{API}/audit"
STORES = f"{API}/stores"
STOCK = f"{API}/stock"
ORDERS = f"{API}/orders"
M = f"{API}/members"

# Every permission, in the order the server lists them.
PERMS = ["stores.read", "stores.write", "members.read", "members.write", "members.pii",
         "members.erase", "api_keys.manage", "metrics.read", "points.read", "points.adjust",
         "settings.read", "settings.write", "tiers.read", "tiers.write", "products.read",
         "products.write", "stock.read", "stock.write", "coupons.read", "coupons.write",
         "promotions.read", "promotions.write", "checkout", "refunds", "orders.read",
         "audit.read", "staff.manage", "roles.manage"]
# The brief's built-in roles. "reads" are the .read permissions other than audit and metrics
# (the auditor is given those two on top of them).
READS = {"stores.read", "members.read", "points.read", "settings.read", "tiers.read",
         "products.read", "stock.read", "coupons.read", "promotions.read", "orders.read"}
ROLE_PERMS = {
    "owner": set(PERMS),
    "manager": READS | {"members.write", "members.pii", "points.adjust", "products.write",
                        "stock.write", "coupons.write", "promotions.write", "checkout",
                        "refunds", "staff.manage", "api_keys.manage"},
    "cashier": READS | {"members.write", "checkout", "refunds"},
    "auditor": READS | {"audit.read", "metrics.read"},
}
STAFF_KEYS = {"id", "username", "name", "phone", "role", "store_ids", "active", "locked",
              "created_at"}
AUDIT_KEYS = {"id", "at", "staff_id", "api_key_id", "ip", "action", "object_type", "object_id",
              "detail", "hash"}
ROLE_KEYS = {"name", "permissions", "builtin"}
NOWHERE = 999999999  # an id nothing has


def perm_order(perms):
    return [p for p in PERMS if p in set(perms)]


def idem(ctx):
    return {"Idempotency-Key": f"sec-{os.getpid()}-{ctx.uniq()}"}


def long_password(n):
    """n characters that repeat no unit and follow no keyboard row."""
    return "".join(f"{i * 7919 % 1000}{chr(97 + i * 5 % 26)}" for i in range(n))[:n]


def pw(ctx, tag="staff"):
    """A password the policy accepts (12+ characters, not a common one)."""
    return f"{tag} passphrase {ctx.uniq()} ok"


# ---------------------------------------------------------------- the route table

def perm_name(const):
    """PT_PERM_API_KEYS_MANAGE -> api_keys.manage; PT_PERM_CHECKOUT -> checkout; 0 -> None."""
    if const == "0":
        return None
    check(const.startswith("PT_PERM_"), f"routes.c: unexpected permission {const!r}")
    name = const[len("PT_PERM_"):].lower()
    if "_" in name:
        head, _, tail = name.rpartition("_")
        name = f"{head}.{tail}"
    check(name in PERMS, f"routes.c: {const} is not a permission the tests know ({name})")
    return name


def route_table():
    """[(method, pattern, permission or None, flags)] from src/api/routes.c, in table order."""
    try:
        with open(ROUTES_C, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        fail(f"cannot read the route table {ROUTES_C}: {e}")
    rows = re.findall(r'\{\s*PT_(GET|POST|PUT|PATCH|DELETE)\s*,\s*"([^"]+)"\s*,\s*\w+\s*,'
                      r'\s*(\w+)\s*,\s*([^{}]*?)\s*\}', text)
    check(len(rows) >= 60, f"routes.c: only {len(rows)} routes parsed; has its format changed?")
    return [(m, p, perm_name(perm), flags) for m, p, perm, flags in rows]


# ---------------------------------------------------------------- shared fixtures

def full(ctx):
    """A Bearer client with every permission (cached on the ctx)."""
    c = getattr(ctx, "_sec_full", None)
    if c is None:
        c, _ = ctx.key(PERMS, name="security suite", via=ctx.login())
        ctx._sec_full = c
    return c


def new_staff(ctx, role, stores=(), via=None, password=None, **fields):
    """Creates a staff member; returns (STAFF, password). By the all-permission key unless via,
    or, for an owner or a manager (which only an owner may add), by a new owner session."""
    password = password or pw(ctx)
    if via is None and role in ("owner", "manager"):
        via = ctx.login()
    body = {"username": f"u{ctx.uniq()}", "password": password, "role": role,
            "store_ids": list(stores)}
    body.update(fields)
    return expect((via or full(ctx)).post(STAFF, body), 201), password


def session(ctx, staff, password):
    return ctx.login(staff["username"], password)


def sell(ctx, store_id, sku, qty, member_id=None):
    body = {"store_id": store_id, "items": [{"sku": sku, "qty": qty}]}
    if member_id:
        body["member_id"] = member_id
    return expect(full(ctx).post(f"{API}/checkout", body, headers=idem(ctx)), 201)


def audit(ctx, client=None, **params):
    return ctx.walk(AUDIT, params, client=client or full(ctx))


def newest_audit_id(ctx):
    page = expect(full(ctx).get(AUDIT, params={"limit": 1}), 200)["items"]
    return page[0]["id"] if page else 0


def audit_since(ctx, after_id, **params):
    return [e for e in audit(ctx, **params) if e["id"] > after_id]


class World:
    """Stores B and C (made first, so their rows come before A's in every list), store A, a
    product with stock in each, a member in A and B, an order in each, staff of every role with sessions, and keys."""

    def __init__(self, ctx):
        f = full(ctx)
        self.b = ctx.new_store(name="B 店")["id"]
        self.c = ctx.new_store(name="C 店")["id"]
        self.a = ctx.new_store(name="A 店")["id"]
        self.sku = expect(f.post(f"{API}/products", {"sku": f"SEC-{ctx.uniq()}", "name": "安全测试品",
                                                      "price": 1000}), 201)["sku"]
        for store in (self.b, self.c, self.a):
            expect(f.post(f"{API}/stock/movements", {"store_id": store, "sku": self.sku,
                                                     "kind": "receive", "qty": 1000},
                          headers=idem(ctx)), 201)
        self.member_b = ctx.new_member(client=f, store_id=self.b)
        self.member_a = ctx.new_member(client=f, store_id=self.a)
        self.order_b = sell(ctx, self.b, self.sku, 5, self.member_b["id"])["order_id"]
        self.order_c = sell(ctx, self.c, self.sku, 5)["order_id"]
        self.order_a = sell(ctx, self.a, self.sku, 20, self.member_a["id"])["order_id"]
        self.template = expect(f.post(f"{API}/coupon-templates", {
            "name": "安全券", "kind": "amount_off", "value": 100, "valid_days": 30}), 201)
        self.coupon = expect(f.post(f"{API}/coupon-templates/{self.template['id']}/issue",
                                    {"member_ids": [self.member_a["id"]]}), 201)["coupons"][0]
        self.promo = expect(f.post(f"{API}/promotions", {
            "name": "远期促销", "kind": "spend_threshold",
            "levels": [{"min_spend": 100000, "off": 100}],
            "starts_at": "2090-01-01T00:00:00Z", "ends_at": "2090-02-01T00:00:00Z"}), 201)

        self.cashier_b, self.cashier_b_pw = new_staff(ctx, "cashier", [self.b])
        new_staff(ctx, "cashier", [self.c])
        self.manager, self.manager_pw = new_staff(ctx, "manager", [self.a], phone="13900001111")
        self.cashier, self.cashier_pw = new_staff(ctx, "cashier", [self.a])
        self.auditor, self.auditor_pw = new_staff(ctx, "auditor")
        self.clerk_role = f"clerk-{ctx.uniq()}"
        expect(f.post(ROLES, {"name": self.clerk_role,
                              "permissions": ["members:read", "member.pii", "orders.read",
                                              "audit.read"]}), 201)
        self.clerk, self.clerk_pw = new_staff(ctx, self.clerk_role)
        self.s_owner = ctx.login()
        self.s_manager = session(ctx, self.manager, self.manager_pw)
        self.s_cashier = session(ctx, self.cashier, self.cashier_pw)
        self.s_auditor = session(ctx, self.auditor, self.auditor_pw)
        self.s_clerk = session(ctx, self.clerk, self.clerk_pw)
        r = self.s_owner.post(f"{API}/api-keys", {"name": "pos A", "store_id": self.a,
                                                  "scopes": ["members:read", "checkout",
                                                             "orders.read", "refunds",
                                                             "stock.read", "stores.read"]})
        self.pos_key = expect(r, 201)
        self.pos = ctx.client(token=self.pos_key["key"])
        self.admin, self.admin_key = ctx.key(["audit.read", "staff.manage", "roles.manage",
                                              "metrics.read"], name="admin", via=self.s_owner)
        self.none, self.none_key = ctx.key([], name="no scopes", via=self.s_owner)


def world(ctx):
    w = getattr(ctx, "_sec_world", None)
    if w is None:
        w = ctx._sec_world = World(ctx)
    return w


def db_state(ctx, ignore=("audit_log", "sessions", "login_failures", "idempotency_keys")):
    """The database as SQL text less the tables a refused request may write to (its audit
    entry, the session's last-seen time, a failed login, a stored idempotent refusal)."""
    out, skipping = [], False
    for line in ctx.inst.dump().splitlines():
        if skipping:
            skipping = line != "\\."
            continue
        if line.startswith("COPY ") and any(f".{t} " in line for t in ignore):
            skipping = True
            continue
        if any(t in line for t in ignore) and (line.startswith("INSERT") or "setval" in line):
            continue
        if line.startswith(("\\restrict ", "\\unrestrict ")):  # pg_dump's random per-dump key
            continue
        out.append(line)
    return out


def same_db(ctx, before, what):
    after = db_state(ctx)
    if after != before:
        diff = list(difflib.unified_diff(before, after, "before", "after", lineterm="", n=0))
        fail(f"the database changed after {what}:\n" + "\n".join(diff[:30]))


def is_gate_denial(r):
    """A 403 permission_denied from the route's permission check (no field), or a 401."""
    if r.status == 401:
        return True
    if r.status != 403:
        return False
    err = r.json.get("error", {}) if isinstance(r.json, dict) else {}
    return err.get("code") == "csrf_failed" or not err.get("field")


# ---------------------------------------------------------------- roles and /me

@group.test
def builtin_roles_and_me(ctx):
    w = world(ctx)
    roles = expect(w.s_owner.get(ROLES), 200)
    eq(roles.get("next_cursor"), None, "roles next_cursor")
    by_name = {r["name"]: r for r in roles["items"]}
    for name, perms in ROLE_PERMS.items():
        with ctx.case(f"built-in role {name}"):
            check(name in by_name, f"GET /roles lacks {name}: {sorted(by_name)}")
            r = by_name[name]
            eq(set(r), ROLE_KEYS, f"{name} keys")
            eq(r["permissions"], perm_order(perms), f"{name} permissions")
            eq(r["builtin"], True, f"{name} builtin")
    with ctx.case("custom role, names normalised"):
        eq(by_name.get(w.clerk_role), {"name": w.clerk_role, "builtin": False,
                                       "permissions": perm_order(["members.read", "members.pii",
                                                                  "orders.read", "audit.read"])},
           "custom role")
    for label, client, perms in [("owner", w.s_owner, PERMS),
                                 ("manager", w.s_manager, ROLE_PERMS["manager"]),
                                 ("cashier", w.s_cashier, ROLE_PERMS["cashier"]),
                                 ("auditor", w.s_auditor, ROLE_PERMS["auditor"]),
                                 ("clerk", w.s_clerk, by_name[w.clerk_role]["permissions"]),
                                 ("pos key", w.pos, ["members.read", "checkout", "orders.read",
                                                     "refunds", "stock.read", "stores.read"])]:
        with ctx.case(f"/me of {label}"):
            eq(expect(client.get(f"{API}/me"), 200)["permissions"], perm_order(perms),
               f"{label} permissions")
    with ctx.case("a key's scopes are normalised and keep their store"):
        eq(w.pos_key["scopes"], perm_order(["members.read", "checkout", "orders.read",
                                             "refunds", "stock.read", "stores.read"]), "scopes")
        eq(w.pos_key["store_id"], w.a, "store_id")


# ---------------------------------------------------------------- the matrix

class Victims:
    """Things the allowed half of the matrix may change or delete."""

    def __init__(self, ctx, w):
        f = full(ctx)
        self.member = ctx.new_member(client=f)["id"]
        self.tier_patch = expect(f.post(f"{API}/tiers", {"name": f"改{ctx.uniq()}",
                                                          "rank": 900 + ctx.uniq() % 50,
                                                          "threshold": 10 ** 11}), 201)["id"]
        self.tier_delete = expect(f.post(f"{API}/tiers", {"name": f"删{ctx.uniq()}",
                                                           "rank": 950 + ctx.uniq() % 50,
                                                           "threshold": 10 ** 11}), 201)["id"]
        self.key = ctx.key(["members.read"], name="victim", via=w.s_owner)[1]["id"]
        self.staff = new_staff(ctx, "cashier", [w.a])[0]["id"]
        self.role_put = f"mx-put-{ctx.uniq()}"
        self.role_delete = f"mx-del-{ctx.uniq()}"
        for name in (self.role_put, self.role_delete):
            expect(f.post(ROLES, {"name": name, "permissions": ["members.read"]}), 201)


def matrix_request(ctx, w, v, method, pattern):
    """(path, body or None, needs Idempotency-Key, known) for one route; a route the tests do
    not know yet gets ids nothing has and an empty body (the gate is still checked)."""
    u = ctx.uniq
    A = w.a
    reqs = {
        ("GET", "/metrics"): lambda: ("/metrics", None),
        ("GET", f"{API}/me"): lambda: (f"{API}/me", None),
        ("GET", f"{API}/api-keys"): lambda: (f"{API}/api-keys", None),
        ("POST", f"{API}/api-keys"): lambda: (f"{API}/api-keys",
                                              {"name": f"mx {u()}", "scopes": ["members.read"]}),
        ("DELETE", f"{API}/api-keys/{{id}}"): lambda: (f"{API}/api-keys/{v.key}", None),
        ("GET", STORES): lambda: (STORES, None),
        ("POST", STORES): lambda: (STORES, {"code": ctx.code("MX"), "name": "矩阵门店"}),
        ("GET", f"{STORES}/{{id}}"): lambda: (f"{STORES}/{A}", None),
        ("PATCH", f"{STORES}/{{id}}"): lambda: (f"{STORES}/{A}", {"address": f"矩阵路 {u()} 号"}),
        ("GET", M): lambda: (M, None),
        ("POST", M): lambda: (M, {"name": f"矩阵{u()}", "phone": ctx.phone("177")}),
        ("GET", f"{M}/lookup"): lambda: (f"{M}/lookup?card_no={w.member_a['card_no']}", None),
        ("GET", f"{M}/{{id}}"): lambda: (f"{M}/{w.member_a['id']}", None),
        ("PATCH", f"{M}/{{id}}"): lambda: (f"{M}/{w.member_a['id']}", {"note": f"mx {u()}"}),
        ("DELETE", f"{M}/{{id}}"): lambda: (f"{M}/{v.member}", None),
        ("GET", f"{M}/{{id}}/export"): lambda: (f"{M}/{w.member_a['id']}/export", None),
        ("GET", f"{M}/{{id}}/ledger"): lambda: (f"{M}/{w.member_a['id']}/ledger", None),
        ("POST", f"{M}/{{id}}/points/adjust"): lambda: (
            f"{M}/{w.member_a['id']}/points/adjust", {"points": 1, "reason": "矩阵"}),
        ("GET", f"{M}/{{id}}/tier-history"): lambda: (f"{M}/{w.member_a['id']}/tier-history",
                                                      None),
        ("GET", f"{API}/settings/points"): lambda: (f"{API}/settings/points", None),
        ("PUT", f"{API}/settings/points"): lambda: (f"{API}/settings/points",
                                                    {"signup_bonus": 0}),
        ("GET", f"{API}/reminders/points-expiring"): lambda: (
            f"{API}/reminders/points-expiring", None),
        ("GET", f"{API}/tiers"): lambda: (f"{API}/tiers", None),
        ("POST", f"{API}/tiers"): lambda: (f"{API}/tiers", {"name": f"矩阵{u()}",
                                                            "rank": 200 + u() % 500,
                                                            "threshold": 10 ** 11}),
        ("GET", f"{API}/tiers/{{id}}"): lambda: (f"{API}/tiers/{v.tier_patch}", None),
        ("PATCH", f"{API}/tiers/{{id}}"): lambda: (f"{API}/tiers/{v.tier_patch}",
                                                   {"name": f"改名{u()}"}),
        ("DELETE", f"{API}/tiers/{{id}}"): lambda: (f"{API}/tiers/{v.tier_delete}", None),
        ("GET", f"{API}/products"): lambda: (f"{API}/products", None),
        ("POST", f"{API}/products"): lambda: (f"{API}/products",
                                              {"sku": f"MX-{u()}", "name": "矩阵品", "price": 100}),
        ("GET", f"{API}/products/{{sku}}"): lambda: (f"{API}/products/{w.sku}", None),
        ("PATCH", f"{API}/products/{{sku}}"): lambda: (f"{API}/products/{w.sku}",
                                                       {"category": f"c{u()}"}),
        ("GET", STOCK): lambda: (f"{STOCK}?store_id={A}", None),
        ("GET", f"{STOCK}/alerts"): lambda: (f"{STOCK}/alerts?store_id={A}", None),
        ("POST", f"{STOCK}/movements"): lambda: (f"{STOCK}/movements", {
            "store_id": A, "sku": w.sku, "kind": "receive", "qty": 1}),
        ("PUT", f"{STOCK}/thresholds"): lambda: (f"{STOCK}/thresholds", {
            "store_id": A, "sku": w.sku, "low_threshold": 1 + u() % 5}),
        ("GET", f"{API}/coupon-templates"): lambda: (f"{API}/coupon-templates", None),
        ("POST", f"{API}/coupon-templates"): lambda: (f"{API}/coupon-templates", {
            "name": f"矩阵券{u()}", "kind": "amount_off", "value": 100, "valid_days": 30}),
        ("GET", f"{API}/coupon-templates/{{id}}"): lambda: (
            f"{API}/coupon-templates/{w.template['id']}", None),
        ("POST", f"{API}/coupon-templates/{{id}}/issue"): lambda: (
            f"{API}/coupon-templates/{w.template['id']}/issue",
            {"member_ids": [w.member_a["id"]]}),
        ("GET", f"{API}/coupons/{{code}}"): lambda: (f"{API}/coupons/{w.coupon['code']}", None),
        ("GET", f"{M}/{{id}}/coupons"): lambda: (f"{M}/{w.member_a['id']}/coupons", None),
        ("GET", f"{API}/promotions"): lambda: (f"{API}/promotions", None),
        ("POST", f"{API}/promotions"): lambda: (f"{API}/promotions", {
            "name": f"矩阵促销{u()}", "kind": "spend_threshold",
            "levels": [{"min_spend": 100000, "off": 100}],
            "starts_at": "2090-01-01T00:00:00Z", "ends_at": "2090-02-01T00:00:00Z"}),
        ("GET", f"{API}/promotions/{{id}}"): lambda: (f"{API}/promotions/{w.promo['id']}", None),
        ("PATCH", f"{API}/promotions/{{id}}"): lambda: (f"{API}/promotions/{w.promo['id']}",
                                                        {"name": f"远期{u()}"}),
        ("POST", f"{API}/checkout/quote"): lambda: (f"{API}/checkout/quote", {
            "store_id": A, "items": [{"sku": w.sku, "qty": 1}]}),
        ("POST", f"{API}/checkout"): lambda: (f"{API}/checkout", {
            "store_id": A, "items": [{"sku": w.sku, "qty": 1}]}),
        ("GET", ORDERS): lambda: (ORDERS, None),
        ("GET", f"{ORDERS}/{{id}}"): lambda: (f"{ORDERS}/{w.order_a}", None),
        ("POST", f"{ORDERS}/{{id}}/refund"): lambda: (f"{ORDERS}/{w.order_a}/refund",
                                                      {"lines": [{"sku": w.sku, "qty": 1}]}),
        ("GET", AUDIT): lambda: (AUDIT, None),
        ("GET", STAFF): lambda: (STAFF, None),
        ("POST", STAFF): lambda: (STAFF, {"username": f"mx{u()}", "password": pw(ctx),
                                          "role": "cashier", "store_ids": [A]}),
        ("GET", f"{STAFF}/{{id}}"): lambda: (f"{STAFF}/{v.staff}", None),
        ("PATCH", f"{STAFF}/{{id}}"): lambda: (f"{STAFF}/{v.staff}", {"name": f"矩阵{u()}"}),
        ("POST", f"{STAFF}/{{id}}/password"): lambda: (f"{STAFF}/{v.staff}/password",
                                                       {"password": pw(ctx)}),
        ("GET", ROLES): lambda: (ROLES, None),
        ("POST", ROLES): lambda: (ROLES, {"name": f"mx-{u()}", "permissions": ["members.read"]}),
        ("PUT", f"{ROLES}/{{name}}"): lambda: (f"{ROLES}/{v.role_put}",
                                               {"permissions": ["members.read", "stores.read"]}),
        ("DELETE", f"{ROLES}/{{name}}"): lambda: (f"{ROLES}/{v.role_delete}", None),
    }
    make = reqs.get((method, pattern))
    if make is not None:
        path, body = make()
        return path, body, True
    path = re.sub(r"\{[a-z_]+\}", str(NOWHERE), pattern)
    return path, ({} if method in ("POST", "PUT", "PATCH") else None), False


def send(client, ctx, method, path, body):
    kw = {"headers": idem(ctx)}
    if body is not None:
        kw["body"] = body
    return client.request(method, path, **kw)


@group.test
def permission_matrix(ctx):
    """Every route of routes.c for every kind of caller: 403 permission_denied exactly when the
    caller lacks the route's permission, and then nothing changes and the refusal is audited."""
    w = world(ctx)
    v = Victims(ctx, w)
    roles = {r["name"]: r for r in expect(w.s_owner.get(ROLES), 200)["items"]}
    owner_id = expect(w.s_owner.get(f"{API}/me"), 200)["user"]["id"]
    callers = [  # (label, client, permissions, staff id, api key id)
        ("owner", w.s_owner, set(PERMS), owner_id, None),
        ("manager A", w.s_manager, ROLE_PERMS["manager"], w.manager["id"], None),
        ("cashier A", w.s_cashier, ROLE_PERMS["cashier"], w.cashier["id"], None),
        ("auditor", w.s_auditor, ROLE_PERMS["auditor"], w.auditor["id"], None),
        ("custom role", w.s_clerk, set(roles[w.clerk_role]["permissions"]), w.clerk["id"], None),
        ("pos key (store A)", w.pos, set(w.pos_key["scopes"]), None, w.pos_key["id"]),
        ("admin key", w.admin, set(w.admin_key["scopes"]), None, w.admin_key["id"]),
        ("key without scopes", w.none, set(), None, w.none_key["id"]),
    ]
    table = route_table()
    routes = [(m, p, perm) for m, p, perm, flags in table
              if "PT_ROUTE_PUBLIC" not in flags and p != f"{API}/auth/logout"]
    check(any(p == STAFF for _, p, _ in routes) and any(p == AUDIT for _, p, _ in routes),
          "the route table has no /staff or /audit")
    unknown = [f"{m} {p}" for m, p, _ in routes if not matrix_request(ctx, w, v, m, p)[2]]
    if unknown:  # still checked below, with ids nothing has
        print(f"    note: routes the matrix has no request for: {', '.join(unknown)}")

    with ctx.case("public routes need nothing"):
        expect(ctx.client().get("/healthz"), 200)
    with ctx.case("anonymous: 401 on every other route"):
        for m, p, _ in routes + [("POST", f"{API}/auth/logout", None)]:
            path, body, _ = matrix_request(ctx, w, v, m, p)
            with ctx.case(f"anonymous {m} {p}"):
                expect_error(send(ctx.client(), ctx, m, path, body), 401, "unauthenticated")

    # Refusals first, all of them: the database must not move, and each is audited.
    before = db_state(ctx)
    last_audit = newest_audit_id(ctx)
    denied = []
    for label, client, perms, staff_id, key_id in callers:
        for m, p, perm in routes:
            if perm is None or perm in perms:
                continue
            path, body, _ = matrix_request(ctx, w, v, m, p)
            with ctx.case(f"{label}: {m} {p} without {perm}"):
                r = send(client, ctx, m, path, body)
                expect_error(r, 403, "permission_denied", None)
            denied.append((staff_id, key_id, m, p))
    check(len(denied) > 100, f"only {len(denied)} refusals: is the caller list right?")
    with ctx.case("nothing changed after the refusals"):
        same_db(ctx, before, f"{len(denied)} refused requests")
    with ctx.case("every refusal is audited as permission_denied"):
        order = lambda t: tuple("" if x is None else str(x) for x in t)  # noqa: E731
        got = sorted(((e["staff_id"], e["api_key_id"], e["detail"].get("method"),
                       e["detail"].get("route"))
                      for e in audit_since(ctx, last_audit, action="permission_denied")),
                     key=order)
        want = sorted(denied, key=order)
        if got != want:
            missing = [d for d in want if d not in got][:8]
            extra = [d for d in got if d not in want][:8]
            fail(f"{len(want)} refusals, {len(got)} permission_denied entries; "
                 f"missing {missing}, unexpected {extra}")

    # Then everything allowed: past the gate (any answer but 401, a bare 403 or a 5xx). The
    # owner goes first with fresh victims, so each of its requests must succeed.
    for label, client, perms, _, _ in callers:
        for m, p, perm in routes:
            if perm is not None and perm not in perms:
                continue
            path, body, known = matrix_request(ctx, w, v, m, p)
            if not known and perm is None:
                continue  # no safe request known for it; the anonymous 401 covers it
            with ctx.case(f"{label}: {m} {p} with {perm or 'no permission needed'}"):
                r = send(client, ctx, m, path, body)
                check(not is_gate_denial(r) and r.status < 500, f"allowed but: {r}")
                if label == "owner" and known:
                    check(200 <= r.status < 300, f"the owner's request failed: {r}")
    for label, client, _, staff_id, _ in callers:
        with ctx.case(f"{label}: logout last"):
            expect(client.post(f"{API}/auth/logout"), 204)
            if staff_id is not None:
                expect_error(client.get(f"{API}/me"), 401, "unauthenticated")
            else:
                expect(client.get(f"{API}/me"), 200)  # a key has no session to end
    ctx._sec_world = None  # the sessions are gone; later tests get a new world


# ---------------------------------------------------------------- store scope

@group.test
def store_scope(ctx):
    """A caller limited to store A: store B's store, stock, orders, refunds and checkouts are
    404 not_found and change nothing; lists leave them out; members are shared."""
    w = world(ctx)
    storekey = ctx.client(token=expect(w.s_owner.post(f"{API}/api-keys", {
        "name": "store A writer", "store_id": w.a,
        "scopes": ["stores.read", "stores.write", "stock.read", "stock.write", "checkout",
                   "refunds", "orders.read", "members.read"]}), 201)["key"])
    f = full(ctx)
    orders_a = sorted(o["order_id"] for o in ctx.walk(ORDERS, {"store_id": w.a}, client=f))
    check(w.order_a in orders_a and w.order_b not in orders_a, f"orders of A: {orders_a}")
    before = db_state(ctx)
    basket_b = {"store_id": w.b, "items": [{"sku": w.sku, "qty": 1}]}
    for label, c, writes in [("manager A", w.s_manager, True), ("cashier A", w.s_cashier, False),
                             ("store-A key", storekey, True)]:
        refusals = [
            ("GET", f"{STORES}/{w.b}", None),
            ("GET", f"{STOCK}?store_id={w.b}", None),
            ("GET", f"{STOCK}/alerts?store_id={w.b}", None),
            ("POST", f"{API}/checkout/quote", basket_b),
            ("POST", f"{API}/checkout", basket_b),
            ("GET", f"{ORDERS}/{w.order_b}", None),
            ("POST", f"{ORDERS}/{w.order_b}/refund", {}),
            ("POST", f"{ORDERS}/{w.order_b}/refund", {"lines": [{"sku": w.sku, "qty": 1}]}),
        ]
        if writes:
            refusals += [
                ("POST", f"{STOCK}/movements", {"store_id": w.b, "sku": w.sku,
                                                "kind": "receive", "qty": 5}),
                ("POST", f"{STOCK}/movements", {"store_id": w.b, "sku": w.sku,
                                                "kind": "adjust", "qty": -5}),
                ("PUT", f"{STOCK}/thresholds", {"store_id": w.b, "sku": w.sku,
                                                "low_threshold": 7}),
            ]
        if c is storekey:
            refusals.append(("PATCH", f"{STORES}/{w.b}", {"name": "改了 B"}))
        for m, path, body in refusals:
            with ctx.case(f"{label}: {m} {path} {body or ''}"):
                expect_error(send(c, ctx, m, path, body), 404, "not_found")
        with ctx.case(f"{label}: lists leave store B out"):
            eq([s["id"] for s in ctx.walk(STORES, client=c)], [w.a], "stores")
            eq(sorted(o["order_id"] for o in ctx.walk(ORDERS, client=c)), orders_a, "orders")
            eq(expect(c.get(ORDERS, params={"store_id": w.b}), 200)["items"], [],
               "orders?store_id=B")
            eq({r["store_id"] for r in ctx.walk(STOCK, client=c)}, {w.a}, "stock rows' stores")
        with ctx.case(f"{label}: members are shared"):
            eq(expect(c.get(f"{M}/{w.member_b['id']}"), 200)["id"], w.member_b["id"], "member")
        with ctx.case(f"{label}: a member's home store is one of the caller's"):
            if c is not storekey:
                expect_error(c.post(M, {"name": "外店会员", "phone": ctx.phone("136"),
                                        "store_id": w.b}), 404, "not_found")
                expect_error(c.patch(f"{M}/{w.member_a['id']}", {"store_id": w.b}), 404,
                             "not_found")
        with ctx.case(f"{label}: store A works"):
            expect(c.get(f"{ORDERS}/{w.order_a}"), 200)
            expect(c.post(f"{API}/checkout/quote", dict(basket_b, store_id=w.a)), 200)
    with ctx.case("nothing changed after the refusals"):
        same_db(ctx, before, "store-scope refusals")
    with ctx.case("staff outside the manager's stores are 404"):
        sid = w.cashier_b["id"]
        for m, path, body in [("GET", f"{STAFF}/{sid}", None),
                              ("PATCH", f"{STAFF}/{sid}", {"name": "改"}),
                              ("POST", f"{STAFF}/{sid}/password", {"password": pw(ctx)})]:
            with ctx.case(f"manager A: {m} {path}"):
                expect_error(send(w.s_manager, ctx, m, path, body), 404, "not_found")
        listed = {s["id"] for s in ctx.walk(STAFF, client=w.s_manager)}
        check(sid not in listed, f"store B's cashier in manager A's staff list: {listed}")
        check(w.cashier["id"] in listed, f"store A's cashier missing from the list: {listed}")
        same_db(ctx, before, "refused staff changes")
        expect(ctx.login(w.cashier_b["username"], w.cashier_b_pw).get(f"{API}/me"), 200)
    with ctx.case("promotions and coupon templates: a manager of store A makes them for A"):
        promo = {"name": "本店满减", "kind": "spend_threshold",
                 "levels": [{"min_spend": 10000, "off": 100}],
                 "starts_at": "2090-01-01T00:00:00Z", "ends_at": "2090-02-01T00:00:00Z"}
        tmpl = {"name": "本店券", "kind": "amount_off", "value": 100, "valid_days": 30}
        promos_before = ctx.walk(f"{API}/promotions", client=w.s_owner)
        templates_before = ctx.walk(f"{API}/coupon-templates", client=w.s_owner)
        for path, body in [(f"{API}/promotions", promo), (f"{API}/coupon-templates", tmpl)]:
            expect_error(w.s_manager.post(path, body), 403, "permission_denied", "store_ids")
            expect_error(w.s_manager.post(path, dict(body, store_ids=[])), 403,
                         "permission_denied", "store_ids")
            expect_error(w.s_manager.post(path, dict(body, store_ids=[w.a, w.b])), 404,
                         "not_found")
        expect_error(w.s_manager.patch(f"{API}/promotions/{w.promo['id']}", {"name": "改"}),
                     404, "not_found")
        eq(ctx.walk(f"{API}/promotions", client=w.s_owner), promos_before, "promotions")
        eq(ctx.walk(f"{API}/coupon-templates", client=w.s_owner), templates_before,
           "coupon templates")
        mine = expect(w.s_manager.post(f"{API}/promotions", dict(promo, store_ids=[w.a])), 201)
        expect_error(w.s_manager.patch(f"{API}/promotions/{mine['id']}", {"store_ids": []}),
                     403, "permission_denied", "store_ids")
        expect_error(w.s_manager.patch(f"{API}/promotions/{mine['id']}",
                                       {"store_ids": [w.b]}), 404, "not_found")
        expect(w.s_manager.patch(f"{API}/promotions/{mine['id']}", {"name": "本店满减 2"}), 200)
        expect(w.s_manager.post(f"{API}/coupon-templates", dict(tmpl, store_ids=[w.a])), 201)
    with ctx.case("API keys: a manager of store A makes keys for A, sees and revokes only A's"):
        everywhere = ctx.key(["members.read"], name="everywhere", via=w.s_owner)[1]
        of_b = expect(w.s_owner.post(f"{API}/api-keys", {
            "name": "pos B", "store_id": w.b, "scopes": ["members.read"]}), 201)
        mine = expect(w.s_manager.post(f"{API}/api-keys", {
            "name": "pos A2", "store_id": w.a, "scopes": ["members.read", "checkout"]}), 201)
        listed = {k["id"] for k in ctx.walk(f"{API}/api-keys", client=w.s_manager)}
        check(mine["id"] in listed and w.pos_key["id"] in listed,
              f"store A's keys missing from manager A's list: {listed}")
        check(everywhere["id"] not in listed and of_b["id"] not in listed,
              f"keys outside store A in manager A's list: {listed}")
        eq(ctx.walk(f"{API}/api-keys", limit=1, client=w.s_manager),
           ctx.walk(f"{API}/api-keys", client=w.s_manager), "walked with limit=1")
        keys_before = ctx.walk(f"{API}/api-keys", client=w.s_owner)
        for k in (everywhere, of_b):
            expect_error(w.s_manager.delete(f"{API}/api-keys/{k['id']}"), 404, "not_found")
        eq(ctx.walk(f"{API}/api-keys", client=w.s_owner), keys_before, "keys after refusals")
        expect(ctx.client(token=of_b["key"]).get(f"{M}/{w.member_b['id']}"), 200)
        expect(w.s_manager.delete(f"{API}/api-keys/{mine['id']}"), 204)
        expect_error(ctx.client(token=mine["key"]).get(f"{M}/{w.member_b['id']}"), 401,
                     "unauthenticated")


@group.test
def store_scoped_lists_page(ctx):
    """A store-scoped caller's lists page like anyone's: walking with limit=1 gives what one
    big page gives (the rows of stores B and C, which come first, must not end the walk early)."""
    w = world(ctx)
    sell(ctx, w.b, w.sku, 1)  # more rows of B after A's, so A's sit between B's
    new_staff(ctx, "cashier", [w.b])
    for label, c, path in [("manager A", w.s_manager, STORES),
                           ("manager A", w.s_manager, ORDERS),
                           ("manager A", w.s_manager, STOCK),
                           ("manager A", w.s_manager, STAFF),
                           ("pos key", w.pos, STORES),
                           ("pos key", w.pos, ORDERS)]:
        with ctx.case(f"{label}: {path} with limit=1"):
            whole = expect(c.get(path, params={"limit": 500}), 200)
            eq(whole["next_cursor"], None, "one page of 500")
            check(whole["items"], f"{label} sees nothing in {path}")
            eq(ctx.walk(path, limit=1, client=c), whole["items"], "walked with limit=1")


# ---------------------------------------------------------------- staff

@group.test
def manager_limits(ctx):
    """A manager adds and changes only staff below manager, with permissions they hold, in
    their own stores; everything else is 403 permission_denied and changes nothing."""
    w = world(ctx)
    mgr = w.s_manager
    other_mgr, _ = new_staff(ctx, "manager", [w.a])
    high_role = f"high-{ctx.uniq()}"
    low_role = f"low-{ctx.uniq()}"
    expect(full(ctx).post(ROLES, {"name": high_role,
                                  "permissions": ["members.read", "settings.write"]}), 201)
    expect(full(ctx).post(ROLES, {"name": low_role,
                                  "permissions": ["members.read", "checkout"]}), 201)
    target, _ = new_staff(ctx, "cashier", [w.a], via=mgr)
    before_staff = ctx.walk(STAFF, client=full(ctx))
    before = db_state(ctx)

    def body(**change):
        b = {"username": f"m{ctx.uniq()}", "password": pw(ctx), "role": "cashier",
             "store_ids": [w.a]}
        b.update(change)
        return b

    for label, b, field in [
            ("owner", body(role="owner"), "role"),
            ("manager", body(role="manager"), "role"),
            ("auditor (audit.read, metrics.read beyond the manager's)", body(role="auditor"),
             "role"),
            ("custom role beyond the manager's", body(role=high_role), "role"),
            ("cashier in store B", body(store_ids=[w.b]), "store_ids"),
            ("cashier in A and B", body(store_ids=[w.a, w.b]), "store_ids"),
            ("cashier in every store (no store_ids)", body(store_ids=[]), "store_ids")]:
        with ctx.case(f"manager creates {label}"):
            expect_error(mgr.post(STAFF, b), 403, "permission_denied", field)
    tid = target["id"]
    for label, change in [("role manager", {"role": "manager"}),
                          ("role owner", {"role": "owner"}),
                          ("role beyond the manager's", {"role": high_role}),
                          ("store B", {"store_ids": [w.b]}),
                          ("every store", {"store_ids": []})]:
        with ctx.case(f"manager changes a cashier to {label}"):
            expect_error(mgr.patch(f"{STAFF}/{tid}", change), 403, "permission_denied", ANY)
    with ctx.case("manager changes another manager of the same store"):
        expect_error(mgr.patch(f"{STAFF}/{other_mgr['id']}", {"name": "改名"}), 403,
                     "permission_denied", ANY)
        expect_error(mgr.post(f"{STAFF}/{other_mgr['id']}/password", {"password": pw(ctx)}),
                     403, "permission_denied", ANY)
    with ctx.case("nothing changed"):
        eq(ctx.walk(STAFF, client=full(ctx)), before_staff, "staff after refusals")
        same_db(ctx, before, "refused staff changes")
    with ctx.case("manager may add a cashier or a role within their own permissions"):
        expect(mgr.post(STAFF, body()), 201)
        expect(mgr.post(STAFF, body(role=low_role)), 201)
    with ctx.case("manager may change their cashier within the limits"):
        got = expect(mgr.patch(f"{STAFF}/{tid}", {"name": "新名字", "role": low_role}), 200)
        eq((got["name"], got["role"], got["store_ids"]), ("新名字", low_role, [w.a]), "patched")


@group.test
def staff_crud(ctx):
    w = world(ctx)
    mgr = w.s_manager
    phone = "13712345678"
    r = mgr.post(STAFF, {"username": f"li.na-{ctx.uniq()}", "password": pw(ctx),
                         "role": "cashier", "store_ids": [w.a], "name": "李娜", "phone": phone})
    s = expect(r, 201)
    eq(set(s), STAFF_KEYS, "STAFF keys")
    eq((s["name"], s["phone"], s["role"], s["store_ids"], s["active"], s["locked"]),
       ("李娜", phone, "cashier", [w.a], True, False), "STAFF values")
    check(isinstance(s["id"], int) and s["id"] > 0, f"id {s['id']!r}")
    check_time(s["created_at"], "created_at")
    check("password" not in r.body.decode() and "argon" not in r.body.decode(),
          f"a password or hash in the answer: {r}")
    with ctx.case("Location"):
        eq(r.header("Location"), f"{STAFF}/{s['id']}", "Location")
    with ctx.case("GET answers the same"):
        eq(expect(mgr.get(f"{STAFF}/{s['id']}"), 200), s, "GET /staff/{id}")
    with ctx.case("phone masked without members.pii"):
        eq(expect(w.admin.get(f"{STAFF}/{s['id']}"), 200)["phone"], mask_phone(phone), "phone")
        listed = [x for x in ctx.walk(STAFF, client=w.admin) if x["id"] == s["id"]]
        eq([x["phone"] for x in listed], [mask_phone(phone)], "phone in the list")

    before = ctx.walk(STAFF, client=full(ctx))
    for label, b, status, code, field in [
            ("username taken", {"username": s["username"]}, 409, "conflict", "username"),
            ("upper-case username", {"username": "LiNa"}, 400, "invalid_argument", "username"),
            ("username with a space", {"username": "li na"}, 400, "invalid_argument", "username"),
            ("username of 33", {"username": "a" * 33}, 400, "invalid_argument", "username"),
            ("empty username", {"username": ""}, 400, "invalid_argument", "username"),
            ("no password", {"password": None}, 400, "invalid_argument", "password"),
            ("unknown role", {"role": "janitor"}, 400, "invalid_argument", "role"),
            ("unknown store", {"store_ids": [NOWHERE]}, 400, "invalid_argument", "store_ids"),
            ("unknown field", {"pin": "1234"}, 400, "invalid_argument", "pin")]:
        b2 = {"username": f"x{ctx.uniq()}", "password": pw(ctx), "role": "cashier",
              "store_ids": [w.a]}
        b2.update(b)
        b2 = {k: v for k, v in b2.items() if v is not None}
        with ctx.case(label):
            expect_error(full(ctx).post(STAFF, b2), status, code, field)
    with ctx.case("username taken, by the manager too"):
        expect_error(mgr.post(STAFF, {"username": s["username"], "password": pw(ctx),
                                      "role": "cashier", "store_ids": [w.a]}),
                     409, "conflict", "username")
    for label, change, field in [("username", {"username": "other"}, "username"),
                                 ("password", {"password": pw(ctx)}, "password")]:
        with ctx.case(f"PATCH cannot change the {label}"):
            expect_error(full(ctx).patch(f"{STAFF}/{s['id']}", change), 400, "invalid_argument",
                         field)
    with ctx.case("nothing changed after the refusals"):
        eq(ctx.walk(STAFF, client=full(ctx)), before, "staff")

    with ctx.case("created inactive: honoured or refused, never ignored"):
        username = f"off{ctx.uniq()}"
        password = pw(ctx)
        r = full(ctx).post(STAFF, {"username": username, "password": password,
                                   "role": "cashier", "active": False})
        if r.status == 400:
            expect_error(r, 400, "invalid_argument", "active")
        else:
            eq(expect(r, 201)["active"], False, "active of a staff member created inactive")
            expect_error(ctx.client().post(LOGIN, {"username": username, "password": password}),
                         401, "unauthenticated")
    with ctx.case("unknown staff id"):
        expect_error(full(ctx).get(f"{STAFF}/{NOWHERE}"), 404, "not_found")
        expect_error(full(ctx).patch(f"{STAFF}/{NOWHERE}", {"name": "x"}), 404, "not_found")

    password = pw(ctx)
    expect(full(ctx).post(f"{STAFF}/{s['id']}/password", {"password": password}), 204)
    c = ctx.login(s["username"], password)
    with ctx.case("the new staff member's permissions"):
        eq(expect(c.get(f"{API}/me"), 200)["permissions"], perm_order(ROLE_PERMS["cashier"]),
           "permissions")
    with ctx.case("disabling ends the sessions and the logins"):
        got = expect(mgr.patch(f"{STAFF}/{s['id']}", {"active": False}), 200)
        eq(got["active"], False, "active")
        expect_error(c.get(f"{API}/me"), 401, "unauthenticated")
        expect_error(ctx.client().post(LOGIN, {"username": s["username"], "password": password}),
                     401, "unauthenticated")
        expect(mgr.patch(f"{STAFF}/{s['id']}", {"active": True}), 200)
        ctx.login(s["username"], password)
    with ctx.case("a role change ends the sessions"):
        c = ctx.login(s["username"], password)
        expect(full(ctx).patch(f"{STAFF}/{s['id']}", {"role": "auditor"}), 200)
        expect_error(c.get(f"{API}/me"), 401, "unauthenticated")
        c = ctx.login(s["username"], password)
        eq(expect(c.get(f"{API}/me"), 200)["permissions"], perm_order(ROLE_PERMS["auditor"]),
           "permissions after the change")


@group.test
def password_policy(ctx):
    """12 to 128 characters (characters, not bytes), not a common password; on create, on a
    password change and in `patron init`."""
    w = world(ctx)
    before = ctx.walk(STAFF, client=full(ctx))
    refused = [("11 characters", "Kq7#mZ2!pLx"),
               ("129 characters", long_password(129)),
               ("a common password", "password1234"),
               ("11 Chinese characters", "我的密码是一句很长的话"),
               ("empty", "")]
    check(len(refused[1][1]) == 129 and len(refused[3][1]) == 11, "test data lengths")
    for label, password in refused:
        with ctx.case(f"create with {label}"):
            expect_error(full(ctx).post(STAFF, {"username": f"p{ctx.uniq()}", "password": password,
                                                "role": "cashier"}),
                         400, "invalid_argument", "password")
    with ctx.case("nothing created"):
        eq(ctx.walk(STAFF, client=full(ctx)), before, "staff after refused creates")
    accepted = [("12 characters", "Kq7#mZ2!pLxw"),
                ("64 characters", long_password(64)),
                ("128 characters", long_password(128)),
                ("12 Chinese characters", "春眠不觉晓处处闻啼鸟夜来")]
    check([len(p) for _, p in accepted] == [12, 64, 128, 12], "test data lengths")
    for label, password in accepted:
        with ctx.case(f"create with {label}"):
            s, _ = new_staff(ctx, "cashier", password=password)
            ctx.login(s["username"], password)

    s, old = new_staff(ctx, "cashier", [w.a])
    c = ctx.login(s["username"], old)
    for label, password in refused:
        with ctx.case(f"password change to {label}"):
            expect_error(full(ctx).post(f"{STAFF}/{s['id']}/password", {"password": password}),
                         400, "invalid_argument", "password")
    with ctx.case("a refused change keeps the password and the session"):
        expect(c.get(f"{API}/me"), 200)
        ctx.login(s["username"], old)

    with ctx.case("patron init --owner-password"):
        for label, password in [("11 characters", "Kq7#mZ2!pLx"),
                                ("a common password", "password1234")]:
            path = os.path.join(ctx.inst.workdir, f"init-{ctx.uniq()}.db")
            r = subprocess.run([ctx.cfg.patron, "init", "--db", f"sqlite:{path}",
                                "--owner-password", password],
                               capture_output=True, text=True, timeout=120)
            check(r.returncode != 0, f"init with {label} exited 0: {r.stdout}{r.stderr}")
            r = subprocess.run([ctx.cfg.patron, "init", "--db", f"sqlite:{path}",
                                "--owner-password", OWNER_PASSWORD],
                               capture_output=True, text=True, timeout=120)
            check(r.returncode == 0, f"init after a refused password: {r.stdout}{r.stderr}")


@group.test
def password_change_ends_sessions(ctx):
    w = world(ctx)
    s, old = new_staff(ctx, "cashier", [w.a])
    one, two = ctx.login(s["username"], old), ctx.login(s["username"], old)
    bystander = ctx.login(w.cashier["username"], w.cashier_pw)
    new = pw(ctx, "new")
    r = w.s_owner.post(f"{STAFF}/{s['id']}/password", {"password": new})
    expect(r, 204)
    eq(r.body, b"", "204 body")
    for label, c in [("first", one), ("second", two)]:
        with ctx.case(f"{label} session ended"):
            expect_error(c.get(f"{API}/me"), 401, "unauthenticated")
    with ctx.case("other accounts' sessions live on"):
        expect(bystander.get(f"{API}/me"), 200)
        expect(w.s_owner.get(f"{API}/me"), 200)
    with ctx.case("the old password no longer works, the new one does"):
        expect_error(ctx.client().post(LOGIN, {"username": s["username"], "password": old}), 401,
                     "unauthenticated")
        c = ctx.login(s["username"], new)
    with ctx.case("a manager changes a cashier's password: sessions end too"):
        newer = pw(ctx, "newer")
        expect(w.s_manager.post(f"{STAFF}/{s['id']}/password", {"password": newer}), 204)
        expect_error(c.get(f"{API}/me"), 401, "unauthenticated")
        ctx.login(s["username"], newer)
    with ctx.case("a manager changes their own password: their sessions end"):
        mgr, mpw = new_staff(ctx, "manager", [w.a])
        a, b = ctx.login(mgr["username"], mpw), ctx.login(mgr["username"], mpw)
        expect(a.post(f"{STAFF}/{mgr['id']}/password", {"password": pw(ctx, "own")}), 204)
        expect_error(a.get(f"{API}/me"), 401, "unauthenticated")
        expect_error(b.get(f"{API}/me"), 401, "unauthenticated")
    with ctx.case("a cashier cannot change a password (no staff.manage)"):
        c = ctx.login(s["username"], newer)
        expect_error(c.post(f"{STAFF}/{s['id']}/password", {"password": pw(ctx)}), 403,
                     "permission_denied", None)
        expect(c.get(f"{API}/me"), 200)


# ---------------------------------------------------------------- roles

@group.test
def roles_crud(ctx):
    w = world(ctx)
    owner = w.s_owner
    before_roles = expect(owner.get(ROLES), 200)
    for name in ROLE_PERMS:
        with ctx.case(f"built-in {name} cannot be created, replaced or deleted"):
            expect_error(owner.post(ROLES, {"name": name, "permissions": ["members.read"]}), 409,
                         "conflict", "name")
            expect_error(owner.put(f"{ROLES}/{name}", {"permissions": ["members.read"]}), 409,
                         "conflict", ANY)
            expect_error(owner.delete(f"{ROLES}/{name}"), 409, "conflict", ANY)
    for label, b, field in [
            ("unknown permission", {"name": "r1", "permissions": ["members.read", "fly"]},
             "permissions"),
            ("permission not a string", {"name": "r1", "permissions": [1]}, "permissions"),
            ("no permissions", {"name": "r1"}, "permissions"),
            ("bad name", {"name": "Shift Lead", "permissions": []}, "name"),
            ("no name", {"permissions": []}, "name"),
            ("unknown field", {"name": "r1", "permissions": [], "builtin": True}, "builtin")]:
        with ctx.case(label):
            expect_error(owner.post(ROLES, b), 400, "invalid_argument", field)
    # PUT creates a role it does not find: its name in the path follows the same rules.
    for label, path_name in [("upper case and a space", "Shift%20Lead"),
                             ("not UTF-8", "c%F9ecker"), ("33 characters", "r" * 33)]:
        with ctx.case(f"PUT to a bad name: {label}"):
            expect_error(owner.put(f"{ROLES}/{path_name}", {"permissions": ["members.read"]}),
                         400, "invalid_argument", "name")
    with ctx.case("nothing changed after the refusals"):
        eq(expect(owner.get(ROLES), 200), before_roles, "roles")
    with ctx.case("limit and cursor"):
        eq(walk_by_one(owner, ROLES), before_roles["items"], "roles one a page")
        bad_list_params(owner, ROLES)

    name = f"shift-lead-{ctx.uniq()}"
    r = owner.post(ROLES, {"name": name, "permissions": ["members:read", "member.pii",
                                                         "checkout", "members.read"]})
    role = expect(r, 201)
    eq(role, {"name": name, "builtin": False,
              "permissions": perm_order(["members.read", "members.pii", "checkout"])}, "role")
    with ctx.case("listed"):
        eq([x for x in expect(owner.get(ROLES), 200)["items"] if x["name"] == name], [role],
           "listed role")
    with ctx.case("POST of a name that exists is a conflict, not a replacement"):
        expect_error(owner.post(ROLES, {"name": name, "permissions": PERMS}), 409, "conflict",
                     "name")
        eq([x for x in expect(owner.get(ROLES), 200)["items"] if x["name"] == name], [role],
           "role after a second POST")
    # (put it back, whatever the answer was, so the rest of the test means something)
    expect(owner.put(f"{ROLES}/{name}", {"permissions": role["permissions"]}), 200)
    s, spw = new_staff(ctx, name)
    c = ctx.login(s["username"], spw)
    eq(expect(c.get(f"{API}/me"), 200)["permissions"], role["permissions"], "holder's permissions")
    with ctx.case("PUT changes what holders may do at once"):
        got = expect(owner.put(f"{ROLES}/{name}", {"permissions": ["stores.read"]}), 200)
        eq(got, {"name": name, "builtin": False, "permissions": ["stores.read"]}, "PUT answer")
        eq(expect(c.get(f"{API}/me"), 200)["permissions"], ["stores.read"], "after PUT")
        expect_error(c.get(M), 403, "permission_denied", None)
        expect(c.get(STORES), 200)
    with ctx.case("PUT cannot rename"):
        expect_error(owner.put(f"{ROLES}/{name}", {"name": "other", "permissions": []}), 400,
                     "invalid_argument", "name")
    with ctx.case("a role in use cannot be deleted"):
        expect_error(owner.delete(f"{ROLES}/{name}"), 409, "conflict", ANY)
        eq([x["name"] for x in expect(owner.get(ROLES), 200)["items"] if x["name"] == name],
           [name], "still listed")
        expect(c.get(f"{API}/me"), 200)
    with ctx.case("a disabled holder still holds it"):
        expect(owner.patch(f"{STAFF}/{s['id']}", {"active": False}), 200)
        expect_error(owner.delete(f"{ROLES}/{name}"), 409, "conflict", ANY)
        expect(owner.patch(f"{STAFF}/{s['id']}", {"active": True}), 200)
    with ctx.case("once nobody holds it, it goes"):
        expect(owner.patch(f"{STAFF}/{s['id']}", {"role": "cashier"}), 200)
        r = owner.delete(f"{ROLES}/{name}")
        expect(r, 204)
        eq(r.body, b"", "204 body")
        check(name not in [x["name"] for x in expect(owner.get(ROLES), 200)["items"]],
              "deleted role still listed")
        expect_error(owner.delete(f"{ROLES}/{name}"), 404, "not_found")
        expect_error(owner.post(STAFF, {"username": f"r{ctx.uniq()}", "password": pw(ctx),
                                        "role": name}), 400, "invalid_argument", "role")
    with ctx.case("staff.manage may list roles but not change them"):
        expect(w.s_manager.get(ROLES), 200)
        expect_error(w.s_manager.post(ROLES, {"name": f"m{ctx.uniq()}", "permissions": []}), 403,
                     "permission_denied", None)


# ---------------------------------------------------------------- CSRF and the cookie

@group.test
def csrf_on_staff_and_roles(ctx):
    w = world(ctx)
    s, spw = new_staff(ctx, "cashier", [w.a])
    victim_session = ctx.login(s["username"], spw)
    role = f"csrf-{ctx.uniq()}"
    expect(full(ctx).post(ROLES, {"name": role, "permissions": ["members.read"]}), 201)
    before = db_state(ctx)
    owner = w.s_owner
    nocsrf = ctx.client(cookie=owner.cookie)
    wrong = ctx.client(cookie=owner.cookie, csrf=w.s_manager.csrf)
    for label, c in [("no X-CSRF-Token", nocsrf), ("another session's token", wrong)]:
        for m, path, body in [
                ("POST", STAFF, {"username": f"c{ctx.uniq()}", "password": pw(ctx),
                                 "role": "cashier"}),
                ("PATCH", f"{STAFF}/{s['id']}", {"active": False}),
                ("POST", f"{STAFF}/{s['id']}/password", {"password": pw(ctx)}),
                ("POST", ROLES, {"name": f"c{ctx.uniq()}", "permissions": PERMS}),
                ("PUT", f"{ROLES}/{role}", {"permissions": PERMS}),
                ("DELETE", f"{ROLES}/{role}", None)]:
            with ctx.case(f"{label}: {m} {path}"):
                kw = {"body": body} if body is not None else {}
                expect_error(c.request(m, path, **kw), 403, "csrf_failed")
    with ctx.case("nothing changed"):
        same_db(ctx, before, "requests without a CSRF token")
        expect(victim_session.get(f"{API}/me"), 200)
        ctx.login(s["username"], spw)
    with ctx.case("reads need no token"):
        expect(nocsrf.get(STAFF), 200)
        expect(nocsrf.get(AUDIT, params={"limit": 1}), 200)


@group.test
def staff_cookie_attributes(ctx):
    w = world(ctx)
    r = ctx.client().post(LOGIN, {"username": w.cashier["username"], "password": w.cashier_pw})
    expect(r, 200)
    cookie = set_cookie_header(r)
    check(cookie, f"no patron_session cookie: {r.headers.get_all('Set-Cookie')}")
    attrs = {a.strip().split("=", 1)[0].lower(): (a.strip().split("=", 1) + [""])[1]
             for a in cookie.split(";")[1:]}
    check("httponly" in attrs, f"not HttpOnly: {cookie}")
    eq(attrs.get("samesite", "").lower(), "strict", f"SameSite in {cookie!r}")
    with ctx.case("the cookie ends with the absolute session limit (12 hours)"):
        if "max-age" in attrs:
            check(0 < int(attrs["max-age"]) <= 12 * 3600, f"Max-Age in {cookie!r}")
    with ctx.case("a refused login sets no cookie"):
        r = ctx.client().post(LOGIN, {"username": w.cashier["username"], "password": "wrong " * 3})
        expect_error(r, 401, "unauthenticated")
        eq(session_cookie(r), None, "cookie on a refused login")


# ---------------------------------------------------------------- audit

def one(entries, what, **match):
    found = [e for e in entries if all(e.get(k) == v for k, v in match.items())]
    check(len(found) == 1, f"{what}: expected one entry {match}, found {len(found)}: "
                           f"{[(e['action'], e['staff_id'], e['object_id']) for e in entries][:20]}")
    return found[0]


@group.test
def audit_entries(ctx):
    w = world(ctx)
    f = full(ctx)
    key_id = expect(f.get(f"{API}/me"), 200)["api_key"]["id"]
    start = newest_audit_id(ctx)
    s, spw = new_staff(ctx, "cashier", [w.a], via=w.s_owner)
    wrong = "not the password at all"
    expect_error(ctx.client().post(LOGIN, {"username": s["username"], "password": wrong}), 401,
                 "unauthenticated")
    c = ctx.login(s["username"], spw)
    expect_error(c.get(AUDIT), 403, "permission_denied", None)
    new_pw = pw(ctx, "audit")
    expect(w.s_owner.patch(f"{STAFF}/{s['id']}", {"name": "审计"}), 200)
    expect(w.s_owner.post(f"{STAFF}/{s['id']}/password", {"password": new_pw}), 204)
    mid = w.member_a["id"]
    adj = expect(f.post(f"{M}/{mid}/points/adjust", {"points": 77, "reason": "审计调整"},
                        headers=idem(ctx)), 201)
    order = sell(ctx, w.a, w.sku, 2)
    ref = expect(f.post(f"{ORDERS}/{order['order_id']}/refund", {}, headers=idem(ctx)), 201)
    role = f"aud-{ctx.uniq()}"
    expect(w.s_owner.post(ROLES, {"name": role, "permissions": ["members.read"]}), 201)
    expect(w.s_owner.delete(f"{ROLES}/{role}"), 204)

    entries = audit_since(ctx, start)
    owner_id = expect(w.s_owner.get(f"{API}/me"), 200)["user"]["id"]
    sid = str(s["id"])
    with ctx.case("entry shape"):
        ids = [e["id"] for e in entries]
        eq(ids, sorted(ids, reverse=True), "newest first")
        for e in entries:
            eq(set(e), AUDIT_KEYS, "audit entry keys")
            check_time(e["at"], "at")
            check(isinstance(e["hash"], str) and re.fullmatch(r"[0-9a-f]{64}", e["hash"]),
                  f"hash {e['hash']!r}")
            eq(e["ip"], "127.0.0.1", "ip")
            check(isinstance(e["detail"], dict), f"detail {e['detail']!r}")
    checks = [
        ("staff.create", dict(action="staff.create", object_type="staff", object_id=sid,
                              staff_id=owner_id, api_key_id=None)),
        ("login_failed", dict(action="login_failed", object_type="staff", object_id=sid,
                              staff_id=None)),
        ("login", dict(action="login", object_type="staff", object_id=sid, staff_id=s["id"])),
        ("permission_denied", dict(action="permission_denied", staff_id=s["id"])),
        ("staff.update", dict(action="staff.update", object_id=sid, staff_id=owner_id)),
        ("staff.password", dict(action="staff.password", object_id=sid, staff_id=owner_id)),
        ("points.adjust", dict(action="points.adjust", object_type="member", object_id=str(mid),
                               api_key_id=key_id, staff_id=None)),
        ("order.refund", dict(action="order.refund", object_type="order",
                              object_id=str(order["order_id"]), api_key_id=key_id)),
        ("role.put", dict(action="role.put", object_type="role", staff_id=owner_id)),
        ("role.delete", dict(action="role.delete", object_type="role", staff_id=owner_id)),
    ]
    got = {}
    for label, match in checks:
        with ctx.case(label):
            got[label] = one(entries, label, **match)
    with ctx.case("details"):
        if "login_failed" in got:
            eq(got["login_failed"]["detail"].get("username"), s["username"], "login_failed username")
        if "permission_denied" in got:
            eq(got["permission_denied"]["detail"], {"method": "GET", "route": AUDIT},
               "permission_denied detail")
        if "points.adjust" in got:
            eq(got["points.adjust"]["detail"].get("points"), 77, "points.adjust points")
            eq(got["points.adjust"]["detail"].get("entry_id"), adj["entry"]["id"], "entry_id")
        if "order.refund" in got:
            eq(got["order.refund"]["detail"].get("refund_id"), ref["refund_id"], "refund_id")
        if "staff.create" in got:
            eq(got["staff.create"]["detail"].get("role"), "cashier", "staff.create role")
        for label in ("role.put", "role.delete"):
            if label in got:
                eq(got[label]["detail"].get("name"), role, f"{label} name")
    with ctx.case("no password in the audit trail"):
        text = str(audit(ctx))
        for secret in (spw, new_pw, wrong, w.cashier_pw, OWNER_PASSWORD):
            check(secret not in text, f"a password is in the audit trail: {secret!r}")

    with ctx.case("filter action"):
        items = audit(ctx, action="login_failed")
        check(items and all(e["action"] == "login_failed" for e in items), "action filter")
        check(any(e["id"] == got.get("login_failed", {}).get("id") for e in items),
              "the failed login is not in its filter")
    with ctx.case("filter staff_id"):
        items = audit(ctx, staff_id=s["id"])
        eq(sorted(e["action"] for e in items), ["login", "permission_denied"],
           "actions by the new cashier")
    with ctx.case("filter object"):
        items = audit(ctx, object_type="order", object_id=str(order["order_id"]))
        eq([e["action"] for e in items], ["order.refund"], "entries of the order")
        items = audit(ctx, object_type="staff", object_id=sid)
        eq(sorted({e["action"] for e in items}),
           ["login", "login_failed", "staff.create", "staff.password", "staff.update"],
           "actions on the staff member")
    with ctx.case("filters combine"):
        items = audit(ctx, action="login", staff_id=s["id"])
        eq([e["action"] for e in items], ["login"], "login by the new cashier")
        eq(audit(ctx, action="no.such.action"), [], "unknown action")
    with ctx.case("paging"):
        whole = audit(ctx)
        eq(ctx.walk(AUDIT, limit=3, client=f), whole, "walked with limit=3")
    for label, params, field in [("staff_id not a number", {"staff_id": "abc"}, "staff_id"),
                                 ("staff_id 0", {"staff_id": "0"}, "staff_id"),
                                 ("from not a time", {"from": "yesterday"}, "from"),
                                 ("to not a time", {"to": "2026-13-01T00:00:00Z"}, "to"),
                                 ("limit 0", {"limit": "0"}, "limit")]:
        with ctx.case(label):
            expect_error(f.get(AUDIT, params=params), 400, "invalid_argument", field)
    with ctx.case("the auditor reads it, the manager does not"):
        expect(w.s_auditor.get(AUDIT, params={"limit": 1}), 200)
        expect_error(w.s_manager.get(AUDIT), 403, "permission_denied", None)


def sql(ctx, statement):
    """Runs one statement on the group's database behind the server's back."""
    if ctx.inst.db.kind == "sqlite":
        cmd = ["sqlite3", "-cmd", ".timeout 10000", ctx.inst.db.url.split(":", 1)[1], statement]
    else:
        cmd = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", ctx.inst.db.url, "-At", "-c",
               statement]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        fail(f"{cmd[0]} {statement!r}: {r.stderr.strip()}")
    return r.stdout.strip()


def patron_check(ctx):
    r = ctx.inst.cli("check")
    return r.returncode, (r.stdout + r.stderr).strip()


@group.test
def audit_covers_catalogue_stock_and_member_changes(ctx):
    """Changes to what a sale is priced from (products, promotions, coupons), stores, counted
    stock and members' details are in the audit trail, with who made them; a member's change
    names the fields, never their values."""
    w = world(ctx)
    start = newest_audit_id(ctx)
    mgr = w.s_manager
    sku = f"AUD{ctx.uniq()}"
    prod = expect(mgr.post(f"{API}/products", {"sku": sku, "name": "审计商品", "price": 1000}), 201)
    expect(mgr.patch(f"{API}/products/{sku}", {"price": 900}), 200)
    phone = ctx.phone("137")
    expect(mgr.patch(f"{M}/{w.member_a['id']}", {"phone": phone, "note": "审计"}), 200)
    promo = expect(mgr.post(f"{API}/promotions", {
        "name": "审计促销", "kind": "spend_threshold", "store_ids": [w.a],
        "levels": [{"min_spend": 10000, "off": 100}],
        "starts_at": "2090-01-01T00:00:00Z", "ends_at": "2090-02-01T00:00:00Z"}), 201)
    expect(mgr.patch(f"{API}/promotions/{promo['id']}", {"name": "审计促销 2"}), 200)
    tmpl = expect(mgr.post(f"{API}/coupon-templates", {
        "name": "审计券", "kind": "amount_off", "value": 100, "valid_days": 30,
        "store_ids": [w.a]}), 201)
    expect(mgr.post(f"{API}/coupon-templates/{tmpl['id']}/issue",
                    {"member_ids": [w.member_a["id"]]}), 201)
    expect(mgr.post(f"{STOCK}/movements", {"store_id": w.a, "sku": w.sku, "kind": "adjust",
                                           "qty": -1}, headers=idem(ctx)), 201)
    store = expect(w.s_owner.post(STORES, {"code": f"A{ctx.uniq()}", "name": "审计店"}), 201)
    expect(w.s_owner.patch(f"{STORES}/{store['id']}", {"name": "审计店 2"}), 200)
    got = {(e["action"], e["object_id"]): e for e in audit_since(ctx, start)}
    want = [("product.create", prod["id"]), ("product.update", prod["id"]),
            ("member.update", w.member_a["id"]), ("promotion.create", promo["id"]),
            ("promotion.update", promo["id"]), ("coupon_template.create", tmpl["id"]),
            ("coupon.issue", tmpl["id"]), ("stock.adjust", w.a),
            ("store.create", store["id"]), ("store.update", store["id"])]
    for action, oid in want:
        with ctx.case(action):
            e = got.get((action, str(oid)))
            check(e is not None, f"no {action} entry for {oid}: {sorted(got)}")
            if action != "store.create" and action != "store.update":
                eq(e["staff_id"], w.manager["id"], f"{action} staff_id")
    eq(got[("product.update", str(prod["id"]))]["detail"], {"sku": sku, "price": 900},
       "product.update detail")
    member = got[("member.update", str(w.member_a["id"]))]
    eq(member["detail"], {"fields": ["phone", "note"]}, "member.update detail")
    check(phone not in json.dumps(member), "the audit trail holds a phone number")
    eq(got[("stock.adjust", str(w.a))]["detail"]["qty"], -1, "stock.adjust qty")


@group.test
def audit_chain_tamper(ctx):
    """Changing any column of one audit row makes `patron check` exit 1 naming that entry;
    putting it back makes it pass again."""
    w = world(ctx)
    expect(full(ctx).post(f"{M}/{w.member_a['id']}/points/adjust",
                          {"points": 5, "reason": "链"}, headers=idem(ctx)), 201)
    ctx.login()  # a few more entries after the one we change
    rc, out = patron_check(ctx)
    check(rc == 0, f"patron check before any change exited {rc}:\n{out[-2000:]}")
    target = audit(ctx, action="points.adjust")[0]
    n = target["id"]
    check(n < newest_audit_id(ctx), "the changed entry should not be the last")
    columns = ["detail", "at", "staff_id"]
    original = {col: sql(ctx, f"SELECT {col} FROM audit_log WHERE id = {n}") for col in columns}
    changes = {"detail": "'{\"points\":5000000,\"reason\":\"链\"}'",
               "at": f"{int(original['at']) + 1000}",
               "staff_id": "1"}
    for col in columns:
        with ctx.case(f"changed {col}"):
            sql(ctx, f"UPDATE audit_log SET {col} = {changes[col]} WHERE id = {n}")
            try:
                rc, out = patron_check(ctx)
                eq(rc, 1, f"patron check exit status with {col} of entry {n} changed ({out})")
                check(re.search(rf"\b{n}\b", out) and "audit" in out.lower(),
                      f"patron check does not name audit entry {n}:\n{out[-2000:]}")
            finally:
                value = original[col]
                restore = ("NULL" if value == "" and col == "staff_id"
                           else value if col in ("at", "staff_id")
                           else "'" + value.replace("'", "''") + "'")
                sql(ctx, f"UPDATE audit_log SET {col} = {restore} WHERE id = {n}")
            rc, out = patron_check(ctx)
            eq(rc, 0, f"patron check after putting {col} back ({out[-500:]})")
    with ctx.case("a removed entry breaks the chain after it"):
        sql(ctx, f"DELETE FROM audit_log WHERE id = {n}")
        rc, out = patron_check(ctx)
        eq(rc, 1, f"patron check exit status with entry {n} removed ({out})")
        check("audit" in out.lower(), f"patron check does not name the audit trail:\n{out}")


# ---------------------------------------------------------------- lockout, throttling, sessions
# (a --test-clock server: every test moves the clock forward from where the last one left it)

def clock_start(ctx, hours=24):
    """Pins the clock `hours` after the last test's time (or now); returns that time."""
    full(ctx)  # made before the first jump, while the harness's session is valid
    base = getattr(ctx, "_sec_clock", None)
    if base is None:
        base = utc(expect(ctx.anon.get(f"{API}/_test/clock"), 200)["now"]).replace(
            second=0, microsecond=0)
    t = base + datetime.timedelta(hours=hours)
    set_clock(ctx, t)
    ctx._sec_clock = t
    return t


def at(ctx, t):
    set_clock(ctx, t)
    if t > ctx._sec_clock:
        ctx._sec_clock = t


def minutes(n):
    return datetime.timedelta(minutes=n)


def login_as(ctx, username, password):
    return ctx.client().post(LOGIN, {"username": username, "password": password})


def failures(ctx, usernames):
    """One failed login per name in usernames (a name may repeat), one after another; each
    must answer 401. (Not in parallel: the server checks a password inside its write
    transaction, so parallel sign-ins queue on SQLite's write lock and, on a busy machine, get
    503 after the 10 s busy timeout.)"""
    for name in usernames:
        expect_error(login_as(ctx, name, f"wrong password {ctx.uniq()}"), 401,
                     "unauthenticated")


def expect_locked(r, retry_after):
    expect_error(r, 429, "rate_limited")
    ra = r.header("Retry-After")
    check(ra is not None and ra.isdigit(), f"Retry-After {ra!r}: {r}")
    if retry_after is not None:
        eq(int(ra), retry_after, "Retry-After")
    eq(session_cookie(r), None, "a session cookie on a refused login")


@clock_group.test
def lockout_after_ten_failures(ctx):
    t0 = clock_start(ctx)
    s, good = new_staff(ctx, "cashier")
    for i in range(1, 11):
        with ctx.case(f"failure {i}"):
            expect_error(login_as(ctx, s["username"], f"wrong password {i}"), 401,
                         "unauthenticated")
    with ctx.case("locked: the right password is refused too"):
        expect_locked(login_as(ctx, s["username"], good), 1800)
    with ctx.case("locked: a wrong one as well"):
        expect_locked(login_as(ctx, s["username"], "wrong again!"), 1800)
    with ctx.case("the staff record shows it"):
        eq(expect(full(ctx).get(f"{STAFF}/{s['id']}"), 200)["locked"], True, "locked")
    with ctx.case("audited: login_locked, then login_refused"):
        acts = [e["action"] for e in audit(ctx, object_type="staff", object_id=str(s["id"]))]
        eq(acts.count("login_failed"), 10, f"login_failed entries in {acts}")
        eq(acts.count("login_locked"), 1, f"login_locked entries in {acts}")
        refused = [e for e in audit(ctx, action="login_refused")
                   if e["detail"].get("username") == s["username"]]
        eq(len(refused), 2, "login_refused entries")
    at(ctx, t0 + minutes(29))
    with ctx.case("still locked after 29 minutes"):
        expect_locked(login_as(ctx, s["username"], good), 60)
    at(ctx, t0 + minutes(30))
    with ctx.case("after 30 minutes the record no longer shows a lock"):
        eq(expect(full(ctx).get(f"{STAFF}/{s['id']}"), 200)["locked"], False, "locked")
    with ctx.case("after 30 minutes the right password works"):
        expect(login_as(ctx, s["username"], good), 200)
    with ctx.case("and the count starts again"):
        expect_error(login_as(ctx, s["username"], "wrong once more"), 401, "unauthenticated")
        expect(login_as(ctx, s["username"], good), 200)


@clock_group.test
def lockout_counts(ctx):
    """Success clears the count; failures older than 30 minutes do not count; an unknown
    username locks the same way."""
    t0 = clock_start(ctx)
    s, good = new_staff(ctx, "cashier")
    name = s["username"]
    with ctx.case("5 failures, a success, 9 failures: not locked"):
        failures(ctx, [name] * 5)
        expect(login_as(ctx, name, good), 200)
        failures(ctx, [name] * 9)
    at(ctx, t0 + minutes(31))
    with ctx.case("those 9, 31 minutes, 1 more failure: not locked"):
        expect_error(login_as(ctx, name, "wrong late password"), 401, "unauthenticated")
        expect(login_as(ctx, name, good), 200)
    with ctx.case("an unknown username locks after 10 failures too"):
        ghost = f"ghost{ctx.uniq()}"
        failures(ctx, [ghost] * 10)
        expect_locked(login_as(ctx, ghost, "guess number 10"), 1800)
    at(ctx, t0 + minutes(31 + 30))
    with ctx.case("the unknown username 30 minutes later (when Retry-After said)"):
        expect_error(login_as(ctx, ghost, "guess number 11"), 401, "unauthenticated")


@clock_group.test
def session_expiry(ctx):
    t0 = clock_start(ctx)
    s, good = new_staff(ctx, "cashier")
    c = ctx.login(s["username"], good)
    with ctx.case("idle: 29 minutes apart is fine"):
        at(ctx, t0 + minutes(29))
        expect(c.get(f"{API}/me"), 200)
        at(ctx, t0 + minutes(58))
        expect(c.get(f"{API}/me"), 200)
    with ctx.case("idle: 30 minutes without a request ends it"):
        at(ctx, t0 + minutes(88))
        expect_error(c.get(f"{API}/me"), 401, "unauthenticated")
        expect_error(c.post(M, {"name": "过期", "phone": ctx.phone()}), 401, "unauthenticated")
    t1 = t0 + minutes(120)
    at(ctx, t1)
    c = ctx.login(s["username"], good)
    with ctx.case("absolute: busy all day, it still ends after 12 hours"):
        for k in range(1, 29):  # every 25 minutes up to 11 h 40 min
            at(ctx, t1 + minutes(25 * k))
            expect(c.get(f"{API}/me"), 200)
        at(ctx, t1 + minutes(12 * 60 - 1))
        expect(c.get(f"{API}/me"), 200)
        at(ctx, t1 + minutes(12 * 60))
        expect_error(c.get(f"{API}/me"), 401, "unauthenticated")
    with ctx.case("a new login works"):
        expect(ctx.login(s["username"], good).get(f"{API}/me"), 200)


@clock_group.test
def audit_time_filters(ctx):
    t0 = clock_start(ctx)
    names = [f"timed{ctx.uniq()}" for _ in range(3)]
    times = [t0, t0 + minutes(60), t0 + minutes(120)]
    for name, t in zip(names, times):
        at(ctx, t)
        expect_error(login_as(ctx, name, "some wrong password"), 401, "unauthenticated")

    def users(**params):
        return [e["detail"].get("username") for e in audit(ctx, action="login_failed", **params)
                if e["detail"].get("username") in names]

    with ctx.case("at is the clock's time"):
        got = {e["detail"].get("username"): e["at"] for e in audit(ctx, action="login_failed")}
        eq([utc(got.get(n, "1970-01-01T00:00:00Z")) for n in names], times, "at")
    sec = minutes(1) / 60
    with ctx.case("from"):
        eq(users(**{"from": iso(times[1] - sec)}), names[:0:-1], "from before the second")
    with ctx.case("to"):
        eq(users(to=iso(times[2] - sec)), names[1::-1], "to before the third")
    with ctx.case("from and to"):
        eq(users(**{"from": iso(times[1] - sec), "to": iso(times[1] + sec)}), [names[1]],
           "around the second")


@clock_group.test
def address_throttle(ctx):
    """More than 50 failed logins from one address within 10 minutes: that address gets 429,
    whatever the account; 10 minutes later it may try again."""
    t0 = clock_start(ctx)
    with ctx.case("50 failures, each of another name"):
        failures(ctx, [f"nobody{ctx.uniq()}" for _ in range(50)])
    r = login_as(ctx, f"nobody{ctx.uniq()}", "a wrong password")
    if r.status == 401:  # "more than 50" read as: the 52nd is refused
        r = login_as(ctx, f"nobody{ctx.uniq()}", "a wrong password")
    with ctx.case("throttled"):
        expect_locked(r, 600)
    with ctx.case("the owner with the right password is throttled too"):
        expect_locked(login_as(ctx, "owner", OWNER_PASSWORD), 600)
    at(ctx, t0 + minutes(10))
    with ctx.case("10 minutes later (when Retry-After said) the address may sign in again"):
        expect(login_as(ctx, "owner", OWNER_PASSWORD), 200)
    at(ctx, t0 + minutes(10) + datetime.timedelta(seconds=1))
    with ctx.case("10 minutes and a second later the address may sign in again"):
        expect(login_as(ctx, "owner", OWNER_PASSWORD), 200)
