/* What the store's generic parts share: a connection handle, and the group commit that
 * SQLite connections of a serving process write through (group.c). */
#ifndef PT_STORE_DB_INTERNAL_H
#define PT_STORE_DB_INTERNAL_H

#include "store/db.h"

typedef struct pt_group pt_group;

struct pt_db {
	const pt_db_driver *driver;
	void *conn;      /* while the group's writer runs this connection's transaction, its own */
	int tx_depth;    /* pt_db_tx calls inside a running transaction join it */
	char *target;    /* what the driver opened: a file path or a PostgreSQL URL */
	pt_group *group; /* write transactions go through it, when set */
};

/* The group that serves target's writes, or NULL. */
pt_group *pt_group_for(const char *target);

/* Runs fn on the group's writer, in a savepoint of the open batch, and returns once the
 * batch is on disk (or failed). */
int pt_group_tx(pt_db *db, pt_db_tx_fn fn, void *ctx, pt_err *err);

/* Copies committed WAL frames into the database file without waiting for anyone. */
void pt_db_checkpoint(pt_db *db);

#endif
