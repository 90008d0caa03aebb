#ifndef PT_DATES_H
#define PT_DATES_H

#include <stdbool.h>
#include <stdint.h>

/* Civil dates in the proleptic Gregorian calendar, as days since 1970-01-01. */
bool pt_date_valid(int y, int m, int d);
int64_t pt_days_from_date(int y, int m, int d);
void pt_date_from_days(int64_t days, int *y, int *m, int *d);
/* Parses exactly "YYYY-MM-DD" naming a real date. */
int pt_date_parse(const char *s, int *y, int *m, int *d);

#endif
