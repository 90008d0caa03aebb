/* The database interface, through pt_db_open, on SQLite (a temporary file) always and on
 * PostgreSQL when PATRON_TEST_PG_URL names a database the test may create tables in. Each
 * run works in its own table, named after the process, and drops it at the end, so runs
 * against a shared server do not collide. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/db.h"

struct fixture {
	const char *url;
	pt_db *db;
	pt_arena *arena; /* per test */
	char table[64];
	char path[64]; /* the SQLite file, empty on PostgreSQL */
};

/* SQL naming the fixture's table at each %s. */
#define SQL(f, text) pt_arena_printf((f)->arena, text, (f)->table)

static int open_db(struct fixture *f)
{
	pt_err err = {0};
	if (pt_db_open(&f->db, f->url, &err) != 0) {
		fprintf(stderr, "cannot open %s: %s\n", f->url, err.msg_en);
		return -1;
	}
	snprintf(f->table, sizeof(f->table), "pt_test_%ld_%ld", (long)getpid(), (long)time(NULL));
	pt_arena *a = pt_arena_new();
	char *script = a ? pt_arena_printf(a,
	                                   "CREATE TABLE %s (id {{pk}}, code TEXT NOT NULL, "
	                                   "name TEXT, qty BIGINT);\n"
	                                   "CREATE UNIQUE INDEX %s_code_uq ON %s (code);\n",
	                                   f->table, f->table, f->table)
	                 : NULL;
	int rc = script ? pt_db_exec_script(f->db, script, &err) : -1;
	if (rc != 0)
		fprintf(stderr, "cannot create %s: %s\n", f->table, err.msg_en);
	pt_arena_free(a);
	return rc;
}

static int group_setup_sqlite(void **state)
{
	static struct fixture f;
	static char url[80];
	snprintf(f.path, sizeof(f.path), "/tmp/patron-test-db-XXXXXX");
	int fd = mkstemp(f.path);
	if (fd < 0)
		return -1;
	close(fd);
	snprintf(url, sizeof(url), "sqlite:%s", f.path);
	f.url = url;
	*state = &f;
	return open_db(&f);
}

static int group_setup_pg(void **state)
{
	static struct fixture f;
	f.url = getenv("PATRON_TEST_PG_URL");
	*state = &f;
	return open_db(&f);
}

static int group_teardown(void **state)
{
	struct fixture *f = *state;
	if (f->db) {
		char sql[128];
		pt_err err;
		snprintf(sql, sizeof(sql), "DROP TABLE %s", f->table);
		if (pt_db_exec_script(f->db, sql, &err) != 0)
			fprintf(stderr, "cannot drop %s: %s\n", f->table, err.msg_en);
		pt_db_close(f->db);
		f->db = NULL;
	}
	if (*f->path) {
		char extra[80];
		unlink(f->path);
		snprintf(extra, sizeof(extra), "%s-wal", f->path);
		unlink(extra);
		snprintf(extra, sizeof(extra), "%s-shm", f->path);
		unlink(extra);
	}
	return 0;
}

/* Each test starts with an empty table and a fresh arena. */
static int setup(void **state)
{
	struct fixture *f = *state;
	f->arena = pt_arena_new();
	if (!f->arena)
		return -1;
	pt_err err;
	return pt_db_exec(f->db, SQL(f, "DELETE FROM %s"), NULL, 0, NULL, &err);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	pt_db_rollback(f->db); /* a failed test may have left a transaction open */
	pt_arena_free(f->arena);
	f->arena = NULL;
	return 0;
}

static int64_t insert(struct fixture *f, const char *code, const char *name, int64_t qty)
{
	pt_err err = {0};
	pt_rows r;
	pt_val p[] = {PT_TEXT(code), PT_TEXT(name), PT_INT(qty)};
	int rc = pt_db_query(f->db, f->arena,
	                     SQL(f, "INSERT INTO %s (code, name, qty) VALUES ($1, $2, $3) "
	                            "RETURNING id"),
	                     p, 3, &r, &err);
	if (rc != 0)
		print_error("insert %s: %s\n", code, err.msg_en);
	assert_int_equal(rc, 0);
	assert_int_equal(r.nrows, 1);
	assert_int_equal(r.ncols, 1);
	return pt_rows_int(&r, 0, 0);
}

