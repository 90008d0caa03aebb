#ifndef PT_POINTS_H
#define PT_POINTS_H

#include <stdbool.h>
#include <stdint.h>

/* The points rules, pure: expiry dates, the order lots are spent in, checked sums. */

typedef enum { PT_EXPIRY_NONE, PT_EXPIRY_ROLLING, PT_EXPIRY_YEAR_END } pt_expiry_mode;

typedef struct {
	int64_t earn_per_amount, earn_points;
	int64_t redeem_points, redeem_amount, redeem_max_ratio_bp;
	pt_expiry_mode expiry_mode;
	int64_t expiry_days;
	int64_t signup_bonus;
	int64_t referrer_points, referee_points;
	bool referral_on_first_purchase;
	bool birthday_month; /* scope: the whole month, else the day */
	int64_t birthday_multiplier_bp;
	char time_zone[64];
} pt_points_rules;

void pt_points_rules_default(pt_points_rules *r);

/* The expiry date of points credited on the local date credit_date ("YYYY-MM-DD"): rolling,
 * that date plus days; year_end, the last day of the next year. out is "" when they never
 * expire. Points are valid through the end of their expiry date. */
int pt_expiry_date(pt_expiry_mode mode, int64_t days, const char *credit_date, char out[11]);

/* True when a lot with this expiry date has expired on the local date today. */
bool pt_lot_expired(const char *expires_on, const char *today);

typedef struct {
	int64_t id;
	int64_t remaining;
	const char *expires_on; /* NULL or "": never */
} pt_lot;

/* Orders lots as they are spent: soonest-expiring first, never-expiring last; equal dates by
 * age (lower id first). */
void pt_lots_sort(pt_lot *lots, int n);
/* Moves the lots whose id is among ids to the front, each group keeping its order: a
 * refund's clawback takes back the points its order earned before any others. */
void pt_lots_prefer(pt_lot *lots, int n, const int64_t *ids, int nids);
/* Takes up to amount from lots in their order: takes[i] gets what lots[i] gives. Returns what
 * was taken in all, which is less than amount only when the lots run out. */
int64_t pt_lots_take(const pt_lot *lots, int n, int64_t amount, int64_t *takes);

/* a + b into *out; false (and *out untouched) when it would overflow. */
bool pt_add_checked(int64_t a, int64_t b, int64_t *out);

#endif
