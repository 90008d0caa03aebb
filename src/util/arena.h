#ifndef PT_ARENA_H
#define PT_ARENA_H

#include <stddef.h>

/* One arena per request: everything a request allocates is freed at once when it ends.
 * Objects with destructors (json_t, database results) register a cleanup hook. */
typedef struct pt_arena pt_arena;

pt_arena *pt_arena_new(void);
void pt_arena_free(pt_arena *a);

/* Returns zeroed memory, aligned for any type; NULL only when memory is exhausted. */
void *pt_arena_alloc(pt_arena *a, size_t size);
char *pt_arena_strdup(pt_arena *a, const char *s);
char *pt_arena_strndup(pt_arena *a, const char *s, size_t n);
char *pt_arena_printf(pt_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* fn(ptr) runs when the arena is freed, last registered first. Returns -1 when out of memory
 * (and then runs fn(ptr) at once, so the caller never leaks). */
int pt_arena_defer(pt_arena *a, void (*fn)(void *), void *ptr);

/* Runs the deferred cleanups now, in the same order, and forgets them; the memory stays
 * until pt_arena_free. */
void pt_arena_run_cleanups(pt_arena *a);

#endif
