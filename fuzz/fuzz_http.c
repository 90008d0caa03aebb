/* fuzz_http: raw bytes to the real server over loopback.
 *
 * Once per process: a SQLite database with the fixtures of common.c, then pt_server_run in a
 * thread on 127.0.0.1 (a free port, 4 workers, Host allow-list "127.0.0.1,localhost", no test
 * clock), as `patron serve` runs it. Each input is sent as it is on a new connection, which is
 * then half-closed, and the reply read. Placeholders in the input are replaced first, so the
 * fuzzer can reach the routes behind authentication:
 *     @SESSION@ @CSRF@                  the owner's session cookie value and CSRF token
 *     @CASHIER@ @CASHIER_CSRF@          the same for cashier1 (store 1)
 *     @KEY@                             the API key (default scopes, store 1)
 *     @COUPON@                          a coupon code of member 1 (16 characters)
 * Sessions and the key are made anew every 10 s, in case an input ended them.
 *
 * Checked on every input, besides ASan and UBSan in the server's threads: every answer of
 * Patron's own (it carries X-Request-Id, unlike libmicrohttpd's answers to unparseable
 * requests) is below 500, since bad input is never a 500, and a 4xx carries a JSON error body;
 * and after the input the server still answers GET /healthz on a new connection within
 * 10 seconds: it neither crashed nor hangs. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "common.h"
#include "util/clock.h"

enum { HEALTH_TIMEOUT_MS = 10000, MAX_REPLY = 4 << 20 };

static int port;
static pt_db *db; /* the harness's own connection, for new credentials */
static int64_t refreshed_ms;
static const uint8_t *input;
static size_t input_size;

static void dump_input(void)
{
	fprintf(stderr, "input (%zu bytes): ", input_size);
	for (size_t i = 0; i < input_size && i < 4000; i++) {
		uint8_t c = input[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			fputc(c, stderr);
		else if (c == '\r')
			fputs("\\r", stderr);
		else if (c == '\n')
			fputs("\\n", stderr);
		else
			fprintf(stderr, "\\x%02x", c);
	}
	fputc('\n', stderr);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- The server ------------------------------------------------------------------------------- */

static pt_server_config config;
static char listen_addr[64];

static void *serve(void *arg)
{
	(void)arg;
	pt_err err = {0};
	if (pt_server_run(&config, &err) != 0)
		fz_fail("setup: the server did not start: %s", err.msg_en);
	return NULL;
}

static int free_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(s, (struct sockaddr *)&a, &len) != 0)
		fz_fail("setup: no free port: %s", strerror(errno));
	close(s);
	return ntohs(a.sin_port);
}

/* Open descriptors of the process: the server's connections among them. */
static int open_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n - 2;
}

static int connect_server(void)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (s < 0)
		fz_fail("socket: %s", strerror(errno));
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0)
		return s;
	/* Interrupted (libFuzzer's timer is a signal): the connection goes on being made. */
	int e = errno;
	if (e == EINTR) {
		struct pollfd pfd = {.fd = s, .events = POLLOUT};
		int64_t deadline = now_ms() + HEALTH_TIMEOUT_MS;
		int rc;
		do
			rc = poll(&pfd, 1, (int)(deadline - now_ms()));
		while (rc < 0 && errno == EINTR && now_ms() < deadline);
		socklen_t len = sizeof(e);
		if (rc == 1 && getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &len) == 0 && e == 0)
			return s;
		e = rc == 0 ? ETIMEDOUT : e;
	}
	close(s);
	errno = e;
	return -1;
}

/* The server is gone or full: says how many descriptors are open, as a hint. */
static void unreachable(void)
{
	fz_fail("the server does not accept connections any more (%s; %d descriptors open)",
	        strerror(errno), open_fds());
}

/* Closes with a reset rather than a FIN: libmicrohttpd 0.9.75 does not notice a FIN while a
 * request line, a header or a body is unfinished, and keeps such a connection until its
 * 60 s timeout; a thousand of them fill its connection limit and the server stops answering
 * (fuzz/README.md). Each input should meet a server in the same state. */
