#ifndef PT_TZ_H
#define PT_TZ_H

#include <stdbool.h>
#include <stdint.h>

/* Time zones from the system's database (/usr/share/zoneinfo, TZif files), read once per zone
 * and kept, so any thread can convert for any zone without touching the process's TZ. */

bool pt_tz_known(const char *zone);
/* The UTC offset in seconds in zone at the UTC instant secs; -1 for an unknown zone. */
int pt_tz_offset(const char *zone, int64_t secs, int32_t *offset);
/* The local civil date in zone at epoch milliseconds ms, as "YYYY-MM-DD"; -1 for an unknown
 * zone. */
int pt_tz_date(const char *zone, int64_t ms, char out[11]);

#endif
