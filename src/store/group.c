/* SQLite group commit (pt_db_group_commit): the write transactions of a serving process run
 * one after another on a single writer connection, each in a savepoint of an open batch
 * transaction, and a batch commits as one. Three threads share the work:
 *
 * - The writer runs the queued requests back to back (no lock passes from thread to thread
 *   between them) and commits the open batch when the syncer is free and the queue is empty,
 *   or the batch is large or old. Its commit writes the batch to the WAL and leaves the flush
 *   to disk to the syncer.
 * - The syncer flushes the WAL (fdatasync) and only then answers the batch's requests; while
 *   it waits on the disk, the writer already runs the next batch. So a request is answered
 *   only once all it wrote is on disk, and the disk's wait is no longer a pause for every
 *   writer. Other connections may read a committed batch a moment before its flush ends, as
 *   with SQLite's own synchronous=NORMAL; nobody is told it is done before then.
 * - The checkpointer copies committed pages from the WAL into the database file beside them:
 *   SQLite's automatic checkpoint would run inside a commit, with every request waiting. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/db_internal.h"
#include "store/sqlite_map.h"
#include "util/log.h"

/* A request's write transaction, from its queueing until its batch is on disk. It lives on
 * the requesting thread's stack, which waits for done. */
typedef struct job {
	struct job *next;
	pt_db *db;
	pt_db_tx_fn fn;
	void *ctx;
	pt_err *err;
	int rc;
	bool done;
	pthread_cond_t answered;
} job;

typedef struct {
	job *head, *tail;
	int n;
} job_list;

/* Past this size or age a batch commits as soon as the syncer is free, even with requests
 * waiting: latency stays bounded under a steady stream of them. Larger batches share more
 * pages (5 ms: about 19 checkouts a batch on the 100k set, 73 KB written each, against 11
 * and 80 KB at 2 ms). */
enum { GROUP_MAX_REQUESTS = 256, GROUP_MAX_AGE_NS = 5 * 1000 * 1000 };

/* A checkpoint once the WAL holds this many batches, and at least this often while it
 * holds any. */
enum { CHECKPOINT_EVERY_BATCHES = 200, CHECKPOINT_EVERY_MS = 500 };

/* Past this much resident through the server's mappings of files, its page tables let go
 * of the database pages it read through its mapping of the file (store/sqlite_map.h), so its
 * resident size falls back once a load has passed rather than counting every page it ever
 * read. Not more than once a minute: every page touched after it is faulted in again, and at
 * every checkpoint round (half a second) that cost about a quarter of the lookups at
 * 1,000,000 members. */
#define MAPPED_RESIDENT_MAX ((int64_t)128 * 1024 * 1024)
#define MAPPED_TRIM_GAP_NS  ((int64_t)60 * 1000000000)

/* The writer's page cache: only it writes, so what it caches stays valid between batches,
 * and a batch's random member and index pages are read once instead of again from the OS. */
#define WRITER_CACHE_PRAGMA "PRAGMA cache_size = -32768"
/* A WAL that grew (a long reader held the checkpoints back) is cut back when it rewinds. */
#define WAL_SIZE_LIMIT_PRAGMA "PRAGMA journal_size_limit = 67108864"

struct pt_group {
	pthread_mutex_t lock;
	pt_db *writer;
	/* The writer's */
	pthread_cond_t work; /* a request was queued, or the syncer became free */
	job_list queue;      /* waiting to run */
	job_list open;       /* ran in the open batch, not committed yet */
	bool in_tx;          /* the batch transaction is open (only the writer touches it) */
	int64_t opened_ns;
	/* The syncer's */
	pthread_cond_t to_sync;
	job_list syncing; /* committed, being flushed */
	int sync_fd;      /* what to flush for it; -1 when its commit flushed by itself */
	bool sync_busy;
	bool flush_failed;         /* until a checkpoint has put all of the WAL into the database */
	int64_t batches, requests; /* committed, for /metrics */
	/* The checkpointer's */
	pthread_cond_t wal_grew;
	int64_t checkpointed;      /* batches committed when the last checkpoint began */
	int64_t checkpointed_done; /* the same, once that checkpoint finished */
	int64_t checkpoints;
	bool finish_checkpoint; /* the writer copies the last few frames after its next commit */
};

static pt_group *the_group;

static int64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void append(job_list *l, job *j)
{
	j->next = NULL;
	if (l->tail)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
	l->n++;
}

