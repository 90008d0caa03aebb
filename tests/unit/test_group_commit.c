/* SQLite group commit (pt_db_group_commit): many threads writing at once, each through its
 * own connection. Every transaction that succeeded is there once, after pt_db_tx returned, as
 * read by another connection; every one that failed left nothing, whatever its batch did;
 * and the writes shared commits, whose flushes to disk the writer leaves to the syncer. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/db.h"
#include "store/db_internal.h"

enum { THREADS = 16, PER_THREAD = 150 };

static char url[96];

typedef struct {
	int thread, i;
} row;

static int insert(pt_db *db, void *arg, pt_err *err)
{
	row *r = arg;
	pt_val p[] = {PT_INT(r->thread), PT_INT(r->i)};
	if (pt_db_exec(db, "INSERT INTO t (thread, i) VALUES ($1, $2)", p, 2, NULL, err) != 0)
		return -1;
	/* One in seven changes its mind after writing: only its own row must go. */
	if (r->i % 7 == 3)
		return pt_err_set(err, PT_INVALID_ARGUMENT, NULL, "refused", "拒绝");
	return 0;
}

static void *writer(void *arg)
{
	int thread = (int)(intptr_t)arg;
	pt_err err = {0};
	pt_db *db, *reader;
	if (pt_db_open(&db, url, &err) != 0 || pt_db_open(&reader, url, &err) != 0)
		return (void *)(intptr_t)-1;
	pt_arena *a = pt_arena_new();
	intptr_t bad = 0;
	for (int i = 0; i < PER_THREAD; i++) {
		row r = {thread, i};
		int rc = pt_db_tx(db, true, insert, &r, &err);
		if ((rc == 0) != (i % 7 != 3))
			bad++;
		/* Answered means committed: another connection sees it at once. */
		pt_val p[] = {PT_INT(thread), PT_INT(i)};
		pt_rows rows;
		if (pt_db_query(reader, a, "SELECT COUNT(*) FROM t WHERE thread = $1 AND i = $2", p,
		                2, &rows, &err) != 0 ||
		    pt_rows_int(&rows, 0, 0) != (i % 7 != 3 ? 1 : 0))
			bad++;
	}
	pt_arena_free(a);
	pt_db_close(reader);
	pt_db_close(db);
	return (void *)bad;
}

static int insert_blob(pt_db *db, void *arg, pt_err *err)
{
	(void)arg;
	return pt_db_exec(db, "INSERT INTO t (thread, i, pad) VALUES (-1, 0, randomblob(3000))",
	                  NULL, 0, NULL, err);
}

static volatile int streaming;

/* Writes page-sized rows until told to stop; returns how many. */
static void *stream_writer(void *arg)
{
	(void)arg;
	pt_err err = {0};
	pt_db *db;
	intptr_t n = 0;
	if (pt_db_open(&db, url, &err) != 0)
		return (void *)(intptr_t)-1;
	while (streaming)
		if (pt_db_tx(db, true, insert_blob, NULL, &err) == 0)
			n++;
	pt_db_close(db);
	return (void *)n;
}

static off_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_size : -1;
}

static int copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	char buf[65536];
	size_t n;
	int rc = in && out ? 0 : -1;
	while (rc == 0 && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		rc = fwrite(buf, 1, n, out) == n ? 0 : -1;
	if (in)
		fclose(in);
	if (out && fclose(out) != 0)
		rc = -1;
	return rc;
}

