#ifndef PT_TEXT_H
#define PT_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Counts the code points of valid UTF-8 text; -1 when s is not valid UTF-8 (overlongs,
 * surrogates and code points above U+10FFFF are invalid). */
long pt_utf8_length(const char *s, size_t n);
/* True when s holds a control character (C0, DEL or C1); line breaks (LF, CR) and tabs pass
 * when allow_line_breaks is set, for multi-line text such as notes. */
bool pt_text_has_control(const char *s, bool allow_line_breaks);
/* True when s is empty or only white space. */
bool pt_text_is_blank(const char *s);
/* True when every byte of s is in the given set of ASCII characters (and s is not empty). */
bool pt_text_all_in(const char *s, const char *set);
bool pt_text_all_digits(const char *s);

#endif
