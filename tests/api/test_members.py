"""Members: create, get, patch, search, lookup, erase; every validation rule of the brief."""

import datetime

from harness import (API, Group, check, check_time, eq, expect, expect_error, luhn_complete,
                     luhn_ok, today_shanghai)

group = Group("members")

M = f"{API}/members"
MEMBER_KEYS = {"id", "card_no", "name", "phone", "gender", "birthday", "store_id", "referral_code",
               "referrer_id", "tags", "note", "tier", "points", "points_expiring", "total_spend",
               "created_at", "updated_at"}


def check_member(m, want=None):
    check(MEMBER_KEYS <= set(m), f"member lacks {sorted(MEMBER_KEYS - set(m))}: {m}")
    check(isinstance(m["id"], int) and 0 < m["id"] < 2**53, f"member id {m['id']!r}")
    check(isinstance(m["card_no"], str) and m["card_no"], f"card_no {m['card_no']!r}")
    check(isinstance(m["referral_code"], str) and m["referral_code"],
          f"referral_code {m['referral_code']!r}")
    check(isinstance(m["tags"], list), f"tags {m['tags']!r}")
    check_time(m["created_at"], "created_at")
    check_time(m["updated_at"], "updated_at")
    for k, v in (want or {}).items():
        eq(m[k], v, f"member.{k}")


def get_member(ctx, mid):
    return expect(ctx.api.get(f"{M}/{mid}"), 200)


def lookup(ctx, **params):
    return ctx.api.get(f"{M}/lookup", params=params)


@group.test
def create_minimal(ctx):
    phone = ctx.phone()
    m = expect(ctx.api.post(M, {"name": "张三", "phone": phone}), 201)
    check_member(m, {"name": "张三", "phone": phone, "gender": None, "birthday": None,
                     "store_id": None, "referrer_id": None, "tags": [], "note": None, "tier": None,
                     "points": 0, "points_expiring": [], "total_spend": 0})
    card = m["card_no"]
    check(len(card) == 12 and card.isdigit(), f"generated card_no {card!r} is not 12 digits")
    check(luhn_ok(card), f"generated card_no {card!r} fails the Luhn check")
    eq(get_member(ctx, m["id"]), m, "GET after create")
    cards = {card}
    for _ in range(20):
        c = ctx.new_member()["card_no"]
        check(len(c) == 12 and c.isdigit() and luhn_ok(c), f"generated card_no {c!r}")
        cards.add(c)
    eq(len(cards), 21, "distinct generated card numbers")


@group.test
def create_full(ctx):
    store = ctx.new_store()
    referrer = ctx.new_member(name="推荐人")
    phone = ctx.phone()
    body = {"name": "欧阳娜娜", "phone": phone, "gender": "female", "birthday": "1990-02-28",
            "card_no": "VIP0001abc", "store_id": store["id"],
            "referral_code": referrer["referral_code"], "tags": ["vip", "新客", "t" * 32],
            "note": "喜欢绿茶 🍵"}
    m = expect(ctx.api.post(M, body), 201)
    want = {k: v for k, v in body.items() if k != "referral_code"}
    want["referrer_id"] = referrer["id"]
    check_member(m, want)
    check(m["referral_code"] != referrer["referral_code"], "referral code shared with referrer")
    eq(get_member(ctx, m["id"]), m, "GET after create")
    for g in ["male", "other"]:
        with ctx.case(f"gender {g}"):
            eq(ctx.new_member(gender=g)["gender"], g, "gender")
    with ctx.case("birthday today (Asia/Shanghai) and 29 Feb of a leap year"):
        for day in [today_shanghai().isoformat(), "2000-02-29", "1900-01-01"]:
            eq(ctx.new_member(birthday=day)["birthday"], day, "birthday")
    with ctx.case("inclusive limits"):
        m = ctx.new_member(name="名" * 64, phone=f"7{ctx.uniq():05d}", card_no="C" * 32,
                           tags=[f"t{i}" for i in range(20)], note="注" * 500)
        eq(m["name"], "名" * 64, "64-char name")
        eq(m["card_no"], "C" * 32, "32-char card_no")
        eq(len(m["tags"]), 20, "20 tags")
        eq(m["note"], "注" * 500, "500-char note")
        eq(ctx.new_member(phone="1" * 20)["phone"], "1" * 20, "20-digit phone")
        eq(ctx.new_member(card_no="a1B2")["card_no"], "a1B2", "4-char card_no")


