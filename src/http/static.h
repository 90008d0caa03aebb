#ifndef PT_HTTP_STATIC_H
#define PT_HTTP_STATIC_H

/* The web console, embedded at build time (cmake/embed_web.cmake) and served from memory. */

#include <stdbool.h>
#include <stddef.h>

#include "http/http.h"

typedef struct {
	const char *path;         /* URL path: "/index.html", "/assets/index-DWbYmgrf.js" */
	const char *content_type; /* by extension */
	const unsigned char *raw;
	size_t raw_len;
	const unsigned char *gz; /* gzip -9 -n of raw; NULL when that is no smaller */
	size_t gz_len;
	const char *etag;    /* quoted: of the raw bytes */
	const char *etag_gz; /* quoted: of the gzip bytes */
	bool immutable;      /* a content-hashed name under /assets/ */
} pt_web_asset;

/* The generated table; pt_web_asset_count is 0 in a build with -DPATRON_WEB=OFF. */
extern const pt_web_asset pt_web_assets[];
extern const int pt_web_asset_count;

#define PT_STATIC_ALLOW "GET, HEAD"
#define PT_CONSOLE_CSP                                                                             \
	"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src "        \
	"'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "       \
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

/* What a static request is answered with. */
typedef struct {
	int status; /* 200, 304, 404 (no such file under /assets/, or no console), 405 */
	const pt_web_asset *asset; /* for 200 and 304 */
	const unsigned char *body; /* for 200: the raw or the gzip bytes */
	size_t len;
	bool gzip;                 /* body is gzip: Content-Encoding: gzip */
	const char *etag;          /* of the representation sent */
	const char *cache_control; /* for 200 and 304 */
	const char *csp;           /* PT_CONSOLE_CSP for HTML, else NULL: the server's default */
} pt_static_answer;

/* True for paths the console answers: all but /api, /api/..., /healthz and /metrics. */
bool pt_static_path(const char *path);

/* True when Accept-Encoding accepts gzip (gzip, x-gzip or *, with a q above 0). */
bool pt_static_accepts_gzip(const char *accept_encoding);

/* True when If-None-Match names etag (weak comparison) or is "*". */
bool pt_static_etag_matches(const char *if_none_match, const char *etag);

/* Decides the answer from a table of assets; pure, so it can be tested on any table.
 * "/" is index.html; a path with no file is index.html too (the console routes it), except
 * under /assets/, where it is 404. */
void pt_static_decide(const pt_web_asset *table, int n, const char *method, const char *path,
                      const char *accept_encoding, const char *if_none_match,
                      pt_static_answer *out);

struct MHD_Response;

/* Answers a request for a static path from the embedded table: sets req->status and *resp
 * (with its Content-Type, Cache-Control, ETag, Vary and, for HTML, CSP), or returns -1 with
 * err set (404, 405 with PT_STATIC_ALLOW) for the server's error body. */
int pt_static_reply(pt_req *req, struct MHD_Response **resp, pt_err *err);

#endif