static int64_t count(struct fixture *f, const char *code)
{
	pt_err err = {0};
	pt_rows r;
	pt_val p[] = {PT_TEXT(code)};
	int rc =
	    code ? pt_db_query(f->db, f->arena, SQL(f, "SELECT count(*) FROM %s WHERE code = $1"),
	                       p, 1, &r, &err)
	         : pt_db_query(f->db, f->arena, SQL(f, "SELECT count(*) FROM %s"), NULL, 0, &r,
	                       &err);
	assert_int_equal(rc, 0);
	return pt_rows_int(&r, 0, 0);
}

static void test_insert_returning(void **state)
{
	struct fixture *f = *state;
	int64_t a = insert(f, "a", "Ann", 1);
	int64_t b = insert(f, "b", "Bob", 2);
	assert_true(a > 0);
	assert_true(b > a);

	pt_err err = {0};
	int64_t changes = -1;
	pt_val p[] = {PT_INT(10)};
	assert_int_equal(
	    pt_db_exec(f->db, SQL(f, "UPDATE %s SET qty = qty + $1"), p, 1, &changes, &err), 0);
	assert_int_equal(changes, 2);
	pt_val none[] = {PT_TEXT("nobody")};
	assert_int_equal(
	    pt_db_exec(f->db, SQL(f, "DELETE FROM %s WHERE code = $1"), none, 1, &changes, &err),
	    0);
	assert_int_equal(changes, 0);
	/* changes may be NULL */
	assert_int_equal(pt_db_exec(f->db, SQL(f, "UPDATE %s SET qty = 0"), NULL, 0, NULL, &err),
	                 0);
}

/* ON CONFLICT DO NOTHING RETURNING id answers no row when the row was there already (SQLite
 * serves RETURNING id from last_insert_rowid, which a skipped row must not leave stale). */
static void test_insert_returning_on_conflict(void **state)
{
	struct fixture *f = *state;
	int64_t a = insert(f, "a", "Ann", 1);
	insert(f, "b", "Bob", 2); /* the last rowid is b's now */
	pt_err err = {0};
	pt_rows r;
	const char *sql = SQL(f, "INSERT INTO %s (code, name, qty) VALUES ($1, $2, $3) "
	                         "ON CONFLICT (code) DO NOTHING RETURNING id");
	pt_val again[] = {PT_TEXT("a"), PT_TEXT("Ann"), PT_INT(1)};
	assert_int_equal(pt_db_query(f->db, f->arena, sql, again, 3, &r, &err), 0);
	assert_int_equal(r.nrows, 0);
	pt_val fresh[] = {PT_TEXT("c"), PT_TEXT("Cy"), PT_INT(3)};
	assert_int_equal(pt_db_query(f->db, f->arena, sql, fresh, 3, &r, &err), 0);
	assert_int_equal(r.nrows, 1);
	assert_true(pt_rows_int(&r, 0, 0) > a);
	assert_int_equal(count(f, "c"), 1);
}

/* Parameters bind by number, whatever order the text names them in. */
static void test_params_out_of_order(void **state)
{
	struct fixture *f = *state;
	insert(f, "a", "Ann", 1);
	pt_err err = {0};
	int64_t changes = 0;
	pt_val p[] = {PT_TEXT("a"), PT_INT(42), PT_TEXT("Anne")};
	for (int i = 0; i < 2; i++) /* and again from the statement cache */
		assert_int_equal(
		    pt_db_exec(f->db, SQL(f, "UPDATE %s SET qty = $2, name = $3 WHERE code = $1"),
		               p, 3, &changes, &err),
		    0);
	assert_int_equal(changes, 1);
	pt_rows r;
	assert_int_equal(
	    pt_db_query(f->db, f->arena, SQL(f, "SELECT qty, name FROM %s"), NULL, 0, &r, &err), 0);
	assert_int_equal(pt_rows_int(&r, 0, 0), 42);
	assert_string_equal(pt_rows_get(&r, 0, 1), "Anne");
}

