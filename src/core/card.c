#include "core/card.h"

#include <stdio.h>
#include <string.h>

int pt_luhn_digit(const char *body)
{
	int sum = 0;
	size_t n = strlen(body);
	for (size_t i = 0; i < n; i++) {
		int d = body[n - 1 - i] - '0';
		if (i % 2 == 0) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	return (10 - sum % 10) % 10;
}

bool pt_luhn_valid(const char *s)
{
	size_t n = strlen(s);
	if (n < 2)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	char body[64];
	if (n >= sizeof(body))
		return false;
	memcpy(body, s, n - 1);
	body[n - 1] = '\0';
	return pt_luhn_digit(body) == s[n - 1] - '0';
}

void pt_card_make(uint64_t random, char out[PT_CARD_DIGITS + 1])
{
	out[0] = (char)('1' + random % 9);
	random /= 9;
	for (int i = 1; i < PT_CARD_DIGITS - 1; i++) {
		out[i] = (char)('0' + random % 10);
		random /= 10;
	}
	out[PT_CARD_DIGITS - 1] = '\0';
	out[PT_CARD_DIGITS - 1] = (char)('0' + pt_luhn_digit(out));
	out[PT_CARD_DIGITS] = '\0';
}

void pt_phone_mask(const char *phone, char *out, int out_size)
{
	int n = (int)strlen(phone);
	int head = n >= 8 ? 3 : 0, tail = n >= 8 ? 4 : (n > 2 ? 2 : 0);
	int stars = n - head - tail;
	if (n >= 11)
		stars = 4; /* 138****1234 whatever the length, as Chinese receipts show it */
	snprintf(out, (size_t)out_size, "%.*s%.*s%s", head, phone, stars, "********************",
	         phone + n - tail);
}
