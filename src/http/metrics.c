/* Request counters and latency histograms in Prometheus text format. Counters are atomics
 * in fixed tables, so recording costs a few increments and no lock. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "http/internal.h"
#include "store/db.h"

enum { MAX_ROUTES = 128, NSTATUS = 16, NBUCKETS = 12 };

static const int statuses[NSTATUS] = {200, 201, 204, 400, 401, 403, 404, 405,
                                      409, 413, 415, 422, 429, 500, 503, 0};
/* Upper bounds in microseconds. */
static const int64_t bucket_us[NBUCKETS] = {500,   1000,   2500,   5000,   10000,   25000,
                                            50000, 100000, 250000, 500000, 1000000, 2500000};

static const pt_route *route_table;
static int route_count;
/* Index MAX_ROUTES is the unmatched path. */
static atomic_llong requests[MAX_ROUTES + 1][PT_METHOD_OTHER + 1][NSTATUS];
static atomic_llong buckets[MAX_ROUTES + 1][NBUCKETS + 1];
static atomic_llong sum_us[MAX_ROUTES + 1];

void pt_metrics_init(const pt_route *routes, int nroutes)
{
	route_table = routes;
	route_count = nroutes < MAX_ROUTES ? nroutes : MAX_ROUTES;
}

static int status_index(int status)
{
	for (int i = 0; i < NSTATUS - 1; i++)
		if (statuses[i] == status)
			return i;
	return NSTATUS - 1;
}

void pt_metrics_record(int route, pt_method method, int status, int64_t dur_ns)
{
	int r = route >= 0 && route < route_count ? route : MAX_ROUTES;
	int64_t us = dur_ns / 1000;
	atomic_fetch_add(&requests[r][method][status_index(status)], 1);
	int b = 0;
	while (b < NBUCKETS && us > bucket_us[b])
		b++;
	atomic_fetch_add(&buckets[r][b], 1);
	atomic_fetch_add(&sum_us[r], us);
}

static const char *route_label(int r)
{
	return r == MAX_ROUTES ? "unmatched" : route_table[r].pattern;
}

/* Appends to a growing arena buffer. */
typedef struct {
	pt_arena *arena;
	char *buf;
	size_t len, cap;
} sbuf;

static void put(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(sbuf *b, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(b->buf ? b->buf + b->len : NULL, b->buf ? b->cap - b->len : 0,
		                  fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (b->buf && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 8192;
		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		char *grown = pt_arena_alloc(b->arena, cap);
		if (!grown)
			return;
		if (b->buf)
			memcpy(grown, b->buf, b->len);
		b->buf = grown;
		b->cap = cap;
	}
}

char *pt_metrics_render(pt_arena *arena)
{
	sbuf b = {.arena = arena};
	put(&b, "# HELP patron_http_requests_total HTTP requests answered.\n"
	        "# TYPE patron_http_requests_total counter\n");
	for (int r = 0; r <= MAX_ROUTES; r++) {
		if (r >= route_count && r != MAX_ROUTES)
			continue;
		for (int m = 0; m <= PT_METHOD_OTHER; m++)
			for (int s = 0; s < NSTATUS; s++) {
				long long n = atomic_load(&requests[r][m][s]);
				if (n)
					put(&b,
					    "patron_http_requests_total{route=\"%s\",method=\"%s\","
					    "status=\"%d\"} %lld\n",
					    route_label(r), pt_method_name((pt_method)m),
					    statuses[s], n);
			}
	}
	put(&b, "# HELP patron_http_request_duration_seconds Time to answer a request.\n"
	        "# TYPE patron_http_request_duration_seconds histogram\n");
	for (int r = 0; r <= MAX_ROUTES; r++) {
		if (r >= route_count && r != MAX_ROUTES)
			continue;
		long long cumulative = 0;
		for (int k = 0; k <= NBUCKETS; k++)
			cumulative += atomic_load(&buckets[r][k]);
		if (!cumulative)
			continue;
		long long running = 0;
		for (int k = 0; k < NBUCKETS; k++) {
			running += atomic_load(&buckets[r][k]);
			put(&b,
			    "patron_http_request_duration_seconds_bucket{route=\"%s\",le=\"%lld.%"
			    "06lld\"} "
			    "%lld\n",
			    route_label(r), (long long)(bucket_us[k] / 1000000),
			    (long long)(bucket_us[k] % 1000000), running);
		}
		long long total_us = atomic_load(&sum_us[r]);
		put(&b,
		    "patron_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %lld\n"
		    "patron_http_request_duration_seconds_sum{route=\"%s\"} %lld.%06lld\n"
		    "patron_http_request_duration_seconds_count{route=\"%s\"} %lld\n",
		    route_label(r), cumulative, route_label(r), total_us / 1000000,
		    total_us % 1000000, route_label(r), cumulative);
	}
	pt_db_group_counts g;
	pt_db_group_stats(&g);
	put(&b,
	    "# HELP patron_group_commits_total SQLite commits of batched write transactions.\n"
	    "# TYPE patron_group_commits_total counter\n"
	    "patron_group_commits_total %lld\n"
	    "# HELP patron_group_commit_writes_total Write transactions those commits held.\n"
	    "# TYPE patron_group_commit_writes_total counter\n"
	    "patron_group_commit_writes_total %lld\n"
	    "# HELP patron_checkpoints_total SQLite checkpoints run beside the writer.\n"
	    "# TYPE patron_checkpoints_total counter\n"
	    "patron_checkpoints_total %lld\n",
	    (long long)g.batches, (long long)g.requests, (long long)g.checkpoints);
	return b.buf ? b.buf : pt_arena_strdup(arena, "");
}
