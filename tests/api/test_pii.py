"""Personal data at rest: canaries never appear in plaintext; lookups and key rotation."""

import glob
import hashlib
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
    backup = os.path.join(ctx.inst.workdir, f"canary-{uuid.uuid4().hex[:8]}.backup")
    r = ctx.inst.cli("backup", backup)
    eq(r.returncode, 0, f"patron backup: {r.stderr}")
    with open(backup, "rb") as fh:
        copy = fh.read()
    with open(backup + ".sha256") as fh:
        eq(fh.read().split()[0], hashlib.sha256(copy).hexdigest(), "backup checksum file")
    check(len(copy) > 0, "empty backup")
    for secret in (phone, note, "1987-06-05"):
        check(secret not in dump, f"{secret} in plaintext in the database dump")
        check(secret.encode() not in raw, f"{secret} in plaintext in the database files")
        check(secret.encode() not in copy, f"{secret} in plaintext in the backup")
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


@group.test
def birthday_without_year_and_pii_reads_audited(ctx):
    phone = ctx.phone("136")
    m = ctx.new_member(phone=phone, birthday="1988-11-03", name="审计读取")
    mid = m["id"]
    plain, _ = ctx.key(["members.read"])
    full, _ = ctx.key(["members.read", "members.pii"])

    def reads():
        rows = ctx.walk(f"{API}/audit", {"action": "member.pii_read"}, client=ctx.owner)
        return [r for r in rows if r.get("object_id") == str(mid)
                or mid in (r.get("detail") or {}).get("member_ids", [])]

    before = len(reads())
    with ctx.case("without members.pii: masked phone, birthday without the year"):
        got = expect(plain.get(f"{M}/{mid}"), 200)
        eq(got["birthday"], "--11-03", "birthday")
        eq(got["phone"], phone[:3] + "****" + phone[-4:], "phone")
        items = expect(plain.get(M, params={"q": phone}), 200)["items"]
        eq([x["birthday"] for x in items], ["--11-03"], "birthday in search")
        eq(len(reads()), before, "masked reads are not audited")
    with ctx.case("with members.pii: full values, each read audited"):
        got = expect(full.get(f"{M}/{mid}"), 200)
        eq((got["phone"], got["birthday"]), (phone, "1988-11-03"), "full phone and birthday")
        eq(len(reads()), before + 1, "GET by id audited")
        expect(full.get(f"{M}/lookup", params={"card_no": m["card_no"]}), 200)
        eq(len(reads()), before + 2, "lookup by card audited")
        expect(full.get(M, params={"q": phone[-4:]}), 200)
        eq(len(reads()), before + 3, "search audited (one entry for the page)")
        expect(full.get(f"{M}/lookup", params={"phone": phone}), 200)
        eq(len(reads()), before + 3, "lookup by the phone itself tells nothing new")
