"""Backups: an online copy while serving, encrypted or not, with a checksum; restore refuses
anything damaged and leaves the database as it was; scheduled backups are pruned."""

import hashlib
import os
import sqlite3
import subprocess
import threading
import time
import uuid

from harness import API, Database, Group, check, eq, expect, start_instance

group = Group("backup")


def ledger_digest(db):
    """An ordered hash of every ledger entry and the member count of a database."""
    sql = ("SELECT id, transfer_id, member_id, account, points, balance_after, created_at "
           "FROM point_entries ORDER BY id")
    if db.kind == "sqlite":
        with sqlite3.connect(db.url.split(":", 1)[1]) as c:
            rows = "\n".join("|".join("" if v is None else str(v) for v in r)
                             for r in c.execute(sql))
            members = c.execute("SELECT COUNT(*) FROM members").fetchone()[0]
    else:
        def q(s):
            r = subprocess.run(["psql", "-X", "-At", "-d", db.url, "-c", s],
                               capture_output=True, text=True, timeout=60)
            check(r.returncode == 0, f"psql: {r.stderr}")
            return r.stdout.strip()
        rows, members = q(sql), int(q("SELECT COUNT(*) FROM members"))
    return hashlib.sha256(rows.encode()).hexdigest(), members


def some_activity(ctx):
    m = ctx.new_member(phone=ctx.phone("133"), note="BACKUP-CANARY-" + uuid.uuid4().hex[:8])
    expect(ctx.owner.post(f"{API}/members/{m['id']}/points/adjust",
                        {"points": 250, "reason": "backup test"},
                        headers={"Idempotency-Key": "bk-" + uuid.uuid4().hex}), 201)
    return m


def restore(ctx, path, target):
    return subprocess.run([ctx.inst.cfg.patron, "restore", path, "--db", target.url],
                          capture_output=True, text=True, timeout=300)


def fresh_target(ctx):
    """An empty database to restore into, with the instance's key file beside it."""
    d = os.path.join(ctx.inst.workdir, "restore-" + uuid.uuid4().hex[:6])
    os.makedirs(d)
    target = Database(ctx.inst.cfg, d)
    if target.kind == "sqlite":
        src = ctx.inst.db.url.split(":", 1)[1] + ".key"
        with open(src, "rb") as f, open(target.url.split(":", 1)[1] + ".key", "wb") as g:
            g.write(f.read())
        os.chmod(target.url.split(":", 1)[1] + ".key", 0o600)
    return target


def backup(ctx, name, *flags):
    path = os.path.join(ctx.inst.workdir, name)
    r = ctx.inst.cli("backup", path, *flags)
    eq(r.returncode, 0, f"patron backup: {r.stderr}")
    with open(path, "rb") as f:
        data = f.read()
    with open(path + ".sha256") as f:
        eq(f.read().split()[0], hashlib.sha256(data).hexdigest(), "checksum file")
    return path, data


@group.test
def backup_while_serving_then_restore_elsewhere(ctx):
    some_activity(ctx)
    path, _ = backup(ctx, "online.backup")
    want = ledger_digest(ctx.inst.db)
    some_activity(ctx)  # after the backup point: not in the copy
    target = fresh_target(ctx)
    try:
        r = restore(ctx, path, target)
        eq(r.returncode, 0, f"patron restore: {r.stdout} {r.stderr}")
        check("all invariants hold" in r.stdout, f"restore ran no check: {r.stdout}")
        eq(ledger_digest(target), want, "ledger and members as at the backup")
    finally:
        target.drop()


def ledger_rows(db):
    """id -> row of every ledger entry."""
    sql = ("SELECT id, transfer_id, member_id, account, points, balance_after, created_at "
           "FROM point_entries ORDER BY id")
    if db.kind == "sqlite":
        with sqlite3.connect(db.url.split(":", 1)[1]) as c:
            rows = [tuple("" if v is None else str(v) for v in r) for r in c.execute(sql)]
    else:
        r = subprocess.run(["psql", "-X", "-At", "-F", "|", "-d", db.url, "-c", sql],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, f"psql: {r.stderr}")
        rows = [tuple(line.split("|")) for line in r.stdout.splitlines() if line]
    return {row[0]: row for row in rows}


