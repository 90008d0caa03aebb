/* libmicrohttpd glue: request life cycle, body limits, JSON in and out, authentication,
 * request ids, access log, graceful shutdown. Knows nothing of members or points. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "http/http.h"
#include "http/internal.h"
#include "http/static.h"
#include "service/audit.h"
#include "service/auth.h"
#include "service/idempotency.h"
#include "util/log.h"

/* Polling threads read requests, parse bodies and serve the console's files; the workers
 * (serve's workers setting) do everything that needs the database. */
enum { SHUTDOWN_GRACE_SECONDS = 30, POLLING_THREADS = 2 };

typedef struct request {
	pt_req req;
	struct MHD_Connection *conn;
	char *body;
	size_t body_len, body_cap;
	bool too_large;
	bool unknown_encoding; /* a Transfer-Encoding other than chunked: its body has no end */
	int64_t start_ns;
	char request_id[65];
	int route;
	bool is_static; /* a file of the web console */
	bool on_worker; /* handed to a worker: its answer waits in pending until resumed */
	struct MHD_Response *pending;
	unsigned pending_status;
	struct request *next_queued;
} request;

/* Requests that touch the database run on worker threads, each with its own connection,
 * while the connection is suspended: a request waiting on a lock holds up only its worker,
 * never the other connections served by the same polling thread. */
typedef struct {
	pthread_mutex_t lock;
	pthread_cond_t ready;
	request *head, *tail;
	bool stop;
	pthread_t *threads;
	int nthreads;
} work_queue;

static struct {
	const pt_server_config *cfg;
	pthread_key_t db_key;
	atomic_int in_flight;
	volatile int stop;
	/* Reads (GET, HEAD) and changes wait in separate queues: a lookup at the till never
	 * waits behind checkouts that wait for their group commit. */
	work_queue reads, writes;
} server;

