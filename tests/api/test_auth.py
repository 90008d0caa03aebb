"""Login, sessions, CSRF, API keys, scopes, PII masking and /metrics."""

import re

from harness import (ALL_SCOPES, API, DEFAULT_SCOPES, Group, check, check_time, eq, expect,
                     expect_error, mask_phone, run_threads, session_cookie, set_cookie_header)

group = Group("auth")

LOGIN = f"{API}/auth/login"


@group.test
def login_ok(ctx):
    c = ctx.client()
    r = c.post(LOGIN, {"username": "owner", "password": ctx.inst.password})
    body = expect(r, 200)
    eq(set(body), {"user", "csrf_token"}, "login body keys")
    user = body["user"]
    eq(user.get("username"), "owner", "user.username")
    eq(user.get("role"), "owner", "user.role")
    check(isinstance(user.get("id"), int) and user["id"] > 0, f"user.id: {user}")
    check_time(user.get("created_at"), "user.created_at")
    check(not any(k in user for k in ("password", "password_hash", "hash")), f"user: {user}")
    check(isinstance(body["csrf_token"], str) and len(body["csrf_token"]) >= 16,
          f"csrf_token: {body['csrf_token']!r}")
    cookie = set_cookie_header(r)
    check(cookie, f"no patron_session Set-Cookie: {r.headers.get_all('Set-Cookie')}")
    attrs = {a.strip().split("=", 1)[0].lower(): (a.strip().split("=", 1) + [""])[1]
             for a in cookie.split(";")[1:]}
    check("httponly" in attrs, f"cookie is not HttpOnly: {cookie}")
    eq(attrs.get("samesite", "").lower(), "strict", f"SameSite in {cookie!r}")
    eq(attrs.get("path"), "/", f"Path in {cookie!r}")
    check(len(session_cookie(r)) >= 16, f"short session id: {cookie}")
    # two logins give two different sessions and tokens
    r2 = ctx.client().post(LOGIN, {"username": "owner", "password": ctx.inst.password})
    b2 = expect(r2, 200)
    check(session_cookie(r2) != session_cookie(r), "two logins share a session cookie")
    check(b2["csrf_token"] != body["csrf_token"], "two logins share a csrf token")


@group.test
def login_refused(ctx):
    good = ctx.inst.password
    messages = []
    for label, body in [("bad password", {"username": "owner", "password": good + "x"}),
                        ("unknown user", {"username": "nobody", "password": good})]:
        with ctx.case(label):
            r = ctx.client().post(LOGIN, body)
            messages.append(expect_error(r, 401, "unauthenticated")["message"])
            check(session_cookie(r) in (None, ""), f"a refused login set a session: {r.headers}")
    with ctx.case("same message for bad password and unknown user"):
        check(len(messages) >= 2 and messages[0] == messages[1],
              f"messages differ (user enumeration): {messages[:2]}")
    for label, body, field in [
            ("missing password", {"username": "owner"}, "password"),
            ("missing username", {"password": good}, "username"),
            ("username not a string", {"username": 1, "password": good}, "username"),
            ("password null", {"username": "owner", "password": None}, "password"),
            ("unknown field", {"username": "owner", "password": good, "remember": True},
             "remember")]:
        with ctx.case(label):
            expect_error(ctx.client().post(LOGIN, body), 400, "invalid_argument", field)
    with ctx.case("empty password"):  # a wrong password or an invalid one: never a session
        r = ctx.client().post(LOGIN, {"username": "owner", "password": ""})
        if r.status == 400:
            expect_error(r, 400, "invalid_argument", "password")
        else:
            expect_error(r, 401, "unauthenticated")
    with ctx.case("not JSON"):
        r = ctx.client().post(LOGIN, raw=b"username=owner&password=x",
                              ctype="application/x-www-form-urlencoded")
        expect_error(r, 415, "unsupported_media_type")
    with ctx.case("correct password still works"):
        ctx.login()


@group.test
def me_with_cookie_and_with_key(ctx):
    me = expect(ctx.owner.get(f"{API}/me"), 200)
    eq(me["user"]["username"], "owner", "me.user.username")
    eq(me.get("api_key"), None, "me.api_key with a cookie")
    eq(me.get("csrf_token"), ctx.owner.csrf, "me.csrf_token is the session's (a reloaded console)")
    check(set(ALL_SCOPES) <= set(me.get("permissions", [])),
          f"owner lacks permissions: {me.get('permissions')}")
    client, key = ctx.key(["members.read", "stores.read"])
    me = expect(client.get(f"{API}/me"), 200)
    check(me.get("api_key") and me["api_key"]["id"] == key["id"], f"me.api_key: {me}")
    check("key" not in me["api_key"], f"/me shows the key secret: {me}")
    eq(sorted(me.get("permissions", [])), ["members.read", "stores.read"], "key permissions")
    eq(me.get("csrf_token"), None, "no CSRF token for an API key")


