#ifndef PT_HTTP_INTERNAL_H
#define PT_HTTP_INTERNAL_H

#include <stdint.h>

#include "http/http.h"

#define PT_SESSION_COOKIE "patron_session"

/* route: index in the route table, -1 for unmatched paths. */
void pt_metrics_record(int route, pt_method method, int status, int64_t dur_ns);
void pt_metrics_init(const pt_route *routes, int nroutes);

#endif
