"""I/O faults (libfiu, from Debian's fiu-utils): while writes or fsync fail, a request that
writes answers 503 unavailable (never 2xx) and leaves nothing behind; once the disk works again
the same server carries on without a restart. SQLite only: PostgreSQL does its own writing.

When only the flush to disk fails, a batch has been written to the WAL (and others may read it)
before its flush is found to have failed: its requests are answered 503 all the same, as not
known to be saved, and a repeat with the same Idempotency-Key after the disk recovers answers
what was done, exactly once."""

import os
import shutil
import stat
import time

import uuid

from harness import API, Ctx, Group, check, eq, expect, expect_error, start_instance

group = Group("faults", server=False)

# SQLite reads and writes its files with pread and pwrite; plain read and write stay working, as
# they do on a failing disk, for the sockets and the eventfd that wakes the HTTP threads.
POINTS = ("posix/io/rw/pread*", "posix/io/rw/pwrite*", "posix/io/sync/*")
SYNC_ONLY = ("posix/io/sync/*",)


def fiu_instance(ctx):
    wrapper = os.path.join(ctx.cfg.workroot, "fiu-patron.sh")
    ctrl = os.path.join(ctx.cfg.workroot, "fiu-ctrl")
    with open(wrapper, "w") as f:
        f.write(f'#!/bin/sh\nexec fiu-run -x -f {ctrl} {ctx.cfg.patron} "$@"\n')
    os.chmod(wrapper, os.stat(wrapper).st_mode | stat.S_IXUSR)
    real = ctx.cfg.patron
    ctx.cfg.patron = wrapper
    try:
        inst = start_instance(ctx.cfg, "faults")
    finally:
        ctx.cfg.patron = real
    return inst, ctrl


def fiu(ctrl, pid, command, points=POINTS):
    import subprocess
    for point in points:
        r = subprocess.run(["fiu-ctrl", "-f", ctrl, "-c", f"{command} name={point}", str(pid)],
                           capture_output=True, text=True, timeout=30)
        eq(r.returncode, 0, f"fiu-ctrl {command} {point}: {r.stderr}")


@group.test
def failed_writes_answer_503_and_recover(ctx):
    if ctx.cfg.db != "sqlite":
        return  # the PostgreSQL server writes its own files
    if ctx.quick or not shutil.which("fiu-run"):
        # A preloaded libfiu and the sanitizers' runtime do not mix; fiu-utils is installed
        # by scripts/install-deps.sh for the main run.
        check(ctx.quick, "fiu-run is missing: scripts/install-deps.sh installs fiu-utils")
        return
    inst, ctrl = fiu_instance(ctx)
    try:
        c = Ctx(ctx.cfg, inst)
        before = c.new_member()
        fiu(ctrl, inst.proc.pid, "enable")
        try:
            for i in range(5):
                with ctx.case(f"write {i} while the disk fails"):
                    r = c.api.post(f"{API}/members", {"name": f"故障{i}", "phone": c.phone("177")})
                    expect_error(r, 503, "unavailable")
        finally:
            fiu(ctrl, inst.proc.pid, "disable")
        after = c.new_member()  # the same server, no restart
        check(inst.alive(), "the server died")
        items = c.walk(f"{API}/members")
        eq(sorted(m["id"] for m in items), sorted([before["id"], after["id"]]),
           "members: nothing partial from the failed writes")
        r = inst.cli("check")
        eq(r.returncode, 0, f"patron check after the faults: {r.stdout}{r.stderr}")
    finally:
        inst.cleanup()


@group.test
def failed_flushes_answer_503_and_retries_count_once(ctx):
    if ctx.cfg.db != "sqlite":
        return
    if ctx.quick or not shutil.which("fiu-run"):
        check(ctx.quick, "fiu-run is missing: scripts/install-deps.sh installs fiu-utils")
        return
    inst, ctrl = fiu_instance(ctx)
    try:
        c = Ctx(ctx.cfg, inst)
        mid = c.new_member()["id"]
        keys = [f"fault-{uuid.uuid4()}" for _ in range(4)]

        def adjust(key, points):
            return c.owner.post(f"{API}/members/{mid}/points/adjust",
                              {"points": points, "reason": "故障测试"},
                              headers={"Idempotency-Key": key})

        fiu(ctrl, inst.proc.pid, "enable", SYNC_ONLY)
        try:
            for i, key in enumerate(keys):
                with ctx.case(f"adjustment {i} while flushes fail"):
                    expect_error(adjust(key, 10 + i), 503, "unavailable")
        finally:
            fiu(ctrl, inst.proc.pid, "disable", SYNC_ONLY)
        check(inst.alive(), "the server died")
        for i, key in enumerate(keys):
            with ctx.case(f"adjustment {i} repeated once the disk works"):
                r = adjust(key, 10 + i)
                check(r.status in (200, 201), f"a repeat after the fault: {r}")
        m = expect(c.owner.get(f"{API}/members/{mid}"), 200)
        eq(m["points"], sum(10 + i for i in range(len(keys))),
           "points: each adjustment counted exactly once")
        adjusts = [e for e in c.walk(f"{API}/members/{mid}/ledger", client=c.owner) if e["kind"] == "adjust"]
        eq(sorted(e["points"] for e in adjusts), [10 + i for i in range(len(keys))],
           "ledger: one entry per key")
        r = inst.cli("check")
        eq(r.returncode, 0, f"patron check after the faults: {r.stdout}{r.stderr}")
    finally:
        inst.cleanup()