/* A migration says what only one dialect says between {{sqlite}} and {{postgres}} markers. */
static void test_script_dialect_blocks(void **state)
{
	struct fixture *f = *state;
	pt_err err = {0};
	bool sqlite = pt_db_kind_of(f->db) == PT_DB_SQLITE;
	const char *script = pt_arena_printf(
	    f->arena,
	    "INSERT INTO %s (code, name, qty) VALUES ('both', NULL, 1);\n"
	    "{{sqlite}}INSERT INTO %s (code, name, qty) VALUES ('lite', NULL, 2);{{/sqlite}}\n"
	    "{{postgres}}INSERT INTO %s (code, name, qty) VALUES ('pg', NULL, 3);{{/postgres}}\n",
	    f->table, f->table, f->table);
	assert_int_equal(pt_db_exec_script(f->db, script, &err), 0);
	assert_int_equal(count(f, "both"), 1);
	assert_int_equal(count(f, "lite"), sqlite ? 1 : 0);
	assert_int_equal(count(f, "pg"), sqlite ? 0 : 1);
}

static void test_nulls_and_int64(void **state)
{
	struct fixture *f = *state;
	static const int64_t values[] = {
	    9007199254740991, -9007199254740991, INT64_MAX, INT64_MIN, 0, -1};
	static const char *const texts[] = {"9007199254740991",
	                                    "-9007199254740991",
	                                    "9223372036854775807",
	                                    "-9223372036854775808",
	                                    "0",
	                                    "-1"};
	enum { N = sizeof(values) / sizeof(values[0]) };
	for (int i = 0; i < N; i++) {
		char code[8];
		snprintf(code, sizeof(code), "n%d", i);
		insert(f, code, i % 2 ? NULL : "x", values[i]);
	}
	pt_err err = {0};
	pt_rows r;
	assert_int_equal(pt_db_query(f->db, f->arena,
	                             SQL(f, "SELECT name, qty, NULL FROM %s ORDER BY id"), NULL, 0,
	                             &r, &err),
	                 0);
	assert_int_equal(r.nrows, N);
	assert_int_equal(r.ncols, 3);
	for (int i = 0; i < N; i++) {
		if (i % 2)
			assert_null(pt_rows_get(&r, i, 0));
		else
			assert_string_equal(pt_rows_get(&r, i, 0), "x");
		assert_string_equal(pt_rows_get(&r, i, 1), texts[i]);
		assert_true(pt_rows_int(&r, i, 1) == values[i]);
		assert_null(pt_rows_get(&r, i, 2));
	}

	/* 64-bit and NULL parameters, not only results */
	pt_val p[] = {PT_INT(INT64_MIN)};
	assert_int_equal(pt_db_query(f->db, f->arena, SQL(f, "SELECT code FROM %s WHERE qty = $1"),
	                             p, 1, &r, &err),
	                 0);
	assert_int_equal(r.nrows, 1);
	assert_string_equal(pt_rows_get(&r, 0, 0), "n3");
	int64_t changes = 0;
	pt_val q[] = {PT_NULLV, PT_TEXT("n0")};
	assert_int_equal(pt_db_exec(f->db, SQL(f, "UPDATE %s SET name = $1 WHERE code = $2"), q, 2,
	                            &changes, &err),
	                 0);
	assert_int_equal(changes, 1);
	assert_int_equal(pt_db_query(f->db, f->arena,
	                             SQL(f, "SELECT count(*) FROM %s WHERE name IS NULL"), NULL, 0,
	                             &r, &err),
	                 0);
	assert_int_equal(pt_rows_int(&r, 0, 0), N / 2 + 1);
}

