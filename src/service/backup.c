#include "service/backup.h"

#include <dirent.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "service/setup.h"
#include "store/repo.h"
#include "util/clock.h"
#include "util/keys.h"

enum { CHUNK = 64 * 1024 };
#define MAGIC "PATRONBK1 "

typedef crypto_secretstream_xchacha20poly1305_state stream;

static int io_error(pt_err *err, const char *path)
{
	return pt_err_set(err, PT_UNAVAILABLE, NULL, "cannot read or write %s", "无法读写 %s",
	                  path);
}

static int file_sha256(const char *path, char hex[65], pt_err *err)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return io_error(err, path);
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	unsigned char buf[CHUNK], digest[crypto_hash_sha256_BYTES];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		crypto_hash_sha256_update(&st, buf, n);
	int bad = ferror(f);
	fclose(f);
	if (bad)
		return io_error(err, path);
	crypto_hash_sha256_final(&st, digest);
	sodium_bin2hex(hex, 65, digest, sizeof(digest));
	return 0;
}

static char *with_suffix(const char *path, const char *suffix)
{
	size_t n = strlen(path) + strlen(suffix) + 1;
	char *s = malloc(n);
	if (s)
		snprintf(s, n, "%s%s", path, suffix);
	return s;
}

/* Encrypts plain into out: the magic line with the key id, the stream header, the chunks. */
static int encrypt_file(const char *plain, const char *out, pt_err *err)
{
	unsigned char key[32], header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
	char id[16];
	if (pt_keys_backup_key(NULL, key, id, err) != 0)
		return -1;
	FILE *in = fopen(plain, "rb"), *o = fopen(out, "wb");
	unsigned char *buf = malloc(CHUNK),
	              *cbuf = malloc(CHUNK + crypto_secretstream_xchacha20poly1305_ABYTES);
	stream st;
	crypto_secretstream_xchacha20poly1305_init_push(&st, header, key);
	sodium_memzero(key, sizeof(key));
	bool ok = buf && cbuf && in && o && fprintf(o, MAGIC "%s\n", id) > 0 &&
	          fwrite(header, 1, sizeof(header), o) == sizeof(header);
	for (bool last = false; ok && !last;) {
		size_t n = fread(buf, 1, CHUNK, in);
		last = n < CHUNK; /* a file of whole chunks ends with an empty final one */
		unsigned long long clen;
		crypto_secretstream_xchacha20poly1305_push(
		    &st, cbuf, &clen, buf, n, NULL, 0,
		    last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
		ok = !ferror(in) && fwrite(cbuf, 1, (size_t)clen, o) == clen;
	}
	free(buf);
	free(cbuf);
	if (in)
		fclose(in);
	if (o && (fflush(o) != 0 || fsync(fileno(o)) != 0))
		ok = false;
	if (o && fclose(o) != 0)
		ok = false;
	return ok ? 0 : io_error(err, out);
}

/* Decrypts an encrypted backup into out; refuses a wrong key, a changed byte, a cut file. */
static int decrypt_file(FILE *in, const char *out, pt_err *err)
{
	char line[64];
	if (!fgets(line, sizeof(line), in) || strncmp(line, MAGIC, strlen(MAGIC)) != 0)
		return pt_err_set(err, PT_INVALID_ARGUMENT, NULL, "not a Patron backup",
		                  "不是 Patron 备份文件");
	line[strcspn(line, "\n")] = '\0';
	unsigned char key[32], header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
	char id[16];
	if (pt_keys_backup_key(line + strlen(MAGIC), key, id, err) != 0)
		return -1;
	stream st;
	bool ok = fread(header, 1, sizeof(header), in) == sizeof(header) &&
	          crypto_secretstream_xchacha20poly1305_init_pull(&st, header, key) == 0;
	sodium_memzero(key, sizeof(key));
	FILE *o = fopen(out, "wb");
	unsigned char *cbuf = malloc(CHUNK + crypto_secretstream_xchacha20poly1305_ABYTES),
	              *buf = malloc(CHUNK), tag = 0;
	ok = ok && buf && cbuf;
	while (ok && o && tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
		size_t n = fread(cbuf, 1, CHUNK + crypto_secretstream_xchacha20poly1305_ABYTES, in);
		unsigned long long plen;
		ok = n > 0 &&
		     crypto_secretstream_xchacha20poly1305_pull(&st, buf, &plen, &tag, cbuf, n,
		                                                NULL, 0) == 0 &&
		     fwrite(buf, 1, (size_t)plen, o) == plen;
	}
	free(buf);
	free(cbuf);
	if (ok && fgetc(in) != EOF)
		ok = false; /* bytes after the final chunk */
	if (o && fclose(o) != 0)
		ok = false;
	if (!o)
		return io_error(err, out);
	if (!ok) {
		unlink(out);
		return pt_err_set(
		    err, PT_INVALID_ARGUMENT, NULL,
		    "the backup does not decrypt whole (changed, cut short or another "
		    "key file); nothing was replaced",
		    "备份无法完整解密（被改动、被截断或密钥文件不符）；未替换任何数据");
	}
	return 0;
}

static int write_sum(const char *path, const char *hex, pt_err *err)
{
	char *sum = with_suffix(path, ".sha256"), *tmp = with_suffix(path, ".sha256.part"),
	     *base = strdup(path);
	int rc = -1;
	if (!sum || !tmp || !base) {
		pt_err_oom(err);
	} else {
		FILE *f = fopen(tmp, "w");
		bool written = f && fprintf(f, "%s  %s\n", hex, basename(base)) >= 0;
		if (f && (fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0))
			written = false;
		rc = written && rename(tmp, sum) == 0 ? 0 : io_error(err, sum);
	}
	free(sum);
	free(tmp);
	free(base);
	return rc;
}

/* A database patron init made: a backup of anything else, or a restore of it, is refused. */
static int patron_database(pt_db *db, const char *what, pt_err *err)
{
	pt_arena *a = pt_arena_new();
	int version = 0, latest = 0;
	pt_err ignored = {0};
	int rc = a ? pt_repo_schema_version(db, a, &version, &latest, &ignored) : -1;
	pt_arena_free(a);
	if (rc != 0 || version < 1)
		return pt_err_set(err, PT_INVALID_ARGUMENT, NULL,
		                  "%s is not a Patron database (no schema: was patron init run?)",
		                  "%s 不是 Patron 数据库（没有表结构：是否运行过 patron init？）",
		                  what);
	return 0;
}

/* A backup is written to a new file only, in a directory that exists: never over the
 * database, its WAL or an older backup. */
static int new_file(const char *path, pt_err *err)
{
	struct stat st;
	if (lstat(path, &st) == 0)
		return pt_err_set(
		    err, PT_CONFLICT, NULL,
		    "%s already exists: a backup never writes over a file; choose a new "
		    "name",
		    "%s 已存在：备份不会覆盖已有文件；请换一个文件名", path);
	char *copy = strdup(path);
	if (!copy)
		return pt_err_oom(err);
	const char *dir = dirname(copy);
	int rc = stat(dir, &st) == 0 && S_ISDIR(st.st_mode)
	             ? 0
	             : pt_err_set(err, PT_INVALID_ARGUMENT, NULL,
	                          "the directory %s does not exist: create it first",
	                          "目录 %s 不存在：请先创建", dir);
	free(copy);
	return rc;
}

int pt_svc_backup(pt_db *db, const char *path, bool encrypt, char sha256_hex[65], pt_err *err)
{
	if (new_file(path, err) != 0 || patron_database(db, "the database", err) != 0)
		return -1;
	char *plain = encrypt ? with_suffix(path, ".plain") : NULL;
	if (encrypt && !plain)
		return pt_err_oom(err);
	int rc = pt_db_backup(db, encrypt ? plain : path, err);
	if (rc == 0 && encrypt)
		rc = encrypt_file(plain, path, err);
	if (plain) {
		unlink(plain);
		free(plain);
	}
	if (rc == 0)
		rc = file_sha256(path, sha256_hex, err);
	return rc ? rc : write_sum(path, sha256_hex, err);
}

static int verify_sum(const char *in, pt_err *err)
{
	char *sum = with_suffix(in, ".sha256");
	if (!sum)
		return pt_err_oom(err);
	FILE *f = fopen(sum, "r");
	char want[80] = "", have[65];
	bool read = f && fscanf(f, "%64s", want) == 1;
	if (f)
		fclose(f);
	free(sum);
	if (!read)
		return pt_err_set(
		    err, PT_INVALID_ARGUMENT, NULL,
		    "%s.sha256 is missing or unreadable: the backup cannot be verified",
		    "%s.sha256 缺失或无法读取：无法校验备份", in);
	if (file_sha256(in, have, err) != 0)
		return -1;
	if (strcmp(want, have) != 0)
		return pt_err_set(
		    err, PT_INVALID_ARGUMENT, NULL,
		    "%s does not match its checksum: it is damaged or incomplete; nothing "
		    "was replaced",
		    "%s 与校验和不符：文件已损坏或不完整；未替换任何数据", in);
	return 0;
}

static int check_db(pt_db *db, const char *what, FILE *report, long *problems, pt_err *err)
{
	if (patron_database(db, what, err) != 0 || pt_repo_migrate(db, err) != 0 ||
	    pt_svc_check(db, report, problems, err) != 0)
		return -1;
	if (*problems)
		return pt_err_set(err, PT_INVALID_ARGUMENT, NULL,
		                  "%s does not pass patron check (%ld problem(s), above)",
		                  "%s 未通过 patron check（%ld 个问题，见上）", what, *problems);
	return 0;
}

/* A SQLite backup is checked whole, as patron check does (migrated first, when an older
 * version made it), before it replaces anything. */
static int check_copy(const char *copy, FILE *report, long *problems, pt_err *err)
{
	char *url = malloc(strlen(copy) + sizeof("sqlite:"));
	if (!url)
		return pt_err_oom(err);
	sprintf(url, "sqlite:%s", copy);
	pt_db *db = NULL;
	int rc = pt_db_open(&db, url, err);
	if (rc == 0)
		rc = check_db(db, "the backup", report, problems, err);
	pt_db_close(db);
	free(url);
	if (rc != 0) {
		char why[sizeof(err->msg_en)];
		snprintf(why, sizeof(why), "%s", err->msg_en);
		pt_err_set(err, PT_INVALID_ARGUMENT, NULL, "%s; nothing was replaced",
		           "%s；未替换任何数据", why);
	}
	return rc;
}

/* PostgreSQL loads into an empty database: there it is checked after loading. */
static int check_restored(const char *db_url, FILE *report, long *problems, pt_err *err)
{
	pt_db *db = NULL;
	int rc = pt_db_open(&db, db_url, err);
	if (rc == 0)
		rc = check_db(db, "the restored database", report, problems, err);
	pt_db_close(db);
	return rc;
}

int pt_svc_restore(const char *db_url, const char *in, FILE *report, long *problems, pt_err *err)
{
	*problems = 0;
	struct stat st;
	if (stat(in, &st) != 0 || !S_ISREG(st.st_mode))
		return pt_err_set(err, PT_INVALID_ARGUMENT, NULL,
		                  "%s is not a backup file (missing, or not a regular file)",
		                  "%s 不是备份文件（不存在，或不是普通文件）", in);
	if (verify_sum(in, err) != 0)
		return -1;
	FILE *f = fopen(in, "rb");
	if (!f)
		return io_error(err, in);
	char magic[sizeof(MAGIC)] = "";
	bool encrypted = fread(magic, 1, strlen(MAGIC), f) == strlen(MAGIC) &&
	                 memcmp(magic, MAGIC, strlen(MAGIC)) == 0;
	rewind(f);
	/* The copy is made beside a SQLite database, so putting it in place is a rename. */
	const char *file = pt_db_file_of(db_url);
	char *copy = NULL;
	if (file) {
		copy = with_suffix(file, ".restoring");
	} else {
		copy = strdup("/tmp/patron-restore-XXXXXX");
		int fd = copy ? mkstemp(copy) : -1;
		if (fd >= 0)
			close(fd);
	}
	int rc = copy ? 0 : pt_err_oom(err);
	if (rc == 0 && encrypted) {
		rc = decrypt_file(f, copy, err);
	} else if (rc == 0) {
		FILE *o = fopen(copy, "wb");
		unsigned char *buf = malloc(CHUNK);
		size_t n;
		bool ok = o && buf;
		while (ok && (n = fread(buf, 1, CHUNK, f)) > 0)
			ok = fwrite(buf, 1, n, o) == n;
		free(buf);
		if (o && fclose(o) != 0)
			ok = false;
		rc = ok && !ferror(f) ? 0 : io_error(err, copy);
	}
	fclose(f);
	if (rc == 0 && file)
		rc = check_copy(copy, report, problems, err);
	if (rc == 0)
		rc = pt_db_restore(db_url, copy, err);
	else if (copy)
		unlink(copy);
	free(copy);
	if (rc == 0 && !file)
		rc = check_restored(db_url, report, problems, err);
	return rc;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int is_scheduled(const struct dirent *e)
{
	size_t n = strlen(e->d_name);
	return strncmp(e->d_name, "patron-", 7) == 0 &&
	       ((n > 3 && strcmp(e->d_name + n - 3, ".db") == 0) ||
	        (n > 4 && strcmp(e->d_name + n - 4, ".sql") == 0));
}

int pt_svc_backup_scheduled(pt_db *db, const char *dir, int keep, bool encrypt, char **written,
                            pt_err *err)
{
	time_t now = (time_t)(pt_clock_real_ms() / 1000);
	struct tm tm;
	gmtime_r(&now, &tm);
	char stamp[32], hex[65];
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	size_t n = strlen(dir) + 48;
	char *path = malloc(n);
	if (!path)
		return pt_err_oom(err);
	snprintf(path, n, "%s/patron-%s.%s", dir, stamp,
	         pt_db_kind_of(db) == PT_DB_SQLITE ? "db" : "sql");
	if (pt_svc_backup(db, path, encrypt, hex, err) != 0) {
		free(path);
		return -1;
	}
	*written = path;
	struct dirent **names;
	int count = scandir(dir, &names, is_scheduled, by_name);
	for (int i = 0; i < count; i++) {
		if (i < count - keep) {
			char *old = malloc(strlen(dir) + strlen(names[i]->d_name) + 2), *sum;
			if (old) {
				sprintf(old, "%s/%s", dir, names[i]->d_name);
				unlink(old);
				if ((sum = with_suffix(old, ".sha256")) != NULL)
					unlink(sum);
				free(sum);
				free(old);
			}
		}
		free(names[i]);
	}
	if (count >= 0)
		free(names);
	return 0;
}
