#ifndef PT_CLOCK_H
#define PT_CLOCK_H

#include <stdint.h>

/* All business time comes from here, so tests can set it (serve --test-clock). */
int64_t pt_clock_now_ms(void);
/* The real time, whatever the test clock says: for what measures elapsed time rather than
 * business time (session timeouts, stale idempotency keys). */
int64_t pt_clock_real_ms(void);
/* When this server started (real time), marked by serve; 0 before. */
int64_t pt_clock_started_ms(void);
void pt_clock_mark_started(void);
/* Pins the clock at ms; a negative value returns it to real time. */
void pt_clock_set_ms(int64_t ms);

/* Formats epoch milliseconds as RFC 3339 UTC with seconds ("2026-11-23T08:00:00Z"). */
void pt_clock_format_rfc3339(int64_t ms, char out[32]);
/* Parses RFC 3339 ("...Z" or "+08:00", fractional seconds allowed); 0 or -1. */
int pt_clock_parse_rfc3339(const char *s, int64_t *ms);

#endif
