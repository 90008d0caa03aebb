#include "service/stores.h"
#include "api/api.h"
#include "core/text.h"

static json_t *store_json(const pt_store *s)
{
	return json_pack("{s:I, s:s, s:s, s:o, s:o, s:o, s:o}", "id", (json_int_t)s->id, "code",
	                 s->code, "name", s->name, "address", pt_json_opt_str(s->address), "phone",
	                 pt_json_opt_str(s->phone), "created_at", pt_json_time(s->created_at),
	                 "updated_at", pt_json_time(s->updated_at));
}

/* Reads a store body; create needs code and name, a patch takes any field. */
static int read_store(json_t *body, bool create, pt_store_patch *out, pt_err *err)
{
	static const char *const allowed[] = {"code", "name", "address", "phone", NULL};
	unsigned req = create ? PT_F_REQUIRED : 0;
	pt_field code, name, address, phone;
	if (pt_json_only(body, allowed, err) ||
	    pt_json_text(body, "code", req, 1, 32, &code, err) ||
	    pt_json_text(body, "name", req, 1, 64, &name, err) ||
	    pt_json_text(body, "address", PT_F_NULLABLE | PT_F_MULTILINE, 0, 200, &address, err) ||
	    pt_json_text(body, "phone", PT_F_NULLABLE, 0, 32, &phone, err))
		return -1;
	if (code.s && !pt_text_all_in(code.s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                                      "0123456789_-"))
		return pt_err_set(err, PT_INVALID_ARGUMENT, "code",
		                  "code may hold only letters, digits, _ and -",
		                  "门店编码只能包含字母、数字、_ 和 -");
	if (phone.s && *phone.s && !pt_text_all_in(phone.s, "0123456789 +-()"))
		return pt_err_set(err, PT_INVALID_ARGUMENT, "phone",
		                  "phone may hold only digits, spaces and + - ( )",
		                  "电话只能包含数字、空格和 + - ( )");
	*out = (pt_store_patch){.set_code = code.present,
	                        .set_name = name.present,
	                        .set_address = address.present,
	                        .set_phone = phone.present,
	                        .code = code.s,
	                        .name = name.s,
	                        .address = address.s && *address.s ? address.s : NULL,
	                        .phone = phone.s && *phone.s ? phone.s : NULL};
	return 0;
}

int pt_api_stores_create(pt_req *req, pt_err *err)
{
	pt_store_patch in;
	pt_store s;
	if (read_store(req->body, true, &in, err) || pt_svc_store_create(&req->ctx, &in, &s, err))
		return -1;
	req->location = pt_arena_printf(req->ctx.arena, "/api/v1/stores/%lld", (long long)s.id);
	return pt_reply_json(req, 201, store_json(&s));
}

int pt_api_stores_patch(pt_req *req, pt_err *err)
{
	int64_t id;
	pt_store_patch in;
	pt_store s;
	if (pt_req_id(req, "id", &id, err) || read_store(req->body, false, &in, err) ||
	    pt_svc_store_patch(&req->ctx, id, &in, &s, err))
		return -1;
	return pt_reply_json(req, 200, store_json(&s));
}

int pt_api_stores_get(pt_req *req, pt_err *err)
{
	int64_t id;
	pt_store s;
	if (pt_req_id(req, "id", &id, err) || pt_svc_store_get(&req->ctx, id, &s, err))
		return -1;
	return pt_reply_json(req, 200, store_json(&s));
}

int pt_api_stores_list(pt_req *req, pt_err *err)
{
	int64_t after;
	int limit, n;
	pt_store *stores;
	if (pt_list_params(req, &after, &limit, err) ||
	    pt_svc_store_list(&req->ctx, after, limit + 1, &stores, &n, err))
		return -1;
	json_t *items = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(items, store_json(&stores[i]));
	return pt_list_reply(req, items, limit, n > limit ? stores[limit - 1].id : 0);
}
