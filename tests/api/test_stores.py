"""Stores: create, get, patch, list; every validation rule of the brief."""

from harness import API, Group, check, check_time, eq, expect, expect_error

group = Group("stores")

STORE_KEYS = {"id", "code", "name", "address", "phone", "created_at", "updated_at"}


def check_store(s, want):
    check(STORE_KEYS <= set(s), f"store lacks {sorted(STORE_KEYS - set(s))}: {s}")
    check(isinstance(s["id"], int) and 0 < s["id"] < 2**53, f"store id: {s['id']!r}")
    check_time(s["created_at"], "created_at")
    check_time(s["updated_at"], "updated_at")
    for k, v in want.items():
        eq(s[k], v, f"store.{k}")


@group.test
def create_and_get(ctx):
    r = ctx.api.post(f"{API}/stores", {"code": "SH-001_a", "name": "上海徐家汇旗舰店",
                                       "address": "上海市徐汇区肇嘉浜路 1111 号",
                                       "phone": "+86 (21) 5555-1234"})
    s = expect(r, 201)
    check_store(s, {"code": "SH-001_a", "name": "上海徐家汇旗舰店",
                    "address": "上海市徐汇区肇嘉浜路 1111 号", "phone": "+86 (21) 5555-1234"})
    eq(expect(ctx.api.get(f"{API}/stores/{s['id']}"), 200), s, "GET after create")
    m = expect(ctx.api.post(f"{API}/stores", {"code": "min", "name": "x"}), 201)
    check_store(m, {"code": "min", "name": "x", "address": None, "phone": None})
    n = expect(ctx.api.post(f"{API}/stores", {"code": "nulls", "name": "x", "address": None,
                                              "phone": None}), 201)
    check_store(n, {"address": None, "phone": None})
    check(len({s["id"], m["id"], n["id"]}) == 3, "ids repeat")
    expect_error(ctx.api.get(f"{API}/stores/{n['id'] + 1000}"), 404, "not_found")


@group.test
def names_round_trip_exactly(ctx):
    names = ["北京朝阳大悦城店", "😀 emoji 店", "Zoe\u0308 café", "龍門客棧（繁體）", "店" * 64,
             "😀" * 64, "a" * 64, "  leading and trailing  ", "تجربة", "多\u200b空格"]
    for name in names:
        with ctx.case(name[:12]):
            s = expect(ctx.api.post(f"{API}/stores", {"code": ctx.code(), "name": name}), 201)
            eq(s["name"], name, "name in the create answer")
            eq(expect(ctx.api.get(f"{API}/stores/{s['id']}"), 200)["name"], name, "name read back")
            listed = [x for x in ctx.stores() if x["id"] == s["id"]]
            eq(listed[0]["name"] if listed else None, name, "name in the list")


BAD_CREATES = [
    ("code empty", {"code": "", "name": "x"}, "code"),
    ("code 33 chars", {"code": "c" * 33, "name": "x"}, "code"),
    ("code with a space", {"code": "a b", "name": "x"}, "code"),
    ("code with a slash", {"code": "a/b", "name": "x"}, "code"),
    ("code with a dot", {"code": "a.b", "name": "x"}, "code"),
    ("code Chinese", {"code": "店一", "name": "x"}, "code"),
    ("code number", {"code": 12, "name": "x"}, "code"),
    ("code null", {"code": None, "name": "x"}, "code"),
    ("code missing", {"name": "x"}, "code"),
    ("name empty", {"code": "okcode", "name": ""}, "name"),
    ("name 65 chars", {"code": "okcode", "name": "n" * 65}, "name"),
    ("name 65 Chinese chars", {"code": "okcode", "name": "店" * 65}, "name"),
    ("name null", {"code": "okcode", "name": None}, "name"),
    ("name missing", {"code": "okcode"}, "name"),
    ("name number", {"code": "okcode", "name": 5}, "name"),
    ("address 201 chars", {"code": "okcode", "name": "x", "address": "a" * 201}, "address"),
    ("address 201 Chinese", {"code": "okcode", "name": "x", "address": "路" * 201}, "address"),
    ("address number", {"code": "okcode", "name": "x", "address": 1}, "address"),
    ("phone letters", {"code": "okcode", "name": "x", "phone": "021-CALL-ME"}, "phone"),
    ("phone 33 chars", {"code": "okcode", "name": "x", "phone": "1" * 33}, "phone"),
    ("phone with a slash", {"code": "okcode", "name": "x", "phone": "021/5555"}, "phone"),
    ("phone number", {"code": "okcode", "name": "x", "phone": 2155551234}, "phone"),
    ("unknown field", {"code": "okcode", "name": "x", "adress": "typo"}, "adress"),
    ("id given", {"code": "okcode", "name": "x", "id": 1}, "id"),
]