@group.test
def backup_under_load_restores_a_consistent_ledger(ctx):
    m = some_activity(ctx)
    stop = threading.Event()
    done = []

    def adjuster(c):
        while not stop.is_set():
            r = c.post(f"{API}/members/{m['id']}/points/adjust", {"points": 1, "reason": "load"},
                       headers={"Idempotency-Key": "load-" + uuid.uuid4().hex})
            if r.status == 201:
                done.append(1)

    def wait_for(n):
        deadline = time.time() + 30
        while len(done) < n and time.time() < deadline:
            time.sleep(0.02)

    clients = [ctx.login() for _ in range(4)]  # signing in is slow on purpose: before the load
    threads = [threading.Thread(target=adjuster, args=(c,), daemon=True) for c in clients]
    for t in threads:
        t.start()
    wait_for(5)
    path, _ = backup(ctx, "loaded.backup")
    wait_for(len(done) + 5)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    check(len(done) >= 10, f"only {len(done)} adjustments around the backup")
    live = ledger_rows(ctx.inst.db)
    target = fresh_target(ctx)
    try:
        r = restore(ctx, path, target)
        eq(r.returncode, 0, f"patron restore of a backup taken under load: {r.stdout} {r.stderr}")
        copy = ledger_rows(target)
        check(0 < len(copy) < len(live), f"backup point: {len(copy)} of {len(live)} entries")
        changed = [k for k, row in copy.items() if live.get(k) != row]
        eq(changed, [], "entries in the backup that differ from the live ledger")
    finally:
        target.drop()


@group.test
def encrypted_backup_hides_data_and_restores(ctx):
    m = some_activity(ctx)
    got = expect(ctx.api.get(f"{API}/members/{m['id']}"), 200)
    path, data = backup(ctx, "sealed.backup", "--encrypt")
    check(data.startswith(b"PATRONBK1 "), "encrypted backups start with their magic line")
    for secret in (got["note"], got["phone"], "CREATE TABLE", "SQLite format"):
        check(secret.encode() not in data, f"{secret!r} readable in an encrypted backup")
    want = ledger_digest(ctx.inst.db)
    target = fresh_target(ctx)
    try:
        r = restore(ctx, path, target)
        eq(r.returncode, 0, f"patron restore: {r.stdout} {r.stderr}")
        eq(ledger_digest(target), want, "ledger after restoring the encrypted backup")
    finally:
        target.drop()