static void concurrent_writers_share_commits(void **state)
{
	(void)state;
	char path[] = "/tmp/patron-group-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	snprintf(url, sizeof(url), "sqlite:%s", path);
	pt_err err = {0};
	pt_db *db;
	assert_int_equal(pt_db_open(&db, url, &err), 0);
	assert_int_equal(pt_db_exec(db, "CREATE TABLE t (thread INTEGER, i INTEGER, pad BLOB)",
	                            NULL, 0, NULL, &err),
	                 0);
	assert_int_equal(pt_db_group_commit(url, &err), 0);

	pthread_t threads[THREADS];
	for (int t = 0; t < THREADS; t++)
		assert_int_equal(pthread_create(&threads[t], NULL, writer, (void *)(intptr_t)t), 0);
	for (int t = 0; t < THREADS; t++) {
		void *bad;
		pthread_join(threads[t], &bad);
		assert_int_equal((intptr_t)bad, 0);
	}
	int expected = 0;
	for (int i = 0; i < PER_THREAD; i++)
		expected += i % 7 != 3;
	pt_arena *a = pt_arena_new();
	pt_rows rows;
	assert_int_equal(pt_db_query(db, a,
	                             "SELECT COUNT(*), COUNT(DISTINCT thread * 1000 + i) "
	                             "FROM t",
	                             NULL, 0, &rows, &err),
	                 0);
	assert_int_equal(pt_rows_int(&rows, 0, 0), THREADS * expected);
	assert_int_equal(pt_rows_int(&rows, 0, 1), THREADS * expected);
	pt_db_group_counts g;
	pt_db_group_stats(&g);
	assert_int_equal(g.requests, THREADS * PER_THREAD);
	assert_true(g.batches >= 1);
	assert_true(g.batches < g.requests); /* concurrent writers shared commits */
	printf("%lld write transactions in %lld commits\n", (long long)g.requests,
	       (long long)g.batches);

	/* The checkpointer copies every committed batch into the database file by itself (the
	 * writer's own automatic checkpoint is off): the file alone, without its WAL, holds
	 * every row once it has caught up. */
	for (int waited = 0; waited < 100 && g.checkpointed < g.batches; waited++) {
		usleep(50 * 1000);
		pt_db_group_stats(&g);
	}
	assert_int_equal(g.checkpointed, g.batches);
	assert_true(g.checkpoints >= 1);
	char copy[sizeof(path) + 8], copy_url[sizeof(copy) + 8];
	snprintf(copy, sizeof(copy), "%s-copy", path);
	snprintf(copy_url, sizeof(copy_url), "sqlite:%s", copy);
	assert_int_equal(copy_file(path, copy), 0);
	pt_db *alone;
	assert_int_equal(pt_db_open(&alone, copy_url, &err), 0);
	assert_int_equal(pt_db_query(alone, a, "SELECT COUNT(*) FROM t", NULL, 0, &rows, &err), 0);
	assert_int_equal(pt_rows_int(&rows, 0, 0), THREADS * expected);
	pt_db_close(alone);
	unlink(copy);

	/* Under a steady stream of writes the checkpoints never find the writer idle, yet the
	 * WAL still starts again from its beginning after each one (the writer copies what
	 * the checkpoint missed): it stays far smaller than all that was written. */
	char wal[sizeof(path) + 8];
	snprintf(wal, sizeof(wal), "%s-wal", path);
	off_t wal_before = file_size(wal);
	pthread_t streams[4];
	streaming = 1;
	for (int t = 0; t < 4; t++)
		assert_int_equal(pthread_create(&streams[t], NULL, stream_writer, NULL), 0);
	sleep(3);
	streaming = 0;
	intptr_t written = 0;
	for (int t = 0; t < 4; t++) {
		void *n;
		pthread_join(streams[t], &n);
		assert_true((intptr_t)n >= 0);
		written += (intptr_t)n;
	}
	off_t wal_after = file_size(wal);
	printf("%lld page-sized writes in 3 s; WAL %lld -> %lld bytes\n", (long long)written,
	       (long long)wal_before, (long long)wal_after);
	assert_true(written > 300);
	assert_true(wal_after < (off_t)written * 4096 / 3);
	pt_arena_free(a);
	pt_db_close(db);
	unlink(path);
	char side[sizeof(path) + 8];
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
}

/* The group's writer commits without flushing and its syncer flushes before anyone is told:
 * such a commit leaves a descriptor of the WAL to flush, its rows already in the file (another
 * connection reads them), between plain commits that flush by themselves. */
static void unsynced_commits_leave_the_flush_owed(void **state)
{
	(void)state;
	char path[] = "/tmp/patron-unsynced-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	char db_url[64];
	snprintf(db_url, sizeof(db_url), "sqlite:%s", path);
	pt_err err = {0};
	pt_db *db, *other;
	assert_int_equal(pt_db_open(&db, db_url, &err), 0);
	assert_int_equal(pt_db_open(&other, db_url, &err), 0);
	assert_int_equal(pt_db_exec(db, "CREATE TABLE u (v INTEGER)", NULL, 0, NULL, &err), 0);
	pt_arena *a = pt_arena_new();
	for (int i = 0; i < 3; i++) {
		int owed = 99;
		assert_int_equal(pt_db_begin(db, true, &err), 0);
		assert_int_equal(pt_db_exec(db, "INSERT INTO u VALUES (1)", NULL, 0, NULL, &err),
		                 0);
		if (i == 1) {
			assert_int_equal(pt_db_commit(db, &err), 0);
		} else {
			assert_int_equal(db->driver->commit_unsynced(db->conn, &owed, &err), 0);
			assert_true(owed >= 0);
			assert_int_equal(fdatasync(owed), 0);
		}
		pt_rows r;
		assert_int_equal(pt_db_query(other, a, "SELECT COUNT(*) FROM u", NULL, 0, &r, &err),
		                 0);
		assert_int_equal(pt_rows_int(&r, 0, 0), i + 1);
	}
	pt_arena_free(a);
	pt_db_close(other);
	pt_db_close(db);
	unlink(path);
	char side[sizeof(path) + 8];
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(unsynced_commits_leave_the_flush_owed),
	    cmocka_unit_test(concurrent_writers_share_commits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
