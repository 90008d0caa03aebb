#ifndef PT_SERVICE_MEMBERS_H
#define PT_SERVICE_MEMBERS_H

#include "service/service.h"
#include "store/repo.h"

/* A member's fields as given by a caller, already checked for shape by the api layer.
 * set_* says which fields a patch gave; a given NULL clears an optional field. */
typedef struct {
	bool set_name, set_phone, set_gender, set_birthday, set_card_no, set_store_id, set_tags,
	    set_note;
	const char *name, *phone, *gender, *birthday, *card_no, *note;
	const char *referral_code; /* the referrer's code; create only */
	int64_t store_id;
	const char *const *tags;
	int ntags;
} pt_member_input;

int pt_svc_member_create(pt_ctx *ctx, const pt_member_input *in, pt_member *out, pt_err *err);
int pt_svc_member_patch(pt_ctx *ctx, int64_t id, const pt_member_input *in, pt_member *out,
                        pt_err *err);
int pt_svc_member_get(pt_ctx *ctx, int64_t id, pt_member *out, pt_err *err);
/* by: "phone", "card_no" or "code" (the card QR payload). */
int pt_svc_member_lookup(pt_ctx *ctx, const char *by, const char *value, pt_member *out,
                         pt_err *err);
int pt_svc_member_search(pt_ctx *ctx, const pt_member_filter *f, pt_member **out, int *n,
                         pt_err *err);
int pt_svc_member_erase(pt_ctx *ctx, int64_t id, pt_err *err);

/* Fills the generated values of a new member from random bits: card number, referral code. */
void pt_member_codes_make(uint64_t random, char card_no[16], char referral_code[16]);

#endif
