#include "core/password.h"

#include <ctype.h>
#include <string.h>

/* Base words the common-password list lacks (the pinyin and number codes common in China, and
 * this product's own words), which people pad with digits to reach a length rule. */
static const char *const bases[] = {
    "password",  "passw0rd",   "p@ssw0rd", "p@ssword",   "qwerty",        "qwertyuiop",  "asdfgh",
    "asdfghjkl", "zxcvbnm",    "iloveyou", "admin",      "administrator", "welcome",     "letmein",
    "monkey",    "dragon",     "football", "baseball",   "sunshine",      "princess",    "master",
    "shadow",    "superman",   "batman",   "trustno1",   "changeme",      "default",     "secret",
    "login",     "abc",        "abcd",     "abcdef",     "qazwsx",        "1qaz2wsx",    "zaq12wsx",
    "1q2w3e4r",  "q1w2e3r4",   "woaini",   "woaini1314", "aini",          "5201314",     "1314520",
    "caonima",   "nihao",      "zhangwei", "wangwei",    "liuyang",       "123qwe",      "qwe123",
    "abc123",    "patron",     "owner",    "manager",    "cashier",       "test",        "testing",
    "hello",     "hellokitty", "michael",  "jennifer",   "computer",      "internet",    "starwars",
    "whatever",  "freedom",    "pokemon",  "minecraft",  "playstation",   "christopher", "charlie",
    "jordan",    "liverpool",  "chelsea",  "arsenal",    "samsung",       "iphone",      "google",
};

static const char *const rows[] = {"1234567890",
                                   "qwertyuiop",
                                   "asdfghjkl",
                                   "zxcvbnm",
                                   "abcdefghijklmnopqrstuvwxyz",
                                   "1qaz2wsx3edc4rfv5tgb",
                                   "qazwsxedcrfvtgbyhnujmikolp",
                                   "qwertyuiopasdfghjklzxcvbnm"};

static bool listed(const char *s, size_t n)
{
	char needle[260];
	needle[0] = '\n';
	memcpy(needle + 1, s, n);
	needle[n + 1] = '\n';
	needle[n + 2] = '\0';
	return strstr(pt_common_passwords, needle) != NULL;
}

static bool is_pad(char c)
{
	return isdigit((unsigned char)c) || ispunct((unsigned char)c) || c == ' ';
}

/* The password made of one short unit repeated (aaaa..., abcabc..., 1212...). */
static bool repeated(const char *s, size_t n)
{
	for (size_t unit = 1; unit <= n / 2; unit++) {
		bool same = true;
		for (size_t i = unit; i < n && same; i++)
			same = s[i] == s[i % unit];
		if (same)
			return true;
	}
	return false;
}

/* A run along a keyboard row or the alphabet, forwards or backwards, wrapping around. */
static bool run(const char *s, size_t n)
{
	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		const char *row = rows[r];
		size_t len = strlen(row);
		for (int dir = -1; dir <= 1; dir += 2) {
			const char *start = strchr(row, s[0]);
			if (!start)
				continue;
			size_t pos = (size_t)(start - row), i = 1;
			for (; i < n; i++) {
				pos = (pos + len + (size_t)dir) % len;
				if (row[pos] != s[i])
					break;
			}
			if (i == n)
				return true;
		}
	}
	return false;
}

bool pt_password_common(const char *password)
{
	char s[256];
	size_t n = strlen(password);
	if (n >= sizeof(s))
		return false;
	for (size_t i = 0; i <= n; i++)
		s[i] = (char)tolower((unsigned char)password[i]);
	if (repeated(s, n) || run(s, n) || listed(s, n))
		return true;
	/* A base word with digits and symbols around it: password2026!, 2026password. */
	size_t b = 0, e = n;
	while (b < n && is_pad(s[b]))
		b++;
	while (e > b && is_pad(s[e - 1]))
		e--;
	if (e == b)
		return true; /* nothing but digits and symbols, so a date or a number */
	char core[256];
	memcpy(core, s + b, e - b);
	core[e - b] = '\0';
	/* Short words (love, blue) are common alone but fine inside a long passphrase. */
	if (e - b >= 5 && listed(core, e - b))
		return true;
	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		size_t bl = strlen(bases[i]);
		if (strcmp(core, bases[i]) == 0)
			return true;
		/* The base said twice, or with its digits inside: passwordpassword,
		 * qwerty123qwerty. */
		if (e - b >= bl && strncmp(core, bases[i], bl) == 0 && repeated(core, e - b))
			return true;
	}
	return repeated(core, e - b) || run(core, e - b);
}
