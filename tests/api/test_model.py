"""A model test of the points engine: thousands of random operations (register with and without
a referral, adjust +/-, clock jumps, expiry job runs, settings changes) from fixed seeds, each
checked against a small reference model of lots written here; `patron check` at the end.

Every seed gets its own server (with --test-clock) so its clock only ever moves forward.
serve's own hourly expiry job may run after any clock jump; the model allows for it: the ledger
balance lies between the spendable points and that plus the points of expired lots not yet
written off, and is exact after every explicit job run.
"""

import collections
import datetime
import functools
import random
import time

from harness import Ctx, Failure, Group, check, eq, expect, expect_error, start_instance
from test_points import (DEFAULTS, M, SETTINGS, UTC, adjust, check_chain, end_of, expiry_date,
                         full, ledger, local_date, merged, new_key, patron_check, put_settings,
                         run_expire_job, set_clock)

group = Group("points_model", server=False)

SEEDS = [11, 22, 33]
START = datetime.datetime(2027, 3, 1, 2, 0, tzinfo=UTC)
end_of_day = functools.lru_cache(maxsize=None)(end_of)


class Lot:
    __slots__ = ("exp", "remaining", "seq")

    def __init__(self, exp, remaining, seq):
        self.exp, self.remaining, self.seq = exp, remaining, seq


class Member:
    def __init__(self, mid, code):
        self.id, self.code = mid, code
        self.lots = []
        self.entries = []  # (kind, points, expires_on) of every entry but `expire`
        self.expired = 0   # points written off by job runs the model has accounted for


class Model:
    def __init__(self, now):
        self.s = merged(DEFAULTS, {})
        self.now = now
        self.members = []
        self.seq = 0

    def today(self):
        return local_date(self.now)

    def valid(self, lot):
        return lot.exp is None or lot.exp >= self.today()

    def spendable(self, m):
        return sum(lot.remaining for lot in m.lots if self.valid(lot))

    def pending(self, m):
        return sum(lot.remaining for lot in m.lots if not self.valid(lot))

    def expiring(self, m):
        by = collections.Counter()
        for lot in m.lots:
            if lot.exp is not None and lot.remaining > 0 and self.valid(lot):
                by[lot.exp] += lot.remaining
        return [{"points": by[d], "expires_on": d.isoformat()} for d in sorted(by)]

    def credit(self, m, points, kind):
        e = self.s["expiry"]
        exp = expiry_date(e["mode"], e["days"], self.now)
        self.seq += 1
        m.lots.append(Lot(exp, points, self.seq))
        m.entries.append((kind, points, exp.isoformat() if exp else None))
        return exp

    def spend(self, m, points):
        lots = sorted((lot for lot in m.lots if lot.remaining > 0 and self.valid(lot)),
                      key=lambda lot: (lot.exp is None, lot.exp or datetime.date.max, lot.seq))
        left = points
        for lot in lots:
            take = min(left, lot.remaining)
            lot.remaining -= take
            left -= take
            if not left:
                break
        assert left == 0, "model: spent more than spendable"
        m.entries.append(("adjust", -points, None))

    def run_job(self):
        total = members = 0
        for m in self.members:
            p = 0
            for lot in m.lots:
                if lot.remaining and not self.valid(lot):
                    p += lot.remaining
                    lot.remaining = 0
            if p:
                total += p
                members += 1
                m.expired += p
        return total, members