@group.test
def create_validation(ctx):
    before = ctx.stores()
    for label, body, field in BAD_CREATES:
        with ctx.case(label):
            expect_error(ctx.api.post(f"{API}/stores", body), 400, "invalid_argument", field)
    eq(ctx.stores(), before, "stores after refused creates")
    with ctx.case("limits are inclusive"):
        s = expect(ctx.api.post(f"{API}/stores", {"code": "c" * 32, "name": "n" * 64,
                                                  "address": "路" * 200, "phone": "1" * 32}), 201)
        check_store(s, {"code": "c" * 32, "name": "n" * 64, "address": "路" * 200,
                        "phone": "1" * 32})


@group.test
def duplicate_code_is_409(ctx):
    s = ctx.new_store(code="DUP-1", name="原店")
    before = ctx.stores()
    expect_error(ctx.api.post(f"{API}/stores", {"code": "DUP-1", "name": "另一家"}), 409,
                 "conflict", "code")
    eq(ctx.stores(), before, "stores after the duplicate")
    eq(expect(ctx.api.get(f"{API}/stores/{s['id']}"), 200), s, "the first store")


@group.test
def patch(ctx):
    s = ctx.new_store(address="旧地址", phone="021-1234")
    get = lambda: expect(ctx.api.get(f"{API}/stores/{s['id']}"), 200)  # noqa: E731
    p = expect(ctx.api.patch(f"{API}/stores/{s['id']}", {"name": "新名字"}), 200)
    check_store(p, {"id": s["id"], "code": s["code"], "name": "新名字", "address": "旧地址",
                    "phone": "021-1234", "created_at": s["created_at"]})
    check(p["updated_at"] >= s["updated_at"], "updated_at went back")
    eq(get(), p, "GET after PATCH")
    p = expect(ctx.api.patch(f"{API}/stores/{s['id']}", {"address": None, "phone": None}), 200)
    check_store(p, {"address": None, "phone": None, "name": "新名字"})
    p = expect(ctx.api.patch(f"{API}/stores/{s['id']}", {"code": "RENAMED-1", "address": "新地址",
                                                         "phone": "+86 21 1234"}), 200)
    check_store(p, {"code": "RENAMED-1", "address": "新地址", "phone": "+86 21 1234"})
    eq(get(), p, "GET after the second PATCH")
    other = ctx.new_store(code="TAKEN-1")

    current = get()
    stores = ctx.stores()
    bad = [(label, {field: body[field]}, field) for label, body, field in BAD_CREATES
           if field in body]
    bad += [("unknown field", {"nam": "x"}, "nam"),
            ("created_at", {"created_at": "2020-01-01T00:00:00Z"}, "created_at")]
    for label, body, field in bad:
        with ctx.case(f"PATCH {label}"):
            expect_error(ctx.api.patch(f"{API}/stores/{s['id']}", body), 400, "invalid_argument",
                         field)
    with ctx.case("PATCH to a taken code"):
        expect_error(ctx.api.patch(f"{API}/stores/{s['id']}", {"code": other["code"]}), 409,
                     "conflict", "code")
    with ctx.case("PATCH not an object"):
        expect_error(ctx.api.patch(f"{API}/stores/{s['id']}", raw=b'["name"]'), 400,
                     "invalid_argument")
    eq(get(), current, "the store after refused PATCHes")
    eq(ctx.stores(), stores, "stores after refused PATCHes")
    with ctx.case("PATCH an unknown store"):
        expect_error(ctx.api.patch(f"{API}/stores/999999", {"name": "x"}), 404, "not_found")
    with ctx.case("PATCH its own code"):
        expect(ctx.api.patch(f"{API}/stores/{s['id']}", {"code": current["code"]}), 200)


@group.test
def list_pagination(ctx):
    for _ in range(7):
        ctx.new_store()
    everything = ctx.stores()
    ids = [s["id"] for s in everything]
    eq(ids, sorted(ids), "list order (id ascending)")
    eq(len(set(ids)), len(ids), "ids in the list are distinct")
    check(len(ids) >= 8, f"only {len(ids)} stores listed")
    for limit in [1, 3, len(ids), len(ids) + 1]:
        with ctx.case(f"limit={limit}"):
            pages = []
            cursor = None
            while True:
                params = {"limit": limit}
                if cursor:
                    params["cursor"] = cursor
                page = expect(ctx.api.get(f"{API}/stores", params=params), 200)
                pages.append(page["items"])
                cursor = page["next_cursor"]
                check(len(page["items"]) <= limit, f"page of {len(page['items'])} > {limit}")
                if cursor is None:
                    break
                check(len(page["items"]) == limit, "a short page before the last")
                check(len(pages) <= len(ids) + 1, "pagination does not end")
            eq([s for p in pages for s in p], everything, "stores over all pages")
            eq(len(pages), -(-len(ids) // limit), "number of pages")
    for s in everything[:3]:
        eq(expect(ctx.api.get(f"{API}/stores/{s['id']}"), 200), s, "GET equals list item")
