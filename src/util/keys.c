#include "util/keys.h"

#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { MAX_KEYS = 16, KEYLEN = 32 };

typedef struct {
	char id[16];
	unsigned char enc[KEYLEN], idx[KEYLEN];
} key;

static key ring[MAX_KEYS];
static int nkeys;
static char ring_path[1024];
/* Readers copy a key out under the lock; a rotation by another process is picked up when a
 * value names a key this process has not loaded yet, so serving goes on through a rotation. */
static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;

bool pt_keys_loaded(void)
{
	pthread_mutex_lock(&ring_lock);
	bool loaded = nkeys > 0;
	pthread_mutex_unlock(&ring_lock);
	return loaded;
}

void pt_keys_default_path(const char *db_url, char *out, int size)
{
	if (strncmp(db_url, "postgres", 8) == 0)
		snprintf(out, (size_t)size, "patron.key");
	else
		snprintf(out, (size_t)size, "%s.key",
		         strncmp(db_url, "sqlite:", 7) == 0 ? db_url + 7 : db_url);
}

static void new_key(key *k, int serial)
{
	snprintf(k->id, sizeof(k->id), "k%d", serial);
	randombytes_buf(k->enc, KEYLEN);
	randombytes_buf(k->idx, KEYLEN);
}

static int write_ring(const char *path, const key *keys, int n, pt_err *err)
{
	char tmp[1100];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		return pt_err_set(err, PT_UNAVAILABLE, "key_file", "cannot write key file %s",
		                  "无法写入密钥文件 %s", path);
	}
	for (int i = 0; i < n; i++) {
		char enc[KEYLEN * 2 + 1], idx[KEYLEN * 2 + 1];
		sodium_bin2hex(enc, sizeof(enc), keys[i].enc, KEYLEN);
		sodium_bin2hex(idx, sizeof(idx), keys[i].idx, KEYLEN);
		fprintf(f, "%s %s %s\n", keys[i].id, enc, idx);
		sodium_memzero(enc, sizeof(enc));
		sodium_memzero(idx, sizeof(idx));
	}
	bool ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, path) != 0)
		return pt_err_set(err, PT_UNAVAILABLE, "key_file", "cannot write key file %s",
		                  "无法写入密钥文件 %s", path);
	return 0;
}

static int load_locked(const char *path, bool create, pt_err *err)
{
	FILE *f = fopen(path, "r");
	if (!f && create) {
		key k;
		new_key(&k, 1);
		if (write_ring(path, &k, 1, err) != 0)
			return -1;
		f = fopen(path, "r");
	}
	if (!f)
		return pt_err_set(
		    err, PT_UNAVAILABLE, "key_file",
		    "cannot read key file %s (it protects members' personal data; "
		    "name it with --key-file)",
		    "无法读取密钥文件 %s（用于保护会员个人数据；请用 --key-file 指定）", path);
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
		fchmod(fileno(f), 0600);
	char line[256];
	key loaded[MAX_KEYS];
	int n = 0;
	while (n < MAX_KEYS && fgets(line, sizeof(line), f)) {
		char id[16], enc[80], idx[80];
		if (sscanf(line, "%15s %79s %79s", id, enc, idx) != 3)
			continue;
		key *k = &loaded[n];
		size_t n1 = 0, n2 = 0;
		if (sodium_hex2bin(k->enc, KEYLEN, enc, strlen(enc), NULL, &n1, NULL) != 0 ||
		    sodium_hex2bin(k->idx, KEYLEN, idx, strlen(idx), NULL, &n2, NULL) != 0 ||
		    n1 != KEYLEN || n2 != KEYLEN)
			continue;
		snprintf(k->id, sizeof(k->id), "%s", id);
		n++;
		sodium_memzero(line, sizeof(line));
	}
	fclose(f);
	if (n > 0) {
		memcpy(ring, loaded, sizeof(key) * (size_t)n);
		nkeys = n;
	}
	sodium_memzero(loaded, sizeof(loaded));
	if (n == 0)
		return pt_err_set(err, PT_UNAVAILABLE, "key_file", "key file %s holds no key",
		                  "密钥文件 %s 中没有密钥", path);
	snprintf(ring_path, sizeof(ring_path), "%s", path);
	return 0;
}

int pt_keys_load(const char *path, bool create, pt_err *err)
{
	pthread_mutex_lock(&ring_lock);
	int rc = load_locked(path, create, err);
	pthread_mutex_unlock(&ring_lock);
	return rc;
}

int pt_keys_rotate(const char *path, pt_err *err)
{
	key next[MAX_KEYS];
	int serial = 1;
	for (int i = 0; i < nkeys; i++) {
		int s = 0;
		if (sscanf(ring[i].id, "k%d", &s) == 1 && s >= serial)
			serial = s + 1;
	}
	if (nkeys == MAX_KEYS)
		return pt_err_set(err, PT_CONFLICT, "key_file",
		                  "the key file holds %d keys already", "密钥文件已有 %d 个密钥",
		                  MAX_KEYS);
	new_key(&next[0], serial);
	memcpy(next + 1, ring, sizeof(key) * (size_t)nkeys);
	if (write_ring(path, next, nkeys + 1, err) != 0)
		return -1;
	/* The index key stays the oldest key's, so blind indexes survive rotations. */
	return pt_keys_load(path, false, err);
}

