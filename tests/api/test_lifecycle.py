"""The program around the API: shutdown with requests in flight, signals, `init` twice."""

import http.client
import json
import signal
import socket
import subprocess
import threading
import time

from harness import (API, OWNER_PASSWORD, Ctx, Group, Instance, check, eq, expect, expect_error,
                     fail, start_instance)

group = Group("lifecycle", server=False)

M = f"{API}/members"


def partial_post(port, token, body, split):
    """Opens a connection and sends a POST with only the first `split` bytes of its body."""
    data = json.dumps(body, ensure_ascii=False).encode()
    head = (f"POST {M} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n").encode()
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.sendall(head + data[:split])
    return s, data[split:]


@group.test
def sigterm_finishes_requests_in_flight(ctx):
    inst = start_instance(ctx.cfg, "shutdown")
    try:
        c = Ctx(ctx.cfg, inst)
        token = c.api.token
        phones = [f"166{i:08d}" for i in range(6)]
        open_requests = [partial_post(inst.port, token, {"name": f"关机{i}", "phone": p}, 20)
                         for i, p in enumerate(phones)]

        # Meanwhile, complete requests keep arriving on keep-alive connections.
        stop_flood = threading.Event()
        truncated, complete = [], [0]

        def flood():
            conn = http.client.HTTPConnection("127.0.0.1", inst.port, timeout=20)
            while not stop_flood.is_set():
                try:
                    conn.request("GET", f"{M}?limit=100", headers={"Authorization": "Bearer " + token})
                    r = conn.getresponse()
                except OSError:
                    return  # refused or closed before an answer began: not in flight
                try:
                    r.read()
                    complete[0] += 1
                except (OSError, http.client.HTTPException) as e:
                    truncated.append(repr(e))
                    return
        floods = [threading.Thread(target=flood, daemon=True) for _ in range(3)]
        for t in floods:
            t.start()
        time.sleep(0.3)
        inst.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        answers = []
        for sock, rest in open_requests:
            try:
                sock.sendall(rest)
                r = http.client.HTTPResponse(sock, method="POST")
                r.begin()
                answers.append((r.status, r.read()))
            except (OSError, http.client.HTTPException) as e:
                answers.append((None, repr(e).encode()))
            finally:
                sock.close()
        stop_flood.set()
        for t in floods:
            t.join(20)
        try:
            rc = inst.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            rc = "still running 10 s after SIGTERM"
        for status, body in answers:
            check(status == 201, f"a request in flight at SIGTERM got {status} {body[:200]!r}")
        check(not truncated, f"responses cut off by the shutdown: {truncated}")
        check(complete[0] > 0, "the flood got no answers before SIGTERM")
        eq(rc, 0, "exit status after SIGTERM")

        # The answered creates were committed: serve the same database again and look.
        inst.start()
        c = Ctx(ctx.cfg, inst)
        for p in phones:
            expect(c.api.get(f"{M}/lookup", params={"phone": p}), 200)
        inst.stop()
    except BaseException:
        print(inst.tail())
        raise
    finally:
        inst.cleanup()


@group.test
def sigint_exits_0(ctx):
    inst = start_instance(ctx.cfg, "sigint")
    try:
        rc = inst.signal_stop(signal.SIGINT)
        if rc != 0:
            fail(f"exit status after SIGINT: {rc} (None: still running after 10 s)\n{inst.tail()}")
    finally:
        inst.cleanup()


@group.test
def idle_keepalive_connections_do_not_block_shutdown(ctx):
    inst = start_instance(ctx.cfg, "idle")
    try:
        conns = []
        for _ in range(4):
            conn = http.client.HTTPConnection("127.0.0.1", inst.port, timeout=20)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            conns.append(conn)  # left open and idle
        t0 = time.monotonic()
        rc = inst.signal_stop(signal.SIGTERM)
        if rc != 0:
            fail(f"exit status after SIGTERM with idle connections: {rc} "
                 f"(None: still running after 10 s)\n{inst.tail()}")
        check(time.monotonic() - t0 < 10, "shutdown waited for idle connections")
        for conn in conns:
            conn.close()
    finally:
        inst.cleanup()


@group.test
def init_twice_is_refused(ctx):
    inst = Instance(ctx.cfg, "init")
    try:
        inst.init()
        r = subprocess.run([ctx.cfg.patron, "init", "--db", inst.db.url, "--owner-password",
                            "another password 123"], capture_output=True, text=True, timeout=60)
        eq(r.returncode, 1, "exit status of a second init")
        out = (r.stdout + r.stderr).lower()
        check("already initialised" in out or "already initialized" in out,
              f"second init does not say 'already initialised': {out.strip()[:300]!r}")
        inst.start()
        c = Ctx(ctx.cfg, inst)  # logs in with the first password
        bad = c.client().post(f"{API}/auth/login",
                              {"username": "owner", "password": "another password 123"})
        expect_error(bad, 401, "unauthenticated")
        eq(OWNER_PASSWORD, inst.password, "owner password")
        inst.stop()
    except BaseException:
        print(inst.tail())
        raise
    finally:
        inst.cleanup()


@group.test
def abandoned_connections_do_not_shut_others_out(ctx):
    """1,500 connections that send part of a request and close their side (libmicrohttpd only
    notices those at the connection timeout) do not stop the server answering a new client."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 1500
    if soft < want + 200:
        if hard != resource.RLIM_INFINITY and hard < want + 200:
            check(False, f"this test needs {want + 200} open files; the limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (want + 200, hard))
    inst = start_instance(ctx.cfg, "abandoned")
    socks = []
    try:
        for _ in range(want):
            s = socket.create_connection(("127.0.0.1", inst.port), timeout=10)
            s.sendall(b"GET /api/v1/members HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Part")
            s.shutdown(socket.SHUT_WR)
            socks.append(s)
        t0 = time.monotonic()
        c = http.client.HTTPConnection("127.0.0.1", inst.port, timeout=10)
        c.request("GET", "/healthz")
        r = c.getresponse()
        r.read()
        c.close()
        eq(r.status, 200, "GET /healthz beside the abandoned connections")
        check(time.monotonic() - t0 < 5, "the answer took over 5 s")
        inst.stop()
    finally:
        for s in socks:
            s.close()
        inst.cleanup()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
