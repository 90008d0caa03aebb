#!/usr/bin/env python3
"""The benchmark (bench/README.md): builds the dataset, serves it, drives it with
patron-loadgen, measures the baselines in the same run, and writes a markdown report.

    python3 bench/run.py --build build            # the full run (make bench)
    python3 bench/run.py --build build --smoke    # seconds long, tiny dataset (make test)
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PASSWORD = "Bench-Owner-Passw0rd!"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rss_kb(pid, field="VmRSS"):
    """Resident memory in KB: all of it (VmRSS), or one part: RssAnon, the process's own
    (heap, stacks), or RssFile, pages of files it maps (the database, read through one
    shared mapping, and its WAL index), which are the kernel's page cache."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def run(cmd, **kw):
    print("  $ " + " ".join(str(c) for c in cmd), flush=True)
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"bench: {cmd[0]} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
    return r


class Server:
    """patron serve (or the fixed server) on a free loopback port, until stopped."""

    def __init__(self, cmd, log, port, env=None):
        self.port = port
        self.log = open(log, "w")
        self.proc = subprocess.Popen([str(c) for c in cmd], stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"bench: {cmd[0]} did not start; see {log}")
                time.sleep(0.05)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class Bench:
    def __init__(self, args):
        self.a = args
        self.bin = os.path.abspath(args.build)
        self.patron = os.path.join(self.bin, "patron")
        self.tool = lambda name: os.path.join(self.bin, "bench", name)
        self.work = tempfile.mkdtemp(prefix="patron-bench-")
        os.chmod(self.work, 0o755)
        self.results = {"settings": {}, "runs": {}, "baselines": {}, "memory": {},
                        "dataset": {}, "notes": []}
        smoke = args.smoke
        self.members = args.members or (2000 if smoke else 1_000_000)
        self.products = args.products or (200 if smoke else 10_000)
        self.coupons = min(self.members, 500 if smoke else 100_000)
        self.seconds = args.seconds or (2 if smoke else 20)
        self.connections = args.connections
        self.workers = args.workers
        self.results["settings"] = {
            "members": self.members, "products": self.products, "stores": 3,
            "coupons": self.coupons, "seconds_per_run": self.seconds,
            "connections": self.connections, "serve_workers": self.workers,
            "mix": "checkout:70,lookup:20,quote:10", "smoke": smoke,
            "sqlite": "WAL, synchronous=FULL (durable before acknowledged), group commit"}

    # -- datasets ---------------------------------------------------------------------------
    def dataset(self, name, url, members, env=None, cwd=None):
        d = os.path.join(self.work, name)
        os.makedirs(d, exist_ok=True)
        run([self.patron, "init", "--db", url, "--owner-password", PASSWORD], env=env, cwd=cwd)
        t = time.monotonic()
        r = run([self.tool("patron-bench-data"), "--db", url, "--members", members,
                 "--products", self.products, "--coupons", min(members, self.coupons),
                 "--out", d], env=env, cwd=cwd)
        info = json.loads(r.stdout)
        info["build_seconds"] = round(time.monotonic() - t, 1)
        self.results["dataset"][name] = info
        with open(os.path.join(d, "token")) as f:
            token = f.read().strip()
        return d, token

    # -- load ---------------------------------------------------------------------------------
    def load(self, key, port, mix, token=None, members=None, path=None, seconds=None,
             coupons=None, seed=None):
        out = os.path.join(self.work, f"{key}.json")
        cmd = [self.tool("patron-loadgen"), "--port", port, "--connections", self.connections,
               "--seconds", seconds or self.seconds, "--warmup", 1 if self.a.smoke else 2,
               "--mix", mix, "--products", self.products, "--json", out,
               "--threads", self.a.loadgen_threads]
        if token:
            cmd += ["--token", token]
        if members:
            cmd += ["--members", members]
        if path:
            cmd += ["--path", path]
        if coupons:
            cmd += ["--coupons", coupons]
        if seed:
            cmd += ["--seed", seed]
        r = run(cmd)
        print(r.stdout, flush=True)
        with open(out) as f:
            self.results["runs"][key] = json.load(f)
        return self.results["runs"][key]

    def serve(self, name, url, env=None, cwd=None):
        port = free_port()
        s = Server([self.patron, "serve", "--db", url, "--listen", f"127.0.0.1:{port}",
                    "--workers", self.workers],
                   os.path.join(self.work, f"{name}-serve.log"), port, env=env)
        return s

    # -- the parts ----------------------------------------------------------------------------
    def sqlite_part(self):
        db = os.path.join(self.work, "sqlite", "bench.db")
        os.makedirs(os.path.dirname(db), exist_ok=True)
        url = "sqlite:" + db
        d, token = self.dataset("sqlite", url, self.members)
        # The in-process baselines run on a copy taken before the load changes anything.
        copy = os.path.join(self.work, "inproc")
        os.makedirs(copy, exist_ok=True)
        src = sqlite3.connect(db)
        dst = sqlite3.connect(os.path.join(copy, "bench.db"))
        src.backup(dst)
        src.close()
        dst.close()
        shutil.copy(db + ".key", os.path.join(copy, "bench.db.key"))

        s = self.serve("sqlite", url)
        time.sleep(1)
        self.results["memory"]["idle_rss_kb"] = rss_kb(s.proc.pid)
        self.load("sqlite_mix", s.port, "checkout:70,lookup:20,quote:10", token=token,
                  members=self.members, coupons=os.path.join(d, "coupons.txt"))
        # Lookups alone on a fresh server, as at 10,000 members below: like against like.
        s.stop()
        s = self.serve("sqlite-lookups", url)
        self.load("sqlite_lookup", s.port, "lookup:100", token=token, members=self.members)
        self.results["memory"]["after_load_rss_kb"] = rss_kb(s.proc.pid)
        self.results["memory"]["after_load_anon_kb"] = rss_kb(s.proc.pid, "RssAnon")
        if self.a.soak:
            self.soak(s, token)
        s.stop()

        inproc_url = "sqlite:" + os.path.join(copy, "bench.db")
        for per in (1, 100):
            r = run([self.tool("patron-bench-inproc"), "--db", inproc_url, "--members",
                     self.members, "--products", self.products, "--seconds",
                     max(1, self.seconds // 2), "--per-commit", per])
            self.results["baselines"][f"sqlite_inproc_{per}"] = json.loads(r.stdout)

        # Lookups at 10,000 members, against the 1,000,000 above.
        small = 10_000 if not self.a.smoke else 200
        if small < self.members:
            db2 = os.path.join(self.work, "small", "bench.db")
            os.makedirs(os.path.dirname(db2), exist_ok=True)
            url2 = "sqlite:" + db2
            _, token2 = self.dataset("small", url2, small)
            s2 = self.serve("small", url2)
            self.load("small_lookup", s2.port, "lookup:100", token=token2, members=small)
            s2.stop()

    def fixed_part(self):
        port = free_port()
        s = Server([self.tool("patron-fixed-server"), "--port", port, "--threads", 2],
                   os.path.join(self.work, "fixed.log"), port)
        self.load("fixed", port, "get:100", path="/")
        s.stop()

    def soak(self, s, token):
        """A steady load for --soak seconds, sampling the server's resident memory."""
        samples, anon = [], []
        end = time.monotonic() + self.a.soak
        step = max(5, self.a.soak // 20)
        while time.monotonic() < end:
            # Each step draws other members: with one seed every step would send the same
            # members' redemptions again, until their points ran out (409s by the tenth step).
            self.load("soak_step", s.port, "checkout:70,lookup:20,quote:10", token=token,
                      members=self.members, seconds=step, seed=1000 * (len(samples) + 1) + 1)
            samples.append(rss_kb(s.proc.pid))
            anon.append(rss_kb(s.proc.pid, "RssAnon"))
        self.results["memory"]["soak_seconds"] = self.a.soak
        self.results["memory"]["soak_rss_kb"] = samples
        self.results["memory"]["soak_anon_kb"] = anon

    def postgres_part(self):
        pgdir = os.path.join(self.work, "pg")
        os.makedirs(pgdir)
        os.chmod(pgdir, 0o777)
        r = run([os.path.join(ROOT, "tests", "api", "pg.sh"), "start", pgdir])
        url = r.stdout.strip().splitlines()[-1]
        env = dict(os.environ, PATRON_KEY_FILE=os.path.join(self.work, "pg.key"))
        members = self.a.pg_members or min(self.members, 200_000)
        try:
            d, token = self.dataset("postgres", url, members, env=env)
            s = self.serve("postgres", url, env=env)
            self.load("postgres_mix", s.port, "checkout:70,lookup:20,quote:10", token=token,
                      members=members, coupons=os.path.join(d, "coupons.txt"))
            # Checkouts alone, to set against pgbench doing only that.
            self.load("postgres_checkout", s.port, "checkout:100", token=token,
                      members=members)
            s.stop()
            self.pgbench(url, members)
        finally:
            subprocess.run([os.path.join(ROOT, "tests", "api", "pg.sh"), "stop", pgdir],
                           capture_output=True)

    def pgbench(self, url, members):
        """The same checkout as raw SQL (bench/pgbench_checkout.sql), as many clients."""
        pgbench = shutil.which("pgbench")
        if not pgbench:
            self.results["notes"].append("pgbench is not installed: no raw PostgreSQL baseline")
            return
        r = run([pgbench, "-n", "-f", os.path.join(ROOT, "bench", "pgbench_checkout.sql"),
                 "-D", f"members={members}", "-D", f"products={self.products}",
                 "-c", self.connections, "-j", 2, "-T", self.seconds, "-M", "prepared", url])
        tps = [line for line in r.stdout.splitlines() if line.startswith("tps = ")]
        latency = [line for line in r.stdout.splitlines() if line.startswith("latency average")]
        self.results["baselines"]["pgbench_checkout"] = {
            "per_second": float(tps[-1].split()[2]) if tps else 0,
            "checkouts": int(float(tps[-1].split()[2]) * self.seconds) if tps else 0,
            "latency_average_ms": float(latency[-1].split()[3]) if latency else None}

    def machine(self):
        cpu = ""
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        mem = 0
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = int(line.split()[1]) // 1024
        rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True).stdout.strip()
        return {"cpu": cpu, "cores": os.cpu_count(), "memory_mb": mem,
                "kernel": platform.release(), "sqlite": sqlite3.sqlite_version,
                "commit": rev, "date": datetime.datetime.now(datetime.timezone.utc)
                .strftime("%Y-%m-%d %H:%M UTC")}

    def main(self):
        self.results["machine"] = self.machine()
        try:
            self.fixed_part()
            self.sqlite_part()
            if self.a.postgres:
                self.postgres_part()
        finally:
            if not self.a.keep:
                shutil.rmtree(self.work, ignore_errors=True)
        from report import write_report
        md = write_report(self.results, self.a.out)
        print(f"report: {md}")
        return self.check()

    def check(self):
        """The smoke fails when a run answered nothing, or answered mostly errors."""
        bad, good = [], 0
        for key, r in self.results["runs"].items():
            for kind, k in r["kinds"].items():
                errors = sum(k.get("errors", {}).values())
                if k["ok"] == 0 or errors > k["ok"] // 20:
                    bad.append(f"{key}/{kind}: {k['ok']} ok, errors {k.get('errors')}")
                else:
                    good += 1
        for key, b in self.results["baselines"].items():
            if b.get("checkouts", 0) > 0:
                good += 1
            else:
                bad.append(f"{key}: no checkout went through")
        for line in bad:
            print(f"FAIL bench {line}")
        print(f"bench: {good} passed, {len(bad)} failed")
        return 1 if bad else 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--members", type=int)
    p.add_argument("--products", type=int)
    p.add_argument("--pg-members", type=int,
                   help="members of the PostgreSQL dataset (200,000 unless --members is less)")
    p.add_argument("--seconds", type=int)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--workers", type=int, default=32)
    p.add_argument("--loadgen-threads", type=int, default=1)
    p.add_argument("--soak", type=int, default=None,
                   help="seconds of steady load sampling memory (600 in the full run)")
    p.add_argument("--postgres", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    p.add_argument("--out", default=None, help="the report's path (bench/results/...)")
    a = p.parse_args()
    if a.soak is None:
        a.soak = 0 if a.smoke else 600
    if a.postgres is None:
        a.postgres = not a.smoke
    if a.out is None:
        stamp = datetime.datetime.now().strftime("%Y-%m-%d-%H%M")
        name = f"{stamp}-smoke.md" if a.smoke else f"{stamp}.md"
        a.out = os.path.join(ROOT, "bench", "results", name) if not a.smoke else \
            os.path.join(tempfile.gettempdir(), name)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    return Bench(a).main()


if __name__ == "__main__":
    sys.exit(main())
