#ifndef PT_SERVICE_SETUP_H
#define PT_SERVICE_SETUP_H

#include <stdio.h>

#include "store/db.h"

/* Creates the owner account on a migrated database; PT_CONFLICT when one exists already. */
int pt_svc_init_owner(pt_db *db, const char *username, const char *password, pt_err *err);
/* Adds the demo business: 3 stores and PT_DEMO_PEOPLE_COUNT members, the same every time. */
int pt_svc_demo_create(pt_db *db, pt_err *err);
/* Verifies the invariants; prints each problem to out and counts them in *problems. */
int pt_svc_check(pt_db *db, FILE *out, long *problems, pt_err *err);

#endif