@group.test
def names_round_trip_exactly(ctx):
    for name in ["王小明", "欧阳娜娜", "龍應台", "😀小明", "Zoe\u0308", "李 四", "😀" * 64, "𠀋𠀍",
                 "Ærøskøbing", "Nguyễn Thị Minh Khai"]:
        with ctx.case(name[:10]):
            m = ctx.new_member(name=name)
            eq(m["name"], name, "name in the create answer")
            eq(get_member(ctx, m["id"])["name"], name, "name read back")
            found = expect(ctx.api.get(M, params={"q": name}), 200)["items"]
            check(m["id"] in [x["id"] for x in found], f"search by the full name {name!r}")


def member_bad_inputs(ctx):
    """(label, body changes, field) for create; each is one rule broken."""
    tomorrow = (today_shanghai() + datetime.timedelta(days=1)).isoformat()
    return [
        ("phone with a letter", {"phone": "1381234567a"}, "phone"),
        ("phone 5 digits", {"phone": "12345"}, "phone"),
        ("phone 21 digits", {"phone": "1" * 21}, "phone"),
        ("phone empty", {"phone": ""}, "phone"),
        ("phone with +", {"phone": "+8613812345678"}, "phone"),
        ("phone with a dash", {"phone": "138-1234-5678"}, "phone"),
        ("phone with a space", {"phone": " 13812345678"}, "phone"),
        ("phone full-width digits", {"phone": "１３８１２３４５６７８"}, "phone"),
        ("phone a number", {"phone": 13812345678}, "phone"),
        ("phone null", {"phone": None}, "phone"),
        ("phone missing", {"phone": ...}, "phone"),
        ("name empty", {"name": ""}, "name"),
        ("name 65 chars", {"name": "n" * 65}, "name"),
        ("name 65 Chinese chars", {"name": "张" * 65}, "name"),
        ("name 65 emoji", {"name": "😀" * 65}, "name"),
        ("name blank", {"name": "   "}, "name"),
        ("name tab", {"name": "\t"}, "name"),
        ("name ideographic space", {"name": "\u3000"}, "name"),
        ("name control char", {"name": "a\u0001b"}, "name"),
        ("name newline", {"name": "张\n三"}, "name"),
        ("name DEL", {"name": "a\u007fb"}, "name"),
        ("name a number", {"name": 5}, "name"),
        ("name a list", {"name": ["张三"]}, "name"),
        ("name null", {"name": None}, "name"),
        ("name missing", {"name": ...}, "name"),
        ("birthday 2023-02-29", {"birthday": "2023-02-29"}, "birthday"),
        ("birthday 2099-01-01", {"birthday": "2099-01-01"}, "birthday"),
        ("birthday tomorrow", {"birthday": tomorrow}, "birthday"),
        ("birthday x", {"birthday": "x"}, "birthday"),
        ("birthday month 13", {"birthday": "2000-13-01"}, "birthday"),
        ("birthday day 0", {"birthday": "2000-01-00"}, "birthday"),
        ("birthday 2000-02-30", {"birthday": "2000-02-30"}, "birthday"),
        ("birthday 1900-02-29", {"birthday": "1900-02-29"}, "birthday"),
        ("birthday unpadded", {"birthday": "2000-1-1"}, "birthday"),
        ("birthday no dashes", {"birthday": "20000101"}, "birthday"),
        ("birthday with time", {"birthday": "2000-01-01T00:00:00Z"}, "birthday"),
        ("birthday trailing junk", {"birthday": "2000-01-01x"}, "birthday"),
        ("birthday a number", {"birthday": 20000101}, "birthday"),
        ("gender x", {"gender": "x"}, "gender"),
        ("gender empty", {"gender": ""}, "gender"),
        ("gender Male", {"gender": "Male"}, "gender"),
        ("gender a number", {"gender": 1}, "gender"),
        ("card_no 3 chars", {"card_no": "123"}, "card_no"),
        ("card_no 33 chars", {"card_no": "1" * 33}, "card_no"),
        ("card_no empty", {"card_no": ""}, "card_no"),
        ("card_no with a dash", {"card_no": "1234-5678"}, "card_no"),
        ("card_no with a space", {"card_no": "1234 5678"}, "card_no"),
        ("card_no Chinese", {"card_no": "卡号12345"}, "card_no"),
        ("card_no a number", {"card_no": 12345678}, "card_no"),
        ("store_id unknown", {"store_id": 999999}, "store_id"),
        ("store_id 0", {"store_id": 0}, "store_id"),
        ("store_id negative", {"store_id": -1}, "store_id"),
        ("store_id a string", {"store_id": "1"}, "store_id"),
        ("store_id a float", {"store_id": 1.5}, "store_id"),
        ("store_id 2^53", {"store_id": 2**53}, "store_id"),
        ("referral_code unknown", {"referral_code": "NOSUCHCODE"}, "referral_code"),
        ("referral_code empty", {"referral_code": ""}, "referral_code"),
        ("referral_code a number", {"referral_code": 42}, "referral_code"),
        ("tags 21", {"tags": [f"t{i}" for i in range(21)]}, "tags"),
        ("tags empty string", {"tags": [""]}, "tags"),
        ("tags 33-char tag", {"tags": ["t" * 33]}, "tags"),
        ("tags a string", {"tags": "vip"}, "tags"),
        ("tags a number inside", {"tags": ["vip", 1]}, "tags"),
        ("tags null inside", {"tags": [None]}, "tags"),
        ("tags an object", {"tags": {"vip": True}}, "tags"),
        ("note 501 chars", {"note": "n" * 501}, "note"),
        ("note 501 Chinese chars", {"note": "注" * 501}, "note"),
        ("note a number", {"note": 1}, "note"),
        ("unknown field", {"nmae": "typo"}, "nmae"),
        ("id given", {"id": 1}, "id"),
        ("points given", {"points": 1000}, "points"),
        ("total_spend given", {"total_spend": 1}, "total_spend"),
        ("referrer_id given", {"referrer_id": 1}, "referrer_id"),
        ("tier given", {"tier": None}, "tier"),
    ]


