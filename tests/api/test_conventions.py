"""HTTP conventions shared by every endpoint: request ids, errors, body rules, languages, lists."""

import socket
import time

from harness import (ANY, API, MAX_BODY, Group, check, eq, expect, expect_error, fail,
                     has_cjk, raw_exchange)

group = Group("conventions")


@group.test
def healthz_needs_no_auth(ctx):
    r = ctx.anon.get("/healthz")
    eq(expect(r, 200), {"status": "ok"}, "GET /healthz body")
    eq((r.header("Content-Type") or "").split(";")[0], "application/json", "Content-Type")


@group.test
def request_id_on_every_response(ctx):
    seen = set()
    responses = [
        ctx.anon.get("/healthz"),
        ctx.api.get(f"{API}/stores"),
        ctx.anon.get(f"{API}/stores"),  # 401
        ctx.api.get(f"{API}/no-such-thing"),  # 404
        ctx.api.delete(f"{API}/stores"),  # 405
        ctx.api.post(f"{API}/stores", raw=b"{"),  # 400
    ]
    for r in responses:  # Client already fails on a missing X-Request-Id
        rid = r.header("X-Request-Id")
        check(rid not in seen, f"X-Request-Id {rid!r} repeated: {r}")
        seen.add(rid)


@group.test
def request_id_echoed_when_valid(ctx):
    for rid in ["abc-123_X.y", "A" * 64]:
        with ctx.case(f"echo {rid[:10]}"):
            r = ctx.api.get(f"{API}/stores", headers={"X-Request-Id": rid})
            eq(r.header("X-Request-Id"), rid, "echoed X-Request-Id")
            r = ctx.api.get(f"{API}/nope", headers={"X-Request-Id": rid})
            eq(r.header("X-Request-Id"), rid, "echoed X-Request-Id on an error")
    for rid in ["A" * 65, "has space", "semi;colon", "ünï"]:
        with ctx.case(f"replace {rid[:10]!r}"):
            hdr = rid.encode("utf-8").decode("latin-1")
            r = ctx.api.get(f"{API}/stores", headers={"X-Request-Id": hdr})
            expect(r, 200)
            got = r.header("X-Request-Id")
            check(got and got != hdr, f"invalid X-Request-Id {rid!r} was echoed: {got!r}")


@group.test
def unknown_path_is_404(ctx):
    for path in [f"{API}/nope", f"{API}/stores/1/nope", "/assets/nope.js", f"{API}", "/api/v2/stores",
                 f"{API}/members/lookup/x"]:
        with ctx.case(path):
            expect_error(ctx.api.get(path), 404, "not_found")


@group.test
def non_numeric_ids_are_404(ctx):
    store = ctx.new_store()
    for bad in ["abc", "0", "-1", "1.5", "1e3", "%20" + str(store["id"]), "99999999999999999999",
                str(store["id"]) + "x"]:
        with ctx.case(f"stores/{bad}"):
            expect_error(ctx.api.get(f"{API}/stores/{bad}"), 404, "not_found")
        with ctx.case(f"members/{bad}"):
            expect_error(ctx.api.get(f"{API}/members/{bad}"), 404, "not_found")


@group.test
def wrong_method_is_405_with_allow(ctx):
    store = ctx.new_store()
    cases = [
        ("DELETE", f"{API}/stores", {"GET", "POST"}),
        ("PUT", f"{API}/stores", {"GET", "POST"}),
        ("DELETE", f"{API}/stores/{store['id']}", {"GET", "PATCH"}),
        ("POST", f"{API}/stores/{store['id']}", {"GET", "PATCH"}),
        ("PUT", f"{API}/members", {"GET", "POST"}),
        ("POST", f"{API}/members/lookup", {"GET"}),
        ("PUT", f"{API}/members/1", {"GET", "PATCH", "DELETE"}),
        ("GET", f"{API}/auth/logout", {"POST"}),
        ("GET", f"{API}/auth/login", {"POST"}),
        ("POST", f"{API}/me", {"GET"}),
        ("POST", "/healthz", {"GET"}),
    ]
    before = ctx.stores()
    for method, path, allowed in cases:
        with ctx.case(f"{method} {path}"):
            body = {} if method in ("POST", "PUT") else None
            r = ctx.api.request(method, path, **({"body": body} if body is not None else {}))
            expect_error(r, 405, "method_not_allowed")
            allow = {m.strip().upper() for m in (r.header("Allow") or "").split(",") if m.strip()}
            check(allowed <= allow, f"Allow is {r.header('Allow')!r}, expected {sorted(allowed)}")
            check(method not in allow, f"Allow {r.header('Allow')!r} lists {method} itself")
    eq(ctx.stores(), before, "stores after the 405s")


