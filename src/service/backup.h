#ifndef PT_SERVICE_BACKUP_H
#define PT_SERVICE_BACKUP_H

#include <stdbool.h>
#include <stdio.h>

#include "store/db.h"

/* Backups. A plain backup is the database's own copy (a SQLite file, or pg_dump's SQL); an
 * encrypted one is the line "PATRONBK1 <key id>" and then that copy as a libsodium
 * secretstream (XChaCha20-Poly1305) in 64 KiB chunks, the last tagged final, under a key
 * derived from the key file. OUT.sha256 beside either holds its SHA-256 in sha256sum's
 * format. */

/* patron backup OUT: an online copy while the server runs. sha256_hex gets 64 hex digits. */
int pt_svc_backup(pt_db *db, const char *path, bool encrypt, char sha256_hex[65], pt_err *err);

/* patron restore IN: IN must match IN.sha256, decrypt whole (with the key file it was made
 * under) and be a Patron database that passes patron check (its report to report); then
 * pt_db_restore puts it in place of the database at db_url. Nothing is replaced when any
 * check fails. On PostgreSQL, which loads into an empty database, the check follows the
 * load. */
int pt_svc_restore(const char *db_url, const char *in, FILE *report, long *problems, pt_err *err);

/* serve's scheduled backup: dir/patron-YYYYMMDDTHHMMSSZ.db (.sql for PostgreSQL), then the
 * oldest of them beyond keep are removed. *written gets the new file's path (malloc'd). */
int pt_svc_backup_scheduled(pt_db *db, const char *dir, int keep, bool encrypt, char **written,
                            pt_err *err);

#endif