static void reset(int s)
{
	struct linger l = {.l_onoff = 1, .l_linger = 0};
	setsockopt(s, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(s);
}

static bool send_all(int s, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(s, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false; /* the server may close early (413, a malformed request) */
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* --- Reading replies -------------------------------------------------------------------------- */

typedef struct {
	char *p;
	size_t n, cap;
} buffer;

static const char *find_header(const char *head, size_t len, const char *name)
{
	size_t nl = strlen(name);
	for (const char *p = head; p && p < head + len;) {
		const char *eol = memchr(p, '\n', (size_t)(head + len - p));
		if ((size_t)(head + len - p) > nl + 1 && strncasecmp(p, name, nl) == 0 &&
		    p[nl] == ':')
			return p + nl + 1;
		p = eol ? eol + 1 : NULL;
	}
	return NULL;
}

/* Walks the answers in buf. Returns how many bytes make whole answers (headers and their
 * Content-Length of body; HEAD answers have none, so a body that starts like an answer is
 * taken for the next one), checking each of Patron's. */
static size_t check_replies(const buffer *buf)
{
	size_t pos = 0;
	while (pos < buf->n) {
		size_t begin = pos;
		const char *start = buf->p + pos;
		size_t left = buf->n - pos;
		if (left < 12 || memcmp(start, "HTTP/1.", 7) != 0)
			return pos;
		const char *end = memmem(start, left, "\r\n\r\n", 4);
		if (!end)
			return pos;
		size_t head_len = (size_t)(end - start);
		int status = atoi(start + 9);
		const char *cl = find_header(start, head_len, "Content-Length");
		long long body = cl ? strtoll(cl, NULL, 10) : 0;
		bool ours = find_header(start, head_len, "X-Request-Id") != NULL;
		if (ours && status >= 500)
			fz_fail("the server answered %d to bad input:\n%.*s", status, (int)head_len,
			        start);
		if (ours && status >= 400) {
			const char *ct = find_header(start, head_len, "Content-Type");
			if (!ct || strncmp(ct, " application/json", 17) != 0 || body <= 0)
				fz_fail("a %d without a JSON error body:\n%.*s", status,
				        (int)head_len, start);
		}
		pos += head_len + 4;
		if (body > 0 && !(buf->n - pos >= 7 && memcmp(buf->p + pos, "HTTP/1.", 7) == 0)) {
			if ((size_t)body > buf->n - pos)
				return begin;
			/* Patron's error bodies say what went wrong, with its code. */
			if (ours && status >= 400 &&
			    !memmem(buf->p + pos, (size_t)body, "{\"error\":{\"code\":\"", 18))
				fz_fail("a %d whose body is not an error:\n%.*s", status,
				        (int)(body > 500 ? 500 : body), buf->p + pos);
			pos += (size_t)body;
		}
	}
	return pos;
}

/* Reads until the server closes, or goes quiet: at once when what came so far are whole
 * answers and nothing more comes within 5 ms, else after wait_ms (a request still running, a
 * body the server still waits for). */
static void read_replies(int s, buffer *buf, int wait_ms)
{
	int64_t deadline = now_ms() + HEALTH_TIMEOUT_MS;
	for (;;) {
		/* Headers alone may be a whole answer too (HEAD). */
		bool whole =
		    buf->n > 0 && (check_replies(buf) == buf->n ||
		                   (buf->n >= 4 && !memcmp(buf->p + buf->n - 4, "\r\n\r\n", 4)));
		int quiet = whole ? 5 : wait_ms;
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return;
		struct pollfd pfd = {.fd = s, .events = POLLIN};
		int rc = poll(&pfd, 1, (int)(quiet < left ? quiet : left));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			return;
		if (buf->n == buf->cap) {
			if (buf->cap >= MAX_REPLY)
				return;
			buf->cap = buf->cap ? buf->cap * 2 : 65536;
			buf->p = realloc(buf->p, buf->cap);
			FZ_CHECK(buf->p != NULL);
		}
		ssize_t r = recv(s, buf->p + buf->n, buf->cap - buf->n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return;
		buf->n += (size_t)r;
	}
}

/* The server still answers: GET /healthz on a new connection, within the time. */
static void check_alive(void)
{
	static const char probe[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	                            "Connection: close\r\n\r\n";
	int64_t start = now_ms();
	int s = connect_server();
	if (s < 0)
		unreachable();
	buffer buf = {0};
	bool sent = send_all(s, probe, sizeof(probe) - 1);
	while (sent && now_ms() - start < HEALTH_TIMEOUT_MS &&
	       !(buf.n > 12 && memmem(buf.p, buf.n, "{\"status\":\"ok\"}", 15)))
		read_replies(s, &buf, HEALTH_TIMEOUT_MS);
	close(s);
	if (!(buf.n > 12 && memcmp(buf.p, "HTTP/1.1 200", 12) == 0))
		fz_fail("after this input GET /healthz got no 200 within %d s (%zu bytes: %.*s; "
		        "%d descriptors open)",
		        HEALTH_TIMEOUT_MS / 1000, buf.n, (int)(buf.n > 200 ? 200 : buf.n),
		        buf.p ? buf.p : "", open_fds());
	free(buf.p);
}

/* --- Inputs ----------------------------------------------------------------------------------- */

/* How many requests the input holds whole, read roughly: heads, and bodies by Content-Length.
 * With none, no answer is coming (the server closes, or waits for the rest of a line or a
 * body) and waiting long for one would only slow the fuzzer; a rough reading suffices. */
static int whole_requests(const char *p, size_t n)
{
	int count = 0;
	size_t pos = 0;
	while (pos < n) {
		const char *crlf = memmem(p + pos, n - pos, "\r\n\r\n", 4);
		const char *lf = memmem(p + pos, n - pos, "\n\n", 2);
		const char *end = crlf && (!lf || crlf < lf) ? crlf : lf;
		if (!end)
			break;
		long long body = 0;
		size_t head_len = (size_t)(end - (p + pos));
		const char *cl = find_header(p + pos, head_len, "Content-Length");
		const char *te = find_header(p + pos, head_len, "Transfer-Encoding");
		if (cl)
			body = strtoll(cl, NULL, 10);
		pos = (size_t)(end - p) + (end == crlf ? 4 : 2);
		if (te) {
			/* A chunked body ends with its last chunk; any other coding, never. */
			const char *last = memmem(p + pos, n - pos, "0\r\n\r\n", 5);
			if (strncmp(te, " chunked\r", 9) != 0 || !last)
				break;
			pos = (size_t)(last + 5 - p);
		} else if (body > 0) {
			if ((unsigned long long)body > n - pos)
				break;
			pos += (size_t)body;
		}
		count++;
	}
	return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	input = data;
	input_size = size;
	size_t n;
	char *req = fz_expand(data, size, &n);
	int s = connect_server();
	if (s < 0)
		unreachable();
	buffer buf = {0};
	if (send_all(s, req, n))
		shutdown(s, SHUT_WR);
	int64_t start = now_ms();
	read_replies(s, &buf, whole_requests(req, n) ? 2000 : 10);
	reset(s);
	if (getenv("FUZZ_VERBOSE") && now_ms() - start > 500) {
		fprintf(stderr, "fuzz_http: %lld ms for the answers to ",
		        (long long)(now_ms() - start));
		dump_input();
	}
	check_replies(&buf);
	free(buf.p);
	free(req);
	check_alive();
	/* An input may have signed a caller out or revoked the key: new ones now and then. */
	if (now_ms() - refreshed_ms > 10000) {
		fz_refresh_callers(db);
		refreshed_ms = now_ms();
		if (getenv("FUZZ_VERBOSE"))
			fprintf(stderr, "fuzz_http: %d descriptors open\n", open_fds());
	}
	input = NULL;
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	static char url[1200];
	db = fz_setup(url, sizeof(url));
	refreshed_ms = now_ms();

	port = free_port();
	snprintf(listen_addr, sizeof(listen_addr), "127.0.0.1:%d", port);
	config = (pt_server_config){.listen = listen_addr,
	                            .db_url = url,
	                            .workers = 4,
	                            .routes = pt_api_routes,
	                            .nroutes = pt_api_route_count,
	                            .allowed_hosts = "127.0.0.1,localhost"};
	pt_clock_mark_started();
	pthread_t t;
	if (pthread_create(&t, NULL, serve, NULL) != 0)
		fz_fail("setup: cannot start the server thread");
	pthread_detach(t);
	int64_t start = now_ms();
	for (;;) {
		int s = connect_server();
		if (s >= 0) {
			close(s);
			break;
		}
		if (now_ms() - start > 30000)
			fz_fail("setup: the server did not listen within 30 s");
		usleep(10000);
	}
	check_alive();
	fz_dump = dump_input;
	return 0;
}