static void *run_background(void *arg)
{
	(void)arg;
	server.cfg->background(server.cfg->db_url, &server.stop);
	return NULL;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void close_db(void *db)
{
	pt_db_close(db);
}

/* One database connection per worker thread, opened on first use. */
static pt_db *thread_db(pt_err *err)
{
	pt_db *db = pthread_getspecific(server.db_key);
	if (db)
		return db;
	if (pt_db_open(&db, server.cfg->db_url, err) != 0) {
		pt_log_error("msg=\"cannot open database\" error=\"%s\"", err->msg_en);
		return NULL;
	}
	pthread_setspecific(server.db_key, db);
	return db;
}

const char *pt_req_param(pt_req *req, const char *name)
{
	for (int i = 0; i < PT_MAX_PATH_PARAMS && req->param_names[i][0]; i++)
		if (strcmp(req->param_names[i], name) == 0)
			return req->param_values[i];
	return NULL;
}

const char *pt_session_cookie_name(const pt_req *req)
{
	return req->tls ? "__Host-" PT_SESSION_COOKIE : PT_SESSION_COOKIE;
}

const char *pt_req_query(pt_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *pt_req_header(pt_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

int pt_req_id(pt_req *req, const char *name, int64_t *out, pt_err *err)
{
	const char *s = pt_req_param(req, name);
	int64_t v = 0;
	if (s && *s && strlen(s) <= 16) {
		for (const char *p = s; *p; p++) {
			if (*p < '0' || *p > '9') {
				v = 0;
				break;
			}
			v = v * 10 + (*p - '0');
		}
	}
	if (v <= 0 || v >= (INT64_C(1) << 53))
		return pt_err_set(err, PT_NOT_FOUND, NULL, "no such resource: %s", "资源不存在：%s",
		                  req->path);
	*out = v;
	return 0;
}

int pt_reply_json(pt_req *req, int status, json_t *body)
{
	if (req->reply)
		json_decref(req->reply);
	req->status = status;
	req->reply = body;
	return 0;
}

int pt_reply_empty(pt_req *req, int status)
{
	return pt_reply_json(req, status, NULL);
}

int pt_reply_text(pt_req *req, int status, const char *text)
{
	req->status = status;
	req->reply_text = text;
	return 0;
}

static json_t *error_body(const pt_err *err, bool english)
{
	json_t *e = json_pack("{s:s, s:s}", "code", pt_code_name(err->code), "message",
	                      english ? err->msg_en : err->msg_zh);
	if (e && err->field[0])
		json_object_set_new(e, "field", json_string(err->field));
	return json_pack("{s:o}", "error", e);
}

/* A response that set its own CSP or Cache-Control (the console's files) keeps them. */
static void add_common_headers(struct MHD_Response *resp, const request *r)
{
	MHD_add_response_header(resp, "X-Request-Id", r->request_id);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (!MHD_get_response_header(resp, "Content-Security-Policy"))
		MHD_add_response_header(resp, "Content-Security-Policy",
		                        "default-src 'self'; frame-ancestors 'none'");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	if (!MHD_get_response_header(resp, "Cache-Control"))
		MHD_add_response_header(resp, "Cache-Control", "no-store");
}

static enum MHD_Result queue_reply(request *r, struct MHD_Response *resp, const char *allow);

static enum MHD_Result send_reply(request *r, const char *allow)
{
	pt_req *req = &r->req;
	struct MHD_Response *resp;
	if (req->reply_json_text) {
		resp = MHD_create_response_from_buffer(strlen(req->reply_json_text),
		                                       (void *)req->reply_json_text,
		                                       MHD_RESPMEM_MUST_COPY);
		if (resp)
			MHD_add_response_header(resp, "Content-Type",
			                        "application/json; charset=utf-8");
	} else if (req->reply_text) {
		resp = MHD_create_response_from_buffer(
		    strlen(req->reply_text), (void *)req->reply_text, MHD_RESPMEM_MUST_COPY);
		if (resp)
			MHD_add_response_header(resp, "Content-Type",
			                        "text/plain; version=0.0.4; charset=utf-8");
	} else if (req->reply) {
		char *text = json_dumps(req->reply, JSON_COMPACT);
		if (!text)
			return MHD_NO;
		resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
		if (!resp)
			free(text);
		else
			MHD_add_response_header(resp, "Content-Type",
			                        "application/json; charset=utf-8");
	} else {
		resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	}
	if (!resp)
		return MHD_NO;
	return queue_reply(r, resp, allow);
}

/* Adds the common headers, queues the response and logs the request. */
static enum MHD_Result queue_reply(request *r, struct MHD_Response *resp, const char *allow)
{
	pt_req *req = &r->req;
	add_common_headers(resp, r);
	if (allow)
		MHD_add_response_header(resp, "Allow", allow);
	if (req->set_cookie)
		MHD_add_response_header(resp, "Set-Cookie", req->set_cookie);
	if (req->location)
		MHD_add_response_header(resp, "Location", req->location);
	if (req->replayed)
		MHD_add_response_header(resp, "Idempotent-Replayed", "true");
	if (req->status == 429 || req->status == 503) {
		char seconds[24];
		snprintf(seconds, sizeof(seconds), "%d",
		         req->retry_after > 0 ? req->retry_after : 1);
		MHD_add_response_header(resp, "Retry-After", seconds);
	}
	enum MHD_Result ret = MHD_YES;
	if (r->on_worker) {
		r->pending = resp;
		r->pending_status = (unsigned)req->status;
	} else {
		ret = MHD_queue_response(r->conn, (unsigned)req->status, resp);
		MHD_destroy_response(resp);
	}

	int64_t dur_ns = now_ns() - r->start_ns;
	pt_metrics_record(r->route, req->method, req->status, dur_ns);
	const char *route = r->route >= 0  ? server.cfg->routes[r->route].pattern
	                    : r->is_static ? "static"
	                                   : "unmatched";
	char caller[48] = "none";
	if (req->ctx.staff_id)
		snprintf(caller, sizeof(caller), "staff:%lld", (long long)req->ctx.staff_id);
	else if (req->ctx.api_key_id)
		snprintf(caller, sizeof(caller), "api_key:%lld", (long long)req->ctx.api_key_id);
	pt_log_info("msg=request request_id=%s method=%s route=\"%s\" status=%d dur_us=%lld "
	            "ip=%s caller=%s",
	            r->request_id, pt_method_name(req->method), route, req->status,
	            (long long)(dur_ns / 1000), req->ctx.ip ? req->ctx.ip : "-", caller);
	return ret;
}

static enum MHD_Result send_error(request *r, const pt_err *err, const char *allow)
{
	if (err->code == PT_INTERNAL)
		pt_log_error("msg=\"internal error\" request_id=%s error=\"%s\"", r->request_id,
		             err->msg_en);
	r->req.retry_after = err->retry_after;
	r->req.reply_json_text = NULL; /* an answer stored by a transaction that then failed */
	pt_reply_json(&r->req, pt_code_status(err->code), error_body(err, r->req.english));
	return send_reply(r, allow);
}

static void set_request_id(request *r)
{
	const char *given = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Request-Id");
	size_t n = given ? strlen(given) : 0;
	if (n >= 1 && n <= 64 &&
	    strspn(given, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
	        n) {
		memcpy(r->request_id, given, n + 1);
		return;
	}
	unsigned char raw[8];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(r->request_id, sizeof(r->request_id), raw, sizeof(raw));
}

static void set_client_ip(request *r)
{
	const union MHD_ConnectionInfo *info =
	    MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char buf[INET6_ADDRSTRLEN] = "-";
	if (info && info->client_addr) {
		const struct sockaddr *sa = info->client_addr;
		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET,
			          &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf,
			          sizeof(buf));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6,
			          &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, buf,
			          sizeof(buf));
	}
	r->req.ctx.ip = pt_arena_strdup(r->req.ctx.arena, buf);
}

static bool is_json_type(const char *ct)
{
	if (!ct)
		return false;
	while (*ct == ' ')
		ct++;
	size_t n = strlen("application/json");
	return strncasecmp(ct, "application/json", n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Finds the member holding a number past 64 bits, to name it as the field to blame. */
static bool find_huge(json_t *v, char *path, size_t size)
{
	const char *key;
	json_t *child;
	size_t used = strlen(path), i;
	if (json_is_real(v))
		return json_real_value(v) >= 9.2e18 || json_real_value(v) <= -9.2e18;
	if (json_is_object(v)) {
		json_object_foreach(v, key, child)
		{
			snprintf(path + used, size - used, "%s%s", used ? "." : "", key);
			if (find_huge(child, path, size))
				return true;
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, child)
		{
			snprintf(path + used, size - used, "[%zu]", i);
			if (find_huge(child, path, size))
				return true;
		}
	}
	path[used] = '\0';
	return false;
}

static int too_big_integer(request *r, pt_err *err)
{
	json_error_t jerr;
	char path[64] = "";
	json_t *as_real = json_loadb(r->body, r->body_len, JSON_DECODE_INT_AS_REAL, &jerr);
	bool found = as_real && find_huge(as_real, path, sizeof(path));
	json_decref(as_real);
	return pt_err_set(err, PT_INVALID_ARGUMENT, found ? path : NULL,
	                  "%s is a number too large to handle", "%s 数值过大",
	                  found ? path : "a value");
}

static int parse_body(request *r, pt_err *err)
{
	pt_req *req = &r->req;
	bool takes_body = req->method == PT_POST || req->method == PT_PUT ||
	                  req->method == PT_PATCH || req->method == PT_DELETE;
	if (!takes_body || r->body_len == 0) {
		req->body = takes_body ? json_object() : NULL;
		if (req->body)
			pt_arena_defer(req->ctx.arena, (void (*)(void *))json_decref, req->body);
		return 0;
	}
	if (!is_json_type(pt_req_header(req, "Content-Type")))
		return pt_err_set(err, PT_UNSUPPORTED_MEDIA_TYPE, NULL,
		                  "the request body must be JSON (Content-Type: application/json)",
		                  "请求体须为 JSON（Content-Type: application/json）");
	json_error_t jerr;
	json_t *body = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!body && strstr(jerr.text, "too big integer"))
		return too_big_integer(r, err);
	if (!body)
		return pt_err_set(
		    err, PT_INVALID_ARGUMENT, NULL, "malformed JSON at line %d column %d: %s",
		    "JSON 格式错误（第 %d 行第 %d 列）：%s", jerr.line, jerr.column, jerr.text);
	pt_arena_defer(req->ctx.arena, (void (*)(void *))json_decref, body);
	if (!json_is_object(body))
		return pt_err_set(err, PT_INVALID_ARGUMENT, NULL,
		                  "the request body must be a JSON object", "请求体须为 JSON 对象");
	req->body = body;
	return 0;
}

/* Bearer key first, then the session cookie; a cookie-authenticated change needs the CSRF
 * token of its session. */
static int authenticate(request *r, pt_err *err)
{
	pt_req *req = &r->req;
	const char *authz = pt_req_header(req, "Authorization");
	if (authz) {
		if (strncasecmp(authz, "Bearer ", 7) != 0)
			return pt_err_set(err, PT_UNAUTHENTICATED, NULL,
			                  "the Authorization header must be 'Bearer <api key>'",
			                  "Authorization 头须为 'Bearer <API 密钥>'");
		return pt_svc_auth_api_key(&req->ctx, authz + 7, err);
	}
	const char *token =
	    MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, pt_session_cookie_name(req));
	if (!token)
		return pt_err_set(err, PT_UNAUTHENTICATED, NULL,
		                  "sign in first, or send an API key", "请先登录，或提供 API 密钥");
	const char *csrf = NULL;
	if (pt_svc_auth_session(&req->ctx, token, &csrf, err) != 0)
		return -1;
	req->csrf_token = csrf;
	if (req->method != PT_GET) {
		const char *sent = pt_req_header(req, "X-CSRF-Token");
		if (!sent || strlen(sent) != strlen(csrf) ||
		    sodium_memcmp(sent, csrf, strlen(csrf)) != 0)
			return pt_err_set(err, PT_CSRF_FAILED, NULL,
			                  "missing or wrong X-CSRF-Token header",
			                  "缺少或错误的 X-CSRF-Token 请求头");
	}
	return 0;
}

typedef struct {
	request *r;
	const pt_route *rt;
	const char *key, *hash;
	pt_idem idem;
	pt_idem_outcome outcome;
	bool refused; /* the request was refused (4xx) and the refusal stored as its answer */
	pt_err refusal;
} idem_run;

/* The handler and the stored answer in one transaction: a request and its record of having
 * run commit together or not at all. */
static int idempotent_tx(pt_db *db, void *arg, pt_err *err)
{
	idem_run *x = arg;
	pt_req *req = &x->r->req;
	if (req->reply) { /* a retried transaction starts its answer afresh */
		json_decref(req->reply);
		req->reply = NULL;
	}
	req->status = 0;
	req->reply_json_text = NULL;
	if (x->rt->handler(req, err) != 0)
		return -1;
	/* The answer goes out as stored: the same bytes as any replay, written out once (by the
	 * handler already, when it has them). */
	const char *answer = req->reply_json_text;
	char *text = !answer && req->reply ? json_dumps(req->reply, JSON_COMPACT) : NULL;
	int rc = pt_svc_idem_finish(db, &x->idem, req->status, answer ? answer : text, err);
	if (text)
		req->reply_json_text = rc == 0 ? pt_arena_strdup(req->ctx.arena, text) : NULL;
	else if (rc != 0)
		req->reply_json_text = NULL;
	free(text);
	return rc;
}

/* The refusal a repeat will get: the error body, as sent. */
static char *refusal_text(request *r, const pt_err *err)
{
	json_t *e = error_body(err, r->req.english);
	char *text = e ? json_dumps(e, JSON_COMPACT) : NULL;
	json_decref(e);
	return text;
}

/* Where writes are serialised (SQLite), the key's claim, the request and its stored answer
 * are one transaction, and a request costs one commit instead of two; a repeat while the
 * first is in flight is told so (pt_svc_idem_enter), one after finds the answer. A refusal undoes
 * the request's savepoint only and is stored in place of its effects. */
static int claim_and_run_tx(pt_db *db, void *arg, pt_err *err)
{
	idem_run *x = arg;
	x->refused = false;
	if (pt_svc_idem_begin(&x->r->req.ctx, x->key, x->hash, &x->outcome, &x->idem, err) != 0)
		return -1;
	if (x->outcome == PT_IDEM_REPLAY || pt_db_savepoint(db, idempotent_tx, x, err) == 0)
		return 0;
	if (err->retry || pt_code_status(err->code) >= 500)
		return -1;
	char *text = refusal_text(x->r, err);
	if (!text)
		return pt_err_oom(err);
	x->refused = true;
	x->refusal = *err;
	int rc = pt_svc_idem_finish(db, &x->idem, pt_code_status(err->code), text, err);
	free(text);
	return rc;
}

static bool valid_idempotency_key(const char *key)
{
	size_t n = key ? strlen(key) : 0;
	if (n < 1 || n > 255)
		return false;
	for (size_t i = 0; i < n; i++)
		if (key[i] < 0x20 || key[i] > 0x7E)
			return false;
	return true;
}

static enum MHD_Result send_replay(request *r, const pt_idem *idem)
{
	r->req.status = idem->status;
	r->req.reply_json_text = idem->body;
	r->req.replayed = true;
	return send_reply(r, NULL);
}

/* SQLite: the claim and the request in one transaction (above). */
static enum MHD_Result run_idempotent_serialised(request *r, idem_run *x)
{
	pt_err err = {0};
	pt_idem_running running;
	if (pt_svc_idem_enter(&r->req.ctx, x->key, x->hash, &running, &err) != 0)
		return send_error(r, &err, NULL);
	int rc = pt_db_tx(r->req.ctx.db, true, claim_and_run_tx, x, &err);
	pt_svc_idem_leave(&running);
	if (rc != 0)
		return send_error(r, &err, NULL);
	if (x->outcome == PT_IDEM_REPLAY)
		return send_replay(r, &x->idem);
	return x->refused ? send_error(r, &x->refusal, NULL) : send_reply(r, NULL);
}

static enum MHD_Result run_idempotent(request *r, const pt_route *rt)
{
	pt_req *req = &r->req;
	pt_err err = {0};
	const char *key = pt_req_header(req, "Idempotency-Key");
	if (!valid_idempotency_key(key)) {
		pt_err_set(&err, PT_INVALID_ARGUMENT, "Idempotency-Key",
		           "this request needs an Idempotency-Key header of 1 to 255 printable "
		           "ASCII characters",
		           "此请求需要 Idempotency-Key 请求头（1 至 255 个可打印 ASCII 字符）");
		return send_error(r, &err, NULL);
	}
	/* The request is its method, path and body, the body in canonical form. */
	char *body = req->body ? json_dumps(req->body, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	crypto_generichash_state h;
	unsigned char digest[32];
	char hash[65];
	crypto_generichash_init(&h, NULL, 0, sizeof(digest));
	crypto_generichash_update(&h, (const unsigned char *)req->method_name,
	                          strlen(req->method_name) + 1);
	crypto_generichash_update(&h, (const unsigned char *)req->path, strlen(req->path) + 1);
	if (body)
		crypto_generichash_update(&h, (const unsigned char *)body, strlen(body));
	crypto_generichash_final(&h, digest, sizeof(digest));
	sodium_bin2hex(hash, sizeof(hash), digest, sizeof(digest));
	free(body);

	idem_run x = {.r = r, .rt = rt, .key = key, .hash = hash};
	if (pt_db_kind_of(req->ctx.db) == PT_DB_SQLITE)
		return run_idempotent_serialised(r, &x);
	/* PostgreSQL: the claim commits first, so a repeat while the request runs (or waits on
	 * a row lock) sees it running and is told so at once. */
	if (pt_svc_idem_begin(&req->ctx, key, hash, &x.outcome, &x.idem, &err) != 0)
		return send_error(r, &err, NULL);
	if (x.outcome == PT_IDEM_REPLAY)
		return send_replay(r, &x.idem);
	if (pt_db_tx(req->ctx.db, true, idempotent_tx, &x, &err) == 0)
		return send_reply(r, NULL);
	int status = pt_code_status(err.code);
	if (status >= 500) {
		pt_svc_idem_abandon(req->ctx.db, &x.idem);
		return send_error(r, &err, NULL);
	}
	/* A refusal is an answer too: a repeat gets the same refusal. */
	char *text = refusal_text(r, &err);
	pt_err store_err = {0};
	if (!text || pt_svc_idem_finish(req->ctx.db, &x.idem, status, text, &store_err) != 0) {
		pt_log_error("msg=\"cannot store idempotent refusal\" request_id=%s",
		             r->request_id);
		pt_svc_idem_abandon(req->ctx.db, &x.idem);
	}
	free(text);
	return send_error(r, &err, NULL);
}

/* Against DNS rebinding: with an allow-list set, the Host header (without its port) must be
 * one of the names on it. */
static bool host_allowed(const char *host)
{
	const char *list = server.cfg->allowed_hosts;
	if (!list || !*list)
		return true;
	if (!host)
		return false;
	size_t n = strlen(host);
	const char *colon = host[0] == '[' ? strchr(host, ']') : strrchr(host, ':');
	if (colon && host[0] == '[')
		n = (size_t)(colon - host) + 1;
	else if (colon)
		n = (size_t)(colon - host);
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ",");
		while (len && *p == ' ')
			p++, len--;
		if (len == n && strncasecmp(p, host, n) == 0)
			return true;
		p += len;
		if (*p == ',')
			p++;
	}
	return false;
}

static enum MHD_Result execute(request *r);

static enum MHD_Result accept_until_stopping(void *cls, const struct sockaddr *addr,
                                             socklen_t addrlen)
{
	(void)cls, (void)addr, (void)addrlen;
	return server.stop ? MHD_NO : MHD_YES;
}

static void *run_worker(void *arg)
{
	work_queue *q = arg;
	for (;;) {
		pthread_mutex_lock(&q->lock);
		while (!q->head && !q->stop)
			pthread_cond_wait(&q->ready, &q->lock);
		request *r = q->head;
		if (r) {
			q->head = r->next_queued;
			if (!q->head)
				q->tail = NULL;
		}
		pthread_mutex_unlock(&q->lock);
		if (!r)
			return NULL;
		execute(r);
		/* The answer is made: what it was made of (JSON trees above all) is freed here, by
		 * the thread that built most of it, rather than by the polling thread once the
		 * answer is sent, where it cost a third of that thread's time under checkouts. */
		json_decref(r->req.reply);
		r->req.reply = NULL;
		pt_arena_run_cleanups(r->req.ctx.arena);
		MHD_resume_connection(r->conn);
	}
}

static int start_workers(work_queue *q, int n)
{
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->ready, NULL);
	q->threads = calloc((size_t)n, sizeof(*q->threads));
	if (!q->threads)
		return -1;
	for (; q->nthreads < n; q->nthreads++)
		if (pthread_create(&q->threads[q->nthreads], NULL, run_worker, q) != 0)
			return -1;
	return 0;
}