static job *pop(job_list *l)
{
	job *j = l->head;
	l->head = j->next;
	if (!l->head)
		l->tail = NULL;
	l->n--;
	return j;
}

static void unavailable(pt_err *err)
{
	pt_err_set(err, PT_UNAVAILABLE, NULL, "the database could not save this change; try again",
	           "数据库未能保存此更改，请重试");
}

/* Tells every request of l its outcome; when the batch failed, each is answered 503 (what it
 * wrote is gone, or may not be on disk). Called with the lock held. */
static void answer(job_list *l, bool failed)
{
	for (job *j = l->head, *next; j; j = next) {
		next = j->next;
		if (failed) {
			j->rc = -1;
			unavailable(j->err);
		}
		j->done = true;
		pthread_cond_signal(&j->answered);
	}
	*l = (job_list){0};
}

pt_group *pt_group_for(const char *target)
{
	return the_group && strcmp(the_group->writer->target, target) == 0 ? the_group : NULL;
}

int pt_group_tx(pt_db *db, pt_db_tx_fn fn, void *ctx, pt_err *err)
{
	pt_group *g = db->group;
	job me = {.db = db, .fn = fn, .ctx = ctx, .err = err};
	pthread_cond_init(&me.answered, NULL);
	pthread_mutex_lock(&g->lock);
	append(&g->queue, &me);
	pthread_cond_signal(&g->work);
	while (!me.done)
		pthread_cond_wait(&me.answered, &g->lock);
	pthread_mutex_unlock(&g->lock);
	pthread_cond_destroy(&me.answered);
	return me.rc;
}

typedef enum { RAN, REFUSED_ALONE, BATCH_LOST } run_outcome;

/* On the writer, without the lock: runs j in a savepoint of the open batch (beginning one if
 * needed) on behalf of j's connection. A savepoint that cannot be released or rolled back
 * to (a failing disk rolls back the whole transaction) takes the batch with it. */
static run_outcome run(pt_group *g, job *j)
{
	pt_db *db = j->db;
	if (!g->in_tx) {
		if (pt_db_begin(g->writer, true, j->err) != 0) {
			pt_db_rollback(g->writer);
			j->rc = -1;
			return REFUSED_ALONE;
		}
		g->in_tx = true;
		g->opened_ns = monotonic_ns();
	}
	void *own = db->conn;
	db->conn = g->writer->conn;
	bool lost = false;
	j->rc = pt_db_exec(db, "SAVEPOINT request", NULL, 0, NULL, j->err);
	if (j->rc == 0) {
		db->tx_depth = 1;
		j->rc = j->fn(db, j->ctx, j->err);
		db->tx_depth = 0;
		pt_err ignored = {0};
		if (j->rc != 0)
			lost = pt_db_exec(db, "ROLLBACK TO request", NULL, 0, NULL, &ignored) != 0;
		if (!lost)
			lost = pt_db_exec(db, "RELEASE request", NULL, 0, NULL, &ignored) != 0;
	} else {
		lost = true;
	}
	db->conn = own;
	return lost ? BATCH_LOST : RAN;
}

/* After a flush that failed, the WAL may have a hole where that batch's frames should be
 * on disk, and recovery after a crash would stop at it, losing every later batch with it. So
 * until a checkpoint has copied the whole WAL into the database file and flushed that, no
 * batch counts as saved. */
static int checkpoint_whole(pt_group *g)
{
	pt_err err = {0};
	pt_rows r;
	pt_arena *a = pt_arena_new();
	int rc = a ? pt_db_query(g->writer, a, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, 0, &r, &err)
	           : -1;
	/* busy, frames in the WAL, frames copied: all copied once the first is 0 */
	if (rc == 0 && (r.nrows != 1 || pt_rows_int(&r, 0, 0) != 0))
		rc = -1;
	pt_arena_free(a);
	if (rc != 0)
		pt_log_error("msg=\"the WAL is not yet all in the database after a failed flush\"");
	return rc;
}

/* On the writer, without the lock: commits the open batch, writing it to the WAL; *sync_fd
 * is what the syncer must flush before anyone is told. */
