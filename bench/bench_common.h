/* What the benchmark's in-process tools share: opening a database `patron init` made, with its
 * key file beside it, and reporting. */
#ifndef PT_BENCH_COMMON_H
#define PT_BENCH_COMMON_H

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "store/db.h"
#include "util/err.h"
#include "util/keys.h"

static inline int bench_usage(const char *usage)
{
	fprintf(stderr, "usage: %s\n", usage);
	return 2;
}

static inline int bench_fail(const pt_err *err)
{
	fprintf(stderr, "bench: %s\n", err->msg_en);
	return 1;
}

static inline double bench_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline pt_db *bench_open(const char *url, pt_err *err)
{
	char key_path[1100];
	const char *named = getenv("PATRON_KEY_FILE");
	if (named && *named)
		snprintf(key_path, sizeof(key_path), "%s", named);
	else
		pt_keys_default_path(url, key_path, sizeof(key_path));
	pt_db *db;
	if (sodium_init() < 0) {
		pt_err_set(err, PT_INTERNAL, NULL, "libsodium did not start", "libsodium 未能启动");
		return NULL;
	}
	if (pt_db_open(&db, url, err) != 0)
		return NULL;
	if (pt_keys_load(key_path, false, err) != 0) {
		pt_db_close(db);
		return NULL;
	}
	return db;
}

#endif