static void test_unicode(void **state)
{
	struct fixture *f = *state;
	const char *name = "王秀英";
	const char *odd = "🎉 \"quoted\" back\\slash 'apostrophe' tab\tend";
	insert(f, "u1", name, 0);
	insert(f, "u2", odd, 0);
	pt_err err = {0};
	pt_rows r;
	pt_val p[] = {PT_TEXT(name)};
	const char *sql = SQL(f, "SELECT code, name, length(name) FROM %s WHERE name = $1");
	assert_int_equal(pt_db_query(f->db, f->arena, sql, p, 1, &r, &err), 0);
	assert_int_equal(r.nrows, 1);
	assert_string_equal(pt_rows_get(&r, 0, 0), "u1");
	assert_string_equal(pt_rows_get(&r, 0, 1), name);
	assert_int_equal(pt_rows_int(&r, 0, 2), 3); /* characters, not bytes */
	pt_val q[] = {PT_TEXT("u2")};
	assert_int_equal(pt_db_query(f->db, f->arena, SQL(f, "SELECT name FROM %s WHERE code = $1"),
	                             q, 1, &r, &err),
	                 0);
	assert_string_equal(pt_rows_get(&r, 0, 0), odd);
}

static void test_empty_result(void **state)
{
	struct fixture *f = *state;
	pt_err err = {0};
	pt_rows r;
	pt_val p[] = {PT_TEXT("none")};
	assert_int_equal(pt_db_query(f->db, f->arena,
	                             SQL(f, "SELECT id, name FROM %s WHERE code = $1"), p, 1, &r,
	                             &err),
	                 0);
	assert_int_equal(r.nrows, 0);
	assert_int_equal(r.ncols, 2);
	assert_null(pt_rows_get(&r, 0, 0));
	assert_int_equal(pt_rows_int(&r, 0, 0), 0);
}

static void test_unique_conflict(void **state)
{
	struct fixture *f = *state;
	insert(f, "dup", "first", 1);
	pt_err err = {0};
	pt_val p[] = {PT_TEXT("dup"), PT_TEXT("second"), PT_INT(2)};
	assert_int_equal(pt_db_exec(f->db,
	                            SQL(f, "INSERT INTO %s (code, name, qty) VALUES ($1, $2, $3)"),
	                            p, 3, NULL, &err),
	                 -1);
	assert_int_equal(err.code, PT_CONFLICT);
	assert_string_equal(err.field, "code");
	assert_int_equal(err.retry, 0);
	assert_true(*err.msg_en && *err.msg_zh);
	/* the connection goes on working after the failure */
	insert(f, "other", "third", 3);
	assert_int_equal(count(f, NULL), 2);
}

static void test_syntax_error(void **state)
{
	struct fixture *f = *state;
	pt_err err = {0};
	assert_int_equal(pt_db_exec(f->db, "SELEC nonsense", NULL, 0, NULL, &err), -1);
	assert_int_equal(err.code, PT_INTERNAL);
	assert_int_equal(err.retry, 0);
	/* a failed prepare leaves nothing behind that a second try trips on */
	assert_int_equal(pt_db_exec(f->db, "SELEC nonsense", NULL, 0, NULL, &err), -1);
	assert_int_equal(err.code, PT_INTERNAL);
	insert(f, "after", NULL, 0);
}

static int insert_two(pt_db *db, void *ctx, pt_err *err)
{
	struct fixture *f = ctx;
	pt_val a[] = {PT_TEXT("t1"), PT_NULLV, PT_INT(1)};
	pt_val b[] = {PT_TEXT("t2"), PT_NULLV, PT_INT(2)};
	const char *sql = SQL(f, "INSERT INTO %s (code, name, qty) VALUES ($1, $2, $3)");
	if (pt_db_exec(db, sql, a, 3, NULL, err) != 0)
		return -1;
	return pt_db_exec(db, sql, b, 3, NULL, err);
}

static void test_tx_commit(void **state)
{
	struct fixture *f = *state;
	pt_err err = {0};
	assert_int_equal(pt_db_tx(f->db, true, insert_two, f, &err), 0);
	assert_int_equal(count(f, NULL), 2);
}

struct attempt {
	struct fixture *f;
	int calls;
	int fail_until; /* fail with retry while calls <= this */
	pt_err first;   /* what the first attempt saw */
};

static int insert_then_refuse(pt_db *db, void *ctx, pt_err *err)
{
	struct attempt *a = ctx;
	a->calls++;
	if (insert_two(db, a->f, err) != 0)
		return -1;
	return pt_err_set(err, PT_INVALID_ARGUMENT, "qty", "qty is wrong", "数量有误");
}