static int commit(pt_group *g, int *sync_fd, int requests, bool after_failed_flush)
{
	pt_err err = {0};
	g->in_tx = false;
	*sync_fd = -1;
	if (g->writer->driver->commit_unsynced(g->writer->conn, sync_fd, &err) != 0) {
		pt_db_rollback(g->writer);
		pt_log_error("msg=\"group commit failed\" requests=%d error=\"%s\"", requests,
		             err.msg_en);
		return -1;
	}
	return after_failed_flush ? checkpoint_whole(g) : 0;
}

static bool batch_due(const pt_group *g)
{
	return g->open.n > 0 && !g->sync_busy &&
	       (!g->queue.head || g->open.n >= GROUP_MAX_REQUESTS ||
	        monotonic_ns() - g->opened_ns >= GROUP_MAX_AGE_NS);
}

static void *writer_main(void *arg)
{
	pt_group *g = arg;
	pthread_mutex_lock(&g->lock);
	for (;;) {
		if (batch_due(g)) {
			job_list batch = g->open;
			g->open = (job_list){0};
			bool finish = g->finish_checkpoint, failed_before = g->flush_failed;
			g->finish_checkpoint = false;
			pthread_mutex_unlock(&g->lock);
			int fd;
			int rc = commit(g, &fd, batch.n, failed_before);
			if (rc == 0 && finish)
				pt_db_checkpoint(g->writer);
			pthread_mutex_lock(&g->lock);
			if (rc != 0) {
				answer(&batch, true);
				continue;
			}
			g->flush_failed = false;
			g->batches++;
			g->requests += batch.n;
			if (g->batches - g->checkpointed == CHECKPOINT_EVERY_BATCHES)
				pthread_cond_signal(&g->wal_grew);
			g->syncing = batch;
			g->sync_fd = fd;
			g->sync_busy = true;
			pthread_cond_signal(&g->to_sync);
			continue;
		}
		if (g->queue.head && g->open.n < GROUP_MAX_REQUESTS) {
			job *j = pop(&g->queue);
			pthread_mutex_unlock(&g->lock);
			run_outcome how = run(g, j);
			if (how == BATCH_LOST) {
				pt_db_rollback(g->writer);
				g->in_tx = false;
			}
			pthread_mutex_lock(&g->lock);
			if (how == REFUSED_ALONE) {
				j->done = true;
				pthread_cond_signal(&j->answered);
				continue;
			}
			append(&g->open, j);
			if (how == BATCH_LOST)
				answer(&g->open, true);
			continue;
		}
		pthread_cond_wait(&g->work, &g->lock);
	}
	return NULL;
}

static void *syncer_main(void *arg)
{
	pt_group *g = arg;
	pthread_mutex_lock(&g->lock);
	for (;;) {
		while (!g->sync_busy)
			pthread_cond_wait(&g->to_sync, &g->lock);
		int fd = g->sync_fd;
		pthread_mutex_unlock(&g->lock);
		bool failed = fd >= 0 && fdatasync(fd) != 0;
		if (failed)
			pt_log_error("msg=\"the WAL could not be flushed to disk\" error=\"%s\"",
			             strerror(errno));
		pthread_mutex_lock(&g->lock);
		answer(&g->syncing, failed);
		g->flush_failed = g->flush_failed || failed;
		g->sync_busy = false;
		pthread_cond_signal(&g->work);
	}
	return NULL;
}

/* Busy (a reader still on older pages) is fine: the next round copies the rest. */
void pt_db_checkpoint(pt_db *db)
{
	pt_err err = {0};
	if (pt_db_exec(db, "PRAGMA wal_checkpoint(PASSIVE)", NULL, 0, NULL, &err) != 0)
		pt_log_warn("msg=\"checkpoint failed\" error=\"%s\"", err.msg_en);
}

/* Checkpoints beside the writer, on a connection of its own. A passive checkpoint never
 * blocks the writer; pages changed by many batches are copied once.
 *
 * The WAL starts again from its beginning only when a write transaction begins with every
 * frame copied, which a checkpoint racing the writer never sees. So after each pass the
 * writer, once its next batch has committed, copies the few frames written meanwhile itself
 * (finish_checkpoint): its next batch then rewinds the WAL, which stays a few megabytes. */