@group.test
def body_over_1mib_is_413(ctx):
    before = ctx.stores()
    pad = MAX_BODY + 1 - len(b'{"code":"big413","name":"x","address":""}')
    body = b'{"code":"big413","name":"x","address":"' + b"a" * pad + b'"}'
    eq(len(body), MAX_BODY + 1, "test body size")
    head = (f"POST {API}/stores HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
            f"{ctx.api.token}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}"
            "\r\n\r\n").encode()
    r = raw_exchange(ctx.port, head, [body[i:i + 65536] for i in range(0, len(body), 65536)])
    check(r.header("X-Request-Id"), f"413 without X-Request-Id: {r}")
    expect_error(r, 413, "payload_too_large")
    # a body far over the limit, too
    big = b'{"name":"' + b"x" * (4 * MAX_BODY) + b'"}'
    head = head.replace(f"Content-Length: {len(body)}".encode(), f"Content-Length: {len(big)}".encode())
    r = raw_exchange(ctx.port, head, [big[i:i + 65536] for i in range(0, len(big), 65536)])
    expect_error(r, 413, "payload_too_large")
    eq(ctx.stores(), before, "stores after 413")
    expect(ctx.api.get("/healthz"), 200)


@group.test
def body_of_exactly_1mib_is_read(ctx):
    # 1 MiB is not "over 1 MiB": the body is parsed, and the long name is what is refused.
    before = ctx.stores()
    prefix, suffix = b'{"code":"exact1m","name":"', b'"}'
    body = prefix + b"n" * (MAX_BODY - len(prefix) - len(suffix)) + suffix
    eq(len(body), MAX_BODY, "test body size")
    expect_error(ctx.api.post(f"{API}/stores", raw=body), 400, "invalid_argument", "name")
    eq(ctx.stores(), before, "stores after the refused 1 MiB body")


@group.test
def non_json_content_type_is_415(ctx):
    before = ctx.stores()
    good = b'{"code":"ct415","name":"x"}'
    for ctype in ["text/plain", "application/x-www-form-urlencoded", "application/xml",
                  "multipart/form-data; boundary=x", "application/jsonx", None]:
        with ctx.case(f"Content-Type {ctype}"):
            r = ctx.api.post(f"{API}/stores", raw=good, ctype=ctype)
            expect_error(r, 415, "unsupported_media_type")
    with ctx.case("PATCH text/plain"):
        s = ctx.new_store()
        before = ctx.stores()
        r = ctx.api.patch(f"{API}/stores/{s['id']}", raw=b'{"name":"y"}', ctype="text/plain")
        expect_error(r, 415, "unsupported_media_type")
    eq(ctx.stores(), before, "stores after the 415s")
    with ctx.case("charset parameter is fine"):
        expect(ctx.api.post(f"{API}/stores", raw=good, ctype="application/json; charset=utf-8"),
               201)