def member_body(ctx, changes):
    body = {"name": "校验会员", "phone": ctx.phone("187")}
    for k, v in changes.items():
        if v is ...:
            body.pop(k)
        else:
            body[k] = v
    return body


@group.test
def create_validation(ctx):
    before = ctx.members()
    for label, changes, field in member_bad_inputs(ctx):
        with ctx.case(label):
            r = ctx.api.post(M, member_body(ctx, changes))
            expect_error(r, 400, "invalid_argument", field)
    raw_cases = {
        "invalid UTF-8 in name": b'{"name":"\xe5\xbc","phone":"18799999901"}',
        "Latin-1 name": b'{"name":"Jos\xe9","phone":"18799999902"}',
        "lone surrogate escape": b'{"name":"\\udc00","phone":"18799999903"}',
        "NUL in name": b'{"name":"a\\u0000","phone":"18799999904"}',
        "array body": b'[{"name":"x","phone":"18799999905"}]',
    }
    for label, raw in raw_cases.items():
        with ctx.case(label):
            expect_error(ctx.api.post(M, raw=raw), 400, "invalid_argument")
    eq(ctx.members(), before, "members after refused creates")
    for phone in ["18799999901", "18799999902", "18799999903", "18799999904", "18799999905"]:
        with ctx.case(f"nothing stored for {phone}"):
            expect_error(lookup(ctx, phone=phone), 404, "not_found")


