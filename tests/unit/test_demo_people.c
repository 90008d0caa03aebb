#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/demo_people.h"

#define N    PT_DEMO_PEOPLE_COUNT
#define SEED PT_DEMO_PEOPLE_SEED

/* Decodes one UTF-8 sequence, rejecting overlongs, surrogates and stray bytes. Returns its
 * length, or 0 when the bytes are not valid UTF-8. */
static int utf8_decode(const unsigned char *s, uint32_t *cp)
{
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	int len = (s[0] & 0xe0) == 0xc0   ? 2
	          : (s[0] & 0xf0) == 0xe0 ? 3
	          : (s[0] & 0xf8) == 0xf0 ? 4
	                                  : 0;
	if (len == 0)
		return 0;
	uint32_t c = s[0] & (0x7f >> len);
	for (int i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
	if (c < min[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

static int leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Parses "YYYY-MM-DD" naming a real date; returns 0 on success. */
static int parse_date(const char *s, int *y, int *m, int *d)
{
	static const int mlen[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return -1;
	*y = atoi(s);
	*m = atoi(s + 5);
	*d = atoi(s + 8);
	if (*m < 1 || *m > 12 || *d < 1)
		return -1;
	return *d <= mlen[*m - 1] + (*m == 2 && leap(*y)) ? 0 : -1;
}

static void test_deterministic(void **state)
{
	(void)state;
	for (uint32_t i = 0; i < 1000; i++) {
		pt_demo_person a, b;
		memset(&b, 0x5a, sizeof(b)); /* garbage in out must not leak into the result */
		pt_demo_person_make(SEED, i, 5, &a);
		pt_demo_person_make(SEED, i, 5, &b);
		assert_string_equal(a.name, b.name);
		assert_string_equal(a.phone, b.phone);
		assert_string_equal(a.gender, b.gender);
		assert_string_equal(a.birthday, b.birthday);
		assert_int_equal(a.home_store, b.home_store);
	}
	/* Out of order too: person n does not depend on having made persons 0..n-1. */
	pt_demo_person late, again;
	pt_demo_person_make(SEED, 9999, 5, &late);
	pt_demo_person_make(SEED, 0, 5, &again);
	pt_demo_person_make(SEED, 9999, 5, &again);
	assert_string_equal(late.phone, again.phone);
	assert_string_equal(late.name, again.name);
}

/* The demo set is promised to be the same on every machine and every release; a change to the
 * lists or the generator must be deliberate, and shows up here. */
static void test_golden(void **state)
{
	(void)state;
	static const struct {
		uint32_t index;
		const char *name, *phone, *gender, *birthday;
		int store;
	} want[] = {
	    {0, "史雪红", "18362695611", "female", "1973-11-19", 2},
	    {1, "刘天一", "15699275974", "male", "2003-08-01", 0},
	    {2, "卢浩程", "13382972452", "male", "1991-05-25", 2},
	    {1234, "贺锦泽", "18042803729", "male", "1990-12-27", 0},
	    {9999, "金慧", "19360838929", "female", "1984-05-20", 0},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		pt_demo_person p;
		pt_demo_person_make(SEED, want[i].index, 3, &p);
		assert_string_equal(p.name, want[i].name);
		assert_string_equal(p.phone, want[i].phone);
		assert_string_equal(p.gender, want[i].gender);
		assert_string_equal(p.birthday, want[i].birthday);
		assert_int_equal(p.home_store, want[i].store);
	}
}

static void test_seeds_differ(void **state)
{
	(void)state;
	int same = 0;
	for (uint32_t i = 0; i < 100; i++) {
		pt_demo_person a, b;
		pt_demo_person_make(SEED, i, 1, &a);
		pt_demo_person_make(SEED + 1, i, 1, &b);
		same += strcmp(a.phone, b.phone) == 0;
	}
	assert_true(same < 5);
}

static int cmp_phone(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void test_phones_unique(void **state)
{
	(void)state;
	char(*phones)[16] = calloc(N, sizeof(*phones));
	assert_non_null(phones);
	for (uint32_t i = 0; i < N; i++) {
		pt_demo_person p;
		pt_demo_person_make(SEED, i, 1, &p);
		memcpy(phones[i], p.phone, sizeof(p.phone));
	}
	qsort(phones, N, sizeof(*phones), cmp_phone);
	for (uint32_t i = 1; i < N; i++)
		if (strcmp(phones[i - 1], phones[i]) == 0)
			fail_msg("phone %s repeats", phones[i]);
	free(phones);
}

/* The header promises unique phones far past the demo's 10,000. The last eight digits alone are
 * unique, the stronger property; a million indexes keep the test quick (the permutation is a
 * bijection by construction, so this samples a proof rather than standing in for one). */
static void test_phone_suffixes_unique_1m(void **state)
{
	(void)state;
	uint8_t *seen = calloc(100000000 / 8, 1);
	assert_non_null(seen);
	for (uint32_t i = 0; i < 1000000; i++) {
		pt_demo_person p;
		pt_demo_person_make(SEED, i, 1, &p);
		uint32_t s = (uint32_t)strtoul(p.phone + 3, NULL, 10);
		if (seen[s / 8] & (1u << (s % 8)))
			fail_msg("index %u: suffix of %s already dealt", (unsigned)i, p.phone);
		seen[s / 8] |= (uint8_t)(1u << (s % 8));
	}
	free(seen);
}

static void test_phone_format(void **state)
{
	(void)state;
	for (uint32_t i = 0; i < N; i++) {
		pt_demo_person p;
		pt_demo_person_make(SEED, i, 1, &p);
		assert_int_equal(strlen(p.phone), 11);
		for (int k = 0; k < 11; k++)
			assert_true(p.phone[k] >= '0' && p.phone[k] <= '9');
		assert_int_equal(p.phone[0], '1');
		assert_non_null(strchr("35789", p.phone[1]));
	}
}

static void test_names(void **state)
{
	(void)state;
	int compound = 0, wang = 0, len2 = 0, len4 = 0;
	for (uint32_t i = 0; i < N; i++) {
		pt_demo_person p;
		pt_demo_person_make(SEED, i, 1, &p);
		const unsigned char *s = (const unsigned char *)p.name;
		int chars = 0;
		while (*s) {
			uint32_t cp;
			int n = utf8_decode(s, &cp);
			if (n == 0)
				fail_msg("index %u: invalid UTF-8 in name", (unsigned)i);
			/* Every character a CJK unified ideograph: no Latin, no punctuation. */
			assert_in_range(cp, 0x4e00, 0x9fff);
			s += n;
			chars++;
		}
		assert_in_range(chars, 2, 4);
		len2 += chars == 2;
		len4 += chars == 4;
		wang += strncmp(p.name, "王", strlen("王")) == 0;
		compound += strncmp(p.name, "欧阳", strlen("欧阳")) == 0;
	}
	/* Frequencies like the real ones: 王 is about 7% of the population, 欧阳 under 0.1%. */
	assert_in_range(wang, N * 5 / 100, N * 10 / 100);
	assert_in_range(compound, 1, N / 100);
	assert_true(len2 > 0);
	assert_true(len4 > 0);
}

/* A name containing one of these characters reads as a man's or a woman's to anyone. */
static const char *const male_marks[] = {"强", "伟", "军", "刚", "勇",
                                         "涛", "鹏", "杰", "峰", "龙"};
static const char *const female_marks[] = {"英", "芳", "娟", "婷", "燕",
                                           "兰", "梅", "霞", "丽", "娜"};

static int has_any(const char *given, const char *const *marks, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strstr(given, marks[i]))
			return 1;
	return 0;
}

static void test_gender(void **state)
{
	(void)state;
	int male = 0, female = 0, marked = 0;
	for (uint32_t i = 0; i < N; i++) {
		pt_demo_person p;
		pt_demo_person_make(SEED, i, 1, &p);
		int is_male = strcmp(p.gender, "male") == 0;
		int is_female = strcmp(p.gender, "female") == 0;
		assert_true(is_male || is_female);
		male += is_male;
		female += is_female;
		/* Skip the surname (one character, three bytes, or a compound of two) before
		 * looking: 龙 and 梅 are surnames too. */
		const char *given = p.name + 3;
		if (strlen(p.name) == 12 || (strlen(p.name) == 9 && !strncmp(p.name, "欧阳", 6)))
			given = p.name + 6;
		if (has_any(given, male_marks, sizeof(male_marks) / sizeof(male_marks[0]))) {
			marked++;
			if (!is_male)
				fail_msg("%s is %s", p.name, p.gender);
		}
		if (has_any(given, female_marks, sizeof(female_marks) / sizeof(female_marks[0]))) {
			marked++;
			if (!is_female)
				fail_msg("%s is %s", p.name, p.gender);
		}
	}
	assert_in_range(male, N * 45 / 100, N * 55 / 100);
	assert_true(female > 0);
	assert_true(marked > N / 10); /* the check above actually saw many gendered names */
}

static void test_birthdays(void **state)
{
	(void)state;
	int feb29 = 0, min_year = 9999, max_year = 0;
	for (uint32_t i = 0; i < N; i++) {
		pt_demo_person p;
		int y = 0, m = 0, d = 0;
		pt_demo_person_make(SEED, i, 1, &p);
		if (parse_date(p.birthday, &y, &m, &d) != 0)
			fail_msg("index %u: %s is not a date", (unsigned)i, p.birthday);
		assert_in_range(y, 2026 - 80, 2026 - 16);
		if (m == 2 && d == 29) {
			assert_true(leap(y));
			feb29++;
		}
		min_year = y < min_year ? y : min_year;
		max_year = y > max_year ? y : max_year;
	}
	/* About 1 in 1,461 people is born on Feb 29: a few should be among 10,000. */
	assert_true(feb29 > 0);
	assert_true(min_year < 1960);
	assert_true(max_year > 2005);
}

static void test_home_store(void **state)
{
	(void)state;
	static const int counts[] = {1, 3, 7, 50};
	for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		int nstores = counts[c];
		int hits[50] = {0};
		for (uint32_t i = 0; i < N; i++) {
			pt_demo_person p;
			pt_demo_person_make(SEED, i, nstores, &p);
			assert_in_range(p.home_store, 0, nstores - 1);
			hits[p.home_store]++;
		}
		for (int s = 0; s < nstores; s++)
			assert_true(hits[s] > 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_deterministic),
	    cmocka_unit_test(test_golden),
	    cmocka_unit_test(test_seeds_differ),
	    cmocka_unit_test(test_phones_unique),
	    cmocka_unit_test(test_phone_suffixes_unique_1m),
	    cmocka_unit_test(test_phone_format),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_gender),
	    cmocka_unit_test(test_birthdays),
	    cmocka_unit_test(test_home_store),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