/* Once every queued request has been answered. */
static void stop_workers(work_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->stop = true;
	pthread_cond_broadcast(&q->ready);
	pthread_mutex_unlock(&q->lock);
	for (int i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	free(q->threads);
}

static void enqueue(work_queue *q, request *r)
{
	pthread_mutex_lock(&q->lock);
	if (q->tail)
		q->tail->next_queued = r;
	else
		q->head = r;
	q->tail = r;
	pthread_cond_signal(&q->ready);
	pthread_mutex_unlock(&q->lock);
}

/* A query parameter holding a NUL (%00) would read as cut short (q=%00 as no q at all). */
static enum MHD_Result find_nul(void *cls, enum MHD_ValueKind kind, const char *key,
                                size_t key_size, const char *value, size_t value_size)
{
	(void)kind;
	const char **bad = cls;
	if (strlen(key) != key_size || (value && strlen(value) != value_size)) {
		*bad = key;
		return MHD_NO;
	}
	return MHD_YES;
}

static enum MHD_Result dispatch(request *r)
{
	pt_req *req = &r->req;
	pt_err err;
	pt_err_clear(&err);
	if (r->too_large) {
		pt_err_set(&err, PT_PAYLOAD_TOO_LARGE, NULL, "the request body is over 1 MiB",
		           "请求体超过 1 MiB");
		return send_error(r, &err, NULL);
	}
	if (r->unknown_encoding) {
		pt_err_set(&err, PT_INVALID_ARGUMENT, "Transfer-Encoding",
		           "only the chunked Transfer-Encoding is understood",
		           "仅支持 chunked 传输编码（Transfer-Encoding）");
		return send_error(r, &err, NULL);
	}
	if (!host_allowed(pt_req_header(req, "Host"))) {
		pt_err_set(&err, PT_INVALID_ARGUMENT, "Host",
		           "this server does not answer for that host name",
		           "本服务器不响应该主机名");
		return send_error(r, &err, NULL);
	}
	const char *nul_in = NULL;
	MHD_get_connection_values_n(r->conn, MHD_GET_ARGUMENT_KIND, find_nul, &nul_in);
	if (nul_in) {
		pt_err_set(&err, PT_INVALID_ARGUMENT, nul_in,
		           "a query parameter holds a NUL character", "查询参数含有 NUL 字符");
		return send_error(r, &err, NULL);
	}
	if (pt_static_path(req->path)) {
		struct MHD_Response *resp = NULL;
		r->is_static = true;
		if (pt_static_reply(req, &resp, &err) != 0)
			return send_error(
			    r, &err, err.code == PT_METHOD_NOT_ALLOWED ? PT_STATIC_ALLOW : NULL);
		return queue_reply(r, resp, NULL);
	}
	char *path = pt_arena_strdup(req->ctx.arena, req->path);
	char allow[64];
	int route = pt_route_match(server.cfg->routes, server.cfg->nroutes, req->method, path,
	                           req->param_names, req->param_values, allow, sizeof(allow));
	if (route == -1) {
		pt_err_set(&err, PT_NOT_FOUND, NULL, "no such resource: %s", "资源不存在：%s",
		           req->path);
		return send_error(r, &err, NULL);
	}
	if (route == -2) {
		pt_err_set(&err, PT_METHOD_NOT_ALLOWED, NULL, "%s is not allowed here; use %s",
		           "此处不允许 %s；可用 %s", req->method_name, allow);
		return send_error(r, &err, allow);
	}
	r->route = route;
	if (parse_body(r, &err) != 0)
		return send_error(r, &err, NULL);
	/* Suspended before it is queued: a worker may resume it at once. */
	r->on_worker = true;
	MHD_suspend_connection(r->conn);
	bool reads = req->method == PT_GET || (server.cfg->routes[route].flags & PT_ROUTE_READS);
	enqueue(reads ? &server.reads : &server.writes, r);
	return MHD_YES;
}

/* On a worker thread: authenticates, authorises and runs the route's handler. */
static enum MHD_Result execute(request *r)
{
	pt_req *req = &r->req;
	pt_err err;
	pt_err_clear(&err);
	const pt_route *rt = &server.cfg->routes[r->route];
	req->ctx.db = thread_db(&err);
	if (!req->ctx.db)
		return send_error(r, &err, NULL);
	if (!(rt->flags & PT_ROUTE_PUBLIC)) {
		if (authenticate(r, &err) != 0)
			return send_error(r, &err, NULL);
		if (req->ctx.totp_pending && strcmp(rt->pattern, "/api/v1/me") != 0 &&
		    strncmp(rt->pattern, "/api/v1/me/", 11) != 0 &&
		    strcmp(rt->pattern, "/api/v1/auth/logout") != 0) {
			pt_err_set(
			    &err, PT_PERMISSION_DENIED, NULL,
			    "your role must use two-factor sign-in: enrol at POST /api/v1/me/totp "
			    "first",
			    "您的角色须使用两步验证：请先在 POST /api/v1/me/totp 开启");
			return send_error(r, &err, NULL);
		}
		if (pt_svc_require(&req->ctx, rt->perm, &err) != 0) {
			pt_svc_audit_refusal(&req->ctx, "permission_denied", "route", 0,
			                     json_pack("{s:s, s:s}", "method", req->method_name,
			                               "route", rt->pattern));
			return send_error(r, &err, NULL);
		}
	}
	if (rt->flags & PT_ROUTE_PREPARES) {
		pt_err ignored;
		pt_err_clear(&ignored);
		req->preparing = true;
		rt->handler(req, &ignored);
		req->preparing = false;
	}
	if (rt->flags & PT_ROUTE_IDEMPOTENT)
		return run_idempotent(r, rt);
	if (rt->handler(req, &err) != 0)
		return send_error(r, &err, NULL);
	return send_reply(r, NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	(void)cls;
	(void)version;
	request *r = *con_cls;
	if (r && r->on_worker) { /* resumed: the worker's answer, or none when it failed */
		if (!r->pending)
			return MHD_NO;
		enum MHD_Result ret = MHD_queue_response(conn, r->pending_status, r->pending);
		MHD_destroy_response(r->pending);
		r->pending = NULL;
		return ret;
	}
	if (!r) {
		pt_arena *arena = pt_arena_new();
		if (!arena)
			return MHD_NO;
		r = pt_arena_alloc(arena, sizeof(*r));
		if (!r) {
			pt_arena_free(arena);
			return MHD_NO;
		}
		atomic_fetch_add(&server.in_flight, 1);
		*con_cls = r;
		r->conn = conn;
		r->route = -1;
		r->start_ns = now_ns();
		r->req.ctx.arena = arena;
		r->req.conn = conn;
		/* HEAD is GET without the body, which the server leaves out by itself. */
		r->req.method = pt_method_parse(strcmp(method, "HEAD") == 0 ? "GET" : method);
		r->req.method_name = pt_arena_strdup(arena, method);
		r->req.path = pt_arena_strdup(arena, url);
		r->req.tls = server.cfg->tls_cert_pem != NULL;
		r->req.english = pt_http_prefers_english(
		    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept-Language"));
		set_request_id(r);
		r->req.ctx.request_id = r->request_id;
		set_client_ip(r);
		const char *cl =
		    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
		const char *te =
		    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Transfer-Encoding");
		r->too_large = cl && strtoull(cl, NULL, 10) > PT_MAX_BODY;
		/* libmicrohttpd would read such a body until the connection closes. */
		r->unknown_encoding = te && strcasecmp(te, "chunked") != 0;
		/* Answer at once and let the server close the connection rather than read a body
		 * we will refuse. */
		if (r->too_large || r->unknown_encoding)
			return dispatch(r);
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (r->too_large || r->body_len + n > PT_MAX_BODY) {
			r->too_large = true;
			return MHD_YES;
		}
		if (r->body_len + n > r->body_cap) {
			size_t cap = r->body_cap ? r->body_cap * 2 : 4096;
			while (cap < r->body_len + n)
				cap *= 2;
			char *grown = pt_arena_alloc(r->req.ctx.arena, cap);
			if (!grown)
				return MHD_NO;
			if (r->body_len)
				memcpy(grown, r->body, r->body_len);
			r->body = grown;
			r->body_cap = cap;
		}
		memcpy(r->body + r->body_len, upload_data, n);
		r->body_len += n;
		return MHD_YES;
	}
	if (r->req.status) /* answered already (413 on the first call) */
		return MHD_YES;
	return dispatch(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	request *r = *con_cls;
	if (!r)
		return;
	if (r->req.reply)
		json_decref(r->req.reply);
	pt_arena_free(r->req.ctx.arena);
	*con_cls = NULL;
	atomic_fetch_sub(&server.in_flight, 1);
}

static int parse_listen(const char *listen, struct sockaddr_storage *ss, pt_err *err)
{
	char host[256];
	const char *colon = strrchr(listen, ':');
	if (!colon || colon == listen || strlen(listen) >= sizeof(host))
		return pt_err_set(err, PT_INVALID_ARGUMENT, "listen",
		                  "listen must be ADDRESS:PORT, e.g. 127.0.0.1:8080",
		                  "listen 须为 地址:端口，例如 127.0.0.1:8080");
	size_t hlen = (size_t)(colon - listen);
	memcpy(host, listen, hlen);
	host[hlen] = '\0';
	if (host[0] == '[' && hlen >= 2 && host[hlen - 1] == ']') {
		memmove(host, host + 1, hlen - 2);
		host[hlen - 2] = '\0';
	}
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
	                         .ai_socktype = SOCK_STREAM},
	                *res;
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
		return pt_err_set(err, PT_INVALID_ARGUMENT, "listen",
		                  "cannot use listen address %s", "无法使用监听地址 %s", listen);
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

/* With epoll a connection costs a descriptor and little else, so allow many: libmicrohttpd
 * notices a client that sent part of a request and closed only at the connection timeout, and a
 * client abandoning connections should need tens of thousands, not a thousand, to shut others
 * out. Raises the descriptor limit to what the system allows, keeping some for the database. */
static unsigned connection_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 1000;
	if (rl.rlim_cur < rl.rlim_max && rl.rlim_cur < 65536) {
		rl.rlim_cur = rl.rlim_max < 65536 ? rl.rlim_max : 65536;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || getrlimit(RLIMIT_NOFILE, &rl) != 0)
			return 1000;
	}
	rlim_t room = rl.rlim_cur > 1256 ? rl.rlim_cur - 256 : 1000;
	return room > 32768 ? 32768 : (unsigned)room;
}

int pt_server_run(const pt_server_config *cfg, pt_err *err)
{
	struct sockaddr_storage addr = {0};
	if (parse_listen(cfg->listen, &addr, err) != 0)
		return -1;
	/* Test-clock routes exist only when asked for: without the flag they are unknown paths. */
	static pt_server_config effective;
	static pt_route routes[256];
	effective = *cfg;
	effective.nroutes = 0;
	for (int i = 0; i < cfg->nroutes && effective.nroutes < 256; i++)
		if (cfg->test_clock || !(cfg->routes[i].flags & PT_ROUTE_TEST_CLOCK))
			routes[effective.nroutes++] = cfg->routes[i];
	effective.routes = routes;
	cfg = &effective;
	server.cfg = cfg;
	pt_metrics_init(cfg->routes, cfg->nroutes);
	if (pthread_key_create(&server.db_key, close_db) != 0)
		return pt_err_set(err, PT_INTERNAL, NULL, "cannot create thread key",
		                  "无法创建线程键");

	/* Signals are taken by sigwait below, never by a worker thread. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int readers = cores > 2 ? (int)cores : 2;
	if (start_workers(&server.reads, readers) != 0 ||
	    start_workers(&server.writes, cfg->workers) != 0)
		return pt_err_set(err, PT_INTERNAL, NULL, "cannot start worker threads",
		                  "无法启动工作线程");
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
	                 MHD_ALLOW_SUSPEND_RESUME;
	if (addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	struct MHD_OptionItem opts[12];
	int k = 0;
	opts[k++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &addr};
	opts[k++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, POLLING_THREADS, NULL};
	opts[k++] =
	    (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL};
	opts[k++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, 60, NULL};
	opts[k++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT,
	                                    (intptr_t)connection_limit(), NULL};
	/* libmicrohttpd clears a connection's whole memory pool between two requests of a
	 * kept-alive connection: at 256 KB that cost more than the rest of the polling thread's
	 * work. Bodies are copied out as they arrive, so the pool holds the request line, the
	 * headers and a read buffer: room for a 60 KB header, or 1,000 query parameters. */
	opts[k++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, 96 * 1024, NULL};
	if (cfg->tls_cert_pem) {
		/* TLS 1.2 and 1.3 only (GnuTLS priority string). */
		flags |= MHD_USE_TLS;
		opts[k++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0,
		                                    (void *)cfg->tls_cert_pem};
		opts[k++] =
		    (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)cfg->tls_key_pem};
		opts[k++] =
		    (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
		                            (void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"};
	}
	opts[k++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	struct MHD_Daemon *d = MHD_start_daemon(flags, 0, accept_until_stopping, NULL, on_request,
	                                        NULL, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (!d) {
		int e = errno;
		stop_workers(&server.reads);
		stop_workers(&server.writes);
		return pt_err_set(err, PT_UNAVAILABLE, "listen", "cannot listen on %s: %s",
		                  "无法监听 %s：%s", cfg->listen, strerror(e));
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	char host[INET6_ADDRSTRLEN] = "";
	if (addr.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&addr)->sin6_addr, host, sizeof(host));
	else
		inet_ntop(AF_INET, &((struct sockaddr_in *)&addr)->sin_addr, host, sizeof(host));
	pt_log_info("msg=listening url=http://%s%s%s:%u workers=%d readers=%d",
	            addr.ss_family == AF_INET6 ? "[" : "", host,
	            addr.ss_family == AF_INET6 ? "]" : "", info ? info->port : 0, cfg->workers,
	            readers);

	pthread_t background;
	bool has_background = false;
	if (cfg->background)
		has_background = pthread_create(&background, NULL, run_background, NULL) == 0;

	int sig = 0;
	sigwait(&sigs, &sig);
	server.stop = 1;
	pt_log_info("msg=\"shutting down\" signal=%d in_flight=%d", sig,
	            atomic_load(&server.in_flight));
	/* From now on new connections are closed as they are accepted (accept_until_stopping).
	 * Not MHD_quiesce_daemon: with a thread pool on epoll it races the polling threads, which
	 * take the listening socket out of their epoll sets themselves, and libmicrohttpd aborts
	 * the process when its own removal then fails. */
	/* Requests in flight finish and are answered; idle keep-alive connections are not
	 * waited for. */
	for (int i = 0; i < SHUTDOWN_GRACE_SECONDS * 100 && atomic_load(&server.in_flight) > 0; i++)
		usleep(10000);
	MHD_stop_daemon(d);
	stop_workers(&server.reads);
	stop_workers(&server.writes);
	if (has_background)
		pthread_join(background, NULL);
	pt_log_info("msg=stopped");
	return 0;
}
