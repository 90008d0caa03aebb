#include "service/backup.h"

#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int file_sha256(const char *path, char hex[65], pt_err *err)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return pt_err_set(err, PT_UNAVAILABLE, NULL, "cannot read %s", "无法读取 %s", path);
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	unsigned char buf[1 << 16], digest[crypto_hash_sha256_BYTES];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		crypto_hash_sha256_update(&st, buf, n);
	int bad = ferror(f);
	fclose(f);
	if (bad)
		return pt_err_set(err, PT_UNAVAILABLE, NULL, "cannot read %s", "无法读取 %s", path);
	crypto_hash_sha256_final(&st, digest);
	sodium_bin2hex(hex, 65, digest, sizeof(digest));
	return 0;
}

int pt_svc_backup(pt_db *db, const char *path, char sha256_hex[65], pt_err *err)
{
	if (pt_db_backup(db, path, err) != 0 || file_sha256(path, sha256_hex, err) != 0)
		return -1;
	size_t n = strlen(path);
	char *sum = malloc(n + 12), *tmp = malloc(n + 16), *base = strdup(path);
	int rc = -1;
	if (!sum || !tmp || !base) {
		pt_err_oom(err);
		goto out;
	}
	snprintf(sum, n + 12, "%s.sha256", path);
	snprintf(tmp, n + 16, "%s.sha256.part", path);
	FILE *f = fopen(tmp, "w");
	bool written = f && fprintf(f, "%s  %s\n", sha256_hex, basename(base)) >= 0;
	if (f && fclose(f) != 0)
		written = false;
	if (!written || rename(tmp, sum) != 0) {
		pt_err_set(err, PT_UNAVAILABLE, NULL, "cannot write %s", "无法写入 %s", sum);
		goto out;
	}
	rc = 0;
out:
	free(sum);
	free(tmp);
	free(base);
	return rc;
}
