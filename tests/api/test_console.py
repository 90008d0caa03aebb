"""The web console served from the binary: index.html and the SPA fallback, hashed assets,
caching, gzip, ETags, methods, headers, the Host allow-list; and the API unchanged beside it.

A binary built with -DPATRON_WEB=OFF (its CMakeCache.txt says so) has no console: there the
tests check that / answers 404 saying so, and the API still works."""

import gzip
import os
import re

from harness import API, Client, Group, check, eq, expect, expect_error

group = Group("console")
hosts = Group("console_hosts", serve_args=["--allowed-hosts", "127.0.0.1, localhost"])

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
API_CSP = "default-src 'self'; frame-ancestors 'none'"
IMMUTABLE = "public, max-age=31536000, immutable"
RAW = {"Accept-Encoding": "identity"}
GZIP = {"Accept-Encoding": "gzip, deflate, br"}


def console_built(ctx):
    cache = os.path.join(os.path.dirname(os.path.abspath(ctx.cfg.patron)), "CMakeCache.txt")
    try:
        with open(cache) as f:
            return "PATRON_WEB:BOOL=OFF" not in f.read()
    except OSError:
        return True


def ctype(r):
    return (r.header("Content-Type") or "").split(";")[0].strip()


def check_security_headers(r):
    eq(r.header("X-Content-Type-Options"), "nosniff", f"X-Content-Type-Options of {r.path}")
    eq(r.header("X-Frame-Options"), "DENY", f"X-Frame-Options of {r.path}")
    eq(r.header("Referrer-Policy"), "no-referrer", f"Referrer-Policy of {r.path}")
    eq(len(r.headers.get_all("Content-Security-Policy") or []), 1, f"one CSP on {r.path}")
    eq(len(r.headers.get_all("Cache-Control") or []), 1, f"one Cache-Control on {r.path}")
    check(r.header("Set-Cookie") is None, f"a static answer sets a cookie: {r}")


def index(ctx):
    """GET / without gzip: the checked index.html response."""
    r = ctx.anon.get("/", headers=RAW)
    eq(r.status, 200, f"GET / status ({r})")
    eq(ctype(r), "text/html", "Content-Type of /")
    check("charset=utf-8" in (r.header("Content-Type") or ""), "index.html without charset")
    eq(r.header("Cache-Control"), "no-cache", "Cache-Control of /")
    eq(r.header("Content-Security-Policy"), CSP, "CSP of /")
    eq(r.header("Vary"), "Accept-Encoding", "Vary of /")
    check(r.header("Content-Encoding") is None, f"gzip sent without being asked: {r}")
    check(re.fullmatch(r'"[0-9a-f]{8,}"', r.header("ETag") or ""), f"ETag of /: {r.header('ETag')}")
    check(b"<html" in r.body.lower() and b'id="app"' in r.body, f"/ is not index.html: {r}")
    check(not re.search(rb"<script(?![^>]*\bsrc=)[^>]*>", r.body, re.I),
          "index.html has an inline script, which the CSP blocks")
    check_security_headers(r)
    return r


def assets(body):
    """The /assets/ files index.html refers to, JavaScript and CSS."""
    found = sorted(set(re.findall(rb'(/assets/[A-Za-z0-9._-]+\.(?:js|css))"', body)))
    return [p.decode() for p in found]


def check_without_console(ctx):
    for path in ["/", "/index.html", "/members/42", "/assets/x.js"]:
        err = expect_error(ctx.anon.get(path), 404, "not_found")
        check("PATRON_WEB=OFF" in err["message"], f"404 of {path} does not say why: {err}")
    expect_error(ctx.anon.post("/", {}), 405, "method_not_allowed")
    expect(ctx.api.get(f"{API}/stores"), 200)


@group.test
def index_html(ctx):
    if not console_built(ctx):
        return check_without_console(ctx)
    r = index(ctx)
    check(assets(r.body), f"index.html names no /assets/ file: {r}")
    head = ctx.anon.request("HEAD", "/", headers=RAW)
    eq(head.status, 200, "HEAD / status")
    eq(head.body, b"", "HEAD / body")
    eq(head.header("Content-Length"), str(len(r.body)), "HEAD / Content-Length")
    eq(head.header("ETag"), r.header("ETag"), "HEAD / ETag")
    same = ctx.anon.get("/index.html", headers=RAW)
    eq((same.status, same.body), (200, r.body), "GET /index.html")
    eq(same.header("Cache-Control"), "no-cache", "Cache-Control of /index.html")


