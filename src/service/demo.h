#ifndef PT_SERVICE_DEMO_H
#define PT_SERVICE_DEMO_H

#include "store/db.h"

/* The living part of the demo business: products with stock in every store, a running 满减
 * promotion, coupons in members' hands, and six months of orders (with some refunds), posted
 * through the same services a till uses, from a fixed seed. Needs the stores, tiers and members
 * of the demo already in place; runs in the caller's transaction. */
int pt_svc_demo_business(pt_db *db, pt_err *err);

#endif