@group.test
def duplicates_are_409(ctx):
    a = ctx.new_member(card_no="DUPCARD001")
    before = ctx.members()
    with ctx.case("same phone"):
        r = ctx.api.post(M, {"name": "重复", "phone": a["phone"]})
        expect_error(r, 409, "conflict", "phone")
    with ctx.case("same card_no"):
        r = ctx.api.post(M, {"name": "重复", "phone": ctx.phone(), "card_no": "DUPCARD001"})
        expect_error(r, 409, "conflict", "card_no")
    with ctx.case("same generated card_no"):
        b = ctx.new_member()
        r = ctx.api.post(M, {"name": "重复", "phone": ctx.phone(), "card_no": b["card_no"]})
        expect_error(r, 409, "conflict", "card_no")
        before.append(b)
    eq(ctx.members(), before, "members after duplicates")
    eq(get_member(ctx, a["id"]), a, "the first member")


@group.test
def patch(ctx):
    store = ctx.new_store()
    m = ctx.new_member(gender="male", birthday="1985-05-05", note="旧备注", tags=["a"])
    p = expect(ctx.api.patch(f"{M}/{m['id']}", {"name": "李四", "tags": ["vip", "b"],
                                                "store_id": store["id"]}), 200)
    check_member(p, {"id": m["id"], "name": "李四", "phone": m["phone"], "card_no": m["card_no"],
                     "gender": "male", "birthday": "1985-05-05", "note": "旧备注",
                     "tags": ["vip", "b"], "store_id": store["id"],
                     "referral_code": m["referral_code"], "created_at": m["created_at"]})
    check(p["updated_at"] >= m["updated_at"], "updated_at went back")
    eq(get_member(ctx, m["id"]), p, "GET after PATCH")
    p = expect(ctx.api.patch(f"{M}/{m['id']}", {"gender": None, "birthday": None, "note": None,
                                                "store_id": None}), 200)
    check_member(p, {"gender": None, "birthday": None, "note": None, "store_id": None,
                     "name": "李四"})
    new_phone = ctx.phone()
    p = expect(ctx.api.patch(f"{M}/{m['id']}", {"phone": new_phone, "card_no": "PATCHED01",
                                                "gender": "other", "birthday": "2001-01-01"}), 200)
    check_member(p, {"phone": new_phone, "card_no": "PATCHED01", "gender": "other",
                     "birthday": "2001-01-01"})
    eq(get_member(ctx, m["id"]), p, "GET after the second PATCH")
    expect(lookup(ctx, phone=new_phone), 200)
    expect_error(lookup(ctx, phone=m["phone"]), 404, "not_found")
    expect_error(lookup(ctx, card_no=m["card_no"]), 404, "not_found")

    other = ctx.new_member(card_no="OTHERCARD1")
    current = get_member(ctx, m["id"])
    members = ctx.members()
    for label, changes, field in member_bad_inputs(ctx):
        if changes.get(field) is ...:
            continue  # a missing field is no PATCH error
        with ctx.case(f"PATCH {label}"):
            expect_error(ctx.api.patch(f"{M}/{m['id']}", {field: changes[field]}), 400,
                         "invalid_argument", field)
    with ctx.case("referral_code is not patchable"):
        expect_error(ctx.api.patch(f"{M}/{m['id']}", {"referral_code": other["referral_code"]}),
                     400, "invalid_argument", "referral_code")
    with ctx.case("PATCH to a taken phone"):
        expect_error(ctx.api.patch(f"{M}/{m['id']}", {"phone": other["phone"]}), 409, "conflict",
                     "phone")
    with ctx.case("PATCH to a taken card_no"):
        expect_error(ctx.api.patch(f"{M}/{m['id']}", {"card_no": "OTHERCARD1"}), 409, "conflict",
                     "card_no")
    with ctx.case("a refused PATCH changes no field"):
        expect_error(ctx.api.patch(f"{M}/{m['id']}", {"name": "不该保存", "phone": "12"}), 400,
                     "invalid_argument", "phone")
        expect_error(ctx.api.patch(f"{M}/{m['id']}", {"name": "不该保存",
                                                      "phone": other["phone"]}), 409, "conflict",
                     "phone")
    eq(get_member(ctx, m["id"]), current, "the member after refused PATCHes")
    eq(ctx.members(), members, "members after refused PATCHes")
    with ctx.case("PATCH an unknown member"):
        expect_error(ctx.api.patch(f"{M}/999999", {"name": "x"}), 404, "not_found")
    with ctx.case("PATCH its own phone and card"):
        expect(ctx.api.patch(f"{M}/{m['id']}", {"phone": current["phone"],
                                                "card_no": current["card_no"]}), 200)


