#include "service/basis.h"

#include <pthread.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>

/* Products kept per generation; past this many, the rest are read from the database each time
 * (a few MB at most, however large the catalogue). */
enum { CACHED_PRODUCTS_MAX = 32768 };

typedef struct {
	pt_product p; /* its strings point into the same allocation, after it */
} cached_product;

static struct {
	pthread_mutex_t lock;
	char *target;       /* the database it is of */
	int64_t generation; /* of what the map holds; -1: nothing */
	bool ready;         /* the map exists */
	struct hsearch_data map;
	cached_product **all; /* to free them */
	size_t n;
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER, .generation = -1};

static char *put(char **w, const char *s)
{
	if (!s)
		return NULL;
	char *at = *w;
	size_t n = strlen(s) + 1;
	memcpy(at, s, n);
	*w += n;
	return at;
}

static size_t len0(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

/* One allocation: the product, then its strings. */
static cached_product *keep(const pt_product *p)
{
	size_t n = sizeof(cached_product) + len0(p->sku) + len0(p->name) + len0(p->barcode) +
	           len0(p->category);
	cached_product *c = malloc(n);
	if (!c)
		return NULL;
	char *w = (char *)(c + 1);
	c->p = *p;
	c->p.sku = put(&w, p->sku);
	c->p.name = put(&w, p->name);
	c->p.barcode = put(&w, p->barcode);
	c->p.category = put(&w, p->category);
	return c;
}

static int copy_out(pt_arena *a, const pt_product *p, pt_product *out)
{
	*out = *p;
	out->sku = p->sku ? pt_arena_strdup(a, p->sku) : NULL;
	out->name = p->name ? pt_arena_strdup(a, p->name) : NULL;
	out->barcode = p->barcode ? pt_arena_strdup(a, p->barcode) : NULL;
	out->category = p->category ? pt_arena_strdup(a, p->category) : NULL;
	return (p->sku && !out->sku) || (p->name && !out->name) || (p->barcode && !out->barcode) ||
	               (p->category && !out->category)
	           ? -1
	           : 0;
}

/* Under the lock. */
static void drop_all(void)
{
	if (cache.ready)
		hdestroy_r(&cache.map);
	for (size_t i = 0; i < cache.n; i++)
		free(cache.all[i]);
	free(cache.all);
	cache.all = NULL;
	cache.n = 0;
	cache.ready = false;
	cache.generation = -1;
	free(cache.target);
	cache.target = NULL;
}

/* Under the lock: whether the map is of this database and generation. */
static bool holds(const char *target, int64_t generation)
{
	return cache.ready && cache.generation == generation && strcmp(cache.target, target) == 0;
}

/* Under the lock: a map for this database and generation, when the one held is of another
 * database or an older generation. */
static bool start_generation(const char *target, int64_t generation)
{
	if (holds(target, generation))
		return true;
	if (cache.ready && strcmp(cache.target, target) == 0 && cache.generation > generation)
		return false; /* an older snapshot: it neither reads nor fills the newer cache */
	drop_all();
	memset(&cache.map, 0, sizeof(cache.map));
	cache.all = calloc(CACHED_PRODUCTS_MAX, sizeof(*cache.all));
	cache.target = strdup(target);
	if (!cache.all || !cache.target || !hcreate_r(CACHED_PRODUCTS_MAX * 4 / 3, &cache.map)) {
		free(cache.all);
		free(cache.target);
		cache.all = NULL;
		cache.target = NULL;
		return false;
	}
	cache.ready = true;
	cache.generation = generation;
	return true;
}

int pt_basis_product_by_sku(pt_db *db, pt_arena *a, int64_t generation, const char *sku,
                            pt_product *out, bool *found, pt_err *err)
{
	ENTRY want = {.key = (char *)sku}, *hit = NULL;
	const char *target = pt_db_target(db);
	pthread_mutex_lock(&cache.lock);
	if (holds(target, generation) && hsearch_r(want, FIND, &hit, &cache.map)) {
		int rc = copy_out(a, &((cached_product *)hit->data)->p, out);
		pthread_mutex_unlock(&cache.lock);
		*found = true;
		return rc == 0 ? 0 : pt_err_oom(err);
	}
	pthread_mutex_unlock(&cache.lock);
	if (pt_repo_product_find(db, a, "sku", sku, out, found, err) != 0)
		return -1;
	if (!*found)
		return 0;
	pthread_mutex_lock(&cache.lock);
	if (start_generation(target, generation) && cache.n < CACHED_PRODUCTS_MAX &&
	    !hsearch_r(want, FIND, &hit, &cache.map)) {
		cached_product *c = keep(out);
		ENTRY e = {.key = c ? (char *)c->p.sku : NULL, .data = c};
		if (c && hsearch_r(e, ENTER, &hit, &cache.map))
			cache.all[cache.n++] = c;
		else
			free(c);
	}
	pthread_mutex_unlock(&cache.lock);
	return 0;
}

void pt_basis_forget(void)
{
	pthread_mutex_lock(&cache.lock);
	drop_all();
	pthread_mutex_unlock(&cache.lock);
}
