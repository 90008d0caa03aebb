/* The process's one mapping of a database file (store/sqlite_map.h) and the VFS that reads
 * through it: bytes are handed out only where the file has them, connections see each
 * other's commits through it, and no connection's locks are lost to it. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/sqlite_map.h"
#include "store/sqlite_vfs.h"

static void temp_path(char *path, size_t n)
{
	snprintf(path, n, "/tmp/patron-test-map-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	unlink(path);
}

static void remove_db(const char *path)
{
	char other[128];
	unlink(path);
	snprintf(other, sizeof(other), "%s-wal", path);
	unlink(other);
	snprintf(other, sizeof(other), "%s-shm", path);
	unlink(other);
}

static void test_bytes_only_where_the_file_has_them(void **state)
{
	(void)state;
	char path[64];
	temp_path(path, sizeof(path));
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	char page[1024];
	memset(page, 'a', sizeof(page));
	assert_int_equal(pwrite(fd, page, sizeof(page), 0), (ssize_t)sizeof(page));

	pt_sqlite_map *m = pt_sqlite_map_open(fd);
	assert_non_null(m);
	assert_ptr_equal(pt_sqlite_map_open(fd), m); /* one mapping per file */
	pt_sqlite_map_close(m);

	unsigned char *first = pt_sqlite_map_bytes(m, fd, 0, 1024);
	assert_non_null(first);
	assert_int_equal(first[1023], 'a');
	assert_null(pt_sqlite_map_bytes(m, fd, 1024, 1024));
	assert_null(pt_sqlite_map_bytes(m, fd, 512, 1024));
	assert_null(pt_sqlite_map_bytes(m, fd, -1, 1));

	/* The file grows into the mapping: the new page is handed out, as the file has it. */
	memset(page, 'b', sizeof(page));
	assert_int_equal(pwrite(fd, page, sizeof(page), 1024), (ssize_t)sizeof(page));
	unsigned char *second = pt_sqlite_map_bytes(m, fd, 1024, 1024);
	assert_non_null(second);
	assert_int_equal(second[0], 'b');
	assert_ptr_equal(second, first + 1024);

	/* Let go of by the page tables, the pages are still there to read. */
	assert_false(pt_sqlite_map_trim_past(INT64_MAX));
	assert_true(pt_sqlite_map_trim_past(0));
	assert_int_equal(first[1023], 'a');
	assert_int_equal(second[1023], 'b');

	/* Cut back: nothing past the new end. */
	pt_sqlite_map_truncated(m, 1024);
	assert_int_equal(ftruncate(fd, 1024), 0);
	assert_null(pt_sqlite_map_bytes(m, fd, 1024, 1024));
	assert_non_null(pt_sqlite_map_bytes(m, fd, 0, 1024));

	pt_sqlite_map_close(m);
	close(fd);
	unlink(path);
}

static sqlite3 *open_conn(const char *path)
{
	sqlite3 *db = NULL;
	const char *vfs = pt_sqlite_gather_vfs();
	assert_non_null(vfs);
	assert_int_equal(
	    sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	                              "PRAGMA page_size=1024; PRAGMA journal_mode=WAL; "
	                              "PRAGMA synchronous=FULL; PRAGMA mmap_size=1073741824; "
	                              "PRAGMA wal_autocheckpoint=0;",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	return db;
}

static int64_t scalar(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Rows written by one connection and copied into the growing file by a checkpoint are read
 * by another through the mapping; later changes, still in the WAL, win over the file. */
static void test_connections_read_each_others_commits(void **state)
{
	(void)state;
	char path[64];
	temp_path(path, sizeof(path));
	sqlite3 *writer = open_conn(path);
	sqlite3 *reader = open_conn(path);
	assert_int_equal(sqlite3_exec(writer,
	                              "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL);"
	                              "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
	                              "FROM n WHERE i < 5000) INSERT INTO t SELECT i, "
	                              "printf('%0200d', i) FROM n;",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	assert_int_equal(scalar(reader, "SELECT count(*) FROM t"), 5000);
	assert_int_equal(sqlite3_exec(writer, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL),
	                 SQLITE_OK);
	assert_int_equal(scalar(reader, "SELECT sum(length(v)) FROM t"), 5000 * 200);
	assert_int_equal(
	    sqlite3_exec(writer, "UPDATE t SET v = 'x' WHERE id % 2 = 0", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(scalar(reader, "SELECT sum(length(v)) FROM t"), 2500 * 200 + 2500);
	assert_int_equal(sqlite3_exec(writer, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL),
	                 SQLITE_OK);
	assert_int_equal(scalar(reader, "SELECT sum(length(v)) FROM t WHERE id > 4000"),
	                 500 * 200 + 500);
	sqlite3_close(reader);
	sqlite3_close(writer);
	remove_db(path);
}

/* Reads the table as another process would, with SQLite's own VFS, and closes: the way
 * `sqlite3` or a second `patron` meets a database that a server has open. */
static int passer_by(const char *path)
{
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		return 1;
	sqlite3_stmt *st = NULL;
	int rows = -1;
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		rows = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return sqlite3_close(db) == SQLITE_OK && rows == 2 ? 0 : 1;
}

/* Opening a second connection must not take the first one's locks away: closing any
 * descriptor of a file drops all of a process's POSIX locks on it, after which another
 * process closing the database believes it is the last, checkpoints and deletes the WAL
 * under connections that are still in it. */
static void test_no_connection_loses_its_locks(void **state)
{
	(void)state;
	char path[64], wal[80];
	temp_path(path, sizeof(path));
	snprintf(wal, sizeof(wal), "%s-wal", path);
	sqlite3 *writer = open_conn(path);
	assert_int_equal(sqlite3_exec(writer,
	                              "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);"
	                              "INSERT INTO t VALUES (1, 'one'), (2, 'two');",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	/* The writer holds its lock on the file now; the reader comes later, as a server's
	 * connections do. */
	sqlite3 *reader = open_conn(path);
	assert_int_equal(scalar(reader, "SELECT count(*) FROM t"), 2);

	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		execl("/proc/self/exe", "test_sqlite_map", "--passer-by", path, (char *)NULL);
		_exit(127);
	}
	int status = 0;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	assert_int_equal(access(wal, F_OK), 0);
	assert_int_equal(
	    sqlite3_exec(writer, "INSERT INTO t VALUES (3, 'three')", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(scalar(reader, "SELECT count(*) FROM t"), 3);
	sqlite3_close(reader);
	sqlite3_close(writer);
	remove_db(path);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--passer-by") == 0)
		return passer_by(argv[2]);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bytes_only_where_the_file_has_them),
	    cmocka_unit_test(test_connections_read_each_others_commits),
	    cmocka_unit_test(test_no_connection_loses_its_locks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