@group.test
def cookie_changes_need_csrf(ctx):
    owner = ctx.owner
    token = owner.csrf
    store = ctx.new_store(name="CSRF 原名")
    stores = ctx.stores()
    nocsrf = ctx.client(cookie=owner.cookie)
    badcsrf = ctx.client(cookie=owner.cookie, csrf=token[:-1] + ("A" if token[-1] != "A" else "B"))
    other = ctx.login()  # another session's token does not do either
    cross = ctx.client(cookie=owner.cookie, csrf=other.csrf)
    for label, c in [("no token", nocsrf), ("wrong token", badcsrf), ("other session's", cross)]:
        with ctx.case(f"POST store, {label}"):
            expect_error(c.post(f"{API}/stores", {"code": ctx.code(), "name": "x"}), 403,
                         "csrf_failed")
        with ctx.case(f"PATCH store, {label}"):
            expect_error(c.patch(f"{API}/stores/{store['id']}", {"name": "changed"}), 403,
                         "csrf_failed")
        with ctx.case(f"POST member, {label}"):
            expect_error(c.post(f"{API}/members", {"name": "x", "phone": ctx.phone()}), 403,
                         "csrf_failed")
        with ctx.case(f"POST api-key, {label}"):
            expect_error(c.post(f"{API}/api-keys", {"name": "x"}), 403, "csrf_failed")
        with ctx.case(f"DELETE api-key, {label}"):
            expect_error(c.delete(f"{API}/api-keys/{ctx.api_key['id']}"), 403, "csrf_failed")
        with ctx.case(f"logout, {label}"):
            expect_error(c.post(f"{API}/auth/logout"), 403, "csrf_failed")
    with ctx.case("GET needs no token"):
        expect(nocsrf.get(f"{API}/stores/{store['id']}"), 200)
    eq(ctx.stores(), stores, "stores after refused CSRF requests")
    expect(ctx.api.get(f"{API}/me"), 200)  # the suite key was not revoked
    expect(owner.get(f"{API}/me"), 200)  # the session was not logged out
    with ctx.case("with the token it works"):
        expect(owner.patch(f"{API}/stores/{store['id']}", {"name": "changed"}), 200)
    with ctx.case("Bearer needs no CSRF token"):
        expect(ctx.api.patch(f"{API}/stores/{store['id']}", {"name": "again"}), 200)


@group.test
def logout_ends_the_session(ctx):
    c = ctx.login()
    expect(c.get(f"{API}/me"), 200)
    r = c.post(f"{API}/auth/logout")
    expect(r, 204)
    eq(r.body, b"", "204 body")
    with ctx.case("cookie cleared"):
        sc = set_cookie_header(r)
        check(sc is not None, "logout sets no patron_session cookie to clear it")
        low = (sc or "").lower()
        check("max-age=0" in low or "expires=" in low or session_cookie(r) == "",
              f"logout cookie does not clear: {sc}")
    expect_error(c.get(f"{API}/me"), 401, "unauthenticated")
    expect_error(c.post(f"{API}/stores", {"code": ctx.code(), "name": "x"}), 401, "unauthenticated")
    expect_error(c.post(f"{API}/auth/logout"), 401, "unauthenticated")
    expect(ctx.owner.get(f"{API}/me"), 200)  # other sessions live on


def all_routes(member_id, store_id, key_id):
    return [
        ("GET", f"{API}/me", None),
        ("POST", f"{API}/auth/logout", None),
        ("GET", f"{API}/api-keys", None),
        ("POST", f"{API}/api-keys", {"name": "x"}),
        ("DELETE", f"{API}/api-keys/{key_id}", None),
        ("GET", f"{API}/stores", None),
        ("POST", f"{API}/stores", {"code": "noauth", "name": "x"}),
        ("GET", f"{API}/stores/{store_id}", None),
        ("PATCH", f"{API}/stores/{store_id}", {"name": "x"}),
        ("GET", f"{API}/stores/999999", None),
        ("GET", f"{API}/members", None),
        ("POST", f"{API}/members", {"name": "x", "phone": "13900000000"}),
        ("GET", f"{API}/members/{member_id}", None),
        ("PATCH", f"{API}/members/{member_id}", {"name": "x"}),
        ("DELETE", f"{API}/members/{member_id}", None),
        ("GET", f"{API}/members/lookup?phone=13900000000", None),
        ("GET", "/metrics", None),
    ]


