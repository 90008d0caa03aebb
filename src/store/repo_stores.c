#include "store/repo.h"

#define STORE_COLS "id, code, name, address, phone, created_at, updated_at"

static void store_from(const pt_rows *r, int i, pt_store *s)
{
	s->id = pt_rows_int(r, i, 0);
	s->code = pt_rows_get(r, i, 1);
	s->name = pt_rows_get(r, i, 2);
	s->address = pt_rows_get(r, i, 3);
	s->phone = pt_rows_get(r, i, 4);
	s->created_at = pt_rows_int(r, i, 5);
	s->updated_at = pt_rows_int(r, i, 6);
}

int pt_repo_store_insert(pt_db *db, pt_arena *a, const pt_store *s, int64_t *id, pt_err *err)
{
	pt_val p[] = {PT_TEXT(s->code), PT_TEXT(s->name), PT_TEXT(s->address), PT_TEXT(s->phone),
	              PT_INT(s->created_at)};
	pt_rows r;
	if (pt_db_query(db, a,
	                "INSERT INTO stores (code, name, address, phone, created_at, updated_at) "
	                "VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
	                p, 5, &r, err) != 0)
		return -1;
	*id = pt_rows_int(&r, 0, 0);
	return 0;
}

int pt_repo_store_update(pt_db *db, const pt_store *s, pt_err *err)
{
	pt_val p[] = {PT_TEXT(s->code),  PT_TEXT(s->name),      PT_TEXT(s->address),
	              PT_TEXT(s->phone), PT_INT(s->updated_at), PT_INT(s->id)};
	return pt_db_exec(db,
	                  "UPDATE stores SET code = $1, name = $2, address = $3, phone = $4, "
	                  "updated_at = $5 WHERE id = $6",
	                  p, 6, NULL, err);
}

int pt_repo_store_get(pt_db *db, pt_arena *a, int64_t id, pt_store *out, bool *found, pt_err *err)
{
	pt_val p = PT_INT(id);
	pt_rows r;
	if (pt_db_query(db, a, "SELECT " STORE_COLS " FROM stores WHERE id = $1", &p, 1, &r, err) !=
	    0)
		return -1;
	*found = r.nrows > 0;
	if (*found)
		store_from(&r, 0, out);
	return 0;
}

int pt_repo_store_list(pt_db *db, pt_arena *a, int64_t after_id, int limit, pt_store **out, int *n,
                       pt_err *err)
{
	pt_val p[] = {PT_INT(after_id), PT_INT(limit)};
	pt_rows r;
	if (pt_db_query(db, a,
	                "SELECT " STORE_COLS " FROM stores WHERE id > $1 ORDER BY id LIMIT $2", p,
	                2, &r, err) != 0)
		return -1;
	*out = pt_arena_alloc(a, sizeof(pt_store) * (size_t)(r.nrows + 1));
	if (!*out)
		return pt_err_oom(err);
	for (int i = 0; i < r.nrows; i++)
		store_from(&r, i, &(*out)[i]);
	*n = r.nrows;
	return 0;
}
