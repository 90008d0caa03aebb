#include "service/stores.h"
#include "service/audit.h"

#include "util/clock.h"

static int conflict(int rc, pt_err *err, const char *code)
{
	if (rc != 0 && err->code == PT_CONFLICT)
		return pt_err_set(err, PT_CONFLICT, "code", "store code %s is taken",
		                  "门店编码 %s 已被占用", code);
	return rc;
}

static int not_found(int64_t id, pt_err *err)
{
	return pt_err_set(err, PT_NOT_FOUND, NULL, "no store %lld", "门店 %lld 不存在",
	                  (long long)id);
}

typedef struct {
	pt_ctx *ctx;
	int64_t id;
	const pt_store_patch *in;
	pt_store *out;
} args;

static int create_tx(pt_db *db, void *arg, pt_err *err)
{
	args *s = arg;
	*s->out = (pt_store){.code = s->in->code,
	                     .name = s->in->name,
	                     .address = s->in->address,
	                     .phone = s->in->phone,
	                     .created_at = pt_clock_now_ms()};
	s->out->updated_at = s->out->created_at;
	return conflict(pt_repo_store_insert(db, s->ctx->arena, s->out, &s->out->id, err), err,
	                s->in->code) ||
	       pt_svc_audit(s->ctx, "store.create", "store", s->out->id,
	                    json_pack("{s:s}", "code", s->out->code), err);
}

int pt_svc_store_create(pt_ctx *ctx, const pt_store_patch *in, pt_store *out, pt_err *err)
{
	args s = {ctx, 0, in, out};
	return pt_db_tx(ctx->db, true, create_tx, &s, err);
}

static int patch_tx(pt_db *db, void *arg, pt_err *err)
{
	args *s = arg;
	bool found = false;
	if (pt_repo_store_get(db, s->ctx->arena, s->id, s->out, &found, err) != 0)
		return -1;
	if (!found || !pt_ctx_store_ok(s->ctx, s->id))
		return not_found(s->id, err);
	if (s->in->set_code)
		s->out->code = s->in->code;
	if (s->in->set_name)
		s->out->name = s->in->name;
	if (s->in->set_address)
		s->out->address = s->in->address;
	if (s->in->set_phone)
		s->out->phone = s->in->phone;
	s->out->updated_at = pt_clock_now_ms();
	return conflict(pt_repo_store_update(db, s->out, err), err, s->out->code) ||
	       pt_svc_audit(s->ctx, "store.update", "store", s->id,
	                    json_pack("{s:s}", "code", s->out->code), err);
}

int pt_svc_store_patch(pt_ctx *ctx, int64_t id, const pt_store_patch *in, pt_store *out,
                       pt_err *err)
{
	args s = {ctx, id, in, out};
	return pt_db_tx(ctx->db, true, patch_tx, &s, err);
}

int pt_svc_store_get(pt_ctx *ctx, int64_t id, pt_store *out, pt_err *err)
{
	bool found = false;
	if (pt_repo_store_get(ctx->db, ctx->arena, id, out, &found, err) != 0)
		return -1;
	return found && pt_ctx_store_ok(ctx, id) ? 0 : not_found(id, err);
}

int pt_svc_store_list(pt_ctx *ctx, int64_t after_id, int limit, pt_store **out, int *n, pt_err *err)
{
	if (!ctx->nstores)
		return pt_repo_store_list(ctx->db, ctx->arena, after_id, limit, out, n, err);
	/* A store-scoped caller pages through their own stores only. */
	pt_store *mine = pt_arena_alloc(ctx->arena, sizeof(pt_store) * (size_t)(limit + 1));
	int k = 0;
	if (!mine)
		return pt_err_oom(err);
	for (;;) {
		pt_store *rows;
		int got;
		if (pt_repo_store_list(ctx->db, ctx->arena, after_id, 200, &rows, &got, err) != 0)
			return -1;
		for (int i = 0; i < got && k < limit; i++) {
			after_id = rows[i].id;
			if (pt_ctx_store_ok(ctx, rows[i].id))
				mine[k++] = rows[i];
		}
		if (got < 200 || k == limit)
			break;
	}
	*out = mine;
	*n = k;
	return 0;
}