@group.test
def referral(ctx):
    a = ctx.new_member()
    b = ctx.new_member(referral_code=a["referral_code"])
    eq(b["referrer_id"], a["id"], "referrer_id")
    codes = {m["referral_code"] for m in ctx.members()}
    eq(len(codes), len(ctx.members()), "referral codes are distinct")


def prefix_oracle(members, q):
    return [m["id"] for m in members
            if any(isinstance(v, str) and v.startswith(q)
                   for v in (m["phone"], m["card_no"], m["name"]))]


@group.test
def search(ctx):
    s1, s2 = ctx.new_store(), ctx.new_store()
    specs = [
        ("欧阳锋", "17700000001", "ZQCARD0001", ["vip"], s1),
        ("欧阳克", "17700000002", "ZQCARD0002", [], s1),
        ("欧阳娜娜", "17700000013", "ZQCARD0013", ["vip", "新客"], s2),
        ("阳光", "17700000104", "ZQXCARD04", ["新客"], None),
        ("Zed Smith", "17711000005", "ZQX5", ["vip"], s2),
        ("张三", "17722000006", luhn_complete("17700000007"), ["vipx"], None),
    ]
    made = {}
    for name, phone, card, tags, store in specs:
        made[name] = ctx.new_member(name=name, phone=phone, card_no=card, tags=tags,
                                    store_id=store["id"] if store else None)
    everyone = ctx.members()

    def q(params, must):
        items = ctx.walk(M, params)
        ids = [m["id"] for m in items]
        eq(ids, sorted(ids), f"order of {params}")
        for n in must:
            check(made[n]["id"] in ids, f"{params}: {n} missing from {ids}")
        return ids

    queries = [("177000000", ["欧阳锋", "欧阳克", "欧阳娜娜", "张三"]),
               ("1770000000", ["欧阳锋", "欧阳克", "张三"]),  # 张三 by card number
               ("17700000001", ["欧阳锋"]), ("ZQCARD", ["欧阳锋", "欧阳克", "欧阳娜娜"]),
               ("ZQX", ["阳光", "Zed Smith"]), ("ZQCARD0013", ["欧阳娜娜"]), ("欧阳", ["欧阳锋", "欧阳克", "欧阳娜娜"]),
               ("欧阳娜", ["欧阳娜娜"]), ("阳", ["阳光"]), ("Zed", ["Zed Smith"]),
               ("%", []), ("_", []), ("'", []), ("\\", []), ("ZQ%", []), ("欧_", []),
               ("no such member", [])]
    for text, must in queries:
        with ctx.case(f"q={text!r}"):
            eq(q({"q": text}, must), prefix_oracle(everyone, text), f"ids for q={text!r}")
    def oracle(q=None, tag=None, store=None):
        ids = prefix_oracle(everyone, q) if q is not None else [m["id"] for m in everyone]
        return [m["id"] for m in everyone if m["id"] in ids
                and (tag is None or tag in m["tags"])
                and (store is None or m["store_id"] == store["id"])]

    for params, must in [
            ({"tag": "vip"}, ["欧阳锋", "欧阳娜娜", "Zed Smith"]),
            ({"tag": "新客"}, ["欧阳娜娜", "阳光"]),
            ({"tag": "vi"}, []),
            ({"store_id": s1}, ["欧阳锋", "欧阳克"]),
            ({"q": "欧阳", "tag": "vip"}, ["欧阳锋", "欧阳娜娜"]),
            ({"q": "ZQ", "store_id": s2}, ["欧阳娜娜", "Zed Smith"]),
            ({"q": "ZQ", "store_id": s2, "tag": "新客"}, ["欧阳娜娜"])]:
        label = {k: (v["id"] if isinstance(v, dict) else v) for k, v in params.items()}
        with ctx.case(f"filter {label}"):
            want = oracle(params.get("q"), params.get("tag"), params.get("store_id"))
            eq(q(label, must), want, f"ids for {label}")
    with ctx.case("unknown store_id filter"):
        r = ctx.api.get(M, params={"store_id": 999999})
        check(r.status in (200, 400), f"store_id filter for an unknown store: {r}")
        if r.status == 200:
            eq(r.json["items"], [], "items for an unknown store")
    for bad in ["abc", "1x"]:
        with ctx.case(f"store_id={bad}"):
            expect_error(ctx.api.get(M, params={"store_id": bad}), 400, "invalid_argument",
                         "store_id")


