/* The SQLite driver: WAL, synchronous=FULL, BEGIN IMMEDIATE for writes, statements prepared
 * once per connection and kept. */
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/db.h"
#include "store/sqlite_vfs.h"
#include "util/log.h"

/* The statement cache: a statement may sit in any of CACHE_WAYS slots from its hash, so two
 * hot statements whose hashes collide do not re-prepare each other on every request. */
enum { BUSY_TIMEOUT_MS = 10000, CACHE_SLOTS = 512, CACHE_WAYS = 4 };

/* Binding $n by name costs a formatted name and a search per parameter: the indexes of $1..
 * are looked up once, when the statement is prepared. */
enum { MAPPED_PARAMS = 24 };

struct cached {
	char *sql; /* the caller's SQL text, compared by content (a copy) */
	sqlite3_stmt *stmt;
	/* An INSERT ... RETURNING id run without its RETURNING clause, the id read from
	 * sqlite3_last_insert_rowid: SQLite collects RETURNING rows in a temporary table built
	 * and dropped on every run, which cost more than the insert itself. */
	bool returns_rowid;
	unsigned char param_index[MAPPED_PARAMS]; /* of $1..; 0: not in the statement */
};

typedef struct {
	sqlite3 *db;
	int in_tx;
	struct cached cache[CACHE_SLOTS];
} conn;

static int fail(conn *c, int rc, pt_err *err)
{
	const char *msg = sqlite3_errmsg(c->db);
	int ext = sqlite3_extended_errcode(c->db);
	if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY) {
		/* "UNIQUE constraint failed: members.phone" names table.column. */
		const char *col = strrchr(msg, '.');
		pt_err_set(err, PT_CONFLICT, col ? col + 1 : NULL, "%s is already taken",
		           "%s 已被占用", col ? col + 1 : "value");
		return -1;
	}
	if ((rc & 0xFF) == SQLITE_BUSY || (rc & 0xFF) == SQLITE_LOCKED) {
		pt_err_set(err, PT_UNAVAILABLE, NULL, "the database is busy, try again",
		           "数据库繁忙，请重试");
		/* A snapshot that went stale under a concurrent writer is safe to re-run. */
		err->retry = ext == SQLITE_BUSY_SNAPSHOT;
		return -1;
	}
	int primary = rc & 0xFF;
	/* The disk, not the request: a failed read can look like a malformed page (CORRUPT)
	 * until the disk answers again. */
	if (primary == SQLITE_READONLY || primary == SQLITE_CANTOPEN || primary == SQLITE_IOERR ||
	    primary == SQLITE_FULL || primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) {
		pt_log_error("msg=\"sqlite error\" rc=%d error=\"%s\"", ext, msg);
		return pt_err_set(err, PT_UNAVAILABLE, NULL, "the database cannot be written",
		                  "数据库无法写入");
	}
	pt_log_error("msg=\"sqlite error\" rc=%d error=\"%s\"", ext, msg);
	return pt_err_set(err, PT_INTERNAL, NULL, "database error", "数据库错误");
}

static const char *vfs_name; /* every connection's: WAL writes gathered (sqlite_vfs.c) */

/* Memory statistics take a process-wide mutex on every allocation: many connections on many
 * threads would queue on it. Must be set before SQLite initialises. */
static void configure_sqlite(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	vfs_name = pt_sqlite_gather_vfs();
}

static int sq_open(void **out, const char *path, pt_err *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, configure_sqlite);
	conn *c = calloc(1, sizeof(*c));
	if (!c)
		return pt_err_oom(err);
	int rc = sqlite3_open_v2(path, &c->db,
	                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                         vfs_name);
	if (rc != SQLITE_OK) {
		pt_err_set(err, PT_UNAVAILABLE, NULL, "cannot open database %s: %s",
		           "无法打开数据库 %s：%s", path, sqlite3_errstr(rc));
		sqlite3_close(c->db);
		free(c);
		return -1;
	}
	sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(c->db, 1);
	char *msg = NULL;
	/* Statement and savepoint journals (every statement of a transaction, every request
	 * of a group commit) stay in memory: in a temporary file they cost a write per page.
	 * A new database gets 1 KB pages (an existing one keeps its own): a sale changes some 15
	 * rows at random places, each a whole page in the WAL; at 1M members 1 KB pages wrote
	 * 26 KB a sale instead of 60 and sold 13-17% more a second (512 B: 19 KB, but 10% fewer
	 * sales than 1 KB: deeper trees), with lookups unchanged. Pages are read through the
	 * process's one mapping of the file (store/sqlite_map.h); the size only turns it on. */
	rc =
	    sqlite3_exec(c->db,
	                 "PRAGMA page_size=1024; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
	                 "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY; "
	                 "PRAGMA mmap_size=1073741824;",
	                 NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		pt_err_set(err, PT_UNAVAILABLE, NULL, "cannot set up database %s: %s",
		           "无法设置数据库 %s：%s", path, msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		sqlite3_close(c->db);
		free(c);
		return -1;
	}
	*out = c;
	return 0;
}