@group.test
def spa_routes_get_index(ctx):
    if not console_built(ctx):
        return check_without_console(ctx)
    want = index(ctx).body
    for path in ["/members/42", "/login", "/settings/points?tab=expiry", "/members/42/ledger",
                 "/nope", "/favicon-that-is-not-there.ico", "/assets", "/api-docs", "/healthz/x"]:
        with ctx.case(path):
            r = ctx.anon.get(path, headers=RAW)
            eq(r.status, 200, f"GET {path}")
            eq(ctype(r), "text/html", f"Content-Type of {path}")
            eq(r.body, want, f"body of {path}")
            eq(r.header("Cache-Control"), "no-cache", f"Cache-Control of {path}")
            eq(r.header("Content-Security-Policy"), CSP, f"CSP of {path}")


@group.test
def hashed_assets(ctx):
    if not console_built(ctx):
        return
    names = assets(index(ctx).body)
    check(any(p.endswith(".js") for p in names), f"no JavaScript in index.html: {names}")
    for path in names:
        with ctx.case(path):
            r = ctx.anon.get(path, headers=RAW)
            eq(r.status, 200, f"GET {path}")
            want = "text/javascript" if path.endswith(".js") else "text/css"
            eq(ctype(r), want, f"Content-Type of {path}")
            eq(r.header("Cache-Control"), IMMUTABLE, f"Cache-Control of {path}")
            eq(r.header("Vary"), "Accept-Encoding", f"Vary of {path}")
            eq(r.header("Content-Security-Policy"), API_CSP, f"CSP of {path}")
            check(r.header("ETag"), f"no ETag on {path}")
            check(len(r.body) > 0, f"{path} is empty")
            check_security_headers(r)
    for path in ["/assets/nope.js", "/assets/nope.css", "/assets/", "/assets/index.html",
                 names[0] + ".map"]:
        with ctx.case(path):
            r = ctx.anon.get(path)
            expect_error(r, 404, "not_found")
            eq(r.header("Cache-Control"), "no-store", f"Cache-Control of the 404 of {path}")


@group.test
def gzip_when_asked(ctx):
    if not console_built(ctx):
        return
    paths = ["/"] + assets(index(ctx).body)
    for path in paths:
        with ctx.case(path):
            raw = ctx.anon.get(path, headers=RAW)
            check(raw.header("Content-Encoding") is None, f"{path} gzipped without being asked")
            eq(raw.status, 200, f"GET {path} raw")
            gz = ctx.anon.get(path, headers=GZIP)
            eq(gz.status, 200, f"GET {path} gzip")
            if gz.header("Content-Encoding") is None:
                # Only files that gzip makes no smaller go raw; text always shrinks.
                check(len(raw.body) < 200, f"{path} ({len(raw.body)} bytes) not gzipped")
                continue
            eq(gz.header("Content-Encoding"), "gzip", f"Content-Encoding of {path}")
            eq(gz.header("Vary"), "Accept-Encoding", f"Vary of gzipped {path}")
            eq(gz.header("Content-Type"), raw.header("Content-Type"), f"type of gzipped {path}")
            eq(gz.header("Cache-Control"), raw.header("Cache-Control"), f"cache of gz {path}")
            check(gz.body[:2] == b"\x1f\x8b", f"{path} is not gzip")
            check(len(gz.body) < len(raw.body), f"gzip of {path} is no smaller")
            eq(gzip.decompress(gz.body), raw.body, f"gunzipped {path}")
            check(gz.header("ETag") != raw.header("ETag"), f"{path}: one ETag for both forms")
    # No Accept-Encoding at all is raw too; a refused gzip is raw.
    for hdrs in [{"Accept-Encoding": None}, {"Accept-Encoding": "gzip;q=0, br"},
                 {"Accept-Encoding": "deflate"}]:
        with ctx.case(str(hdrs)):
            r = ctx.anon.get("/", headers=hdrs)
            eq(r.status, 200, f"GET / with {hdrs}")
            check(r.header("Content-Encoding") is None, f"gzip sent with {hdrs}")