@group.test
def malformed_bodies_are_400(ctx):
    before = ctx.stores()
    cases = {
        "truncated": b'{"code":"m1","name":',
        "empty body": b"",
        "trailing garbage": b'{"code":"m2","name":"x"} x',
        "two objects": b'{"code":"m3","name":"x"}{}',
        "single quotes": b"{'code':'m4','name':'x'}",
        "trailing comma": b'{"code":"m5","name":"x",}',
        "invalid utf-8": b'{"code":"m6","name":"\xff\xfe"}',
        "overlong utf-8": b'{"code":"m7","name":"\xc0\xaf"}',
        "utf-8 surrogate": b'{"code":"m8","name":"\xed\xa0\x80"}',
        "escaped lone surrogate": b'{"code":"m9","name":"\\ud800"}',
        "NUL escape": b'{"code":"m10","name":"a\\u0000b"}',
        "array": b'[{"code":"m11","name":"x"}]',
        "string": b'"m12"',
        "number": b"12",
        "null": b"null",
        "huge integer": b'{"code":"m13","name":"x","phone":99999999999999999999999}',
        "huge real": b'{"code":"m14","name":1e999}',
        "deep nesting": b'{"code":"m15","name":"x","address":' + b"[" * 100000 + b"]" * 100000 + b"}",
    }
    for label, raw in cases.items():
        with ctx.case(label):
            expect_error(ctx.api.post(f"{API}/stores", raw=raw), 400, "invalid_argument")
    eq(ctx.stores(), before, "stores after the malformed bodies")
    expect(ctx.anon.get("/healthz"), 200)


@group.test
def unknown_and_mistyped_fields_are_400(ctx):
    before = ctx.stores()
    cases = [
        ({"code": "u1", "name": "x", "nmae": "y"}, "nmae"),
        ({"code": "u2", "name": "x", "id": 7}, "id"),
        ({"code": "u3", "name": "x", "created_at": "2020-01-01T00:00:00Z"}, "created_at"),
        ({"code": 123, "name": "x"}, "code"),
        ({"code": "u4", "name": True}, "name"),
        ({"code": "u5", "name": ["x"]}, "name"),
        ({"code": "u6", "name": {"zh": "x"}}, "name"),
        ({"code": "u7", "name": "x", "address": 5}, "address"),
        ({"code": "u8", "name": "x", "phone": 13812345678}, "phone"),
        ({"name": "x"}, "code"),
        ({"code": "u9"}, "name"),
        ({"code": None, "name": "x"}, "code"),
        ({"code": "u10", "name": None}, "name"),
        ({}, None),
    ]
    for body, field in cases:
        with ctx.case(repr(body)):
            r = ctx.api.post(f"{API}/stores", body)
            expect_error(r, 400, "invalid_argument", field if field else ANY)
    eq(ctx.stores(), before, "stores after the refused bodies")


@group.test
def error_language_follows_accept_language(ctx):
    def message(lang):
        c = ctx.client(token=ctx.api.token, lang=lang)
        return expect_error(c.get(f"{API}/stores/999999"), 404, "not_found")["message"]

    with ctx.case("default is Chinese"):
        m = message(None)
        check(has_cjk(m), f"default message is not Chinese: {m!r}")
    for lang in ["zh-CN", "zh", "zh-CN,zh;q=0.9,en;q=0.8"]:
        with ctx.case(lang):
            m = message(lang)
            check(has_cjk(m), f"message for Accept-Language {lang!r} is not Chinese: {m!r}")
    for lang in ["en", "en-US", "en-US,en;q=0.9", "en;q=0.9,zh-CN;q=0.5"]:
        with ctx.case(lang):
            m = message(lang)
            check(not has_cjk(m) and any(ch.isalpha() for ch in m),
                  f"message for Accept-Language {lang!r} is not English: {m!r}")
    with ctx.case("English validation message"):
        c = ctx.client(token=ctx.api.token, lang="en")
        m = expect_error(c.post(f"{API}/stores", {"code": "", "name": "x"}), 400,
                         "invalid_argument", "code")["message"]
        check(not has_cjk(m), f"English 400 message has Chinese: {m!r}")
    with ctx.case("English 401 message"):
        m = expect_error(ctx.client(lang="en").get(f"{API}/me"), 401, "unauthenticated")["message"]
        check(not has_cjk(m), f"English 401 message has Chinese: {m!r}")
    with ctx.case("Chinese 401 message"):
        m = expect_error(ctx.anon.get(f"{API}/me"), 401, "unauthenticated")["message"]
        check(has_cjk(m), f"default 401 message is not Chinese: {m!r}")