@group.test
def no_credentials_is_401_everywhere(ctx):
    member = ctx.new_member()
    store = ctx.new_store()
    stores, members = ctx.stores(), ctx.members()
    bad = {
        "none": ctx.client(),
        "unknown key": ctx.client(token="ptk_" + "0" * 40),
        "empty bearer": ctx.client(token=""),
        "garbage cookie": ctx.client(cookie="garbage", csrf="garbage"),
    }
    for label, c in bad.items():
        for method, path, body in all_routes(member["id"], store["id"], ctx.api_key["id"]):
            with ctx.case(f"{label}: {method} {path}"):
                kw = {"body": body} if body is not None else {}
                expect_error(c.request(method, path, **kw), 401, "unauthenticated")
    for scheme in ["Basic b3duZXI6eA==", "Bearer", "bearer " + ctx.api.token + "x", "Token x"]:
        with ctx.case(f"Authorization: {scheme[:20]}"):
            r = ctx.client().get(f"{API}/me", headers={"Authorization": scheme})
            expect_error(r, 401, "unauthenticated")
    eq(ctx.stores(), stores, "stores after unauthenticated requests")
    eq(ctx.members(), members, "members after unauthenticated requests")
    expect(ctx.api.get(f"{API}/me"), 200)  # the key was not revoked
    expect(ctx.client().get("/healthz"), 200)


@group.test
def api_key_lifecycle(ctx):
    r = ctx.owner.post(f"{API}/api-keys", {"name": "POS 收银台 1",
                                           "scopes": ["members.read", "members.write"]})
    key = expect(r, 201)
    secret = key.get("key")
    check(isinstance(secret, str) and secret.startswith("ptk_") and len(secret) >= 24,
          f"key secret: {secret!r}")
    eq(key.get("name"), "POS 收银台 1", "name")
    eq(sorted(key.get("scopes", [])), ["members.read", "members.write"], "scopes")
    eq(key.get("store_id"), None, "store_id")
    eq(key.get("revoked_at"), None, "revoked_at")
    check_time(key.get("created_at"), "created_at")
    check(isinstance(key.get("prefix"), str) and key["prefix"] and secret.startswith(key["prefix"])
          and len(key["prefix"]) < len(secret) - 8, f"prefix {key.get('prefix')!r}")
    client = ctx.client(token=secret)
    expect(client.get(f"{API}/members"), 200)

    r = ctx.api.get(f"{API}/api-keys")
    listed = ctx.walk(f"{API}/api-keys")
    check(secret not in r.body.decode("utf-8", "replace"), "the list shows a key's secret")
    mine = [k for k in listed if k["id"] == key["id"]]
    eq(len(mine), 1, "the key in the list")
    check("key" not in mine[0], f"listed key has a 'key' field: {mine[0]}")
    eq({k: v for k, v in mine[0].items()}, {k: v for k, v in key.items() if k != "key"},
       "listed key")

    with ctx.case("default scopes"):
        d = expect(ctx.owner.post(f"{API}/api-keys", {"name": "defaults"}), 201)
        eq(sorted(d["scopes"]), sorted(DEFAULT_SCOPES), "default scopes")

    manager, _ = ctx.key(["api_keys.manage", "members.read"])
    before = ctx.walk(f"{API}/api-keys")
    for label, body, field in [
            ("unknown scope", {"name": "x", "scopes": ["members.read", "members.fly"]}, "scopes"),
            ("scopes not a list", {"name": "x", "scopes": "members.read"}, "scopes"),
            ("scope not a string", {"name": "x", "scopes": [1]}, "scopes"),
            ("missing name", {"scopes": ["members.read"]}, "name"),
            ("empty name", {"name": ""}, "name"),
            ("unknown field", {"name": "x", "secret": "mine"}, "secret")]:
        with ctx.case(label):
            expect_error(ctx.owner.post(f"{API}/api-keys", body), 400, "invalid_argument", field)
    with ctx.case("unknown store_id"):
        expect_error(ctx.owner.post(f"{API}/api-keys", {"name": "x", "store_id": 999999}), 400,
                     "invalid_argument", "store_id")
    with ctx.case("a key cannot mint a key with more scopes than its own"):
        expect_error(manager.post(f"{API}/api-keys", {"name": "escalate", "scopes": ALL_SCOPES}),
                     403, "permission_denied")
    eq(ctx.walk(f"{API}/api-keys"), before, "keys after refused creates")

    expect(ctx.owner.delete(f"{API}/api-keys/{key['id']}"), 204)
    expect_error(client.get(f"{API}/members"), 401, "unauthenticated")
    expect_error(client.get(f"{API}/me"), 401, "unauthenticated")
    with ctx.case("revoked key in list"):
        after = [k for k in ctx.walk(f"{API}/api-keys") if k["id"] == key["id"]]
        if after:
            check(after[0]["revoked_at"], f"revoked key listed without revoked_at: {after[0]}")
            check_time(after[0]["revoked_at"], "revoked_at")
    with ctx.case("unknown key id"):
        expect_error(ctx.owner.delete(f"{API}/api-keys/999999"), 404, "not_found")
    expect(ctx.api.get(f"{API}/me"), 200)


