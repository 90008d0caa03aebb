#ifndef PT_SERVICE_BACKUP_H
#define PT_SERVICE_BACKUP_H

#include "store/db.h"

/* patron backup OUT: the database copied online (pt_db_backup), and OUT.sha256 beside it in
 * sha256sum's format, so the copy can be verified before anyone relies on it. sha256_hex
 * receives the 64 hex digits. */
int pt_svc_backup(pt_db *db, const char *path, char sha256_hex[65], pt_err *err);

#endif