static void *checkpointer_main(void *arg)
{
	pt_group *g = arg;
	pt_db *db = NULL;
	pt_err err = {0};
	if (pt_db_open(&db, g->writer->target, &err) != 0) {
		pt_log_error("msg=\"checkpointer cannot open the database\" error=\"%s\"",
		             err.msg_en);
		return NULL;
	}
	/* Without it the writer's finishing checkpoint flushes what the passes copied. */
	int db_fd = open(pt_db_file_of(g->writer->target), O_RDONLY | O_CLOEXEC);
	if (db_fd < 0)
		pt_log_warn("msg=\"checkpointer cannot open the database file to flush it\" "
		            "error=\"%s\"",
		            strerror(errno));
	int64_t trimmed_at = monotonic_ns() - MAPPED_TRIM_GAP_NS;
	pthread_mutex_lock(&g->lock);
	for (;;) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += (long)CHECKPOINT_EVERY_MS * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		while (g->batches - g->checkpointed < CHECKPOINT_EVERY_BATCHES &&
		       pthread_cond_timedwait(&g->wal_grew, &g->lock, &until) == 0)
			;
		/* Without the lock: the writer and the syncer need it between batches. */
		pthread_mutex_unlock(&g->lock);
		if (monotonic_ns() - trimmed_at >= MAPPED_TRIM_GAP_NS &&
		    pt_sqlite_map_trim_past(MAPPED_RESIDENT_MAX))
			trimmed_at = monotonic_ns();
		pthread_mutex_lock(&g->lock);
		if (g->batches == g->checkpointed)
			continue;
		int64_t upto = g->checkpointed = g->batches;
		pthread_mutex_unlock(&g->lock);
		/* A checkpoint racing the writer never reaches the WAL's end, so SQLite leaves
		 * what it copied unflushed, for the writer's finishing checkpoint to flush all at
		 * once: a tenth of a second with every request waiting. So each pass is flushed
		 * here, beside the writer (any descriptor of the file flushes all of it), and the
		 * second pass copies what the writer added during the first: the writer is left a
		 * few frames to copy and flush. */
		for (int pass = 0; pass < 2; pass++) {
			pt_db_checkpoint(db);
			if (db_fd >= 0 && fdatasync(db_fd) != 0)
				pt_log_warn(
				    "msg=\"flushing checkpointed pages failed\" error=\"%s\"",
				    strerror(errno));
		}
		pthread_mutex_lock(&g->lock);
		g->checkpoints++;
		g->checkpointed_done = upto;
		g->finish_checkpoint = true;
	}
	return NULL;
}

/* Named, so that top -H and perf tell them apart. */
static int start(void *(*main)(void *), pt_group *g, const char *name)
{
	pthread_t t;
	if (pthread_create(&t, NULL, main, g) != 0)
		return -1;
	pthread_setname_np(t, name);
	pthread_detach(t);
	return 0;
}

int pt_db_group_commit(const char *url, pt_err *err)
{
	if (!pt_db_file_of(url) || the_group)
		return 0;
	pt_group *g = calloc(1, sizeof(*g));
	if (!g)
		return pt_err_oom(err);
	if (pt_db_open(&g->writer, url, err) != 0) {
		free(g);
		return -1;
	}
	if (pt_db_exec(g->writer, WRITER_CACHE_PRAGMA, NULL, 0, NULL, err) != 0 ||
	    pt_db_exec(g->writer, "PRAGMA wal_autocheckpoint = 0", NULL, 0, NULL, err) != 0 ||
	    pt_db_exec(g->writer, WAL_SIZE_LIMIT_PRAGMA, NULL, 0, NULL, err) != 0) {
		pt_db_close(g->writer);
		free(g);
		return -1;
	}
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->work, NULL);
	pthread_cond_init(&g->to_sync, NULL);
	pthread_cond_init(&g->wal_grew, NULL);
	if (start(writer_main, g, "db-writer") != 0 || start(syncer_main, g, "db-syncer") != 0 ||
	    start(checkpointer_main, g, "db-checkpointer") != 0) {
		/* A thread that did start holds g: it is left, as the group would be. */
		return pt_err_set(err, PT_INTERNAL, NULL, "cannot start the group commit threads",
		                  "无法启动批量提交线程");
	}
	the_group = g;
	return 0;
}

void pt_db_group_stats(pt_db_group_counts *out)
{
	*out = (pt_db_group_counts){0};
	if (!the_group)
		return;
	pthread_mutex_lock(&the_group->lock);
	*out = (pt_db_group_counts){.batches = the_group->batches,
	                            .requests = the_group->requests,
	                            .checkpoints = the_group->checkpoints,
	                            .checkpointed = the_group->checkpointed_done};
	pthread_mutex_unlock(&the_group->lock);
}
