#ifndef PT_COUPON_CODE_H
#define PT_COUPON_CODE_H

#include <stdbool.h>
#include <stdint.h>

/* Coupon codes: 13 random characters (64 bits) from an alphabet without 0/O, 1/I/L, and a
 * check character, written XXXXX-XXXXX-XXXX. A single wrong character or two
 * swapped neighbours fail the check, so a typo is caught at the till instead of finding
 * nothing (or, worse, someone else's coupon). */

enum { PT_COUPON_CODE_LEN = 16 }; /* with dashes, without the NUL */

/* random: 13 values, each reduced mod 31 by the function. */
void pt_coupon_code_make(const uint32_t random[13], char out[PT_COUPON_CODE_LEN + 1]);
/* Normalises what a person typed (case, spaces, dashes) into the canonical form. -1 when it
 * cannot be a coupon code at all; -2 when the check character is wrong (mistyped). */
int pt_coupon_code_normalize(const char *typed, char out[PT_COUPON_CODE_LEN + 1]);

#endif