@group.test
def damaged_backups_are_refused(ctx):
    some_activity(ctx)
    path, data = backup(ctx, "whole.backup", "--encrypt")
    plain, pdata = backup(ctx, "whole-plain.backup")
    target = fresh_target(ctx)

    def write(name, content, fix_sum=True):
        p = os.path.join(ctx.inst.workdir, name)
        with open(p, "wb") as f:
            f.write(content)
        if fix_sum:
            with open(p + ".sha256", "w") as f:
                f.write(hashlib.sha256(content).hexdigest() + "  " + name + "\n")
        return p

    flipped = bytearray(data)
    flipped[len(flipped) // 2] ^= 0x40
    cases = {
        "no checksum file": write("nosum.backup", data, fix_sum=False),
        "checksum does not match": write("mismatch.backup", data + b"x", fix_sum=False),
        "one byte changed (checksum redone)": write("flipped.backup", bytes(flipped)),
        "cut short (checksum redone)": write("cut.backup", data[: len(data) // 2]),
        "not a backup": write("junk.backup", b"hello, this is not a backup\n" * 100),
    }
    if target.kind == "sqlite":
        bad = bytearray(pdata)
        for page in range(1, min(30, len(bad) // 4096)):
            bad[page * 4096] = 0xFF  # not a b-tree page type: integrity_check objects
        cases["damaged SQLite pages (checksum redone)"] = write("pages.backup", bytes(bad))
    with open(os.path.join(ctx.inst.workdir, "mismatch.backup.sha256"), "w") as f:
        f.write(hashlib.sha256(data).hexdigest() + "  mismatch.backup\n")
    try:
        for label, p in cases.items():
            with ctx.case(label):
                r = restore(ctx, p, target)
                check(r.returncode != 0, f"restore accepted it: {r.stdout}")
                check(r.stderr.strip().startswith("patron: "), f"no clear message: {r.stderr!r}")
                if target.kind != "sqlite":
                    r = subprocess.run(["psql", "-X", "-At", "-d", target.url, "-c",
                                        "SELECT to_regclass('public.members') IS NULL"],
                                       capture_output=True, text=True, timeout=60)
                    eq(r.stdout.strip(), "t", "a refused restore left tables behind")
                else:
                    path_ = target.url.split(":", 1)[1]
                    check(not os.path.exists(path_), "a refused restore wrote the database")
                    leftovers = [f for f in os.listdir(os.path.dirname(path_))
                                 if f.endswith(".restoring")]
                    eq(leftovers, [], "temporary copies left behind")
    finally:
        target.drop()


@group.test
def backup_never_writes_over_a_file(ctx):
    """OUT that exists (another file, or the live database itself) or lies in a missing
    directory is refused, and nothing is written; a database that is not there is not made."""
    some_activity(ctx)
    keep = os.path.join(ctx.inst.workdir, "exists.backup")
    with open(keep, "wb") as f:
        f.write(b"keep me")
    outs = {"a file that exists": keep,
            "a missing directory": os.path.join(ctx.inst.workdir, "nowhere", "b.backup")}
    if ctx.inst.db.kind == "sqlite":
        live = ctx.inst.db.url.split(":", 1)[1]
        outs["the live database"] = live
        outs["its WAL"] = live + "-wal"
        before = os.stat(live).st_ino
    for label, out in outs.items():
        with ctx.case(label):
            r = ctx.inst.cli("backup", out)
            check(r.returncode != 0, f"backup wrote over {out}: {r.stdout}")
            check(r.stderr.startswith("patron: "), f"no clear message: {r.stderr!r}")
    with open(keep, "rb") as f:
        eq(f.read(), b"keep me", "the existing file")
    check(not os.path.exists(os.path.dirname(outs["a missing directory"])), "made a directory")
    if ctx.inst.db.kind == "sqlite":
        eq(os.stat(live).st_ino, before, "the live database file")
    m = some_activity(ctx)
    expect(ctx.api.get(f"{API}/members/{m['id']}"), 200)
    if ctx.inst.db.kind == "sqlite":
        with ctx.case("a database that is not there"):
            missing = os.path.join(ctx.inst.workdir, "missing.db")
            r = subprocess.run([ctx.inst.cfg.patron, "backup",
                                os.path.join(ctx.inst.workdir, "m.backup"),
                                "--db", f"sqlite:{missing}"],
                               capture_output=True, text=True, timeout=60)
            check(r.returncode != 0, f"backed up a database that is not there: {r.stdout}")
            check(not os.path.exists(missing), "backup created the database")


@group.test
def restore_refuses_what_is_not_this_shops_database(ctx):
    """SQLite: an empty or foreign SQLite file, or a backup opened with another database's
    key file, fails its check before anything is replaced."""
    if ctx.inst.db.kind != "sqlite":
        return
    some_activity(ctx)
    good, _ = backup(ctx, "good.backup")
    target = fresh_target(ctx)

    def sqlite_file(name, sql):
        p = os.path.join(ctx.inst.workdir, name)
        db = sqlite3.connect(p)
        db.executescript(sql)
        db.close()
        with open(p, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        with open(p + ".sha256", "w") as f:
            f.write(f"{digest}  {name}\n")
        return p

    path_ = target.url.split(":", 1)[1]
    try:
        for label, p in [("an empty SQLite database", sqlite_file("empty.backup", "")),
                         ("another program's database",
                          sqlite_file("foreign.backup", "CREATE TABLE t (x); INSERT INTO t "
                                                        "VALUES (1);"))]:
            with ctx.case(label):
                r = restore(ctx, p, target)
                check(r.returncode != 0, f"restore accepted it: {r.stdout}")
                check("nothing was replaced" in r.stderr, f"message: {r.stderr!r}")
                check(not os.path.exists(path_), "a refused restore wrote the database")
        with ctx.case("another database's key file"):
            other = os.path.join(ctx.inst.workdir, "other-" + uuid.uuid4().hex[:6])
            os.makedirs(other)
            r = subprocess.run([ctx.inst.cfg.patron, "init", "--db", f"sqlite:{other}/o.db",
                                "--owner-password", "a long enough pass phrase 42"],
                               capture_output=True, text=True, timeout=60)
            eq(r.returncode, 0, f"init: {r.stderr}")
            with open(f"{other}/o.db.key", "rb") as f, open(path_ + ".key", "wb") as g:
                g.write(f.read())
            r = restore(ctx, good, target)
            check(r.returncode != 0, f"restored with the wrong key file: {r.stdout}")
            check("key file" in r.stdout + r.stderr, f"message: {r.stdout!r} {r.stderr!r}")
            check(not os.path.exists(path_), "a refused restore wrote the database")
        leftovers = [f for f in os.listdir(os.path.dirname(path_)) if ".restoring" in f]
        eq(leftovers, [], "temporary copies left behind")
    finally:
        target.drop()


@group.test
def restore_refuses_a_database_in_use(ctx):
    path, _ = backup(ctx, "inuse.backup")
    r = restore(ctx, path, ctx.inst.db)
    check(r.returncode != 0, "restored over the database the server is using")
    why = "is in use" if ctx.inst.db.kind == "sqlite" else "already holds Patron's tables"
    check(why in r.stderr, f"not a clear refusal: {r.stderr!r}")
    expect(ctx.api.get(f"{API}/stores"), 200)


scheduled = Group("backup_scheduled", server=False)


@scheduled.test
def scheduled_backups_are_kept_and_pruned(ctx):
    d = os.path.join(ctx.cfg.workroot, "scheduled-" + uuid.uuid4().hex[:6])
    os.makedirs(d)
    inst = start_instance(ctx.cfg, "scheduled", ["--backup-dir", d, "--backup-every", "1",
                                                 "--backup-keep", "2"])
    try:
        deadline = time.time() + 20
        done = []
        while time.time() < deadline:
            done = sorted(f for f in os.listdir(d) if f.startswith("patron-")
                          and not f.endswith(".sha256") and not f.endswith(".part"))
            if inst.log_text().count("job=backup") >= 3:
                break
            time.sleep(0.3)
        check(inst.log_text().count("job=backup") >= 3, "fewer than 3 scheduled backups in 20 s")
        check(1 <= len(done) <= 2, f"backup_keep=2 but {done}")
        # Backups go on meanwhile: a file listed above may be pruned before it is read, and
        # the newest may not have its checksum yet (it is written once the copy is in place).
        checked = 0
        for f in done:
            try:
                with open(os.path.join(d, f), "rb") as fh, \
                        open(os.path.join(d, f + ".sha256")) as sh:
                    eq(sh.read().split()[0], hashlib.sha256(fh.read()).hexdigest(),
                       f"{f} checksum")
                    checked += 1
            except FileNotFoundError:
                pass
        check(checked >= 1 or len(done) == 0, f"no backup with its checksum among {done}")
    finally:
        inst.cleanup()