@group.test
def list_limit_and_cursor_validation(ctx):
    for path in [f"{API}/stores", f"{API}/members", f"{API}/api-keys"]:
        for limit in ["0", "501", "-1", "abc", "1.5", "", "99999999999999999999"]:
            with ctx.case(f"{path} limit={limit!r}"):
                expect_error(ctx.api.get(path, params={"limit": limit}), 400, "invalid_argument",
                             "limit")
        for cursor in ["garbage", "!!!", "%%%", "A" * 300]:
            with ctx.case(f"{path} cursor={cursor[:12]!r}"):
                expect_error(ctx.api.get(path, params={"cursor": cursor}), 400,
                             "invalid_argument", "cursor")
        for limit in ["1", "500"]:
            with ctx.case(f"{path} limit={limit}"):
                page = expect(ctx.api.get(path, params={"limit": limit}), 200)
                check(isinstance(page.get("items"), list) and "next_cursor" in page,
                      f"list body: {page}")
                check(len(page["items"]) <= int(limit), f"more than {limit} items")


@group.test
def default_limit_is_50(ctx):
    have = len(ctx.stores())
    for _ in range(max(0, 51 - have)):
        ctx.new_store()
    page = expect(ctx.api.get(f"{API}/stores"), 200)
    eq(len(page["items"]), 50, "items on a default page")
    check(page["next_cursor"], "next_cursor missing while more stores exist")


def chunked(data, size=65536):
    out = b""
    for i in range(0, len(data), size):
        part = data[i:i + size]
        out += f"{len(part):x}\r\n".encode() + part + b"\r\n"
    return out + b"0\r\n\r\n"


