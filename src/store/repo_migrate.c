#include "store/migrations.h"
#include "store/repo.h"
#include "util/clock.h"
#include "util/log.h"

typedef struct {
	int target;
	bool applied;
} step;

/* Applies one migration if it is still missing, inside a transaction that also records it,
 * so two servers starting together apply it once. */
static int apply_one(pt_db *db, void *arg, pt_err *err)
{
	step *s = arg;
	const pt_migration *m = &pt_migrations[s->target];
	pt_arena *a = pt_arena_new();
	if (!a)
		return pt_err_oom(err);
	int rc = -1;
	pt_rows rows;
	if (pt_db_kind_of(db) == PT_DB_POSTGRES &&
	    pt_db_query(db, a, "SELECT pg_advisory_xact_lock(7061746)", NULL, 0, &rows, err) != 0)
		goto out;
	pt_val v = PT_INT(m->version);
	if (pt_db_query(db, a, "SELECT 1 FROM schema_migrations WHERE version = $1", &v, 1, &rows,
	                err) != 0)
		goto out;
	s->applied = rows.nrows == 0;
	if (s->applied) {
		pt_val p[] = {PT_INT(m->version), PT_TEXT(m->name), PT_INT(pt_clock_now_ms())};
		if (pt_db_exec_script(db, m->sql, err) != 0 ||
		    pt_db_exec(db,
		               "INSERT INTO schema_migrations (version, name, applied_at) "
		               "VALUES ($1, $2, $3)",
		               p, 3, NULL, err) != 0)
			goto out;
	}
	rc = 0;
out:
	pt_arena_free(a);
	return rc;
}

static int create_table(pt_db *db, void *arg, pt_err *err)
{
	(void)arg;
	return pt_db_exec_script(db,
	                         "CREATE TABLE IF NOT EXISTS schema_migrations ("
	                         "version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
	                         "applied_at BIGINT NOT NULL)",
	                         err);
}

int pt_repo_migrate(pt_db *db, pt_err *err)
{
	if (pt_db_tx(db, true, create_table, NULL, err) != 0) {
		/* Two PostgreSQL servers racing to create the table: one wins, the other's
		 * unique violation on the catalog means the table is there now. */
		if (err->code != PT_CONFLICT || pt_db_tx(db, true, create_table, NULL, err) != 0)
			return -1;
	}
	for (int i = 0; i < pt_migration_count; i++) {
		step s = {.target = i};
		if (pt_db_tx(db, true, apply_one, &s, err) != 0)
			return -1;
		if (s.applied)
			pt_log_info("msg=\"migration applied\" version=%d name=%s",
			            pt_migrations[i].version, pt_migrations[i].name);
	}
	return 0;
}

int pt_repo_schema_version(pt_db *db, pt_arena *a, int *version, int *latest, pt_err *err)
{
	pt_rows rows;
	*latest = pt_migrations[pt_migration_count - 1].version;
	if (pt_db_query(db, a, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", NULL, 0,
	                &rows, err) != 0)
		return -1;
	*version = (int)pt_rows_int(&rows, 0, 0);
	return 0;
}
