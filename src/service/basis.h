/* What prices rest on, kept in memory: products as of one generation of the pricing basis
 * (migration 005), shared by the whole process. A product read by a transaction that sees
 * generation G is cached for G; a lookup for G answers from memory, copied into the caller's
 * arena. Only committed snapshots fill it (a read transaction's, never a write transaction's,
 * whose changes may still roll back), and a change to any product starts a new generation, so
 * what it answers is what the database holds at G. */
#ifndef PT_SERVICE_BASIS_H
#define PT_SERVICE_BASIS_H

#include "store/repo_catalog.h"

/* In a read transaction that sees generation: the product with this SKU. */
int pt_basis_product_by_sku(pt_db *db, pt_arena *a, int64_t generation, const char *sku,
                            pt_product *out, bool *found, pt_err *err);

/* Forgets everything (tests). */
void pt_basis_forget(void);

#endif
