#ifndef PT_CARD_H
#define PT_CARD_H

#include <stdbool.h>
#include <stdint.h>

/* Member card numbers: 12 digits, the last a Luhn check digit, so one mistyped digit or two
 * swapped neighbours are caught at the till. */
enum { PT_CARD_DIGITS = 12 };

/* The Luhn check digit for the digits in body (no check digit). */
int pt_luhn_digit(const char *body);
/* True when the last digit of s is the Luhn check digit of the rest. */
bool pt_luhn_valid(const char *s);
/* Writes a card number (PT_CARD_DIGITS digits + NUL) from 64 random bits. The first digit is
 * never 0, so the number keeps its length in any spreadsheet. */
void pt_card_make(uint64_t random, char out[PT_CARD_DIGITS + 1]);
/* Masks a phone for callers who may not see it: 13812341234 -> 138****1234. */
void pt_phone_mask(const char *phone, char *out, int out_size);

#endif