@group.test
def key_without_scope_is_403(ctx):
    store = ctx.new_store()
    member = ctx.new_member()
    readonly, _ = ctx.key(["members.read"])
    storesonly, _ = ctx.key(["stores.read"])
    stores, members = ctx.stores(), ctx.members()
    cases = [
        (readonly, "GET", f"{API}/stores", None),
        (readonly, "GET", f"{API}/stores/{store['id']}", None),
        (readonly, "POST", f"{API}/stores", {"code": ctx.code(), "name": "x"}),
        (readonly, "PATCH", f"{API}/stores/{store['id']}", {"name": "x"}),
        (readonly, "POST", f"{API}/members", {"name": "x", "phone": ctx.phone()}),
        (readonly, "PATCH", f"{API}/members/{member['id']}", {"name": "x"}),
        (readonly, "DELETE", f"{API}/members/{member['id']}", None),
        (readonly, "GET", f"{API}/api-keys", None),
        (readonly, "POST", f"{API}/api-keys", {"name": "x", "scopes": ALL_SCOPES}),
        (readonly, "DELETE", f"{API}/api-keys/{ctx.api_key['id']}", None),
        (readonly, "GET", "/metrics", None),
        (storesonly, "GET", f"{API}/members", None),
        (storesonly, "GET", f"{API}/members/{member['id']}", None),
        (storesonly, "GET", f"{API}/members/lookup?card_no={member['card_no']}", None),
        (storesonly, "POST", f"{API}/stores", {"code": ctx.code(), "name": "x"}),
    ]
    for client, method, path, body in cases:
        with ctx.case(f"{method} {path}"):
            kw = {"body": body} if body is not None else {}
            expect_error(client.request(method, path, **kw), 403, "permission_denied")
    eq(ctx.stores(), stores, "stores after 403s")
    eq(ctx.members(), members, "members after 403s")
    expect(ctx.api.get(f"{API}/me"), 200)
    with ctx.case("what the scopes allow"):
        expect(readonly.get(f"{API}/members/{member['id']}"), 200)
        expect(storesonly.get(f"{API}/stores/{store['id']}"), 200)
    with ctx.case("members.write without members.erase cannot erase"):
        writer, _ = ctx.key(["members.read", "members.write"])
        expect_error(writer.delete(f"{API}/members/{member['id']}"), 403, "permission_denied")
        expect(ctx.api.get(f"{API}/members/{member['id']}"), 200)


