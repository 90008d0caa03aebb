"""Two-factor sign-in: enrolment, codes once each, recovery codes, turning it off."""

import base64
import hashlib
import hmac
import struct
import time

from harness import API, Group, check, eq, expect, expect_error

group = Group("totp")


def code_for(secret, at=None):
    key = base64.b32decode(secret)
    step = int(at if at is not None else time.time()) // 30
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    o = digest[-1] & 15
    return "%06d" % ((struct.unpack(">I", digest[o:o + 4])[0] & 0x7FFFFFFF) % 1000000)


def login(ctx, username, password, totp=None):
    c = ctx.client()
    body = {"username": username, "password": password}
    if totp is not None:
        body["totp"] = totp
    return c.post(f"{API}/auth/login", body)


@group.test
def enrol_use_and_disable(ctx):
    name, password = f"tfa{ctx.uniq()}", "two factor pass phrase"
    expect(ctx.owner.post(f"{API}/staff", {"username": name, "password": password,
                                           "role": "cashier"}), 201)
    me = ctx.login(name, password)
    eq(expect(me.get(f"{API}/me"), 200)["user"]["totp_enabled"], False, "totp_enabled before")
    e = expect(me.post(f"{API}/me/totp", {}), 200)
    check(e["otpauth_uri"].startswith("otpauth://totp/Patron:"), e["otpauth_uri"])
    check(e["qr_svg"].startswith("<svg") and "path" in e["qr_svg"], "QR code as SVG")
    expect_error(me.post(f"{API}/me/totp/verify", {"code": "000000"}), 400, "invalid_argument",
                 field="code")
    # Sign-in does not need a code until enrolment is confirmed.
    expect(login(ctx, name, password), 200)
    # Codes of the last step, so the sign-in below is the first use of the current one.
    v = expect(me.post(f"{API}/me/totp/verify",
                       {"code": code_for(e["secret"], time.time() - 30)}), 200)
    eq(len(v["recovery_codes"]), 10, "recovery codes")
    eq(expect(me.get(f"{API}/me"), 200)["user"]["totp_enabled"], True, "totp_enabled after")
    expect_error(login(ctx, name, password), 401, "unauthenticated", field="totp")
    expect_error(login(ctx, name, password, "123456" if code_for(e["secret"]) != "123456"
                       else "654321"), 401, "unauthenticated", field="totp")
    good = code_for(e["secret"])
    expect(login(ctx, name, password, good), 200)
    expect_error(login(ctx, name, password, good), 401, "unauthenticated", field="totp")
    rc = v["recovery_codes"][0]
    expect(login(ctx, name, password, rc), 200)
    expect_error(login(ctx, name, password, rc), 401, "unauthenticated", field="totp")
    expect_error(me.post(f"{API}/me/totp", {}), 409, "conflict")
    expect(me.delete(f"{API}/me/totp", body={"code": v["recovery_codes"][1]}), 204)
    eq(expect(me.get(f"{API}/me"), 200)["user"]["totp_enabled"], False, "totp_enabled off")
    expect(login(ctx, name, password), 200)


@group.test
def keys_have_no_second_factor(ctx):
    expect_error(ctx.api.post(f"{API}/me/totp", {}), 403, "permission_denied")


@group.test
def owner_requires_two_factor_for_managers(ctx):
    name, password = f"mgr{ctx.uniq()}", "manager pass phrase 1"
    expect(ctx.owner.put(f"{API}/settings/security", {"require_totp_for": ["manager"]}), 200)
    try:
        expect(ctx.owner.post(f"{API}/staff", {"username": name, "password": password,
                                               "role": "manager"}), 201)
        mgr = ctx.login(name, password)
        expect_error(mgr.get(f"{API}/members"), 403, "permission_denied")
        expect(mgr.get(f"{API}/me"), 200)
        e = expect(mgr.post(f"{API}/me/totp", {}), 200)
        expect(mgr.post(f"{API}/me/totp/verify",
                        {"code": code_for(e["secret"], time.time() - 30)}), 200)
        expect(mgr.get(f"{API}/members"), 200)
        expect_error(ctx.owner.put(f"{API}/settings/security", {"require_totp_for": ["x"]}),
                     400, "invalid_argument", field="require_totp_for")
    finally:
        expect(ctx.owner.put(f"{API}/settings/security", {"require_totp_for": []}), 200)


@group.test
def cashier_refund_limit(ctx):
    rules = expect(ctx.owner.put(f"{API}/settings/security", {"cashier_refund_limit": 500}), 200)
    eq(rules["cashier_refund_limit"], 500, "limit stored")
    expect_error(ctx.owner.put(f"{API}/settings/security", {"cashier_refund_limit": -1}), 400,
                 "invalid_argument", field="cashier_refund_limit")
    sid = expect(ctx.owner.post(f"{API}/stores", {"code": f"T{ctx.uniq()}", "name": "退货店"}),
                 201)["id"]
    name, password = f"cash{ctx.uniq()}", "cashier pass phrase 1"
    expect(ctx.owner.post(f"{API}/staff", {"username": name, "password": password,
                                           "role": "cashier", "store_ids": [sid]}), 201)
    cashier = ctx.login(name, password)
    items = [{"name": "开放商品", "unit_price": 1000, "qty": 1}]
    order = expect(cashier.post(f"{API}/checkout", {"store_id": sid, "items": items},
                                headers={"Idempotency-Key": f"k{ctx.uniq()}"}), 201)
    expect_error(cashier.post(f"{API}/orders/{order['order_id']}/refund", {},
                              headers={"Idempotency-Key": f"k{ctx.uniq()}"}), 403,
                 "permission_denied")
    eq(expect(ctx.owner.get(f"{API}/orders/{order['order_id']}"), 200)["refunds"], [],
       "nothing refunded")
    expect(ctx.owner.put(f"{API}/settings/security", {"cashier_refund_limit": None}), 200)
    expect(cashier.post(f"{API}/orders/{order['order_id']}/refund", {},
                        headers={"Idempotency-Key": f"k{ctx.uniq()}"}), 201)
