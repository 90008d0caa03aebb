#include "core/text.h"

#include <stdint.h>
#include <string.h>

long pt_utf8_length(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	long count = 0;
	while (p < end) {
		uint32_t c = *p;
		int extra;
		uint32_t min;
		if (c < 0x80) {
			extra = 0;
			min = 0;
		} else if ((c & 0xE0) == 0xC0) {
			extra = 1;
			min = 0x80;
			c &= 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			extra = 2;
			min = 0x800;
			c &= 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			extra = 3;
			min = 0x10000;
			c &= 0x07;
		} else {
			return -1;
		}
		if (end - p <= extra)
			return -1;
		for (int i = 1; i <= extra; i++) {
			if ((p[i] & 0xC0) != 0x80)
				return -1;
			c = (c << 6) | (p[i] & 0x3F);
		}
		if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
			return -1;
		p += extra + 1;
		count++;
	}
	return count;
}

bool pt_text_has_control(const char *s, bool allow_line_breaks)
{
	const unsigned char *p = (const unsigned char *)s;
	for (; *p; p++) {
		if (allow_line_breaks && (*p == '\n' || *p == '\r' || *p == '\t'))
			continue;
		if (*p < 0x20 || *p == 0x7F)
			return true;
		/* C1 controls U+0080..U+009F are encoded C2 80..C2 9F. */
		if (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F)
			return true;
	}
	return false;
}

bool pt_text_is_blank(const char *s)
{
	for (; *s; s++) {
		if (*s == ' ' || *s == '\t')
			continue;
		/* U+3000 IDEOGRAPHIC SPACE, what a Chinese input method types. */
		if ((unsigned char)s[0] == 0xE3 && (unsigned char)s[1] == 0x80 &&
		    (unsigned char)s[2] == 0x80) {
			s += 2;
			continue;
		}
		return false;
	}
	return true;
}

bool pt_text_all_in(const char *s, const char *set)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!strchr(set, *s))
			return false;
	return true;
}

bool pt_text_all_digits(const char *s)
{
	return pt_text_all_in(s, "0123456789");
}