@group.test
def chunked_bodies(ctx):
    """Transfer-Encoding: chunked bodies are read, and the 1 MiB limit holds for them too."""
    head = (f"POST {API}/stores HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
            f"{ctx.api.token}\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode()
    with ctx.case("small chunked body"):
        r = raw_exchange(ctx.port, head, [chunked(b'{"code":"chunk1","name":"\xe5\x88\x86\xe5\x9d\x97"}', 7)])
        s = expect(r, 201)
        eq(s["name"], "分块", "name from a chunked body")
    before = ctx.stores()
    with ctx.case("chunked body over 1 MiB"):
        big = b'{"code":"chunk2","name":"x","address":"' + b"a" * (2 * MAX_BODY) + b'"}'
        body = chunked(big)
        r = raw_exchange(ctx.port, head, [body[i:i + 65536] for i in range(0, len(body), 65536)])
        expect_error(r, 413, "payload_too_large")
    eq(ctx.stores(), before, "stores after the chunked 413")
    for encoding in ["gzip", "chunked, gzip", "identity"]:
        with ctx.case(f"Transfer-Encoding: {encoding}: 400 at once, not a wait for the timeout"):
            other = head.replace(b"Transfer-Encoding: chunked",
                                 f"Transfer-Encoding: {encoding}".encode())
            t = time.monotonic()
            r = raw_exchange(ctx.port, other, [b'{"code":"te1","name":"x"}'], timeout=10)
            expect_error(r, 400, "invalid_argument", "Transfer-Encoding")
            check(time.monotonic() - t < 5, f"answered after {time.monotonic() - t:.1f} s")
    eq(ctx.stores(), before, "stores after the refused encodings")
    expect(ctx.api.get("/healthz"), 200)


@group.test
def pipelined_requests(ctx):
    """Three requests written at once on one connection get three answers, in order."""
    reqs = b""
    for rid in ["pipe-1", "pipe-2", "pipe-3"]:
        reqs += (f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: {rid}\r\n\r\n").encode()
    s = socket.create_connection(("127.0.0.1", ctx.port), timeout=10)
    try:
        s.sendall(reqs)
        f = s.makefile("rb")
        for rid in ["pipe-1", "pipe-2", "pipe-3"]:
            status = f.readline().split(b" ")
            eq(status[1] if len(status) > 1 else status, b"200", f"status of {rid}")
            headers = {}
            while True:
                line = f.readline()
                check(line, f"connection closed inside the answer to {rid}")
                if line in (b"\r\n", b"\n"):
                    break
                k, _, v = line.decode("latin-1").partition(":")
                headers[k.strip().lower()] = v.strip()
            f.read(int(headers.get("content-length", "0")))
            eq(headers.get("x-request-id"), rid, "X-Request-Id (answer order)")
    finally:
        s.close()


@group.test
def odd_requests_are_refused_not_crashed(ctx):
    """Strange but possible requests get a 4xx (or a plain answer), never a 5xx or a crash."""
    cases = [
        ("GET", f"{API}/members?q=%FF%FE", None),
        ("GET", f"{API}/members?q=%00", None),
        ("GET", f"{API}/members?q=" + "a" * 20000, None),
        ("GET", f"{API}/members/lookup?phone=%00", None),
        ("GET", f"{API}/members/lookup?card_no=%FF", None),
        ("GET", f"{API}/members/lookup?phone=1&phone=2", None),
        ("GET", f"{API}/members?limit=%00", None),
        ("GET", f"{API}/members?" + "&".join(f"p{i}=1" for i in range(300)), None),
        ("GET", f"{API}/members?limit=10&limit=20", None),
        ("GET", f"{API}/stores/%00", None),
        ("GET", f"{API}/stores/1%2F2", None),
        ("GET", f"{API}/" + "x/" * 3000, None),
        ("GET", f"{API}/members?tag=" + "t" * 5000, None),
    ]
    c = ctx.client(token=ctx.api.token, timeout=5)
    for method, path, body in cases:
        with ctx.case(path[:60]):
            try:
                r = c.request(method, path)
            except TimeoutError:
                c.close()
                fail(f"no answer within 5 s to {method} {path[:80]}... ({len(path)} chars)")
            check(r.status < 500, f"5xx for an odd request: {r}")
            if r.status >= 400:
                expect_error(r, r.status, r.json["error"]["code"])
    with ctx.case("huge header"):
        try:
            r = c.get(f"{API}/stores", headers={"X-Junk": "j" * 60000})
            check(r.status < 500, f"huge header: {r}")
        except TimeoutError:
            fail("no answer within 5 s to a request with a 60 KB header")
        except OSError:
            pass  # refusing it by closing the connection is fine
    with ctx.case("a NUL in a query parameter is refused, not read as cut short"):
        for path, field in [(f"{API}/members?q=%00", "q"), (f"{API}/members?q=ab%00cd", "q"),
                            (f"{API}/members?limit=%00", "limit"),
                            (f"{API}/members/lookup?phone=%00", "phone"),
                            (f"{API}/orders?store_id=1%00", "store_id")]:
            expect_error(c.get(path), 400, "invalid_argument", field)
    check(ctx.inst.alive(), "the server died")
    expect(ctx.anon.get("/healthz"), 200)


@group.test
def many_query_parameters_get_an_answer(ctx):
    """A query string of 1,000 parameters (15 KB) is answered (any 4xx, or 200), not left
    hanging until the connection times out."""
    q = "&".join(f"p{i}=1" for i in range(1000))
    s = socket.create_connection(("127.0.0.1", ctx.port), timeout=5)
    try:
        s.sendall(f"GET {API}/members?{q} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  f"Authorization: Bearer {ctx.api.token}\r\n\r\n".encode())
        try:
            data = s.recv(200)
        except TimeoutError:
            fail("no answer within 5 s (the connection stays open, silent)")
        check(data.startswith(b"HTTP/1.1 ") and data[9:10] in (b"2", b"4"),
              f"answer: {data[:80]!r} (empty: closed without an answer)")
    finally:
        s.close()
    check(ctx.inst.alive(), "the server died")