static void sq_close(void *p)
{
	conn *c = p;
	if (!c)
		return;
	for (int i = 0; i < CACHE_SLOTS; i++) {
		sqlite3_finalize(c->cache[i].stmt);
		free(c->cache[i].sql);
	}
	sqlite3_close(c->db);
	free(c);
}

static int simple(conn *c, const char *sql, pt_err *err)
{
	int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : fail(c, rc, err);
}

static int sq_exec(void *p, const char *sql, const pt_val *params, int nparams, int64_t *changes,
                   pt_err *err);

/* BEGIN and COMMIT go through the statement cache too: every request begins and ends one. */
static int sq_begin(void *p, bool write, pt_err *err)
{
	conn *c = p;
	/* A rollback that failed on a failing disk leaves its transaction open: end it now.
	 * (A transaction this connection knows it began is nesting, refused below.) */
	if (!c->in_tx && !sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	if (sq_exec(c, write ? "BEGIN IMMEDIATE" : "BEGIN", NULL, 0, NULL, err) != 0)
		return -1;
	c->in_tx = 1;
	return 0;
}

static int sq_commit(void *p, pt_err *err)
{
	conn *c = p;
	if (sq_exec(c, "COMMIT", NULL, 0, NULL, err) != 0)
		return -1;
	c->in_tx = 0;
	return 0;
}

static int sq_commit_unsynced(void *p, int *sync_fd, pt_err *err)
{
	pt_sqlite_gather_defer_syncs(true);
	int rc = sq_commit(p, err);
	*sync_fd = pt_sqlite_gather_defer_syncs(false);
	return rc;
}

static void sq_rollback(void *p)
{
	conn *c = p;
	if (!sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	c->in_tx = 0;
}

/* Every statement a request runs is looked up by its text (often 200 bytes and more): eight
 * bytes a step, each step's high bits folded down, since the slot comes from the low bits. */
static size_t hash(const char *s)
{
	size_t n = strlen(s);
	uint64_t h = 1469598103934665603u ^ n, w;
	for (; n >= sizeof(w); n -= sizeof(w), s += sizeof(w)) {
		memcpy(&w, s, sizeof(w));
		h = (h ^ w) * 1099511628211u;
		h ^= h >> 29;
	}
	for (; n; n--, s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return (size_t)(h ^ (h >> 32));
}

static const char RETURNING_ID[] = " RETURNING id";

/* An INSERT whose RETURNING id can come from sqlite3_last_insert_rowid: one row inserted, or
 * none when ON CONFLICT DO NOTHING skipped it (an upsert that updates sets no rowid). Its text
 * without the clause, or NULL. */
static char *without_returning_id(const char *sql)
{
	size_t n = strlen(sql), tail = sizeof(RETURNING_ID) - 1;
	if (strncmp(sql, "INSERT INTO ", 12) != 0 || n <= tail ||
	    strcmp(sql + n - tail, RETURNING_ID) != 0 || strstr(sql, " DO UPDATE "))
		return NULL;
	char *bare = malloc(n - tail + 1);
	if (bare) {
		memcpy(bare, sql, n - tail);
		bare[n - tail] = '\0';
	}
	return bare;
}

static int prepare_new(conn *c, const char *sql, struct cached *e, pt_err *err)
{
	char *bare = without_returning_id(sql);
	sqlite3_stmt *stmt = NULL;
	int rc = sqlite3_prepare_v3(c->db, bare ? bare : sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt,
	                            NULL);
	free(bare);
	char *copy = rc == SQLITE_OK ? strdup(sql) : NULL;
	if (!copy) {
		sqlite3_finalize(stmt);
		return rc == SQLITE_OK ? pt_err_oom(err) : fail(c, rc, err);
	}
	sqlite3_finalize(e->stmt);
	free(e->sql);
	*e = (struct cached){.sql = copy, .stmt = stmt, .returns_rowid = bare != NULL};
	for (int i = 1; i <= sqlite3_bind_parameter_count(stmt); i++) {
		const char *name = sqlite3_bind_parameter_name(stmt, i);
		long n = name && name[0] == '$' ? strtol(name + 1, NULL, 10) : 0;
		if (n >= 1 && n <= MAPPED_PARAMS && i <= UCHAR_MAX)
			e->param_index[n - 1] = (unsigned char)i;
	}
	return 0;
}

static int param_index(const struct cached *e, int i)
{
	if (i < MAPPED_PARAMS)
		return e->param_index[i];
	char name[16];
	snprintf(name, sizeof(name), "$%d", i + 1);
	return sqlite3_bind_parameter_index(e->stmt, name);
}

/* Finds or prepares the statement for sql, with params bound. */
static int prepare(conn *c, const char *sql, const pt_val *params, int nparams, struct cached **out,
                   pt_err *err)
{
	size_t home = hash(sql) % CACHE_SLOTS;
	struct cached *e = NULL, *free_slot = NULL;
	for (size_t way = 0; way < CACHE_WAYS && !e; way++) {
		struct cached *slot = &c->cache[(home + way) % CACHE_SLOTS];
		if (slot->stmt && strcmp(slot->sql, sql) == 0)
			e = slot;
		else if (!slot->stmt && !free_slot)
			free_slot = slot;
	}
	if (!e) {
		/* every way taken: the home slot's statement makes room */
		e = free_slot ? free_slot : &c->cache[home];
		if (prepare_new(c, sql, e, err) != 0)
			return -1;
	}
	sqlite3_stmt *stmt = e->stmt;
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	for (int i = 0; i < nparams; i++) {
		int idx = param_index(e, i);
		if (idx == 0)
			continue;
		int rc = SQLITE_OK;
		if (params[i].type == PT_V_INT)
			rc = sqlite3_bind_int64(stmt, idx, params[i].i);
		else if (params[i].type == PT_V_TEXT)
			rc = sqlite3_bind_text(stmt, idx, params[i].s, -1, SQLITE_STATIC);
		else
			rc = sqlite3_bind_null(stmt, idx);
		if (rc != SQLITE_OK)
			return fail(c, rc, err);
	}
	*out = e;
	return 0;
}

/* The id an INSERT ... RETURNING id would have returned, as its one-row result. */
static int rowid_result(conn *c, pt_arena *arena, pt_rows *out, pt_err *err)
{
	*out = (pt_rows){.ncols = 1};
	if (sqlite3_changes64(c->db) == 0)
		return 0;
	out->cells = pt_arena_alloc(arena, sizeof(char *));
	if (!out->cells || !(out->cells[0] = pt_arena_printf(
	                         arena, "%lld", (long long)sqlite3_last_insert_rowid(c->db))))
		return pt_err_oom(err);
	out->nrows = 1;
	return 0;
}

static int sq_query(void *p, pt_arena *arena, const char *sql, const pt_val *params, int nparams,
                    pt_rows *out, pt_err *err)
{
	conn *c = p;
	struct cached *e;
	if (prepare(c, sql, params, nparams, &e, err) != 0)
		return -1;
	sqlite3_stmt *stmt = e->stmt;
	int ncols = sqlite3_column_count(stmt), cap = 0, nrows = 0, rc;
	char **cells = NULL;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (nrows == cap) {
			cap = cap ? cap * 2 : 8;
			char **grown =
			    pt_arena_alloc(arena, sizeof(char *) * (size_t)(cap * ncols + 1));
			if (!grown) {
				sqlite3_reset(stmt);
				return pt_err_oom(err);
			}
			if (cells)
				memcpy(grown, cells, sizeof(char *) * (size_t)(nrows * ncols));
			cells = grown;
		}
		for (int col = 0; col < ncols; col++) {
			char *v = NULL;
			if (sqlite3_column_type(stmt, col) != SQLITE_NULL) {
				const unsigned char *t = sqlite3_column_text(stmt, col);
				v = t ? pt_arena_strndup(arena, (const char *)t,
				                         (size_t)sqlite3_column_bytes(stmt, col))
				      : NULL;
				if (!v) {
					sqlite3_reset(stmt);
					return pt_err_oom(err);
				}
			}
			cells[nrows * ncols + col] = v;
		}
		nrows++;
	}
	if (rc != SQLITE_DONE) {
		fail(c, rc, err);
		sqlite3_reset(stmt);
		return -1;
	}
	sqlite3_reset(stmt);
	if (e->returns_rowid)
		return rowid_result(c, arena, out, err);
	out->nrows = nrows;
	out->ncols = ncols;
	out->cells = cells;
	return 0;
}

static int sq_exec(void *p, const char *sql, const pt_val *params, int nparams, int64_t *changes,
                   pt_err *err)
{
	conn *c = p;
	struct cached *e;
	if (prepare(c, sql, params, nparams, &e, err) != 0)
		return -1;
	sqlite3_stmt *stmt = e->stmt;
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE) {
		fail(c, rc, err);
		sqlite3_reset(stmt);
		return -1;
	}
	if (changes)
		*changes = sqlite3_changes64(c->db);
	sqlite3_reset(stmt);
	return 0;
}

static int sq_exec_script(void *p, const char *sql, pt_err *err)
{
	return simple(p, sql, err);
}

/* Copies through SQLite's backup API in one step: in WAL mode it reads one snapshot and
 * writers go on meanwhile (in steps of a few hundred pages, every write started the copy
 * again, and under a steady load it never ended). */
static int sq_backup(void *p, const char *target, const char *part_path, pt_err *err)
{
	(void)target;
	conn *c = p;
	sqlite3 *dest = NULL;
	int rc =
	    sqlite3_open_v2(part_path, &dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	sqlite3_backup *b =
	    rc == SQLITE_OK ? sqlite3_backup_init(dest, "main", c->db, "main") : NULL;
	if (b) {
		do {
			rc = sqlite3_backup_step(b, -1);
			if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
				sqlite3_sleep(5);
		} while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
		sqlite3_backup_finish(b);
	}
	if (rc == SQLITE_DONE)
		rc = sqlite3_exec(dest, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		pt_err_set(err, PT_UNAVAILABLE, NULL, "backup failed: %s", "备份失败：%s",
		           dest ? sqlite3_errmsg(dest) : sqlite3_errstr(rc));
		sqlite3_close(dest);
		return -1;
	}
	return sqlite3_close(dest) == SQLITE_OK
	           ? 0
	           : pt_err_set(err, PT_UNAVAILABLE, NULL, "backup failed", "备份失败");
}

/* True when no other connection (a running server) has the database open. */
static bool unused(const char *path)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
	if (rc == SQLITE_CANTOPEN) {
		sqlite3_close(db);
		return true; /* nothing there yet */
	}
	rc = rc == SQLITE_OK ? sqlite3_exec(db,
	                                    "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE; "
	                                    "COMMIT",
	                                    NULL, NULL, NULL)
	                     : rc;
	sqlite3_close(db);
	return rc == SQLITE_OK;
}

/* A copy is put in place only when SQLite finds it whole: integrity_check answers "ok". */
static int sq_restore(const char *target, const char *copy_path, pt_err *err)
{
	if (!unused(target)) {
		unlink(copy_path);
		return pt_err_set(err, PT_CONFLICT, "db",
		                  "%s is in use: stop patron serve before restoring over it",
		                  "%s 正在使用中：请先停止 patron serve 再恢复", target);
	}
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_open_v2(copy_path, &db, SQLITE_OPEN_READWRITE, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL);
	bool whole = rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
	             strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
	sqlite3_finalize(st);
	/* The copy takes the server's journal mode, and no -wal of its own is left behind. */
	if (whole)
		whole = sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) == SQLITE_OK;
	sqlite3_close(db);
	if (!whole) {
		unlink(copy_path);
		return pt_err_set(err, PT_INVALID_ARGUMENT, NULL,
		                  "the backup is not a whole SQLite database; nothing was replaced",
		                  "备份不是完整的 SQLite 数据库；未替换任何数据");
	}
	return pt_db_replace_file(copy_path, target, err);
}

const pt_db_driver pt_db_sqlite_driver = {
    .kind = PT_DB_SQLITE,
    .open = sq_open,
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .commit_unsynced = sq_commit_unsynced,
    .rollback = sq_rollback,
    .exec = sq_exec,
    .query = sq_query,
    .exec_script = sq_exec_script,
    .backup = sq_backup,
    .restore = sq_restore,
};