static void test_tx_rollback(void **state)
{
	struct fixture *f = *state;
	struct attempt a = {.f = f};
	pt_err err = {0};
	assert_int_equal(pt_db_tx(f->db, true, insert_then_refuse, &a, &err), -1);
	assert_int_equal(a.calls, 1);
	/* the body's own error comes back unchanged */
	assert_int_equal(err.code, PT_INVALID_ARGUMENT);
	assert_string_equal(err.field, "qty");
	assert_int_equal(err.retry, 0);
	assert_int_equal(count(f, NULL), 0);
}

static int insert_dup(pt_db *db, void *ctx, pt_err *err)
{
	struct attempt *a = ctx;
	a->calls++;
	pt_val p[] = {PT_TEXT("fresh"), PT_NULLV, PT_INT(1)};
	pt_val q[] = {PT_TEXT("taken"), PT_NULLV, PT_INT(1)};
	const char *sql = SQL(a->f, "INSERT INTO %s (code, name, qty) VALUES ($1, $2, $3)");
	if (pt_db_exec(db, sql, p, 3, NULL, err) != 0)
		return -1;
	return pt_db_exec(db, sql, q, 3, NULL, err);
}

static void test_tx_conflict(void **state)
{
	struct fixture *f = *state;
	insert(f, "taken", NULL, 0);
	struct attempt a = {.f = f};
	pt_err err = {0};
	assert_int_equal(pt_db_tx(f->db, true, insert_dup, &a, &err), -1);
	assert_int_equal(a.calls, 1); /* a conflict is an answer, not a reason to retry */
	assert_int_equal(err.code, PT_CONFLICT);
	assert_string_equal(err.field, "code");
	assert_int_equal(count(f, "fresh"), 0);
	assert_int_equal(count(f, NULL), 1);
}

/* Inserts a row named after the attempt, then fails with retry set while told to. */
static int flaky(pt_db *db, void *ctx, pt_err *err)
{
	struct attempt *a = ctx;
	a->calls++;
	char code[16];
	snprintf(code, sizeof(code), "try%d", a->calls);
	pt_val p[] = {{.type = PT_V_TEXT, .s = code}, PT_NULLV, PT_INT(a->calls)};
	if (pt_db_exec(db, SQL(a->f, "INSERT INTO %s (code, name, qty) VALUES ($1, $2, $3)"), p, 3,
	               NULL, err) != 0)
		return -1;
	if (a->calls <= a->fail_until) {
		pt_err_set(err, PT_INTERNAL, NULL, "serialization failure", "序列化失败");
		err->retry = 1;
		return -1;
	}
	return 0;
}

static void test_tx_retry(void **state)
{
	struct fixture *f = *state;
	struct attempt a = {.f = f, .fail_until = 1};
	pt_err err = {0};
	assert_int_equal(pt_db_tx(f->db, true, flaky, &a, &err), 0);
	assert_int_equal(a.calls, 2);
	/* the first attempt's insert went with its rollback */
	assert_int_equal(count(f, "try1"), 0);
	assert_int_equal(count(f, "try2"), 1);
	assert_int_equal(count(f, NULL), 1);
}

static void test_tx_retry_bounded(void **state)
{
	struct fixture *f = *state;
	struct attempt a = {.f = f, .fail_until = 1000};
	pt_err err = {0};
	assert_int_equal(pt_db_tx(f->db, true, flaky, &a, &err), -1);
	assert_true(a.calls > 1 && a.calls < 1000);
	assert_int_equal(err.retry, 1);
	assert_int_equal(count(f, NULL), 0);
}

static int read_count(pt_db *db, void *ctx, pt_err *err)
{
	struct attempt *a = ctx;
	pt_rows r;
	if (pt_db_query(db, a->f->arena, SQL(a->f, "SELECT count(*) FROM %s"), NULL, 0, &r, err) !=
	    0)
		return -1;
	a->calls = (int)pt_rows_int(&r, 0, 0);
	return 0;
}

