#ifndef PT_HTTP_H
#define PT_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "service/service.h"
#include "util/arena.h"
#include "util/err.h"

enum { PT_MAX_BODY = 1024 * 1024, PT_MAX_PATH_PARAMS = 4 };

typedef enum { PT_GET, PT_POST, PT_PUT, PT_PATCH, PT_DELETE, PT_METHOD_OTHER } pt_method;

typedef struct pt_req pt_req;

/* A handler answers through pt_reply_json (or pt_reply_empty) and returns 0, or returns -1
 * with err set and the server answers with the error body. */
typedef int (*pt_handler)(pt_req *req, pt_err *err);

enum {
	PT_ROUTE_PUBLIC = 1,     /* no credentials needed */
	PT_ROUTE_IDEMPOTENT = 4, /* needs an Idempotency-Key; runs once per key (API.md) */
	PT_ROUTE_TEST_CLOCK = 8, /* exists only under serve --test-clock */
	PT_ROUTE_READS = 16,     /* changes nothing though not a GET: served with the reads */
	/* The handler is called once first with req->preparing set, outside the write
	 * transaction, on the request's own connection: what it reads and leaves in
	 * req->prepared, the real call may use. That first call's failure is not the
	 * request's: the real call runs all the same. */
	PT_ROUTE_PREPARES = 32,
};

typedef struct {
	pt_method method;
	const char *pattern; /* "/api/v1/members/{id}": {name} matches one path segment */
	pt_handler handler;
	pt_perm perm; /* 0: any authenticated caller */
	unsigned flags;
} pt_route;

/* Routing, pure so it can be unit-tested. Finds the route for method and path, filling
 * params (values point into the caller's buffer, which is modified). Returns the route index,
 * -1 when no pattern matches the path, -2 when patterns match but not the method (allow then
 * lists the methods that do, e.g. "GET, PATCH"). */
enum { PT_PARAM_NAME_MAX = 32 };
int pt_route_match(const pt_route *routes, int nroutes, pt_method method, char *path,
                   char names[PT_MAX_PATH_PARAMS][PT_PARAM_NAME_MAX],
                   char *values[PT_MAX_PATH_PARAMS], char *allow, int allow_size);
const char *pt_method_name(pt_method m);
pt_method pt_method_parse(const char *s);

/* True when Accept-Language prefers English over Chinese (Chinese is the default). */
bool pt_http_prefers_english(const char *accept_language);

/* What handlers use. */
struct pt_req {
	pt_ctx ctx; /* db, arena, caller: what the service layer needs */
	pt_method method;
	const char *method_name; /* as sent, for messages */
	const char *path;
	json_t *body; /* the parsed JSON object for POST/PUT/PATCH with a body, else NULL */
	char param_names[PT_MAX_PATH_PARAMS][PT_PARAM_NAME_MAX]; /* "" past the last */
	char *param_values[PT_MAX_PATH_PARAMS];
	bool english;
	bool tls;   /* the request came over TLS: cookies are Secure and __Host- prefixed */
	void *conn; /* the server's connection, for headers and query arguments */
	const char *csrf_token; /* of the session, when the caller signed in with a cookie */
	bool preparing;         /* PT_ROUTE_PREPARES: the first call */
	void *prepared;         /* what it left for the real call */
	/* The reply, set by pt_reply_*. */
	int status;
	json_t *reply;
	const char *reply_text;
	const char *reply_json_text; /* the answer already written out (stored, or a replay): sent
	                                as it is */
	bool replayed;
	const char *set_cookie;
	const char *location;
	int retry_after; /* seconds, for 429 and 503 */
};

const char *pt_req_param(pt_req *req, const char *name);
/* "__Host-patron_session" under TLS, else "patron_session". */
const char *pt_session_cookie_name(const pt_req *req);
const char *pt_req_query(pt_req *req, const char *name);
const char *pt_req_header(pt_req *req, const char *name);

/* The one reply function: takes ownership of body. */
int pt_reply_json(pt_req *req, int status, json_t *body);
int pt_reply_empty(pt_req *req, int status);
int pt_reply_text(pt_req *req, int status, const char *text);

/* Parses a path id: a positive integer below 2^53; anything else answers 404, as no resource
 * could have that id. */
int pt_req_id(pt_req *req, const char *name, int64_t *out, pt_err *err);

typedef struct {
	const char *listen; /* "127.0.0.1:8080" */
	const char *db_url;
	int workers;
	const pt_route *routes;
	int nroutes;
	bool test_clock;
	const char *tls_cert_pem, *tls_key_pem; /* NULL: plain HTTP */
	const char *allowed_hosts;              /* comma-separated; NULL or "": any Host */
	/* Runs in its own thread while the server serves, until *stop becomes true. */
	void (*background)(const char *db_url, const volatile int *stop);
} pt_server_config;

/* Serves until SIGTERM or SIGINT, then finishes the requests in flight. 0 on a clean stop. */
int pt_server_run(const pt_server_config *cfg, pt_err *err);

/* Prometheus text of the server's counters, into the arena. */
char *pt_metrics_render(pt_arena *arena);

#endif
