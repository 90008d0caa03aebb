#ifndef PT_KEYS_H
#define PT_KEYS_H

#include <stdbool.h>

#include "util/arena.h"
#include "util/err.h"

/* The keys that protect personal data at rest, from a key file kept outside the database
 * (mode 0600). Each line is one key: "<id> <64 hex: encryption key> <64 hex: index key>"; the
 * first is current, older ones stay so data and backups written under them remain readable.
 * Values are sealed with XChaCha20-Poly1305 as "pk1.<id>.<base64>"; exact lookups use keyed
 * BLAKE2b hashes (blind indexes) under the oldest key's index key, so they survive rotation. */

/* Loads path; creates it with a new key when it is missing and create is set. */
int pt_keys_load(const char *path, bool create, pt_err *err);
bool pt_keys_loaded(void);
/* The key file that goes with a database URL when none is named: PATH.key beside a SQLite
 * file, ./patron.key otherwise. */
void pt_keys_default_path(const char *db_url, char *out, int size);

/* Seals plaintext (NULL stays NULL); purpose binds the value to its column. */
char *pt_keys_seal(pt_arena *a, const char *purpose, const char *plaintext);
/* Opens a sealed value; a value that is not sealed comes back as it is. NULL on tampering or
 * an unknown key. */
char *pt_keys_open(pt_arena *a, const char *purpose, const char *sealed);
/* The blind index of value for purpose, as 64 hex characters. */
char *pt_keys_index(pt_arena *a, const char *purpose, const char *value);

/* The key that encrypts backups, derived from the current key (id NULL; its id is written to
 * id_out) or from the key named id: so a backup stays readable while its key is in the file. */
int pt_keys_backup_key(const char *id, unsigned char out[32], char id_out[16], pt_err *err);

/* Adds a new current key to the file (keeping the old ones) and loads it. */
int pt_keys_rotate(const char *path, pt_err *err);

#endif