static void test_tx_read(void **state)
{
	struct fixture *f = *state;
	insert(f, "r1", NULL, 0);
	struct attempt a = {.f = f};
	pt_err err = {0};
	assert_int_equal(pt_db_tx(f->db, false, read_count, &a, &err), 0);
	assert_int_equal(a.calls, 1);
}

static void test_rollback_harmless(void **state)
{
	struct fixture *f = *state;
	pt_err err = {0};
	pt_db_rollback(f->db); /* nothing open */
	pt_db_rollback(f->db);
	assert_int_equal(pt_db_commit(f->db, &err), -1); /* nothing to commit */

	assert_int_equal(pt_db_begin(f->db, true, &err), 0);
	assert_int_equal(pt_db_begin(f->db, true, &err), -1); /* no nesting */
	pt_db_rollback(f->db);
	pt_db_rollback(f->db);

	assert_int_equal(pt_db_begin(f->db, true, &err), 0);
	insert(f, "kept", NULL, 0);
	assert_int_equal(pt_db_commit(f->db, &err), 0);
	pt_db_rollback(f->db); /* after a commit: nothing to undo */
	assert_int_equal(count(f, "kept"), 1);

	assert_int_equal(pt_db_begin(f->db, false, &err), 0);
	pt_db_rollback(f->db);
	insert(f, "after", NULL, 0);
	assert_int_equal(count(f, NULL), 2);
}

/* More distinct statements than any statement cache holds, and the same ones again: every
 * answer must belong to its own statement. */
static void test_many_statements(void **state)
{
	struct fixture *f = *state;
	pt_err err = {0};
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 1100; i++) {
			char sql[64];
			snprintf(sql, sizeof(sql), "SELECT %d + $1", i);
			pt_val p[] = {PT_INT(round)};
			pt_rows r;
			int rc = pt_db_query(f->db, f->arena, sql, p, 1, &r, &err);
			if (rc != 0)
				print_error("%s: %s\n", sql, err.msg_en);
			assert_int_equal(rc, 0);
			assert_int_equal(pt_rows_int(&r, 0, 0), i + round);
		}
	}
}

/* A statement with more parameters than the driver keeps on its stack. */
static void test_many_params(void **state)
{
	struct fixture *f = *state;
	enum { N = 40 };
	/* "0 +" gives the parameters a type: PostgreSQL cannot add two of unknown type. */
	char sql[512] = "SELECT 0";
	pt_val p[N];
	for (int i = 0; i < N; i++) {
		p[i] = PT_INT(i + 1);
		snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql), " + $%d", i + 1);
	}
	pt_err err = {0};
	pt_rows r;
	assert_int_equal(pt_db_query(f->db, f->arena, sql, p, N, &r, &err), 0);
	assert_int_equal(pt_rows_int(&r, 0, 0), N * (N + 1) / 2);
}

/* PostgreSQL only from here. */

static void test_pg_session(void **state)
{
	struct fixture *f = *state;
	pt_err err = {0};
	pt_rows r;
	assert_int_equal(pt_db_kind_of(f->db), PT_DB_POSTGRES);
	assert_int_equal(pt_db_query(f->db, f->arena,
	                             "SELECT current_setting('TimeZone'), "
	                             "current_setting('client_encoding')",
	                             NULL, 0, &r, &err),
	                 0);
	assert_string_equal(pt_rows_get(&r, 0, 0), "UTC");
	assert_string_equal(pt_rows_get(&r, 0, 1), "UTF8");
}

static const char *raise_sql(const char *condition)
{
	static char sql[160];
	snprintf(sql, sizeof(sql),
	         "DO $$ BEGIN RAISE EXCEPTION 'test' USING ERRCODE = '%s'; END $$", condition);
	return sql;
}