class Runner:
    def __init__(self, ctx, seed):
        self.ctx, self.seed = ctx, seed
        self.rng = random.Random(seed)
        self.model = Model(START)
        self.api = full(ctx)
        self.n = 0
        self.stats = collections.Counter()
        self.sent = collections.deque(maxlen=50)  # recent adjusts: (clock, key, mid, body, Resp)

    def post_adjust(self, m, points, reason):
        key, body = new_key(), {"points": points, "reason": reason}
        r = adjust(self.api, m.id, body=body, key=key)
        self.sent.append((self.model.now, key, m.id, body, r))
        return r

    # -- checks

    def check_member(self, m, got=None, what="member"):
        if got is None:
            got = expect(self.api.get(f"{M}/{m.id}"), 200)
        eq(got["points"], self.model.spendable(m), f"{what} {m.id} points")
        eq(got["points_expiring"], self.model.expiring(m), f"{what} {m.id} points_expiring")

    def check_balance(self, m, balance, what):
        lo = self.model.spendable(m)
        hi = lo + self.model.pending(m)
        check(lo <= balance <= hi, f"{what}: ledger balance {balance}, expected between {lo} "
              f"(job ran) and {hi} (job not run)")

    # -- operations

    def register(self):
        model, rng = self.model, self.rng
        self.n += 1
        body = {"name": f"模型{self.seed}-{self.n}", "phone": f"139{self.seed:02d}{self.n:06d}"}
        referrer = None
        if model.members and rng.random() < 0.4:
            referrer = rng.choice(model.members)
            body["referral_code"] = referrer.code
        got = expect(self.api.post(M, body), 201)
        m = Member(got["id"], got["referral_code"])
        model.members.append(m)
        s = model.s
        if s["signup_bonus"] > 0:
            model.credit(m, s["signup_bonus"], "bonus_signup")
        if referrer is not None:
            ref = s["referral"]
            # With "on": "first_purchase" both parts wait for a sale (not in this model).
            if ref["on"] == "register" and ref["referee_points"] > 0:
                model.credit(m, ref["referee_points"], "bonus_referral")
            if ref["on"] == "register" and ref["referrer_points"] > 0:
                model.credit(referrer, ref["referrer_points"], "bonus_referral")
        self.check_member(m, got, "new member")
        if referrer is not None:
            self.check_member(referrer, None, "referrer")
        return f"register {m.id}" + (f" referred by {referrer.id}" if referrer else "")

    def credit(self):
        m = self.rng.choice(self.model.members)
        pts = self.rng.choice([self.rng.randint(1, 500), self.rng.randint(1, 50),
                               self.rng.randint(1000, 10**6)])
        reason = f"加{pts}"
        got = expect(self.post_adjust(m, pts, reason), 201)
        exp = self.model.credit(m, pts, "adjust")
        e = got["entry"]
        eq((e["kind"], e["points"], e["reason"], e["expires_on"]),
           ("adjust", pts, reason, exp.isoformat() if exp else None), "entry")
        eq(got["points"], self.model.spendable(m), "points after a credit")
        eq(e["balance_after"], got["balance"], "entry balance_after vs balance")
        self.check_balance(m, got["balance"], "after a credit")
        if self.rng.random() < 0.3:
            self.check_member(m)
        return f"adjust {m.id} +{pts}"

    def spend(self):
        model, rng = self.model, self.rng
        m = rng.choice(model.members)
        sp = model.spendable(m)
        if sp == 0 or rng.random() < 0.12:
            pts = sp + rng.randint(1, 300)
            expect_error(self.post_adjust(m, -pts, "超额"), 409, "insufficient_points",
                         "points")
            self.stats["refused"] += 1
            if rng.random() < 0.5:
                self.check_member(m)
            return f"adjust {m.id} -{pts} (refused, spendable {sp})"
        pts = sp if rng.random() < 0.15 else rng.randint(1, sp)
        got = expect(self.post_adjust(m, -pts, "扣"), 201)
        model.spend(m, pts)
        e = got["entry"]
        eq((e["kind"], e["points"], e["expires_on"]), ("adjust", -pts, None), "entry")
        eq(got["points"], model.spendable(m), "points after a spend")
        eq(e["balance_after"], got["balance"], "entry balance_after vs balance")
        self.check_balance(m, got["balance"], "after a spend")
        if rng.random() < 0.5:
            self.check_member(m)
        return f"adjust {m.id} -{pts} (spendable {sp})"

    def jump(self):
        model, rng = self.model, self.rng
        r = rng.random()
        target, focus = None, None
        if r < 0.35:  # to (or a second before) the end of a day some points expire on
            horizon = model.now + datetime.timedelta(days=90)
            ends = sorted((end_of_day(lot.exp), m.id, m) for m in model.members for lot in m.lots
                          if lot.exp is not None and lot.remaining > 0
                          and model.now < end_of_day(lot.exp) <= horizon)
            if ends:
                end, _, focus = rng.choice(ends[:6])
                target = end + datetime.timedelta(seconds=rng.choice([-1, 0, 0]))
                if target <= model.now:
                    target = end
        if target is None:
            if r < 0.65:
                delta = datetime.timedelta(seconds=rng.randint(1, 48 * 3600))
            elif r < 0.95:
                delta = datetime.timedelta(days=rng.randint(1, 20),
                                           seconds=rng.randint(0, 86399))
            else:
                delta = datetime.timedelta(days=rng.randint(60, 400))
            target = model.now + delta
        set_clock(self.ctx, target)
        model.now = target
        sample = rng.sample(model.members, min(2, len(model.members)))
        if focus is not None:
            sample.append(focus)
        for m in sample:
            self.check_member(m, None, f"after the jump to {target.isoformat()}:")
        return f"clock {target.isoformat()}"

    def job(self):
        got = run_expire_job(self.ctx)
        total, members = self.model.run_job()
        check(0 <= got["expired_points"] <= total and 0 <= got["members"] <= members,
              f"job answered {got}; the model expected {total} points of {members} members "
              f"(less if serve's own job ran first)")
        if (got["expired_points"], got["members"]) == (total, members):
            self.stats["job exact"] += 1
        else:
            self.stats["job after serve's own run"] += 1
        for m in self.rng.sample(self.model.members, min(2, len(self.model.members))):
            entries = ledger(self.ctx, m.id)
            bal = entries[0]["balance_after"] if entries else 0
            eq(bal, self.model.spendable(m), f"ledger balance of {m.id} after the job")
        return f"job ({got['expired_points']} points of {got['members']} members)"

    def settings(self):
        rng = self.rng
        r = rng.random()
        if r < 0.6:
            mode = rng.choice(["none", "rolling", "rolling", "year_end"])
            change = {"expiry": {"mode": mode}}
            if rng.random() < 0.8:
                change["expiry"]["days"] = rng.choice([1, 2, 7, 30, 90, 365,
                                                       rng.randint(1, 3650)])
        elif r < 0.75:
            change = {"signup_bonus": rng.choice([0, 0, 10, 100, rng.randint(1, 1000)])}
        elif r < 0.92:
            change = {"referral": {"referrer_points": rng.choice([0, 30, rng.randint(1, 500)]),
                                   "referee_points": rng.choice([0, 20, rng.randint(1, 500)]),
                                   "on": rng.choice(["register", "first_purchase"])}}
        else:
            bad = rng.choice([({"expiry": {"mode": "rolling", "days": 0}}, "expiry.days"),
                              ({"expiry": {"mode": "monthly"}}, "expiry.mode"),
                              ({"signup_bonus": -1, "expiry": {"mode": "none"}},
                               "signup_bonus")])
            expect_error(self.api.put(SETTINGS, bad[0]), 400, "invalid_argument", bad[1])
            eq(expect(self.api.get(SETTINGS), 200), self.model.s, "settings after a refusal")
            return f"settings {bad[0]} (refused)"
        self.model.s = put_settings(self.ctx, change)
        return f"settings {change}"

    def replay(self):
        """An adjust sent again with its key (within the 24 hours keys are surely kept)."""
        day = datetime.timedelta(hours=24)
        recent = [x for x in self.sent if self.model.now - x[0] <= day]
        if not recent:
            return self.look()
        t, key, mid, body, first = self.rng.choice(recent)
        r = adjust(self.api, mid, body=body, key=key)
        eq((r.status, r.json), (first.status, first.json),
           f"replay of an adjust made at {t.isoformat()} (key {key})")
        eq(r.header("Idempotent-Replayed"), "true", "Idempotent-Replayed")
        self.stats["replays"] += 1
        return f"replay {key} on {mid}"

    def look(self):
        m = self.rng.choice(self.model.members)
        self.check_member(m)
        return f"check {m.id}"

    def step(self):
        r = self.rng.random()
        if len(self.model.members) < 3 or r < (0.12 if len(self.model.members) < 60 else 0.03):
            return self.register()
        if r < 0.38:
            return self.credit()
        if r < 0.64:
            return self.spend()
        if r < 0.78:
            return self.jump()
        if r < 0.84:
            return self.job()
        if r < 0.92:
            return self.settings()
        if r < 0.96:
            return self.replay()
        return self.look()

    def final(self):
        got = run_expire_job(self.ctx)
        total, members = self.model.run_job()
        check(got["expired_points"] <= total and got["members"] <= members,
              f"final job answered {got}; model {total} points of {members} members")
        for m in self.model.members:
            self.check_member(m, None, "at the end:")
            entries = ledger(self.ctx, m.id)
            check_chain(entries, f"ledger of {m.id}")
            order = lambda x: (x[0], x[1], x[2] or "")  # noqa: E731
            eq(sorted(((e["kind"], e["points"], e["expires_on"]) for e in entries
                       if e["kind"] != "expire"), key=order),
               sorted(m.entries, key=order),
               f"entries of {m.id} (all but expire)")
            eq(-sum(e["points"] for e in entries if e["kind"] == "expire"), m.expired,
               f"points expired from {m.id}")
            eq(entries[0]["balance_after"] if entries else 0, self.model.spendable(m),
               f"ledger balance of {m.id}")


