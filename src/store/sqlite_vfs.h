#ifndef PT_STORE_SQLITE_VFS_H
#define PT_STORE_SQLITE_VFS_H

#include <sqlite3.h>

#define PT_SQLITE_GATHER_VFS "patron-gather"

/* Registers (once; not thread-safe: call under the driver's one-time set-up) the VFS that
 * gathers a commit's WAL writes into one, and returns its name, or NULL if it could not. */
const char *pt_sqlite_gather_vfs(void);

#endif