static void test_pg_sqlstates(void **state)
{
	struct fixture *f = *state;
	pt_err err = {0};
	assert_int_equal(pt_db_exec(f->db, raise_sql("serialization_failure"), NULL, 0, NULL, &err),
	                 -1);
	assert_int_equal(err.code, PT_INTERNAL);
	assert_int_equal(err.retry, 1);
	assert_int_equal(pt_db_exec(f->db, raise_sql("deadlock_detected"), NULL, 0, NULL, &err),
	                 -1);
	assert_int_equal(err.code, PT_INTERNAL);
	assert_int_equal(err.retry, 1);
	assert_int_equal(pt_db_exec(f->db, raise_sql("division_by_zero"), NULL, 0, NULL, &err), -1);
	assert_int_equal(err.code, PT_INTERNAL);
	assert_int_equal(err.retry, 0);
	assert_int_equal(pt_db_exec(f->db, raise_sql("lock_not_available"), NULL, 0, NULL, &err),
	                 -1);
	assert_int_equal(err.code, PT_UNAVAILABLE);
	assert_int_equal(err.retry, 0);
}

/* A real serialization failure from the server, retried by pt_db_tx. */
static int serial_once(pt_db *db, void *ctx, pt_err *err)
{
	struct attempt *a = ctx;
	if (++a->calls == 1)
		return pt_db_exec(db, raise_sql("serialization_failure"), NULL, 0, NULL, err);
	return insert_two(db, a->f, err);
}

static void test_pg_serialization_retried(void **state)
{
	struct fixture *f = *state;
	struct attempt a = {.f = f};
	pt_err err = {0};
	assert_int_equal(pt_db_tx(f->db, true, serial_once, &a, &err), 0);
	assert_int_equal(a.calls, 2);
	assert_int_equal(count(f, NULL), 2);
}

/* On PostgreSQL a failed statement dooms its transaction; the caller that goes on anyway
 * hears about the first failure at COMMIT, not about a success that was a rollback. */
static void test_pg_failed_tx(void **state)
{
	struct fixture *f = *state;
	insert(f, "taken", NULL, 0);
	pt_err err = {0};
	const char *sql = SQL(f, "INSERT INTO %s (code, name, qty) VALUES ($1, $2, $3)");
	pt_val dup[] = {PT_TEXT("taken"), PT_NULLV, PT_INT(1)};
	pt_val other[] = {PT_TEXT("other"), PT_NULLV, PT_INT(1)};
	assert_int_equal(pt_db_begin(f->db, true, &err), 0);
	assert_int_equal(pt_db_exec(f->db, sql, dup, 3, NULL, &err), -1);
	assert_int_equal(err.code, PT_CONFLICT);
	assert_int_equal(pt_db_exec(f->db, sql, other, 3, NULL, &err), -1);
	assert_int_equal(err.code, PT_INTERNAL);
	assert_int_equal(pt_db_commit(f->db, &err), -1);
	assert_int_equal(err.code, PT_CONFLICT);
	assert_string_equal(err.field, "code");
	pt_db_rollback(f->db);
	assert_int_equal(count(f, "other"), 0);
	insert(f, "later", NULL, 0);
}

static int backend_pid(struct fixture *f)
{
	pt_err err = {0};
	pt_rows r;
	assert_int_equal(pt_db_query(f->db, f->arena, "SELECT pg_backend_pid()", NULL, 0, &r, &err),
	                 0);
	return (int)pt_rows_int(&r, 0, 0);
}

/* Ends the session pid from a second connection, as a server restart would, and waits
 * until it is gone. */
static void terminate(struct fixture *f, int pid)
{
	pt_db *other;
	pt_err err = {0};
	pt_rows r;
	assert_int_equal(pt_db_open(&other, f->url, &err), 0);
	pt_val p[] = {PT_INT(pid)};
	assert_int_equal(
	    pt_db_query(other, f->arena, "SELECT pg_terminate_backend($1, 5000)", p, 1, &r, &err),
	    0);
	assert_string_equal(pt_rows_get(&r, 0, 0), "t");
	pt_db_close(other);
}

static void test_pg_reconnect_idle(void **state)
{
	struct fixture *f = *state;
	insert(f, "before", NULL, 0); /* the INSERT is now prepared in this session */
	int pid = backend_pid(f);
	terminate(f, pid);
	/* the same statement again: the session is reopened and it is prepared anew */
	insert(f, "after", NULL, 0);
	assert_int_equal(count(f, NULL), 2);
	assert_true(backend_pid(f) != pid);
}

