#include "util/arena.h"

#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CHUNK_SIZE = 16 * 1024 };

struct chunk {
	struct chunk *next;
	size_t used, cap;
	alignas(max_align_t) unsigned char data[];
};

struct cleanup {
	struct cleanup *next;
	void (*fn)(void *);
	void *ptr;
};

struct pt_arena {
	struct chunk *chunks;
	struct cleanup *cleanups;
};

pt_arena *pt_arena_new(void)
{
	return calloc(1, sizeof(pt_arena));
}

void pt_arena_run_cleanups(pt_arena *a)
{
	for (struct cleanup *c = a->cleanups; c; c = c->next)
		c->fn(c->ptr);
	a->cleanups = NULL;
}

void pt_arena_free(pt_arena *a)
{
	if (!a)
		return;
	pt_arena_run_cleanups(a);
	for (struct chunk *c = a->chunks, *next; c; c = next) {
		next = c->next;
		free(c);
	}
	free(a);
}

void *pt_arena_alloc(pt_arena *a, size_t size)
{
	const size_t align = alignof(max_align_t);
	size = (size + align - 1) & ~(align - 1);
	struct chunk *c = a->chunks;
	if (!c || c->cap - c->used < size) {
		size_t cap = size > CHUNK_SIZE / 2 ? size : CHUNK_SIZE;
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		if (size > CHUNK_SIZE / 2 && a->chunks) {
			/* A big block gets a chunk of its own behind the current one, so the
			 * current chunk's free space stays usable. */
			c->next = a->chunks->next;
			a->chunks->next = c;
		} else {
			c->next = a->chunks;
			a->chunks = c;
		}
	}
	void *p = c->data + c->used;
	c->used += size;
	memset(p, 0, size);
	return p;
}

char *pt_arena_strndup(pt_arena *a, const char *s, size_t n)
{
	char *p = pt_arena_alloc(a, n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

char *pt_arena_strdup(pt_arena *a, const char *s)
{
	return pt_arena_strndup(a, s, strlen(s));
}

char *pt_arena_printf(pt_arena *a, const char *fmt, ...)
{
	va_list ap, ap2;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *p = n < 0 ? NULL : pt_arena_alloc(a, (size_t)n + 1);
	if (p)
		vsnprintf(p, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	return p;
}

int pt_arena_defer(pt_arena *a, void (*fn)(void *), void *ptr)
{
	struct cleanup *c = pt_arena_alloc(a, sizeof(*c));
	if (!c) {
		fn(ptr);
		return -1;
	}
	c->fn = fn;
	c->ptr = ptr;
	c->next = a->cleanups;
	a->cleanups = c;
	return 0;
}