@group.test
def search_pagination(ctx):
    prefix = "1781234"
    mine = [ctx.new_member(phone=f"{prefix}{i:04d}")["id"] for i in range(23)]
    for limit in [5, 1, 23, 500]:
        with ctx.case(f"limit={limit}"):
            seen, cursor, pages = [], None, 0
            while True:
                params = {"q": prefix, "limit": limit}
                if cursor:
                    params["cursor"] = cursor
                page = expect(ctx.api.get(M, params=params), 200)
                pages += 1
                check(len(page["items"]) <= limit, f"page longer than {limit}")
                seen += [m["id"] for m in page["items"]]
                cursor = page["next_cursor"]
                if cursor is None:
                    break
                check(pages <= 30, "pagination does not end")
            eq(seen, mine, "ids over all pages (each once, ascending)")
            eq(pages, -(-23 // limit), "number of pages")
    with ctx.case("whole list, limit 7"):
        eq(ctx.walk(M, limit=7), ctx.walk(M, limit=500), "members by pages of 7 and of 500")
    with ctx.case("second page by its cursor"):
        page = expect(ctx.api.get(M, params={"q": prefix, "limit": 5}), 200)
        r = ctx.api.get(M, params={"q": prefix, "limit": 5, "cursor": page["next_cursor"]})
        eq([m["id"] for m in expect(r, 200)["items"]], mine[5:10], "second page")


@group.test
def lookup_by_phone_card_code(ctx):
    m = ctx.new_member(name="查询会员")
    custom = ctx.new_member(card_no="MYCARD77")
    with ctx.case("phone"):
        eq(expect(lookup(ctx, phone=m["phone"]), 200), m, "lookup by phone")
    with ctx.case("card_no"):
        eq(expect(lookup(ctx, card_no=m["card_no"]), 200), m, "lookup by card_no")
    with ctx.case("code"):
        eq(expect(lookup(ctx, code=m["card_no"]), 200), m, "lookup by code")
    with ctx.case("custom card_no"):
        eq(expect(lookup(ctx, card_no="MYCARD77"), 200)["id"], custom["id"], "lookup custom card")
    card = m["card_no"]
    wrong = card[:-1] + str((int(card[-1]) + 1) % 10)
    with ctx.case("mistyped card (Luhn wrong)"):
        expect_error(lookup(ctx, card_no=wrong), 400, "invalid_argument", "card_no")
    with ctx.case("swapped digits"):
        swapped = card[:3] + card[4] + card[3] + card[5:]
        if swapped != card and not luhn_ok(swapped):
            expect_error(lookup(ctx, card_no=swapped), 400, "invalid_argument", "card_no")
    with ctx.case("unknown card with a valid check digit"):
        unknown = luhn_complete("99" + card[2:11])
        if unknown != card:
            expect_error(lookup(ctx, card_no=unknown), 404, "not_found")
    with ctx.case("unknown phone"):
        expect_error(lookup(ctx, phone="19999999999"), 404, "not_found")
    with ctx.case("phone prefix is not a match"):
        expect_error(lookup(ctx, phone=m["phone"][:-1]), 404, "not_found")
    with ctx.case("unknown code"):
        expect_error(lookup(ctx, code="NOSUCHCODE"), 404, "not_found")
    with ctx.case("unknown non-numeric card"):
        expect_error(lookup(ctx, card_no="ZZZZ9999"), 404, "not_found")
    for label, params in [("none", {}), ("phone and card_no",
                                        {"phone": m["phone"], "card_no": m["card_no"]}),
                          ("all three", {"phone": m["phone"], "card_no": card, "code": card}),
                          ("empty phone", {"phone": ""})]:
        with ctx.case(f"lookup {label}"):
            expect_error(lookup(ctx, **params), 400, "invalid_argument")


@group.test
def erase(ctx):
    m = ctx.new_member(name="待删除会员", card_no="ERASE0001", note="私密备注",
                       birthday="1970-01-01", tags=["vip"])
    phone, card, mid = m["phone"], m["card_no"], m["id"]
    gen = ctx.new_member(name="待删除二号")
    r = ctx.api.delete(f"{M}/{mid}")
    expect(r, 204)
    eq(r.body, b"", "204 body")
    expect_error(ctx.api.get(f"{M}/{mid}"), 404, "not_found")
    expect_error(ctx.api.patch(f"{M}/{mid}", {"name": "x"}), 404, "not_found")
    expect_error(ctx.api.delete(f"{M}/{mid}"), 404, "not_found")
    expect_error(lookup(ctx, phone=phone), 404, "not_found")
    expect_error(lookup(ctx, card_no=card), 404, "not_found")
    expect_error(lookup(ctx, code=card), 404, "not_found")
    listed = ctx.members()
    check(mid not in [x["id"] for x in listed], "an erased member is listed")
    for text in [phone, "待删除会员", card]:
        with ctx.case(f"search {text}"):
            ids = [x["id"] for x in expect(ctx.api.get(M, params={"q": text}), 200)["items"]]
            check(mid not in ids, f"erased member found by q={text!r}")
    with ctx.case("search by tag"):
        ids = [x["id"] for x in ctx.walk(M, {"tag": "vip"})]
        check(mid not in ids, "erased member found by tag")
    with ctx.case("PII gone from the database"):
        dump = ctx.inst.dump()
        for label, value in [("name", "待删除会员"), ("phone", phone), ("note", "私密备注")]:
            check(value not in dump, f"the erased member's {label} {value!r} is still stored")
    with ctx.case("phone and card number free again"):
        again = expect(ctx.api.post(M, {"name": "新人", "phone": phone, "card_no": card}), 201)
        check(again["id"] != mid, "the erased id was reused")
        eq(expect(lookup(ctx, phone=phone), 200)["id"], again["id"], "lookup finds the new member")
    with ctx.case("generated card number free again"):
        expect(ctx.api.delete(f"{M}/{gen['id']}"), 204)
        expect(ctx.api.post(M, {"name": "新人二", "phone": gen["phone"],
                                "card_no": gen["card_no"]}), 201)
    with ctx.case("erase an unknown member"):
        expect_error(ctx.api.delete(f"{M}/999999"), 404, "not_found")


@group.test
def access_log_has_no_pii(ctx):
    m = ctx.new_member(name="日志隐私", phone="13712340000", card_no="LOGCARD42", note="日志备注")
    expect(lookup(ctx, phone=m["phone"]), 200)
    expect(lookup(ctx, card_no=m["card_no"]), 200)
    expect(ctx.api.get(M, params={"q": "日志隐私"}), 200)
    expect(ctx.api.get(M, params={"q": "1371234"}), 200)
    expect_error(ctx.api.post(M, {"name": "日志隐私二", "phone": m["phone"]}), 409, "conflict",
                 "phone")
    expect_error(ctx.api.post(M, {"name": "日志隐私三", "phone": "1371234abc"}), 400,
                 "invalid_argument", "phone")
    log = ctx.inst.log_text()
    for label, value in [("phone", "13712340000"), ("phone prefix", "1371234"),
                         ("name", "日志隐私"), ("name (escaped)", "\\u65e5"), ("note", "日志备注"),
                         ("bad phone", "1371234abc"), ("API key", ctx.api.token),
                         ("password", ctx.inst.password), ("session", ctx.owner.cookie)]:
        with ctx.case(label):
            check(value not in log, f"the server log holds the {label} {value!r}")