static int killed_midway(pt_db *db, void *ctx, pt_err *err)
{
	struct attempt *a = ctx;
	if (++a->calls == 1) {
		if (insert_two(db, a->f, err) != 0)
			return -1;
		terminate(a->f, backend_pid(a->f));
		pt_val p[] = {PT_TEXT("t3"), PT_NULLV, PT_INT(3)};
		const char *sql = SQL(a->f, "INSERT INTO %s (code, name, qty) VALUES ($1, $2, $3)");
		int rc = pt_db_exec(db, sql, p, 3, NULL, err);
		a->first = *err;
		return rc == 0 ? pt_err_set(err, PT_INTERNAL, NULL, "survived", "未中断") : -1;
	}
	return insert_two(db, a->f, err);
}

static void test_pg_reconnect_in_tx(void **state)
{
	struct fixture *f = *state;
	struct attempt a = {.f = f};
	pt_err err = {0};
	assert_int_equal(pt_db_tx(f->db, true, killed_midway, &a, &err), 0);
	assert_int_equal(a.calls, 2);
	assert_int_equal(a.first.code, PT_UNAVAILABLE);
	assert_int_equal(a.first.retry, 1);
	assert_int_equal(count(f, "t3"), 0);
	assert_int_equal(count(f, NULL), 2);
}

static void test_pg_open_failure(void **state)
{
	(void)state;
	static const char *const urls[] = {
	    /* nothing listens on port 1: connection refused */
	    "postgresql://patron:Sekrit-PW@127.0.0.1:1/patron",
	    /* a bad escape in the password: libpq quotes the token it cannot read */
	    "postgresql://patron:Sekrit%zz@127.0.0.1:1/patron",
	    /* an unencoded '/' in the password makes libpq misread the host */
	    "postgresql://patron:Sekrit/x@127.0.0.1:1/patron",
	    "postgresql://127.0.0.1:1/patron?user=patron&password=Sekrit-PW",
	};
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		pt_db *db = NULL;
		pt_err err = {0};
		assert_int_equal(pt_db_open(&db, urls[i], &err), -1);
		assert_null(db);
		assert_true(err.code == PT_UNAVAILABLE || err.code == PT_INVALID_ARGUMENT);
		assert_true(*err.msg_en);
		if (strstr(err.msg_en, "Sekrit") || strstr(err.msg_zh, "Sekrit"))
			print_error("%s leaked: %s\n", urls[i], err.msg_en);
		assert_null(strstr(err.msg_en, "Sekrit"));
		assert_null(strstr(err.msg_zh, "Sekrit"));
	}
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
#define COMMON_TESTS                                                                               \
	T(test_insert_returning), T(test_insert_returning_on_conflict),                            \
	    T(test_params_out_of_order), T(test_script_dialect_blocks), T(test_nulls_and_int64),   \
	    T(test_unicode), T(test_empty_result), T(test_unique_conflict), T(test_syntax_error),  \
	    T(test_tx_commit), T(test_tx_rollback), T(test_tx_conflict), T(test_tx_retry),         \
	    T(test_tx_retry_bounded), T(test_tx_read), T(test_rollback_harmless),                  \
	    T(test_many_statements), T(test_many_params)

int main(void)
{
	const struct CMUnitTest sqlite_tests[] = {COMMON_TESTS};
	const struct CMUnitTest pg_tests[] = {
	    COMMON_TESTS,
	    T(test_pg_session),
	    T(test_pg_sqlstates),
	    T(test_pg_serialization_retried),
	    T(test_pg_failed_tx),
	    T(test_pg_reconnect_idle),
	    T(test_pg_reconnect_in_tx),
	    cmocka_unit_test(test_pg_open_failure),
	};
	int failed = cmocka_run_group_tests_name("db_sqlite", sqlite_tests, group_setup_sqlite,
	                                         group_teardown);
	if (getenv("PATRON_TEST_PG_URL") && *getenv("PATRON_TEST_PG_URL"))
		failed += cmocka_run_group_tests_name("db_postgres", pg_tests, group_setup_pg,
		                                      group_teardown);
	else
		printf("# db_postgres skipped: PATRON_TEST_PG_URL is not set\n");
	return failed ? 1 : 0;
}
