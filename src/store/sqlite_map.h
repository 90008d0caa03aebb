#ifndef PT_STORE_SQLITE_MAP_H
#define PT_STORE_SQLITE_MAP_H

#include <stdbool.h>
#include <stdint.h>

/* One read-only shared mapping of a database file for the whole process, kept for as long
 * as a connection has the file open. SQLite's own memory mapping is per connection and
 * undone whenever another connection has committed (xUnfetch of the whole file), so under a
 * steady stream of sales every reader re-mapped a 2.5 GB file, or, without mapping, read
 * every page it touched again with a system call. A mapping of the file's path is reused by
 * every connection to it and reaches far past the file's end: pages the file grows into are
 * in it already, and only bytes known to be in the file are ever handed out. */
typedef struct pt_sqlite_map pt_sqlite_map;

/* The mapping of the file open as fd, shared with the connections that have it already;
 * NULL when it cannot be made (SQLite then reads the file as it would without one). The
 * descriptor must be SQLite's own: closing any descriptor of a file drops every POSIX lock
 * the process holds on it, SQLite's included, so this module never opens one. */
pt_sqlite_map *pt_sqlite_map_open(int fd);

/* Lets go of the mapping; the last connection to let go unmaps it. */
void pt_sqlite_map_close(pt_sqlite_map *m);

/* The bytes [off, off + amt) of the file, or NULL when they are not all in it; fd (the
 * caller's descriptor of the file) tells its size when it may have grown. */
void *pt_sqlite_map_bytes(pt_sqlite_map *m, int fd, int64_t off, int amt);

/* The file is being cut to size bytes: nothing past it is handed out from now on. */
void pt_sqlite_map_truncated(pt_sqlite_map *m, int64_t size);

/* When more than max bytes of files are resident in the process (its mappings of databases,
 * and also of libraries and WAL indexes: /proc/self/statm's shared pages), lets its page
 * tables go of every database page it has mapped: they stay in the kernel's page cache, and
 * a page touched again is mapped again, but the server's resident size stops growing with
 * every page it has ever read. Safe while other threads read through the mappings. Returns
 * whether it let them go. */
bool pt_sqlite_map_trim_past(int64_t max);

#endif
