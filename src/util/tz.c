#include "util/tz.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dates.h"

enum { MAX_ZONES = 32, MAX_FILE = 1 << 20 };

/* Transitions sorted by time; before the first, the first standard offset applies. After the
 * last, its offset holds: current tzdata lists transitions up to 2037, and China, the first
 * market, has had no daylight saving since 1991. */
typedef struct {
	char name[64];
	int n;
	int64_t *at;
	int32_t *offset;
	int32_t initial;
} zone;

static zone zones[MAX_ZONES];
static int nzones;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static int64_t be(const unsigned char *p, int bytes)
{
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	if (bytes == 4)
		return (int32_t)(uint32_t)v;
	return (int64_t)v;
}

static bool name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= 64 || name[0] == '/' || strstr(name, ".."))
		return false;
	for (const char *p = name; *p; p++)
		if (!(*p >= 'A' && *p <= 'Z') && !(*p >= 'a' && *p <= 'z') &&
		    !(*p >= '0' && *p <= '9') && !strchr("/_-+", *p))
			return false;
	return true;
}

/* Parses the version 2+ (64-bit) body of a TZif file. */
static int parse(const unsigned char *buf, size_t len, zone *z)
{
	if (len < 44 || memcmp(buf, "TZif", 4) != 0 || buf[4] < '2')
		return -1;
	/* Skip the version 1 block to reach the 64-bit header. */
	size_t counts[6];
	for (int i = 0; i < 6; i++)
		counts[i] = (size_t)be(buf + 20 + 4 * i, 4);
	size_t skip = 44 + counts[3] * 4 + counts[3] + counts[4] * 6 + counts[5] + counts[2] * 8 +
	              counts[1] + counts[0];
	if (len < skip + 44 || memcmp(buf + skip, "TZif", 4) != 0)
		return -1;
	const unsigned char *h = buf + skip;
	size_t isutc = (size_t)be(h + 20, 4), isstd = (size_t)be(h + 24, 4),
	       leap = (size_t)be(h + 28, 4);
	size_t timecnt = (size_t)be(h + 32, 4), typecnt = (size_t)be(h + 36, 4),
	       charcnt = (size_t)be(h + 40, 4);
	const unsigned char *p = h + 44;
	size_t need = timecnt * 8 + timecnt + typecnt * 6 + charcnt + leap * 12 + isstd + isutc;
	if (typecnt == 0 || (size_t)(buf + len - p) < need)
		return -1;
	const unsigned char *times = p, *idx = p + timecnt * 8, *types = idx + timecnt;
	z->n = (int)timecnt;
	z->at = calloc(timecnt + 1, sizeof(int64_t));
	z->offset = calloc(timecnt + 1, sizeof(int32_t));
	if (!z->at || !z->offset)
		return -1;
	for (size_t i = 0; i < timecnt; i++) {
		if (idx[i] >= typecnt)
			return -1;
		z->at[i] = be(times + 8 * i, 8);
		z->offset[i] = (int32_t)be(types + 6 * idx[i], 4);
	}
	z->initial = (int32_t)be(types, 4);
	for (size_t t = 0; t < typecnt; t++)
		if (!types[6 * t + 4]) { /* the first standard-time type */
			z->initial = (int32_t)be(types + 6 * t, 4);
			break;
		}
	return 0;
}

static const zone *load(const char *name)
{
	for (int i = 0; i < nzones; i++)
		if (strcmp(zones[i].name, name) == 0)
			return &zones[i];
	if (nzones == MAX_ZONES || !name_ok(name))
		return NULL;
	char path[128];
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	unsigned char *buf = malloc(MAX_FILE);
	size_t len = buf ? fread(buf, 1, MAX_FILE, f) : 0;
	fclose(f);
	zone z = {0};
	snprintf(z.name, sizeof(z.name), "%s", name);
	int rc = buf ? parse(buf, len, &z) : -1;
	free(buf);
	if (rc != 0) {
		free(z.at);
		free(z.offset);
		return NULL;
	}
	zones[nzones] = z;
	return &zones[nzones++];
}

int pt_tz_offset(const char *name, int64_t secs, int32_t *offset)
{
	pthread_mutex_lock(&lock);
	const zone *z = load(name);
	if (z) {
		int lo = 0, hi = z->n; /* first transition after secs */
		while (lo < hi) {
			int mid = (lo + hi) / 2;
			if (z->at[mid] <= secs)
				lo = mid + 1;
			else
				hi = mid;
		}
		*offset = lo == 0 ? z->initial : z->offset[lo - 1];
	}
	pthread_mutex_unlock(&lock);
	return z ? 0 : -1;
}

bool pt_tz_known(const char *name)
{
	int32_t off;
	return pt_tz_offset(name, 0, &off) == 0;
}

int pt_tz_date(const char *name, int64_t ms, char out[11])
{
	int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
	int32_t off;
	if (pt_tz_offset(name, secs, &off) != 0)
		return -1;
	int64_t local = secs + off;
	int64_t days = local >= 0 ? local / 86400 : (local - 86399) / 86400;
	int y, m, d;
	pt_date_from_days(days, &y, &m, &d);
	char buf[32];
	snprintf(buf, sizeof(buf), "%04d-%02d-%02d", y, m, d);
	memcpy(out, buf, 11);
	return 0;
}
