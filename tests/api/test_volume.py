"""Volume and concurrency: 10,000 members through the API; racing creates on one phone."""

import random
import threading
import time

from harness import API, Group, check, eq, expect, expect_error, luhn_ok, run_threads

group = Group("volume")

M = f"{API}/members"
THREADS = 8


def in_parallel(ctx, items, fn, threads=THREADS):
    """fn(client, item) for every item, spread over threads with one keep-alive client each."""
    def worker(t):
        c = ctx.client(token=ctx.api.token)
        try:
            for i in range(t, len(items), threads):
                fn(c, i, items[i])
        finally:
            c.close()
    run_threads(threads, worker)


@group.test
def ten_thousand_members(ctx):
    n = 1000 if ctx.quick else 10000
    phones = [f"150{i:08d}" for i in range(n)]
    created = [None] * n

    def create(c, i, phone):
        r = c.post(M, {"name": f"批量会员{i}", "phone": phone})
        created[i] = expect(r, 201)

    t0 = time.monotonic()
    in_parallel(ctx, phones, create)
    t_create = time.monotonic() - t0
    print(f"    created {n} members in {t_create:.1f} s ({n / t_create:.0f}/s)")

    cards = [m["card_no"] for m in created]
    eq(len(set(cards)), n, "distinct generated card numbers")
    eq(len({m["id"] for m in created}), n, "distinct ids")
    for c in cards:
        check(len(c) == 12 and c.isdigit() and luhn_ok(c), f"generated card_no {c!r}")
    for m, phone in zip(created, phones):
        eq(m["phone"], phone, "phone in the create answer")

    def find(c, i, m):
        by_phone = expect(c.get(f"{M}/lookup?phone={m['phone']}"), 200)
        eq(by_phone["id"], m["id"], f"lookup phone={m['phone']}")
        by_card = expect(c.get(f"{M}/lookup?card_no={m['card_no']}"), 200)
        eq(by_card["id"], m["id"], f"lookup card_no={m['card_no']}")

    t0 = time.monotonic()
    in_parallel(ctx, created, find)
    t_find = time.monotonic() - t0
    print(f"    found all {n} by phone and by card number in {t_find:.1f} s "
          f"({2 * n / t_find:.0f} lookups/s)")

    t0 = time.monotonic()
    listed = ctx.members()
    eq(sorted(m["id"] for m in listed), sorted(m["id"] for m in created), "ids in the list")
    page = expect(ctx.api.get(M, params={"q": "1500000"}), 200)
    eq(len(page["items"]), min(n, 50), "a page of search results")
    eq([m["id"] for m in ctx.walk(M, {"q": "150000012"})],
       sorted(m["id"] for m in created if m["phone"].startswith("150000012")), "q=150000012")
    print(f"    listed and searched in {time.monotonic() - t0:.1f} s")


def race(ctx, bodies, threads):
    """Sends all bodies at once from `threads` threads; returns [(body, Resp)]."""
    results = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads)
    per_thread = [bodies[t::threads] for t in range(threads)]

    def worker(t):
        c = ctx.client(token=ctx.api.token)
        expect(c.get("/healthz"), 200)  # connect before the start line
        barrier.wait(timeout=30)
        for body in per_thread[t]:
            r = c.post(M, body)
            with lock:
                results.append((body, r))
        c.close()

    run_threads(threads, worker)
    eq(len(results), len(bodies), "answers")
    return results


@group.test
def concurrent_creates_one_winner_per_phone(ctx):
    phones = [f"199{i:08d}" for i in range(20)]
    bodies = [{"name": f"并发{i}", "phone": phones[i % 20]} for i in range(200)]
    random.Random(2).shuffle(bodies)
    results = race(ctx, bodies, threads=50)

    winners = {}
    for body, r in results:
        if r.status == 201:
            check(body["phone"] not in winners, f"two 201s for phone {body['phone']}")
            winners[body["phone"]] = r.json["id"]
        else:
            expect_error(r, 409, "conflict", "phone")
    eq(sorted(winners), phones, "phones with a 201")
    for phone, mid in winners.items():
        eq(expect(ctx.api.get(f"{M}/lookup", params={"phone": phone}), 200)["id"], mid,
           f"lookup {phone}")
    # q also matches card-number prefixes, so keep only the phones of this race
    found = [m for m in ctx.walk(M, {"q": "199000000"}) if m["phone"] in phones]
    eq(sorted(m["phone"] for m in found), phones, "members with these phones afterwards")


@group.test
def concurrent_creates_one_winner_per_card(ctx):
    cards = [f"RACE{i:04d}" for i in range(10)]
    bodies = [{"name": f"抢卡{i}", "phone": f"198{i:08d}", "card_no": cards[i % 10]}
              for i in range(50)]
    random.Random(3).shuffle(bodies)
    results = race(ctx, bodies, threads=25)
    winners = {}
    for body, r in results:
        if r.status == 201:
            check(body["card_no"] not in winners, f"two 201s for card {body['card_no']}")
            winners[body["card_no"]] = r.json["id"]
        else:
            expect_error(r, 409, "conflict", "card_no")
    eq(sorted(winners), cards, "cards with a 201")
    found = ctx.walk(M, {"q": "RACE"})
    eq(sorted(m["card_no"] for m in found), cards, "members with these cards afterwards")
    racers = {b["phone"] for b in bodies}
    eq(len([m for m in ctx.walk(M, {"q": "198000000"}) if m["phone"] in racers]), 10,
       "members created by the card race")


@group.test
def concurrent_patches_one_winner(ctx):
    """Ten members PATCHed to the same phone at once: one 200, nine 409 conflict on phone."""
    members = [expect(ctx.api.post(M, {"name": f"改号{i}", "phone": f"197{i:08d}"}), 201)
               for i in range(10)]
    target = "19799999999"
    results = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(members))

    def worker(i):
        c = ctx.client(token=ctx.api.token)
        expect(c.get("/healthz"), 200)
        barrier.wait(timeout=30)
        r = c.patch(f"{M}/{members[i]['id']}", {"phone": target})
        with lock:
            results.append((members[i], r))
        c.close()

    run_threads(len(members), worker)
    winners = [m for m, r in results if r.status == 200]
    eq(len(winners), 1, "PATCHes that won")
    for m, r in results:
        if r.status != 200:
            expect_error(r, 409, "conflict", "phone")
            eq(expect(ctx.api.get(f"{M}/{m['id']}"), 200)["phone"], m["phone"], "loser's phone")
    eq(expect(ctx.api.get(f"{M}/lookup", params={"phone": target}), 200)["id"], winners[0]["id"],
       "lookup of the contested phone")
