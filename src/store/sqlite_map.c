#include "store/sqlite_map.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Address space only: pages are taken from the file as they are touched, and a database
 * larger than this is read past the end of the mapping as it would be without one. */
#define MAP_RESERVE ((size_t)1 << (sizeof(size_t) >= 8 ? 38 : 30))

struct pt_sqlite_map {
	pt_sqlite_map *next;
	dev_t dev;
	ino_t ino;
	unsigned char *base;
	_Atomic int64_t size; /* bytes known to be in the file */
	int refs;
};

static pthread_mutex_t maps_lock = PTHREAD_MUTEX_INITIALIZER;
static pt_sqlite_map *maps;

pt_sqlite_map *pt_sqlite_map_open(int fd)
{
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return NULL;
	pthread_mutex_lock(&maps_lock);
	pt_sqlite_map *m = maps;
	while (m && (m->dev != st.st_dev || m->ino != st.st_ino))
		m = m->next;
	if (m) {
		m->refs++;
	} else if ((m = calloc(1, sizeof(*m)))) {
		void *base = mmap(NULL, MAP_RESERVE, PROT_READ, MAP_SHARED, fd, 0);
		if (base == MAP_FAILED) {
			free(m);
			m = NULL;
		} else {
			*m = (pt_sqlite_map){.next = maps,
			                     .dev = st.st_dev,
			                     .ino = st.st_ino,
			                     .base = base,
			                     .refs = 1};
			atomic_store(&m->size, (int64_t)st.st_size);
			maps = m;
		}
	}
	pthread_mutex_unlock(&maps_lock);
	return m;
}

void pt_sqlite_map_close(pt_sqlite_map *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&maps_lock);
	bool last = --m->refs == 0;
	if (last) {
		pt_sqlite_map **p = &maps;
		while (*p != m)
			p = &(*p)->next;
		*p = m->next;
	}
	pthread_mutex_unlock(&maps_lock);
	if (last) {
		munmap(m->base, MAP_RESERVE);
		free(m);
	}
}

void *pt_sqlite_map_bytes(pt_sqlite_map *m, int fd, int64_t off, int amt)
{
	int64_t end = off + amt;
	if (off < 0 || amt <= 0 || (uint64_t)end > MAP_RESERVE)
		return NULL;
	if (end > atomic_load(&m->size)) {
		/* The file may have grown since: a checkpoint appends the pages new rows took. */
		struct stat st;
		if (fstat(fd, &st) != 0 || end > (int64_t)st.st_size)
			return NULL;
		int64_t known = atomic_load(&m->size);
		while (known < (int64_t)st.st_size &&
		       !atomic_compare_exchange_weak(&m->size, &known, (int64_t)st.st_size))
			;
	}
	return m->base + off;
}

void pt_sqlite_map_truncated(pt_sqlite_map *m, int64_t size)
{
	int64_t known = atomic_load(&m->size);
	while (known > size && !atomic_compare_exchange_weak(&m->size, &known, size))
		;
}

static int64_t files_resident(void)
{
	long pages = 0, resident = 0, shared = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return 0;
	int n = fscanf(f, "%ld %ld %ld", &pages, &resident, &shared);
	fclose(f);
	return n == 3 ? (int64_t)shared * sysconf(_SC_PAGESIZE) : 0;
}

bool pt_sqlite_map_trim_past(int64_t max)
{
	if (files_resident() <= max)
		return false;
	pthread_mutex_lock(&maps_lock);
	for (pt_sqlite_map *m = maps; m; m = m->next) {
		int64_t size = atomic_load(&m->size);
		if (size > 0)
			madvise(m->base, (size_t)size, MADV_DONTNEED);
	}
	pthread_mutex_unlock(&maps_lock);
	return true;
}