@group.test
def etag_gives_304(ctx):
    if not console_built(ctx):
        return
    first = index(ctx)
    js = [p for p in assets(first.body) if p.endswith(".js")][0]
    for path, hdrs in [("/", RAW), ("/", GZIP), (js, RAW), (js, GZIP), ("/members/42", RAW)]:
        with ctx.case(f"{path} {hdrs['Accept-Encoding']}"):
            r = ctx.anon.get(path, headers=hdrs)
            eq(r.status, 200, f"GET {path}")
            tag = r.header("ETag")
            again = ctx.anon.get(path, headers={**hdrs, "If-None-Match": tag})
            eq(again.status, 304, f"GET {path} with If-None-Match {tag}")
            eq(again.body, b"", "a 304's body")
            eq(again.header("ETag"), tag, "ETag of the 304")
            eq(again.header("Cache-Control"), r.header("Cache-Control"), "Cache-Control of the 304")
            eq(again.header("Vary"), "Accept-Encoding", "Vary of the 304")
            listed = ctx.anon.get(path, headers={**hdrs, "If-None-Match": f'"x", W/{tag}'})
            eq(listed.status, 304, "a list with the weak form of the ETag")
            other = ctx.anon.get(path, headers={**hdrs, "If-None-Match": '"not-it"'})
            eq(other.status, 200, "another ETag")
            eq(other.body, r.body, "body after another ETag")
    head = ctx.anon.request("HEAD", js, headers={**RAW, "If-None-Match": "*"})
    eq(head.status, 304, "HEAD with If-None-Match: *")


@group.test
def other_methods_are_405(ctx):
    for method, path in [("POST", "/"), ("PUT", "/index.html"), ("DELETE", "/members/42"),
                         ("PATCH", "/assets/x.js"), ("OPTIONS", "/"), ("POST", "/login")]:
        with ctx.case(f"{method} {path}"):
            r = ctx.anon.request(method, path, raw=b"{}")
            expect_error(r, 405, "method_not_allowed")
            eq(r.header("Allow"), "GET, HEAD", f"Allow of {method} {path}")
            eq(r.header("Cache-Control"), "no-store", f"Cache-Control of {method} {path}")
    # Signed in with a session and its CSRF token changes nothing: still not an API path.
    r = ctx.owner.post("/", {})
    expect_error(r, 405, "method_not_allowed")


@group.test
def api_unchanged(ctx):
    for client, path, status in [(ctx.api, f"{API}/stores", 200), (ctx.anon, f"{API}/stores", 401),
                                 (ctx.api, f"{API}/nope", 404), (ctx.api, "/api/v2/stores", 404),
                                 (ctx.api, "/api", 404), (ctx.api, f"{API}/", 404),
                                 (ctx.anon, "/healthz", 200), (ctx.anon, "/metrics", 401)]:
        with ctx.case(path):
            r = client.get(path, headers=GZIP)
            eq(r.status, status, f"GET {path}")
            eq(ctype(r), "application/json", f"Content-Type of {path}")
            r.json  # noqa: B018 - parses or fails
            eq(r.header("Cache-Control"), "no-store", f"Cache-Control of {path}")
            eq(r.header("Content-Security-Policy"), API_CSP, f"CSP of {path}")
            check(r.header("Content-Encoding") is None, f"{path} gzipped")
            check(r.header("ETag") is None, f"{path} has an ETag")
    r = ctx.api.get("/metrics")
    eq(r.status, 200, "GET /metrics with a key")
    eq(r.header("Cache-Control"), "no-store", "Cache-Control of /metrics")


@hosts.test
def host_allow_list_applies(ctx):
    port = ctx.port
    for host in ["evil.example", f"evil.example:{port}", "127.0.0.2"]:
        for path in ["/", "/assets/x.js", "/members/42"]:
            with ctx.case(f"{host} {path}"):
                r = Client(port).get(path, headers={"Host": host})
                expect_error(r, 400, "invalid_argument", "Host")
    if not console_built(ctx):
        return
    for host in [f"127.0.0.1:{port}", f"localhost:{port}", "LOCALHOST"]:
        with ctx.case(host):
            r = Client(port).get("/members/1", headers={"Host": host, **RAW})
            eq(r.status, 200, f"GET /members/1 as {host}")
            eq(ctype(r), "text/html", f"Content-Type as {host}")
