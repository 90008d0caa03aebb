#ifndef PT_DEMO_PEOPLE_H
#define PT_DEMO_PEOPLE_H

#include <stdint.h>

/* What `patron init --demo` creates: the same members on every machine and every run, so that
 * screenshots, guides and end-to-end tests can name them. */
#define PT_DEMO_PEOPLE_SEED  UINT64_C(20260101)
#define PT_DEMO_PEOPLE_COUNT 10000

typedef struct {
	char name[64];     /* UTF-8, e.g. "王秀英", "欧阳志强" */
	char phone[16];    /* 11 digits, a plausible mainland mobile number: 13x/15x/17x/18x/19x
	                      prefixes */
	char gender[8];    /* "male" or "female", consistent with the given name when the name is
	                      gendered */
	char birthday[11]; /* YYYY-MM-DD, a real date, ages roughly 16..80 relative to 2026 */
	int home_store;    /* 0..nstores-1 */
} pt_demo_person;

/* Fills out with the index-th person of the demo set for seed. Same seed and index, same person.
 * Phones are unique across indexes 0..99,999,999 for one seed (their last eight digits are a
 * bijective permutation of the index); past that they repeat. nstores must be at least 1.
 * Pure: no I/O, no allocation, no clock (ages are relative to 2026, not to today, so the demo
 * set never drifts). */
void pt_demo_person_make(uint64_t seed, uint32_t index, int nstores, pt_demo_person *out);

#endif