@group.test
def phone_masked_without_pii(ctx):
    phone = "13812345678"
    member = ctx.new_member(phone=phone, name="脱敏测试")
    eq(member["phone"], phone, "phone for a members.pii key")
    plain, _ = ctx.key(["members.read", "members.write"])
    pii, _ = ctx.key(["members.read", "members.pii"])
    masked = mask_phone(phone)
    eq(masked, "138****5678", "mask helper")
    mid = member["id"]
    with ctx.case("GET without pii"):
        eq(expect(plain.get(f"{API}/members/{mid}"), 200)["phone"], masked, "phone")
    with ctx.case("search without pii"):
        items = expect(plain.get(f"{API}/members", params={"q": phone}), 200)["items"]
        eq([m["phone"] for m in items], [masked], "phones in search")
    with ctx.case("lookup without pii"):
        m = expect(plain.get(f"{API}/members/lookup", params={"phone": phone}), 200)
        eq(m["phone"], masked, "phone in lookup")
    with ctx.case("create without pii"):
        other = ctx.phone("135")
        m = expect(plain.post(f"{API}/members", {"name": "新会员", "phone": other}), 201)
        eq(m["phone"], mask_phone(other), "phone in the create answer")
    with ctx.case("patch without pii"):
        m = expect(plain.patch(f"{API}/members/{mid}", {"note": "x"}), 200)
        eq(m["phone"], masked, "phone in the patch answer")
    with ctx.case("masked body has no full phone"):
        r = plain.get(f"{API}/members/{mid}")
        check(phone not in r.body.decode(), f"full phone in a masked answer: {r}")
    with ctx.case("with members.pii"):
        eq(expect(pii.get(f"{API}/members/{mid}"), 200)["phone"], phone, "phone")
        items = expect(pii.get(f"{API}/members", params={"q": phone}), 200)["items"]
        eq([m["phone"] for m in items], [phone], "phones in search")
    with ctx.case("owner session"):
        eq(expect(ctx.owner.get(f"{API}/members/{mid}"), 200)["phone"], phone, "phone")


@group.test
def metrics(ctx):
    expect(ctx.api.get(f"{API}/stores"), 200)
    expect_error(ctx.client().get("/metrics"), 401, "unauthenticated")
    nometrics, _ = ctx.key(["members.read"])
    expect_error(nometrics.get("/metrics"), 403, "permission_denied")
    for label, c in [("owner session", ctx.owner), ("metrics.read key", ctx.key(["metrics.read"])[0])]:
        with ctx.case(label):
            r = c.get("/metrics")
            check(r.status == 200, f"GET /metrics: {r}")
            ctype = r.header("Content-Type") or ""
            check(ctype.startswith("text/plain"), f"Content-Type {ctype!r}")
            text = r.body.decode()
            check("# TYPE patron_http_requests_total counter" in text,
                  "no '# TYPE patron_http_requests_total counter'")
            lines = [ln for ln in text.splitlines() if ln.startswith("patron_http_requests_total{")]
            check(lines, "no patron_http_requests_total samples")
            check(any('method="GET"' in ln and 'status="200"' in ln and "route=" in ln
                      for ln in lines), f"no GET 200 sample with a route: {lines[:5]}")
            check(any('status="401"' in ln for ln in lines), "401s are not counted")
            check("patron_http_request_duration_seconds_bucket" in text,
                  "no patron_http_request_duration_seconds histogram")
            for ln in text.splitlines():
                if ln and not ln.startswith("#"):
                    value = ln.rsplit(" ", 1)[-1]
                    float(value)  # every sample ends in a number
            check("13812345678" not in text, "a phone number in the metrics")


def counter(text, route, method, status):
    total = 0
    for line in text.splitlines():
        if not line.startswith("patron_http_requests_total{"):
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', line[line.index("{"):line.rindex("}")]))
        if labels.get("route") == route and labels.get("method") == method and \
                labels.get("status") == str(status):
            total += float(line.rsplit(" ", 1)[-1])
    return total


@group.test
def metrics_count_every_request(ctx):
    """Counters are exact, even with requests from many threads at once."""
    member = ctx.new_member()
    before = ctx.api.get("/metrics").body.decode()

    def worker(i):
        c = ctx.client(token=ctx.api.token)
        for _ in range(50):
            expect(c.get(f"{API}/members/{member['id']}"), 200)
            expect_error(c.get(f"{API}/members/999999"), 404, "not_found")
        c.close()

    run_threads(8, worker)
    after = ctx.api.get("/metrics").body.decode()
    names = {ln.split("route=\"", 1)[1].split("\"", 1)[0] for ln in after.splitlines()
             if ln.startswith("patron_http_requests_total{") and "route=" in ln}
    mroute = [r for r in names if r.startswith(f"{API}/members/") and r != f"{API}/members/lookup"]
    check(len(mroute) == 1, f"route label for GET /members/ID: {sorted(names)}")
    route = mroute[0]
    check(not route.endswith(f"/{member['id']}"), f"the route label holds an id: {route}")
    eq(counter(after, route, "GET", 200) - counter(before, route, "GET", 200), 400,
       "GET 200 count increase")
    eq(counter(after, route, "GET", 404) - counter(before, route, "GET", 404), 400,
       "GET 404 count increase")
