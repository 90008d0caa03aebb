/* A VFS over SQLite's default one that gathers the writes a commit makes to the WAL — two
 * per page, a frame header and the page — into one write at the commit's sync: a batch of a
 * hundred checkouts is one system call instead of a few thousand. Database files are read
 * through the process's one mapping of each (store/sqlite_map.h); every other file, and every
 * other call, goes straight to the default VFS.
 *
 * Why it is safe: written frames become visible to other connections only when the commit
 * updates the WAL index, which with synchronous=FULL (every Patron connection) comes after
 * the WAL's sync, and the sync writes out what was gathered first. A connection reading its
 * own WAL, sizing, truncating or closing it writes out first too. A failed write is reported
 * by the sync, so the commit fails as it would have, and what was gathered is dropped: SQLite
 * writes those frames again, at the same offsets, in its next transaction.
 *
 * The group commit's writer defers its commits' flushes (pt_sqlite_gather_defer_syncs): the
 * sync writes out what was gathered, so the frames are in the file before they become
 * visible, and the syncer flushes them (fdatasync on a descriptor of the same file) before
 * any request of the batch is answered. A WAL file's first sync is always done in full: it
 * also makes the file's name durable in its directory. */
#include "store/sqlite_vfs.h"

#include "store/sqlite_map.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Past this much gathered, the frames go out and gathering starts again; a buffer that grew
 * past the second size is given back once written, so an idle server holds little. */
enum { GATHER_MAX = 8 * 1024 * 1024, GATHER_KEEP = 1024 * 1024 };

/* The default VFS writes at most 128 KiB - 1 bytes a call (it masks the length). */
enum { WRITE_MAX = 120 * 1024 };

typedef struct {
	sqlite3_file base;
	sqlite3_file *real; /* the default VFS's file, in the same allocation, after this */
	unsigned char *buf;
	size_t len, cap;
	sqlite3_int64 start; /* the file offset of buf[0] */
	int flush_fd;        /* the same file, for a flush owed (-1: none could be opened) */
	bool synced;         /* once: its later syncs may be deferred */
	pt_sqlite_map *map;  /* a database file's: the process's one mapping of it */
	int db_fd;           /* and the default VFS's descriptor of it */
} gfile;

static _Thread_local bool deferring;
static _Thread_local int owed_fd = -1;

int pt_sqlite_gather_defer_syncs(bool on)
{
	int owed = owed_fd;
	deferring = on;
	owed_fd = -1;
	return owed;
}

static sqlite3_vfs gather_vfs;
static sqlite3_vfs *base_vfs;

static int write_out(gfile *f)
{
	if (f->len == 0)
		return SQLITE_OK;
	int rc = SQLITE_OK;
	for (size_t done = 0; done < f->len && rc == SQLITE_OK; done += WRITE_MAX) {
		size_t n = f->len - done < WRITE_MAX ? f->len - done : WRITE_MAX;
		rc = f->real->pMethods->xWrite(f->real, f->buf + done, (int)n,
		                               f->start + (sqlite3_int64)done);
	}
	f->len = 0;
	if (f->cap > GATHER_KEEP) {
		free(f->buf);
		f->buf = NULL;
		f->cap = 0;
	}
	return rc;
}

static int g_close(sqlite3_file *p)
{
	gfile *f = (gfile *)p;
	int rc = write_out(f);
	free(f->buf);
	if (f->flush_fd >= 0)
		close(f->flush_fd);
	int rc2 = f->real->pMethods ? f->real->pMethods->xClose(f->real) : SQLITE_OK;
	return rc != SQLITE_OK ? rc : rc2;
}

