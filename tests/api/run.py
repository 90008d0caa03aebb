#!/usr/bin/env python3
"""Runs the API test suite against a real `patron serve`.

    python3 tests/api/run.py --patron build/patron --db sqlite
    PATRON_TEST_PG_URL=postgresql://postgres@127.0.0.1:PORT/postgres \
        python3 tests/api/run.py --patron build/patron --db postgres
    ... -k members.search     only tests whose name contains the substring
    ... --quick               smaller volume tests (sanitizer builds)

With --db postgres and no PATRON_TEST_PG_URL, a throwaway PostgreSQL is started with
tests/api/pg.sh and stopped at the end. Every group of tests gets its own database and server.
The last line printed is `api(<db>): N passed, N failed`; the exit status is 1 when any failed.
"""

import argparse
import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "crash"))

from harness import Config, Ctx, Failure, Group, start_instance  # noqa: E402

# Imported for their registrations, in the order they run.
import test_conventions  # noqa: E402,F401
import test_auth  # noqa: E402,F401
import test_stores  # noqa: E402,F401
import test_members  # noqa: E402,F401
import test_volume  # noqa: E402,F401
import test_lifecycle  # noqa: E402,F401
import test_points  # noqa: E402,F401
import test_tiers  # noqa: E402,F401
import test_model  # noqa: E402,F401
import test_checkout  # noqa: E402,F401
import test_pii  # noqa: E402,F401
import test_totp  # noqa: E402,F401
import test_catalog  # noqa: E402,F401
import test_security  # noqa: E402,F401
import test_console  # noqa: E402,F401
import test_backup  # noqa: E402,F401
import test_crash  # noqa: E402,F401
import test_faults  # noqa: E402,F401


class Results:
    def __init__(self):
        self.passed, self.failed = 0, []

    def ok(self, name, seconds):
        self.passed += 1
        print(f"ok   {name} ({seconds:.2f}s)", flush=True)

    def fail(self, name, seconds, detail, inst=None):
        self.failed.append(name)
        print(f"FAIL {name} ({seconds:.2f}s)", flush=True)
        for line in detail.rstrip().splitlines():
            print("    " + line)
        if inst is not None:
            print("    server log (tail):")
            print(inst.tail())
        sys.stdout.flush()


def describe(exc):
    if isinstance(exc, Failure):
        tb = traceback.extract_tb(exc.__traceback__)
        where = [f for f in tb if os.path.basename(f.filename).startswith("test_")]
        loc = f" (at {os.path.basename(where[-1].filename)}:{where[-1].lineno})" if where else ""
        return f"{exc}{loc}"
    return "".join(traceback.format_exception(exc)).rstrip()


def run_group(cfg, group, tests, results):
    if not group.server:
        ctx = Ctx(cfg, None)
        for t in tests:
            run_test(ctx, t, results, None)
        return

    inst = ctx = None
    setup_error = None
    for t in tests:
        if inst is None or not inst.alive():
            if inst is not None:
                inst.cleanup()  # it died during the previous test: carry on with a fresh one
            inst = ctx = None
            t0 = time.monotonic()
            try:
                inst = start_instance(cfg, group.name, group.serve_args)
                ctx = Ctx(cfg, inst)
            except Exception as e:  # noqa: BLE001
                setup_error = describe(e)
                results.fail(t.name, time.monotonic() - t0, "group setup failed: " + setup_error,
                             inst)
                if inst is not None:
                    inst.cleanup()
                inst = None
                continue
        run_test(ctx, t, results, inst)

    if inst is not None:
        name = f"{group.name}.sigterm_exit_0"
        t0 = time.monotonic()
        try:
            inst.stop()
            results.ok(name, time.monotonic() - t0)
        except Failure as e:
            results.fail(name, time.monotonic() - t0, str(e))
        inst.cleanup()


def run_test(ctx, t, results, inst):
    ctx.soft_failures = []
    t0 = time.monotonic()
    error = None
    try:
        t.fn(ctx)
    except Exception as e:  # noqa: BLE001 - every error is a test failure
        error = describe(e)
    problems = list(ctx.soft_failures)
    if error:
        problems.append(error)
    if inst is not None and not inst.alive():
        problems.append(f"the server exited ({inst.proc.returncode}) during this test")
    seconds = time.monotonic() - t0
    if problems:
        results.fail(t.name, seconds, "\n".join(problems), inst)
    else:
        results.ok(t.name, seconds)
    ctx.soft_failures = []


def start_postgres(workroot):
    pgdir = tempfile.mkdtemp(prefix="patron-api-pg-")
    r = subprocess.run([os.path.join(HERE, "pg.sh"), "start", pgdir],
                       capture_output=True, text=True, timeout=180)
    if r.returncode != 0:
        raise RuntimeError(f"pg.sh start failed: {r.stderr.strip()}")

    def stop():
        subprocess.run([os.path.join(HERE, "pg.sh"), "stop", pgdir], capture_output=True,
                       timeout=120)
        shutil.rmtree(pgdir, ignore_errors=True)

    atexit.register(stop)
    return r.stdout.strip().splitlines()[-1]


def main():
    ap = argparse.ArgumentParser(description="Patron HTTP API tests")
    ap.add_argument("--patron", default="build/patron", help="the patron binary")
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("-k", dest="select", default="", help="run tests whose name contains this")
    ap.add_argument("--quick", action="store_true", help="shrink the volume tests")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs, databases)")
    args = ap.parse_args()
    summary = lambda p, f: print(f"api({args.db}): {p} passed, {f} failed", flush=True)  # noqa: E731

    patron = os.path.abspath(args.patron)
    if not os.access(patron, os.X_OK):
        print(f"error: {patron} is not an executable file")
        summary(0, 1)
        return 1

    workroot = tempfile.mkdtemp(prefix="patron-api-")
    # A PostgreSQL database's key file is patron.key in the working directory: the run's own,
    # so no run inherits another's keys (or leaves one in the caller's directory).
    os.chdir(workroot)
    pg_url = None
    if args.db == "postgres":
        pg_url = os.environ.get("PATRON_TEST_PG_URL")
        if not pg_url:
            try:
                pg_url = start_postgres(workroot)
            except Exception as e:  # noqa: BLE001
                print(f"error: {e}")
                summary(0, 1)
                return 1
            print(f"started PostgreSQL at {pg_url}")

    cfg = Config(patron, args.db, pg_url, args.quick, workroot)
    atexit.register(lambda: [inst.kill() for inst in list(cfg.live)])
    results = Results()
    t_start = time.monotonic()
    try:
        for group in Group.registry:
            tests = [t for t in group.tests if args.select in t.name]
            if tests:
                run_group(cfg, group, tests, results)
    except KeyboardInterrupt:
        print("interrupted")
        results.failed.append("(interrupted)")
    finally:
        for inst in list(cfg.live):
            inst.cleanup()
    elapsed = time.monotonic() - t_start

    if results.failed:
        print(f"failed ({elapsed:.0f}s): " + ", ".join(results.failed))
    else:
        print(f"all passed in {elapsed:.0f}s")
    if args.keep or results.failed:
        print(f"logs and databases: {workroot}")
    else:
        shutil.rmtree(workroot, ignore_errors=True)
    summary(results.passed, len(results.failed))
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