def run_model(ctx, seed):
    ops = 400 if ctx.quick else 4000
    inst = start_instance(ctx.cfg, f"model{seed}", ["--test-clock"])
    try:
        c = Ctx(ctx.cfg, inst)
        full(c)  # the suite's key, made while the owner's session is valid
        set_clock(c, START)
        run = Runner(c, seed)
        history = []
        t0 = time.monotonic()
        for i in range(ops):
            try:
                history.append(f"{i}: {run.step()}")
            except Failure as e:
                tail = "\n".join(history[-12:])
                raise Failure(f"seed {seed}, operation {i} (clock {run.model.now.isoformat()}):"
                              f" {e}\nlast operations:\n{tail}") from None
        try:
            run.final()
        except Failure as e:
            raise Failure(f"seed {seed}, final check: {e}") from None
        patron_check(c)
        entries = sum(len(m.entries) for m in run.model.members)
        print(f"    seed {seed}: {ops} operations, {len(run.model.members)} members, "
              f"{entries} entries, clock at {run.model.now.date()}, {dict(run.stats)}, "
              f"{time.monotonic() - t0:.1f} s")
        inst.stop()
    finally:
        inst.cleanup()


def _seed_test(seed):
    def fn(ctx):
        run_model(ctx, seed)
    fn.__name__ = f"seed_{seed}"
    return fn


for _seed in SEEDS:
    group.test(_seed_test(_seed))
