#ifndef PT_DB_H
#define PT_DB_H

#include <stdbool.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/err.h"

/* The one database interface, with a SQLite and a PostgreSQL driver behind it.
 *
 * SQL is written once, in the dialect both share, with $1..$n placeholders. Results are
 * copied into the caller's arena, so a result outlives the statement that made it and needs
 * no freeing. Every function returns 0 on success and -1 with err set on failure:
 *   PT_CONFLICT      a unique constraint was violated; err->field names the column
 *   PT_UNAVAILABLE   the database cannot be reached, or is busy past the timeout
 *   PT_INTERNAL      anything else (a bug or a broken database)
 * err->retry is set for serialization failures and deadlocks: the whole transaction may be
 * run again, which pt_db_tx does. */

typedef struct pt_db pt_db;

typedef enum { PT_DB_SQLITE, PT_DB_POSTGRES } pt_db_kind;

typedef enum { PT_V_NULL, PT_V_INT, PT_V_TEXT } pt_val_type;

typedef struct {
	pt_val_type type;
	int64_t i;
	const char *s;
} pt_val;

#define PT_INT(v)  ((pt_val){.type = PT_V_INT, .i = (int64_t)(v)})
#define PT_TEXT(v) ((pt_val){.type = (v) ? PT_V_TEXT : PT_V_NULL, .s = (v)})
#define PT_NULLV   ((pt_val){.type = PT_V_NULL})

typedef struct {
	int nrows, ncols;
	/* cells[row * ncols + col]: NULL for SQL NULL, else text (integers in decimal). */
	char **cells;
} pt_rows;

/* url: "sqlite:PATH" (or a bare path) or "postgresql://..." / "postgres://...". */
int pt_db_open(pt_db **out, const char *url, pt_err *err);
void pt_db_close(pt_db *db);
pt_db_kind pt_db_kind_of(const pt_db *db);
/* What the connection opened: a file path, or a PostgreSQL URL. */
const char *pt_db_target(const pt_db *db);
/* True inside a running pt_db_tx (a new one would join it). */
bool pt_db_in_tx(const pt_db *db);

/* write: the transaction will write (SQLite takes the write lock at BEGIN). */
int pt_db_begin(pt_db *db, bool write, pt_err *err);
int pt_db_commit(pt_db *db, pt_err *err);
void pt_db_rollback(pt_db *db);

/* changes (may be NULL) receives the number of rows changed. */
int pt_db_exec(pt_db *db, const char *sql, const pt_val *params, int nparams, int64_t *changes,
               pt_err *err);
int pt_db_query(pt_db *db, pt_arena *arena, const char *sql, const pt_val *params, int nparams,
                pt_rows *out, pt_err *err);
/* Runs a script of several statements without parameters (migrations). */
int pt_db_exec_script(pt_db *db, const char *sql, pt_err *err);

const char *pt_rows_get(const pt_rows *r, int row, int col);
int64_t pt_rows_int(const pt_rows *r, int row, int col);
/* The first column of every row as integers, into the arena (ids of a batch). */
int pt_rows_ids(pt_arena *a, const pt_rows *r, int64_t **ids, int *n, pt_err *err);

/* Runs fn inside one transaction and commits; rolls back on failure and runs it again, a
 * bounded number of times, when the failure is retryable. fn returns 0 or -1 with err set.
 * Called inside fn (or any running pt_db_tx), it runs fn2 in the same transaction. */
typedef int (*pt_db_tx_fn)(pt_db *db, void *ctx, pt_err *err);
int pt_db_tx(pt_db *db, bool write, pt_db_tx_fn fn, void *ctx, pt_err *err);

/* Inside a running transaction: runs fn in a savepoint of it. When fn fails, only what fn
 * did is undone and its error returned; the transaction carries on. */
int pt_db_savepoint(pt_db *db, pt_db_tx_fn fn, void *ctx, pt_err *err);

/* Readies a connection for loading much data in large transactions (the benchmark's dataset):
 * on SQLite a 256 MB page cache, so a transaction's changed pages are written once at commit
 * instead of spilling again and again. Nothing to do on PostgreSQL. */
int pt_db_bulk_load(pt_db *db, pt_err *err);

/* Group commit for a SQLite database in one serving process: from now on every connection
 * opened to url runs its write transactions on one shared writer connection, each inside a
 * savepoint of a batch transaction (a failing one rolls back alone), and pt_db_tx returns
 * only once the batch holding it has committed. Concurrent writers share one fsync instead
 * of taking one each. Does nothing for PostgreSQL, whose connections commit side by side. */
int pt_db_group_commit(const char *url, pt_err *err);
typedef struct {
	int64_t batches;      /* committed so far */
	int64_t requests;     /* write transactions those batches held */
	int64_t checkpoints;  /* checkpoints run beside the writer */
	int64_t checkpointed; /* batches committed before the last finished checkpoint began */
} pt_db_group_counts;
void pt_db_group_stats(pt_db_group_counts *out);

/* An online, consistent copy of the whole database, written to path.part, flushed and then
 * renamed to path: SQLite's backup API (a database file), or pg_dump's plain SQL for
 * PostgreSQL. Writers carry on meanwhile. */
int pt_db_backup(pt_db *db, const char *path, pt_err *err);

/* Puts a verified plain copy (what pt_db_backup wrote, at copy_path) in place of the database
 * at url, atomically: SQLite checks the copy's integrity and renames it over the database
 * file (copy_path must be on the same file system); PostgreSQL loads the dump with psql in
 * one transaction into a database that has no Patron tables yet. copy_path is consumed. */
int pt_db_restore(const char *url, const char *copy_path, pt_err *err);
/* Where a restore should write its copy of url: beside a SQLite file, else NULL (anywhere). */
const char *pt_db_file_of(const char *url);

/* For drivers: copy_path flushed and renamed over path (whose -wal and -shm files go first),
 * then the directory flushed, so the swap survives a crash. */
int pt_db_replace_file(const char *copy_path, const char *path, pt_err *err);

/* Driver interface: each driver fills one of these. */
typedef struct {
	pt_db_kind kind;
	int (*open)(void **conn, const char *target, pt_err *err);
	void (*close)(void *conn);
	int (*begin)(void *conn, bool write, pt_err *err);
	int (*commit)(void *conn, pt_err *err);
	/* A commit whose flush to disk is left to the caller: *sync_fd is a descriptor to
	 * fdatasync before the commit is durable, or -1 when it flushed by itself. SQLite's,
	 * for its group commit; NULL for PostgreSQL. */
	int (*commit_unsynced)(void *conn, int *sync_fd, pt_err *err);
	void (*rollback)(void *conn);
	int (*exec)(void *conn, const char *sql, const pt_val *params, int nparams,
	            int64_t *changes, pt_err *err);
	int (*query)(void *conn, pt_arena *arena, const char *sql, const pt_val *params,
	             int nparams, pt_rows *out, pt_err *err);
	int (*exec_script)(void *conn, const char *sql, pt_err *err);
	/* Writes the copy to part_path; target is what open was given. */
	int (*backup)(void *conn, const char *target, const char *part_path, pt_err *err);
	int (*restore)(const char *target, const char *copy_path, pt_err *err);
} pt_db_driver;

extern const pt_db_driver pt_db_sqlite_driver;
extern const pt_db_driver pt_db_postgres_driver;

#endif
