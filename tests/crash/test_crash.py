"""Crash safety: 16 tills check out concurrently with idempotency keys while the server is
killed with SIGKILL at a random moment; after a restart the tills retry every checkout that was
not acknowledged. Every round: `patron check` passes, every acknowledged checkout exists exactly
once (its key replays the same order), every retried key exists exactly once, and the orders
in the database are exactly the acknowledged and retried ones.

Rounds: PATRON_CRASH_ROUNDS (make test: 20; `make crash ROUNDS=100`); --quick runs 3."""

import os
import random
import signal
import threading
import time
import uuid

from harness import API, Client, Ctx, Group, check, eq, expect, start_instance

group = Group("crash", server=False)

TILLS = 16
CHECKOUT = f"{API}/checkout"


def rounds(ctx):
    return 3 if ctx.quick else int(os.environ.get("PATRON_CRASH_ROUNDS", "20"))


def setup(ctx):
    """A store, two products with plenty of stock, and members, through the API."""
    store = ctx.new_store()["id"]
    skus = []
    for i in range(2):
        sku = f"CRASH-{i}-{uuid.uuid4().hex[:6]}"
        expect(ctx.api.post(f"{API}/products", {"sku": sku, "name": f"压测商品{i}",
                                                "price": 1990 + i * 100}), 201)
        expect(ctx.api.post(f"{API}/stock/movements",
                            {"store_id": store, "sku": sku, "kind": "receive", "qty": 1000000},
                            headers={"Idempotency-Key": uuid.uuid4().hex}), 201)
        skus.append(sku)
    members = [ctx.new_member()["id"] for _ in range(TILLS)]
    return store, skus, members


def body_for(store, skus, member, n):
    return {"store_id": store, "member_id": member,
            "items": [{"sku": skus[n % 2], "qty": 1 + n % 3}]}


class Till(threading.Thread):
    """Checks out until its connection fails; records what was acknowledged and what not."""

    def __init__(self, port, token, name, body_of):
        super().__init__(daemon=True)
        self.client = Client(port, token=token, timeout=10)
        self.name_, self.body_of = name, body_of
        self.acked, self.unacked, self.refused = {}, [], []

    def run(self):
        n = 0
        while True:
            key = f"{self.name_}-{n}"
            try:
                r = self.client.post(CHECKOUT, self.body_of(n),
                                     headers={"Idempotency-Key": key})
            except Exception:
                self.unacked.append((key, n))
                return
            if r.status in (200, 201):
                self.acked[key] = r.json["order_id"]
            elif r.status == 503:
                self.unacked.append((key, n))  # not done: retried like a lost answer
            else:
                self.refused.append((key, r.status, str(r)))
                return
            n += 1


def order_count(db_client):
    total, cursor = 0, None
    while True:
        params = {"limit": 500}
        if cursor:
            params["cursor"] = cursor
        page = expect(db_client.get(f"{API}/orders", params=params), 200)
        total += len(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return total


@group.test
def sigkill_during_checkouts(ctx):
    inst = start_instance(ctx.cfg, "crash")
    try:
        c = Ctx(ctx.cfg, inst)
        c.api, _ = c.key(["stores.read", "stores.write", "members.read", "members.write",
                          "products.read", "products.write", "stock.read", "stock.write",
                          "checkout", "orders.read"], name="tills")
        store, skus, members = setup(c)
        token = c.api.token
        rng = random.Random(int(os.environ.get("PATRON_CRASH_SEED", "0")) or None)
        acked, retried = {}, {}
        for rnd in range(rounds(ctx)):
            tills = [Till(inst.port, token, f"r{rnd}-t{t}",
                          lambda n, t=t: body_for(store, skus, members[t], n))
                     for t in range(TILLS)]
            for t in tills:
                t.start()
            time.sleep(rng.uniform(0.05, 0.6))
            inst.proc.send_signal(signal.SIGKILL)
            inst.proc.wait()
            for t in tills:
                t.join(timeout=30)
                check(not t.is_alive(), "a till hung after the kill")
                eq(t.refused, [], f"round {rnd}: checkouts refused")
            r = inst.cli("check")
            eq(r.returncode, 0, f"round {rnd}: patron check after SIGKILL: {r.stdout}{r.stderr}")
            inst.start()
            client = Client(inst.port, token=token, timeout=30)
            for t in tills:
                acked.update(t.acked)
                for key, n in t.unacked:
                    till = int(key.split("-t")[1].split("-")[0])
                    rr = client.post(CHECKOUT, body_for(store, skus, members[till], n),
                                     headers={"Idempotency-Key": key})
                    check(rr.status in (200, 201), f"retry of {key}: {rr}")
                    retried[key] = rr.json["order_id"]
            # Acknowledged keys replay the same order; nothing was written twice.
            sample = rng.sample(sorted(acked), min(20, len(acked)))
            for key in sample:
                till = int(key.split("-t")[1].split("-")[0])
                n = int(key.rsplit("-", 1)[1])
                rr = client.post(CHECKOUT, body_for(store, skus, members[till], n),
                                 headers={"Idempotency-Key": key})
                eq((rr.status, rr.json.get("order_id")), (201, acked[key]),
                   f"replay of acknowledged {key}")
            ids = list(acked.values()) + list(retried.values())
            eq(len(set(ids)), len(ids), f"round {rnd}: two keys share an order")
            eq(order_count(client), len(ids),
               f"round {rnd}: orders in the database vs acknowledged + retried")
        check(len(acked) > 0, "no checkout was ever acknowledged")
        r = inst.cli("check")
        eq(r.returncode, 0, f"final patron check: {r.stdout}{r.stderr}")
    finally:
        inst.cleanup()
