/* patron-bench-inproc: the baseline without HTTP. The checkout transaction of the load (a
 * member, three lines, one in ten redeeming points) run straight through the service layer
 * against the database, either each checkout its own commit or many per commit.
 *
 *   patron-bench-inproc --db URL --members N --products K --stores S --seconds T --per-commit B
 *
 * Prints one JSON object: checkouts, seconds, per_second, refused. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "service/checkout.h"

typedef struct {
	pt_ctx *ctx;
	uint64_t *seed;
	int64_t members;
	int products, stores, per_commit;
	int64_t refused;
} run;

static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int one_checkout(run *r, pt_err *err)
{
	char skus[3][16];
	pt_checkout_item items[3];
	int picked[3];
	for (int i = 0; i < 3; i++) {
		int k;
		do
			k = 1 + (int)(next(r->seed) % (uint64_t)r->products);
		while ((i > 0 && k == picked[0]) || (i > 1 && k == picked[1]));
		picked[i] = k;
		snprintf(skus[i], sizeof(skus[i]), "B%05d", k);
		items[i] =
		    (pt_checkout_item){.sku = skus[i], .qty = 1 + (int64_t)(next(r->seed) % 3)};
	}
	bool redeem = next(r->seed) % 10 == 0;
	pt_checkout_request in = {.store_id = 1 + (int64_t)(next(r->seed) % (uint64_t)r->stores),
	                          .member_id = 1 + (int64_t)(next(r->seed) % (uint64_t)r->members),
	                          .items = items,
	                          .nitems = 3,
	                          .redeem = redeem,
	                          .redeem_points = redeem ? 100 : 0};
	json_t *out = NULL;
	pt_err refusal = {0};
	int rc = pt_svc_checkout(r->ctx, &in, true, NULL, &out, NULL, &refusal); /* out: the arena's */
	if (rc == 0)
		return 0;
	if (pt_code_status(refusal.code) >= 500) {
		*err = refusal;
		return -1;
	}
	r->refused++; /* a refusal (too few points) is an answer too, and writes nothing */
	return 0;
}

static int batch(pt_db *db, void *arg, pt_err *err)
{
	run *r = arg;
	(void)db;
	for (int i = 0; i < r->per_commit; i++)
		if (one_checkout(r, err) != 0)
			return -1;
	return 0;
}

int main(int argc, char **argv)
{
	const char *url = NULL;
	const char *usage = "patron-bench-inproc --db URL --members N --products K [--stores S] "
	                    "[--seconds T] [--per-commit B] [--seed N]";
	int64_t members = 0;
	int products = 0, stores = 3, per_commit = 1;
	double seconds = 5;
	uint64_t seed = 1;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--db") == 0)
			url = argv[i + 1];
		else if (strcmp(argv[i], "--members") == 0)
			members = atoll(argv[i + 1]);
		else if (strcmp(argv[i], "--products") == 0)
			products = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--stores") == 0)
			stores = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--seconds") == 0)
			seconds = atof(argv[i + 1]);
		else if (strcmp(argv[i], "--per-commit") == 0)
			per_commit = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--seed") == 0)
			seed = strtoull(argv[i + 1], NULL, 10) | 1;
		else
			return bench_usage(usage);
	}
	if (!url || members < 1 || products < 3 || stores < 1 || per_commit < 1 || seconds <= 0)
		return bench_usage(usage);
	pt_err err = {0};
	pt_db *db = bench_open(url, &err);
	if (!db)
		return bench_fail(&err);
	if (getenv("BENCH_PRAGMA") && pt_db_exec(db, getenv("BENCH_PRAGMA"), NULL, 0, NULL, &err) != 0)
		return bench_fail(&err);
	pt_ctx ctx = {.db = db, .perms = PT_PERM_ALL};
	run r = {&ctx, &seed, members, products, stores, per_commit, 0};
	int64_t done = 0;
	double start = bench_seconds(), now = start;
	while (now - start < seconds) {
		ctx.arena = pt_arena_new();
		int rc =
		    per_commit == 1 ? one_checkout(&r, &err) : pt_db_tx(db, true, batch, &r, &err);
		pt_arena_free(ctx.arena);
		if (rc != 0)
			return bench_fail(&err);
		done += per_commit;
		now = bench_seconds();
	}
	printf("{\"per_commit\": %d, \"checkouts\": %lld, \"seconds\": %.3f, \"per_second\": %.0f, "
	       "\"refused\": %lld}\n",
	       per_commit, (long long)done, now - start, (double)done / (now - start),
	       (long long)r.refused);
	pt_db_close(db);
	return 0;
}
