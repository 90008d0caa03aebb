"""Personal data at rest: canaries never appear in plaintext; lookups and key rotation."""

import glob
import os
import re
import uuid

from harness import API, Group, check, eq, expect, expect_error

group = Group("pii")

M = f"{API}/members"


def raw_files(ctx):
    """The SQLite database file and its WAL, as bytes ('' for PostgreSQL, which pg_dump covers)."""
    db = ctx.inst.db
    if db.kind != "sqlite":
        return b""
    path = db.url.split(":", 1)[1]
    out = b""
    for f in [path] + glob.glob(path + "-*"):
        if os.path.exists(f):
            with open(f, "rb") as fh:
                out += fh.read()
    return out


@group.test
def canaries_stay_sealed(ctx):
    phone = ctx.phone("139")
    note = "CANARY-" + uuid.uuid4().hex[:12]
    m = ctx.new_member(phone=phone, note=note, birthday="1987-06-05", name="金丝雀")
    eq(expect(ctx.api.get(f"{M}/{m['id']}"), 200)["note"], note, "note reads back")
    dump, raw, log = ctx.inst.dump(), raw_files(ctx), ctx.inst.log_text()
    for secret in (phone, note, "1987-06-05"):
        check(secret not in dump, f"{secret} in plaintext in the database dump")
        check(secret.encode() not in raw, f"{secret} in plaintext in the database files")
        check(secret not in log, f"{secret} in the server log")


@group.test
def sealed_phones_are_found(ctx):
    phone = ctx.phone("137")
    m = ctx.new_member(phone=phone)
    for q in (phone, phone[:5], phone[-4:]):
        ids = [x["id"] for x in ctx.walk(M, {"q": q})]
        check(m["id"] in ids, f"q={q} does not find the member")
    eq(expect(ctx.api.get(f"{M}/lookup", params={"phone": phone}), 200)["id"], m["id"], "lookup")
    expect_error(ctx.api.post(M, {"name": "重复", "phone": phone}), 409, "conflict", field="phone")


@group.test
def rotation_keeps_everything_readable(ctx):
    phone = ctx.phone("135")
    m = ctx.new_member(phone=phone, note="before rotation")
    before = set(re.findall(r"pk1\.(k\d+)\.", ctx.inst.dump()))
    r = ctx.inst.cli("keys", "rotate")
    eq(r.returncode, 0, f"patron keys rotate: {r.stderr}")
    # The running server picks up the new key when it meets it.
    got = expect(ctx.api.get(f"{M}/{m['id']}"), 200)
    eq((got["phone"], got["note"]), (phone, "before rotation"), "member after rotation")
    eq(expect(ctx.api.get(f"{M}/lookup", params={"phone": phone}), 200)["id"], m["id"],
       "lookup after rotation")
    n = ctx.new_member(phone=ctx.phone("135"), note="after rotation")
    eq(expect(ctx.api.get(f"{M}/{n['id']}"), 200)["note"], "after rotation", "new member")
    # Every value is sealed under the one new key now.
    after = set(re.findall(r"pk1\.(k\d+)\.", ctx.inst.dump()))
    check(len(after) == 1 and not after & before, f"keys before {before}, after {after}")
    eq(ctx.inst.cli("check").returncode, 0, "patron check after rotation")