static int g_read(sqlite3_file *p, void *out, int amt, sqlite3_int64 off)
{
	gfile *f = (gfile *)p;
	int rc = write_out(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xRead(f->real, out, amt, off);
}

static int gather(gfile *f, const void *data, size_t amt)
{
	if (f->len + amt > f->cap) {
		size_t cap = f->cap ? f->cap : 64 * 1024;
		while (cap < f->len + amt)
			cap *= 2;
		unsigned char *grown = realloc(f->buf, cap);
		if (!grown)
			return SQLITE_NOMEM;
		f->buf = grown;
		f->cap = cap;
	}
	memcpy(f->buf + f->len, data, amt);
	f->len += amt;
	return SQLITE_OK;
}

static int g_write(sqlite3_file *p, const void *data, int amt, sqlite3_int64 off)
{
	gfile *f = (gfile *)p;
	size_t n = (size_t)amt;
	sqlite3_int64 end = f->start + (sqlite3_int64)f->len;
	/* A frame written again in the same transaction (its page changed twice) lands in
	 * place; the next frame in sequence is appended; anything else writes out first. */
	if (f->len && off >= f->start && off + amt <= end) {
		memcpy(f->buf + (off - f->start), data, n);
		return SQLITE_OK;
	}
	if (f->len && (off != end || f->len + n > GATHER_MAX)) {
		int rc = write_out(f);
		if (rc != SQLITE_OK)
			return rc;
	}
	if (n > WRITE_MAX)
		return f->real->pMethods->xWrite(f->real, data, amt, off);
	if (f->len == 0)
		f->start = off;
	return gather(f, data, n);
}

static int g_truncate(sqlite3_file *p, sqlite3_int64 size)
{
	gfile *f = (gfile *)p;
	int rc = write_out(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int g_sync(sqlite3_file *p, int flags)
{
	gfile *f = (gfile *)p;
	int rc = write_out(f);
	if (rc != SQLITE_OK)
		return rc;
	if (deferring && f->synced && f->flush_fd >= 0) {
		owed_fd = f->flush_fd;
		return SQLITE_OK;
	}
	rc = f->real->pMethods->xSync(f->real, flags);
	if (rc == SQLITE_OK)
		f->synced = true;
	return rc;
}

static int g_file_size(sqlite3_file *p, sqlite3_int64 *size)
{
	gfile *f = (gfile *)p;
	int rc = write_out(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xFileSize(f->real, size);
}

static int g_file_control(sqlite3_file *p, int op, void *arg)
{
	gfile *f = (gfile *)p;
	int rc = write_out(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xFileControl(f->real, op, arg);
}

/* The calls that never touch what was gathered go straight through. */
#define REAL(p) (((gfile *)(p))->real)
static int g_lock(sqlite3_file *p, int l)
{
	return REAL(p)->pMethods->xLock(REAL(p), l);
}
static int g_unlock(sqlite3_file *p, int l)
{
	return REAL(p)->pMethods->xUnlock(REAL(p), l);
}
static int g_check_reserved(sqlite3_file *p, int *out)
{
	return REAL(p)->pMethods->xCheckReservedLock(REAL(p), out);
}
static int g_sector_size(sqlite3_file *p)
{
	return REAL(p)->pMethods->xSectorSize(REAL(p));
}
static int g_device(sqlite3_file *p)
{
	return REAL(p)->pMethods->xDeviceCharacteristics(REAL(p));
}
static int g_shm_map(sqlite3_file *p, int pg, int sz, int extend, void volatile **out)
{
	return REAL(p)->pMethods->xShmMap(REAL(p), pg, sz, extend, out);
}
static int g_shm_lock(sqlite3_file *p, int offset, int n, int flags)
{
	return REAL(p)->pMethods->xShmLock(REAL(p), offset, n, flags);
}
static void g_shm_barrier(sqlite3_file *p)
{
	REAL(p)->pMethods->xShmBarrier(REAL(p));
}
static int g_shm_unmap(sqlite3_file *p, int del)
{
	return REAL(p)->pMethods->xShmUnmap(REAL(p), del);
}
static int g_fetch(sqlite3_file *p, sqlite3_int64 off, int amt, void **out)
{
	return REAL(p)->pMethods->xFetch(REAL(p), off, amt, out);
}
static int g_unfetch(sqlite3_file *p, sqlite3_int64 off, void *page)
{
	return REAL(p)->pMethods->xUnfetch(REAL(p), off, page);
}

static const sqlite3_io_methods gather_methods = {
    .iVersion = 3,
    .xClose = g_close,
    .xRead = g_read,
    .xWrite = g_write,
    .xTruncate = g_truncate,
    .xSync = g_sync,
    .xFileSize = g_file_size,
    .xLock = g_lock,
    .xUnlock = g_unlock,
    .xCheckReservedLock = g_check_reserved,
    .xFileControl = g_file_control,
    .xSectorSize = g_sector_size,
    .xDeviceCharacteristics = g_device,
    .xShmMap = g_shm_map,
    .xShmLock = g_shm_lock,
    .xShmBarrier = g_shm_barrier,
    .xShmUnmap = g_shm_unmap,
    .xFetch = g_fetch,
    .xUnfetch = g_unfetch,
};

/* A database file: everything goes straight through but the memory mapping, which is the
 * process's one mapping of the file (store/sqlite_map.h) and outlives every transaction. */
static int d_close(sqlite3_file *p)
{
	gfile *f = (gfile *)p;
	int rc = f->real->pMethods ? f->real->pMethods->xClose(f->real) : SQLITE_OK;
	pt_sqlite_map_close(f->map);
	return rc;
}
static int d_read(sqlite3_file *p, void *out, int amt, sqlite3_int64 off)
{
	return REAL(p)->pMethods->xRead(REAL(p), out, amt, off);
}
static int d_write(sqlite3_file *p, const void *data, int amt, sqlite3_int64 off)
{
	return REAL(p)->pMethods->xWrite(REAL(p), data, amt, off);
}
static int d_truncate(sqlite3_file *p, sqlite3_int64 size)
{
	if (((gfile *)p)->map)
		pt_sqlite_map_truncated(((gfile *)p)->map, size);
	return REAL(p)->pMethods->xTruncate(REAL(p), size);
}
static int d_sync(sqlite3_file *p, int flags)
{
	return REAL(p)->pMethods->xSync(REAL(p), flags);
}
static int d_file_size(sqlite3_file *p, sqlite3_int64 *size)
{
	return REAL(p)->pMethods->xFileSize(REAL(p), size);
}
/* The mapping is ours: the default VFS is never told to map the file (it would, on its own
 * terms, when SQLite hints at the file's size). */
static int d_file_control(sqlite3_file *p, int op, void *arg)
{
	if (op == SQLITE_FCNTL_MMAP_SIZE)
		return SQLITE_OK;
	return REAL(p)->pMethods->xFileControl(REAL(p), op, arg);
}
static int d_fetch(sqlite3_file *p, sqlite3_int64 off, int amt, void **out)
{
	gfile *f = (gfile *)p;
	*out = f->map ? pt_sqlite_map_bytes(f->map, f->db_fd, off, amt) : NULL;
	return SQLITE_OK;
}
/* Pages stay mapped, and so does the file when SQLite lets go of all of it: that is the
 * point. */
static int d_unfetch(sqlite3_file *p, sqlite3_int64 off, void *page)
{
	(void)p, (void)off, (void)page;
	return SQLITE_OK;
}

static const sqlite3_io_methods db_methods = {
    .iVersion = 3,
    .xClose = d_close,
    .xRead = d_read,
    .xWrite = d_write,
    .xTruncate = d_truncate,
    .xSync = d_sync,
    .xFileSize = d_file_size,
    .xLock = g_lock,
    .xUnlock = g_unlock,
    .xCheckReservedLock = g_check_reserved,
    .xFileControl = d_file_control,
    .xSectorSize = g_sector_size,
    .xDeviceCharacteristics = g_device,
    .xShmMap = g_shm_map,
    .xShmLock = g_shm_lock,
    .xShmBarrier = g_shm_barrier,
    .xShmUnmap = g_shm_unmap,
    .xFetch = d_fetch,
    .xUnfetch = d_unfetch,
};

/* The descriptor of a file the default VFS opened, or -1. The unix VFS's file begins with its
 * methods, its VFS, its inode and its descriptor, as it has since 2010 (os_unix.c); the
 * descriptor is taken only when it is the file at name, so that a build laid out otherwise
 * reads the file without the mapping rather than anything else. */
static int unix_fd(sqlite3_file *real, const char *name)
{
	struct unix_file_head {
		const sqlite3_io_methods *methods;
		sqlite3_vfs *vfs;
		void *inode;
		int fd;
	};
	if (strcmp(base_vfs->zName, "unix") != 0 ||
	    (size_t)base_vfs->szOsFile < sizeof(struct unix_file_head) || !name)
		return -1;
	int fd = ((const struct unix_file_head *)(const void *)real)->fd;
	struct stat at_fd, at_name;
	if (fd < 0 || fstat(fd, &at_fd) != 0 || stat(name, &at_name) != 0 ||
	    at_fd.st_dev != at_name.st_dev || at_fd.st_ino != at_name.st_ino)
		return -1;
	return fd;
}

/* WAL files gather their writes and database files share one mapping; journals and
 * temporary files are the default VFS's own. */
static int g_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *p, int flags, int *out_flags)
{
	(void)vfs;
	bool wal = flags & SQLITE_OPEN_WAL;
	if (!wal && !(flags & SQLITE_OPEN_MAIN_DB))
		return base_vfs->xOpen(base_vfs, name, p, flags, out_flags);
	gfile *f = (gfile *)p;
	memset(f, 0, sizeof(*f));
	f->real = (sqlite3_file *)(f + 1);
	f->flush_fd = -1;
	f->db_fd = -1;
	int rc = base_vfs->xOpen(base_vfs, name, f->real, flags, out_flags);
	if (rc != SQLITE_OK) {
		f->base.pMethods = NULL;
		return rc;
	}
	if (wal) {
		f->flush_fd = name ? open(name, O_RDONLY | O_CLOEXEC) : -1;
		f->base.pMethods = &gather_methods;
	} else {
		f->db_fd = unix_fd(f->real, name);
		f->map = pt_sqlite_map_open(f->db_fd);
		f->base.pMethods = &db_methods;
	}
	return rc;
}

static int g_delete(sqlite3_vfs *v, const char *name, int sync)
{
	(void)v;
	return base_vfs->xDelete(base_vfs, name, sync);
}
static int g_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
	(void)v;
	return base_vfs->xAccess(base_vfs, name, flags, out);
}
static int g_full_path(sqlite3_vfs *v, const char *name, int n, char *out)
{
	(void)v;
	return base_vfs->xFullPathname(base_vfs, name, n, out);
}
static void *g_dl_open(sqlite3_vfs *v, const char *name)
{
	(void)v;
	return base_vfs->xDlOpen(base_vfs, name);
}
static void g_dl_error(sqlite3_vfs *v, int n, char *msg)
{
	(void)v;
	base_vfs->xDlError(base_vfs, n, msg);
}
static void (*g_dl_sym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
	(void)v;
	return base_vfs->xDlSym(base_vfs, h, sym);
}
static void g_dl_close(sqlite3_vfs *v, void *h)
{
	(void)v;
	base_vfs->xDlClose(base_vfs, h);
}
static int g_randomness(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return base_vfs->xRandomness(base_vfs, n, out);
}
static int g_sleep(sqlite3_vfs *v, int us)
{
	(void)v;
	return base_vfs->xSleep(base_vfs, us);
}
static int g_current_time(sqlite3_vfs *v, double *out)
{
	(void)v;
	return base_vfs->xCurrentTime(base_vfs, out);
}
static int g_last_error(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return base_vfs->xGetLastError(base_vfs, n, out);
}
static int g_current_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
	(void)v;
	return base_vfs->xCurrentTimeInt64(base_vfs, out);
}

const char *pt_sqlite_gather_vfs(void)
{
	if (base_vfs)
		return PT_SQLITE_GATHER_VFS;
	sqlite3_vfs *base = sqlite3_vfs_find(NULL);
	if (!base)
		return NULL;
	gather_vfs = (sqlite3_vfs){
	    .iVersion = 2,
	    .szOsFile = (int)sizeof(gfile) + base->szOsFile,
	    .mxPathname = base->mxPathname,
	    .zName = PT_SQLITE_GATHER_VFS,
	    .xOpen = g_open,
	    .xDelete = g_delete,
	    .xAccess = g_access,
	    .xFullPathname = g_full_path,
	    .xDlOpen = g_dl_open,
	    .xDlError = g_dl_error,
	    .xDlSym = g_dl_sym,
	    .xDlClose = g_dl_close,
	    .xRandomness = g_randomness,
	    .xSleep = g_sleep,
	    .xCurrentTime = g_current_time,
	    .xGetLastError = g_last_error,
	    .xCurrentTimeInt64 = g_current_time64,
	};
	if (sqlite3_vfs_register(&gather_vfs, 0) != SQLITE_OK)
		return NULL;
	base_vfs = base;
	return PT_SQLITE_GATHER_VFS;
}
