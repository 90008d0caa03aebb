#ifndef PT_PASSWORD_H
#define PT_PASSWORD_H

#include <stdbool.h>

enum { PT_PASSWORD_MIN = 12, PT_PASSWORD_MAX = 128 };

/* The 10,000 most common passwords (data/common-passwords.txt), each between "\n"s. */
extern const char pt_common_passwords[];

/* True when the password is one people pick first: one of the 10,000 most common passwords,
 * or one built on a common password or base word with digits or symbols added, one character
 * repeated, a pattern repeated, a run of the alphabet or of digits, or a keyboard row. Case is
 * ignored. */
bool pt_password_common(const char *password);

#endif