char *pt_keys_seal(pt_arena *a, const char *purpose, const char *plaintext)
{
	if (!plaintext || !pt_keys_loaded())
		return plaintext ? pt_arena_strdup(a, plaintext) : NULL;
	key current;
	pthread_mutex_lock(&ring_lock);
	current = ring[0];
	pthread_mutex_unlock(&ring_lock);
	size_t n = strlen(plaintext);
	size_t len = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + n +
	             crypto_aead_xchacha20poly1305_ietf_ABYTES;
	unsigned char *buf = pt_arena_alloc(a, len);
	if (!buf)
		return NULL;
	randombytes_buf(buf, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	unsigned long long clen;
	crypto_aead_xchacha20poly1305_ietf_encrypt(
	    buf + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &clen,
	    (const unsigned char *)plaintext, n, (const unsigned char *)purpose, strlen(purpose),
	    NULL, buf, current.enc);
	size_t b64 = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *out = pt_arena_alloc(a, b64 + strlen(current.id) + 8);
	sodium_memzero(&current.idx, sizeof(current.idx));
	if (!out)
		return NULL;
	int k = sprintf(out, "pk1.%s.", current.id);
	sodium_bin2base64(out + k, b64, buf, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return out;
}

char *pt_keys_open(pt_arena *a, const char *purpose, const char *sealed)
{
	if (!sealed || strncmp(sealed, "pk1.", 4) != 0)
		return sealed ? pt_arena_strdup(a, sealed) : NULL;
	const char *id = sealed + 4, *dot = strchr(id, '.');
	if (!dot)
		return NULL;
	key found;
	const key *k = NULL;
	pthread_mutex_lock(&ring_lock);
	for (int attempt = 0; attempt < 2 && !k; attempt++) {
		for (int i = 0; i < nkeys && !k; i++)
			if (strlen(ring[i].id) == (size_t)(dot - id) &&
			    strncmp(ring[i].id, id, (size_t)(dot - id)) == 0)
				k = &ring[i];
		pt_err ignore;
		if (!k && attempt == 0 && ring_path[0])
			load_locked(ring_path, false, &ignore);
	}
	if (k) {
		found = *k;
		k = &found;
	}
	pthread_mutex_unlock(&ring_lock);
	size_t max = strlen(dot + 1), len = 0;
	unsigned char *buf = pt_arena_alloc(a, max + 1);
	if (!k || !buf ||
	    sodium_base642bin(buf, max, dot + 1, max, NULL, &len, NULL,
	                      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    len < crypto_aead_xchacha20poly1305_ietf_NPUBBYTES +
	              crypto_aead_xchacha20poly1305_ietf_ABYTES)
		return NULL;
	char *out = pt_arena_alloc(a, len + 1);
	unsigned long long plen;
	bool opened =
	    out && crypto_aead_xchacha20poly1305_ietf_decrypt(
	               (unsigned char *)out, &plen, NULL,
	               buf + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
	               len - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
	               (const unsigned char *)purpose, strlen(purpose), buf, found.enc) == 0;
	sodium_memzero(&found, sizeof(found));
	if (!opened)
		return NULL;
	out[plen] = '\0';
	return out;
}

int pt_keys_backup_key(const char *id, unsigned char out[32], char id_out[16], pt_err *err)
{
	key found;
	bool have = false;
	pthread_mutex_lock(&ring_lock);
	for (int attempt = 0; attempt < 2 && !have; attempt++) {
		for (int i = 0; i < nkeys && !have; i++)
			if (!id || strcmp(ring[i].id, id) == 0) {
				found = ring[i];
				have = true;
			}
		pt_err ignore;
		if (!have && attempt == 0 && ring_path[0])
			load_locked(ring_path, false, &ignore);
	}
	pthread_mutex_unlock(&ring_lock);
	if (!have)
		return pt_err_set(
		    err, PT_INVALID_ARGUMENT, "key_file",
		    "the key file has no key %s: use the key file the backup was made with",
		    "密钥文件中没有密钥 %s：请使用备份时的密钥文件", id ? id : "(current)");
	static const char context[] = "patron backup v1";
	crypto_generichash(out, 32, (const unsigned char *)context, sizeof(context) - 1, found.enc,
	                   KEYLEN);
	snprintf(id_out, 16, "%s", found.id);
	sodium_memzero(&found, sizeof(found));
	return 0;
}

char *pt_keys_index(pt_arena *a, const char *purpose, const char *value)
{
	unsigned char h[32];
	crypto_generichash_state st;
	char *hex = pt_arena_alloc(a, 65);
	if (!hex || !value)
		return NULL;
	unsigned char idx[KEYLEN];
	int have;
	pthread_mutex_lock(&ring_lock);
	have = nkeys;
	if (have)
		memcpy(idx, ring[nkeys - 1].idx, KEYLEN);
	pthread_mutex_unlock(&ring_lock);
	crypto_generichash_init(&st, have ? idx : NULL, have ? KEYLEN : 0, sizeof(h));
	sodium_memzero(idx, sizeof(idx));
	crypto_generichash_update(&st, (const unsigned char *)purpose, strlen(purpose) + 1);
	crypto_generichash_update(&st, (const unsigned char *)value, strlen(value));
	crypto_generichash_final(&st, h, sizeof(h));
	sodium_bin2hex(hex, 65, h, sizeof(h));
	return hex;
}
