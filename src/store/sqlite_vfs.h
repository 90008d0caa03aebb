#ifndef PT_STORE_SQLITE_VFS_H
#define PT_STORE_SQLITE_VFS_H

#include <sqlite3.h>
#include <stdbool.h>

#define PT_SQLITE_GATHER_VFS "patron-gather"

/* Registers (once; not thread-safe: call under the driver's one-time set-up) the VFS that
 * gathers a commit's WAL writes into one, and returns its name, or NULL if it could not. */
const char *pt_sqlite_gather_vfs(void);

/* On the calling thread: while on, a sync of a WAL file that was synced once before writes
 * out what was gathered but leaves the flush to disk owed. Turning it off returns the
 * descriptor to fdatasync for the syncs owed meanwhile (it stays open while the connection
 * does), or -1 when none is. For a commit whose caller flushes before telling anyone. */
int pt_sqlite_gather_defer_syncs(bool on);

#endif
