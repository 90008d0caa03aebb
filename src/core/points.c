#include "core/points.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dates.h"

void pt_points_rules_default(pt_points_rules *r)
{
	*r = (pt_points_rules){
	    .earn_per_amount = 100,
	    .earn_points = 1,
	    .redeem_points = 100,
	    .redeem_amount = 100,
	    .redeem_max_ratio_bp = 5000,
	    .expiry_mode = PT_EXPIRY_NONE,
	    .expiry_days = 365,
	    .birthday_multiplier_bp = 10000,
	};
	strcpy(r->time_zone, "Asia/Shanghai");
}

int pt_expiry_date(pt_expiry_mode mode, int64_t days, const char *credit_date, char out[11])
{
	int y, m, d;
	out[0] = '\0';
	if (mode == PT_EXPIRY_NONE)
		return 0;
	if (pt_date_parse(credit_date, &y, &m, &d) != 0)
		return -1;
	if (mode == PT_EXPIRY_YEAR_END) {
		y += 1;
		m = 12;
		d = 31;
	} else {
		if (days < 0 || days > 100000)
			return -1;
		pt_date_from_days(pt_days_from_date(y, m, d) + days, &y, &m, &d);
	}
	if (y > 9999)
		return -1;
	char buf[32];
	snprintf(buf, sizeof(buf), "%04d-%02d-%02d", y, m, d);
	memcpy(out, buf, 11);
	return 0;
}

bool pt_lot_expired(const char *expires_on, const char *today)
{
	/* Dates in one fixed format compare as text. */
	return expires_on && *expires_on && strcmp(expires_on, today) < 0;
}

static int lot_order(const void *pa, const void *pb)
{
	const pt_lot *a = pa, *b = pb;
	bool a_never = !a->expires_on || !*a->expires_on,
	     b_never = !b->expires_on || !*b->expires_on;
	if (a_never != b_never)
		return a_never ? 1 : -1;
	if (!a_never) {
		int c = strcmp(a->expires_on, b->expires_on);
		if (c)
			return c;
	}
	return (a->id > b->id) - (a->id < b->id);
}

void pt_lots_sort(pt_lot *lots, int n)
{
	if (n > 1)
		qsort(lots, (size_t)n, sizeof(*lots), lot_order);
}

static bool among(int64_t id, const int64_t *ids, int nids)
{
	for (int i = 0; i < nids; i++)
		if (ids[i] == id)
			return true;
	return false;
}

void pt_lots_prefer(pt_lot *lots, int n, const int64_t *ids, int nids)
{
	/* Insertion into the preferred prefix keeps both groups in order without a buffer. */
	int front = 0;
	for (int i = 0; i < n; i++) {
		if (!among(lots[i].id, ids, nids))
			continue;
		pt_lot moved = lots[i];
		for (int j = i; j > front; j--)
			lots[j] = lots[j - 1];
		lots[front++] = moved;
	}
}

int64_t pt_lots_take(const pt_lot *lots, int n, int64_t amount, int64_t *takes)
{
	int64_t taken = 0;
	for (int i = 0; i < n; i++) {
		int64_t want = amount - taken;
		int64_t give = lots[i].remaining > 0
		                   ? (lots[i].remaining < want ? lots[i].remaining : want)
		                   : 0;
		takes[i] = give;
		taken += give;
	}
	return taken;
}

bool pt_add_checked(int64_t a, int64_t b, int64_t *out)
{
	int64_t r;
	if (__builtin_add_overflow(a, b, &r))
		return false;
	*out = r;
	return true;
}
