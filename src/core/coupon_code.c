#include "core/coupon_code.h"

#include <string.h>

static const char alphabet[] = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
enum { N = 31, BODY = 13 };

static int value_of(char c)
{
	if (c >= 'a' && c <= 'z')
		c = (char)(c - 'a' + 'A');
	const char *p = c ? strchr(alphabet, c) : NULL;
	return p ? (int)(p - alphabet) : -1;
}

/* Weighted sum mod 31 with weights 1..14: 31 is prime, so any single wrong character and
 * any swap of two neighbours changes the sum. (Luhn mod N needs an even N.) The check value
 * makes the whole sum 0: it is minus the body's sum times the inverse of 14 (20, mod 31). */
static int check_value(const int *values, int n)
{
	int sum = 0;
	for (int i = 0; i < n; i++)
		sum = (sum + (i + 1) * values[i]) % N;
	return (N - sum) % N * 20 % N;
}

static void format(const int *values, char out[PT_COUPON_CODE_LEN + 1])
{
	int k = 0;
	for (int i = 0; i < BODY + 1; i++) {
		if (i == 5 || i == 10)
			out[k++] = '-';
		out[k++] = alphabet[values[i]];
	}
	out[k] = '\0';
}

void pt_coupon_code_make(const uint32_t random[13], char out[PT_COUPON_CODE_LEN + 1])
{
	int values[BODY + 1];
	for (int i = 0; i < BODY; i++)
		values[i] = (int)(random[i] % N);
	values[BODY] = check_value(values, BODY);
	format(values, out);
}

int pt_coupon_code_normalize(const char *typed, char out[PT_COUPON_CODE_LEN + 1])
{
	int values[BODY + 1], n = 0;
	for (const char *p = typed; *p; p++) {
		if (*p == '-' || *p == ' ')
			continue;
		int v = value_of(*p);
		if (v < 0 || n == BODY + 1)
			return -1;
		values[n++] = v;
	}
	if (n != BODY + 1)
		return -1;
	if (check_value(values, BODY) != values[BODY])
		return -2;
	format(values, out);
	return 0;
}
