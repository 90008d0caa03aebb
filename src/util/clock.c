#include "util/clock.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/dates.h"

static _Atomic int64_t pinned_ms = -1;

int64_t pt_clock_now_ms(void)
{
	int64_t pinned = atomic_load(&pinned_ms);
	return pinned >= 0 ? pinned : pt_clock_real_ms();
}

int64_t pt_clock_real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void pt_clock_set_ms(int64_t ms)
{
	atomic_store(&pinned_ms, ms);
}

void pt_clock_format_rfc3339(int64_t ms, char out[32])
{
	int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
	int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
	int64_t rem = secs - days * 86400;
	int y, m, d;
	pt_date_from_days(days, &y, &m, &d);
	snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, (int)(rem / 3600),
	         (int)(rem / 60 % 60), (int)(rem % 60));
}

int pt_clock_parse_rfc3339(const char *s, int64_t *ms)
{
	int y, mo, d, h, mi, sec, n = 0;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
	    n != 19 || !pt_date_valid(y, mo, d) || h > 23 || mi > 59 || sec > 59)
		return -1;
	const char *p = s + n;
	int64_t frac = 0;
	if (*p == '.') {
		int digits = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 3)
				frac = frac * 10 + (*p - '0');
		if (digits == 0)
			return -1;
		for (; digits < 3; digits++)
			frac *= 10;
	}
	int64_t offset = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om, k = 0;
		if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &k) != 2 || k != 5 || oh > 23 || om > 59)
			return -1;
		offset = (oh * 60 + om) * 60 * (*p == '+' ? 1 : -1);
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	int64_t secs = pt_days_from_date(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset;
	*ms = secs * 1000 + frac;
	return 0;
}

static _Atomic int64_t started_ms;

int64_t pt_clock_started_ms(void)
{
	return started_ms;
}

void pt_clock_mark_started(void)
{
	started_ms = pt_clock_real_ms();
}
