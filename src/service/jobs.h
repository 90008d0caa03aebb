#ifndef PT_SERVICE_JOBS_H
#define PT_SERVICE_JOBS_H

/* The periodic jobs inside `serve`: points expiry hourly, the tier review daily, on the
 * server's clock (a test clock that jumps makes them due). Each job is safe to run on several
 * servers at once. Returns when *stop becomes non-zero. */
void pt_svc_jobs_background(const char *db_url, const volatile int *stop);

#endif
