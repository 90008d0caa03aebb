/*
 * patron-loadgen: a closed-loop HTTP/1.1 load generator for Patron's API.
 *
 * Every connection keeps exactly one request in flight and sends the next one as soon as the
 * answer is complete, so the figure is the throughput the server sustains at that concurrency,
 * and the latencies are those that a till waiting on its answer would see. The generator has to
 * share a small machine with the server, so each thread is one edge-triggered epoll loop and a
 * request costs one send() and usually one recv().
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_SEC      1000000000LL
#define NS_PER_MS       1000000LL
#define ANSWER_TIMEOUT  (10 * NS_PER_SEC)
#define CONNECT_BACKOFF (50 * NS_PER_MS)
/* Timeouts and reconnect delays are checked this often rather than kept in a timer heap: a
 * scan of a few hundred connections ten times a second costs nothing. */
#define SCAN_INTERVAL (100 * NS_PER_MS)
#define RESP_BUF      16384
#define MAX_EVENTS    256
#define SHOWN_BODIES  3
#define SHOWN_BYTES   300

enum kind { K_CHECKOUT, K_LOOKUP, K_QUOTE, K_GET, NKINDS };
static const char *const kind_names[NKINDS] = {"checkout", "lookup", "quote", "get"};

/* Failures that have no HTTP status; they follow the statuses in each kind's counters. */
enum { E_CONNECT = 600, E_TIMEOUT, E_PROTOCOL, NSLOTS };
static const char *const slot_names[] = {"connect", "timeout", "protocol"};

struct coupon {
	long long member_id;
	char *code;
};

static struct {
	const char *host, *token, *path, *json_path;
	char port[8];
	int connections, threads;
	double seconds, warmup;
	unsigned weight[NKINDS];
	unsigned total_weight;
	long long members, products, stores, redeem_points;
	unsigned long long seed;
	struct coupon *coupons;
	size_t ncoupons;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char host_header[300];
	long pid;
	int64_t warm_end, end;
} cfg;

static atomic_size_t next_coupon;
static atomic_int shown_bodies;

struct lat {
	uint64_t *v;
	size_t n, cap;
};

struct stats {
	uint64_t count[NKINDS][NSLOTS];
	struct lat lat[NKINDS];
};

enum state { S_BACKOFF, S_CONNECTING, S_WRITING, S_READING };

struct buf {
	char *p;
	size_t len, cap;
};

struct conn {
	int fd;
	uint32_t gen; /* tells a stale epoll event of a closed socket from one of the new one */
	unsigned index;
	enum state state;
	uint64_t rng;
	unsigned long long seq;
	/* the request in flight, or the one waiting for a connection */
	enum kind kind;
	struct buf req;
	size_t req_off;
	int64_t since;   /* connect started, or request ready: the 10 s deadline counts from it */
	int64_t started; /* first byte written */
	/* the answer */
	char *in;
	size_t in_len;
	bool have_header, close_after;
	int status;
	long long body_left;
	char *shown; /* set while this answer's body is one of the few printed to stderr */
	size_t shown_len;
};

struct thread {
	pthread_t tid;
	int ep;
	struct conn *conns;
	unsigned nconns;
	struct buf body; /* scratch for request bodies */
	struct stats st;
	bool failed;
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);
	if (!q) {
		fprintf(stderr, "patron-loadgen: out of memory\n");
		exit(1);
	}
	return q;
}

static void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void buf_printf(struct buf *b, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			fprintf(stderr, "patron-loadgen: cannot format a request\n");
			exit(1);
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		b->cap = (b->len + (size_t)n + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
}

/* splitmix64: tiny, and good enough to draw kinds, members and skus. */
static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* 1..n; the modulo bias is far below anything a benchmark could notice */
static long long rnd_upto(uint64_t *s, long long n)
{
	return (long long)(rnd(s) % (uint64_t)n) + 1;
}

static void lat_push(struct lat *l, uint64_t v)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 4096;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = v;
}

static bool in_window(int64_t t)
{
	return t >= cfg.warm_end && t < cfg.end;
}

static void count(struct thread *t, enum kind k, int slot, int64_t at)
{
	if (in_window(at))
		t->st.count[k][slot]++;
}

/* --- requests --- */

static void items_json(struct buf *b, uint64_t *rng)
{
	long long sku[3];
	for (int i = 0; i < 3; i++) {
		bool dup;
		do {
			sku[i] = rnd_upto(rng, cfg.products);
			dup = false;
			for (int j = 0; j < i; j++)
				dup |= sku[j] == sku[i];
		} while (dup);
	}
	buf_printf(b, "\"items\":[");
	for (int i = 0; i < 3; i++)
		buf_printf(b, "%s{\"sku\":\"B%05lld\",\"qty\":%lld}", i ? "," : "", sku[i],
		           rnd_upto(rng, 3));
	buf_printf(b, "]");
}

static void basket_json(struct thread *t, struct conn *c, bool commit)
{
	struct buf *b = &t->body;
	long long store = rnd_upto(&c->rng, cfg.stores);
	long long member = rnd_upto(&c->rng, cfg.members);
	const char *code = NULL;
	long long redeem = 0;
	if (commit) {
		/* One draw decides both, so that a run out of coupons still redeems points on
		 * the same share of checkouts. */
		uint64_t u = rnd(&c->rng) % 100;
		if (u < 20) {
			/* The load keeps the shared counter's cache line still once all are gone.
			 */
			size_t i = atomic_load(&next_coupon) < cfg.ncoupons
			               ? atomic_fetch_add(&next_coupon, 1)
			               : cfg.ncoupons;
			if (i < cfg.ncoupons) {
				member = cfg.coupons[i].member_id;
				code = cfg.coupons[i].code;
			}
		} else if (u >= 20 && u < 30) {
			redeem = cfg.redeem_points;
		}
	}
	b->len = 0;
	buf_printf(b, "{\"store_id\":%lld,\"member_id\":%lld,", store, member);
	items_json(b, &c->rng);
	if (code)
		buf_printf(b, ",\"coupon_code\":\"%s\"", code);
	if (redeem > 0)
		buf_printf(b, ",\"redeem_points\":%lld", redeem);
	buf_printf(b, "}");
}

static enum kind draw_kind(uint64_t *rng)
{
	unsigned u = (unsigned)(rnd(rng) % cfg.total_weight);
	for (int k = 0; k < NKINDS; k++) {
		if (u < cfg.weight[k])
			return (enum kind)k;
		u -= cfg.weight[k];
	}
	return K_GET; /* not reached: the weights add up to total_weight */
}

static void request_head(struct buf *b, const char *method, const char *target)
{
	buf_printf(b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, target, cfg.host_header);
	if (cfg.token)
		buf_printf(b, "Authorization: Bearer %s\r\n", cfg.token);
}

static void prepare(struct thread *t, struct conn *c, int64_t now)
{
	struct buf *r = &c->req;
	c->kind = draw_kind(&c->rng);
	c->seq++;
	r->len = 0;
	switch (c->kind) {
	case K_CHECKOUT:
	case K_QUOTE:
		basket_json(t, c, c->kind == K_CHECKOUT);
		request_head(r, "POST",
		             c->kind == K_CHECKOUT ? "/api/v1/checkout" : "/api/v1/checkout/quote");
		if (c->kind == K_CHECKOUT)
			buf_printf(r, "Idempotency-Key: bench-%ld-%u-%llu\r\n", cfg.pid, c->index,
			           c->seq);
		buf_printf(r, "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%.*s",
		           t->body.len, (int)t->body.len, t->body.p);
		break;
	case K_LOOKUP: {
		char target[64];
		snprintf(target, sizeof(target), "/api/v1/members/lookup?phone=139%08lld",
		         rnd_upto(&c->rng, cfg.members));
		request_head(r, "GET", target);
		buf_printf(r, "\r\n");
		break;
	}
	case K_GET:
	default:
		request_head(r, "GET", cfg.path);
		buf_printf(r, "\r\n");
		break;
	}
	c->req_off = 0;
	c->since = now;
}

/* --- connections --- */

static void start_connect(struct thread *t, struct conn *c, int64_t now);
static void send_request(struct thread *t, struct conn *c);

static void reset_answer(struct conn *c)
{
	c->in_len = 0;
	c->have_header = false;
	c->close_after = false;
	c->status = 0;
	c->body_left = 0;
	free(c->shown);
	c->shown = NULL;
	c->shown_len = 0;
}

static void drop(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->gen++;
	reset_answer(c);
}

/* The request in flight is lost: count it, and go on with a fresh one on a new connection. */
static void fail(struct thread *t, struct conn *c, int slot, int64_t now)
{
	count(t, c->kind, slot, now);
	drop(c);
	prepare(t, c, now);
	start_connect(t, c, now);
}

/* The request never left: count it, and keep it (with its coupon) for the next attempt. */
static void connect_failed(struct thread *t, struct conn *c, int64_t now)
{
	count(t, c->kind, E_CONNECT, now);
	drop(c);
	c->state = S_BACKOFF;
	c->since = now;
}

static void start_connect(struct thread *t, struct conn *c, int64_t now)
{
	c->since = now;
	c->fd = socket(cfg.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		connect_failed(t, c, now);
		return;
	}
	/* Requests are single small writes; Nagle would hold them back for the previous ACK. */
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&cfg.addr, cfg.addrlen) != 0 &&
	    errno != EINPROGRESS) {
		connect_failed(t, c, now);
		return;
	}
	/* Even a connect that completed at once is finished from the EPOLLOUT that adding it
	 * raises: sending from here could fail, reconnect and recurse. */
	struct epoll_event ev = {
	    .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
	    .data.u64 = (uint64_t)c->gen << 32 | (uint64_t)(c - t->conns),
	};
	if (epoll_ctl(t->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
		connect_failed(t, c, now);
		return;
	}
	c->state = S_CONNECTING;
}

static void finish_connect(struct thread *t, struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err) {
		connect_failed(t, c, now_ns());
		return;
	}
	c->state = S_WRITING;
	send_request(t, c);
}

static void send_request(struct thread *t, struct conn *c)
{
	while (c->req_off < c->req.len) {
		int64_t t0 = c->req_off ? 0 : now_ns();
		ssize_t n =
		    send(c->fd, c->req.p + c->req_off, c->req.len - c->req_off, MSG_NOSIGNAL);
		if (n > 0) {
			if (!c->req_off)
				c->started = t0;
			c->req_off += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			return; /* EPOLLOUT will call again */
		} else {
			fail(t, c, E_CONNECT, now_ns());
			return;
		}
	}
	c->state = S_READING;
}

static bool header_is(const char *line, size_t len, const char *name, const char **value,
                      size_t *vlen)
{
	size_t n = strlen(name);
	if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
		return false;
	const char *v = line + n + 1, *e = line + len;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*value = v;
	*vlen = (size_t)(e - v);
	return true;
}

static bool has_token(const char *v, size_t len, const char *token)
{
	size_t n = strlen(token);
	for (size_t i = 0; i + n <= len; i++)
		if (strncasecmp(v + i, token, n) == 0)
			return true;
	return false;
}

/* Parses the status line and headers in c->in[0..hlen); false when they are not HTTP/1.x
 * with a length we can skip by. */
static bool parse_header(struct conn *c, size_t hlen)
{
	const char *p = c->in, *end = c->in + hlen;
	const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
	if (!eol || eol - p < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ')
		return false;
	bool http10 = p[7] == '0';
	int status = 0;
	for (int i = 9; i < 12; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		status = status * 10 + (p[i] - '0');
	}
	if (status < 100 || status > 599)
		return false;
	c->status = status;
	c->close_after = http10;
	long long length = -1;
	for (p = eol + 2; p < end; p = eol + 2) {
		eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (!eol || eol == p)
			break;
		size_t len = (size_t)(eol - p);
		const char *v;
		size_t vlen;
		if (header_is(p, len, "Content-Length", &v, &vlen)) {
			char num[24];
			if (vlen == 0 || vlen >= sizeof(num))
				return false;
			memcpy(num, v, vlen);
			num[vlen] = '\0';
			char *e;
			errno = 0;
			length = strtoll(num, &e, 10);
			if (errno || *e || length < 0)
				return false;
		} else if (header_is(p, len, "Transfer-Encoding", &v, &vlen)) {
			if (has_token(v, vlen, "chunked"))
				return false;
		} else if (header_is(p, len, "Connection", &v, &vlen)) {
			if (has_token(v, vlen, "close"))
				c->close_after = true;
			else if (has_token(v, vlen, "keep-alive"))
				c->close_after = false;
		}
	}
	if (length < 0) {
		if (status != 204 && status != 304)
			return false;
		length = 0;
	}
	c->body_left = length;
	c->have_header = true;
	return true;
}

static void show_body(struct conn *c, const char *p, size_t n)
{
	if (!c->shown)
		return;
	if (n > SHOWN_BYTES - c->shown_len)
		n = SHOWN_BYTES - c->shown_len;
	memcpy(c->shown + c->shown_len, p, n);
	c->shown_len += n;
}

static void answered(struct thread *t, struct conn *c, int64_t now)
{
	if (c->shown)
		fprintf(stderr, "patron-loadgen: %s answered %d: %.*s\n", kind_names[c->kind],
		        c->status, (int)c->shown_len, c->shown);
	if (in_window(now)) {
		t->st.count[c->kind][c->status]++;
		lat_push(&t->st.lat[c->kind], (uint64_t)(now - c->started));
	}
	bool reconnect = c->close_after;
	reset_answer(c);
	prepare(t, c, now);
	if (reconnect) {
		drop(c);
		start_connect(t, c, now);
	} else {
		c->state = S_WRITING;
		send_request(t, c);
	}
}

/* Takes n new bytes at c->in + c->in_len; false when the connection was given up. */
static bool take(struct thread *t, struct conn *c, size_t n, int64_t now)
{
	if (!c->have_header) {
		size_t from = c->in_len > 3 ? c->in_len - 3 : 0;
		c->in_len += n;
		char *e = memmem(c->in + from, c->in_len - from, "\r\n\r\n", 4);
		if (!e) {
			if (c->in_len == RESP_BUF) {
				fail(t, c, E_PROTOCOL, now);
				return false;
			}
			return true;
		}
		size_t hlen = (size_t)(e - c->in) + 4;
		if (!parse_header(c, hlen)) {
			fail(t, c, E_PROTOCOL, now);
			return false;
		}
		if ((c->status < 200 || c->status > 299) &&
		    atomic_load(&shown_bodies) < SHOWN_BODIES &&
		    atomic_fetch_add(&shown_bodies, 1) < SHOWN_BODIES)
			c->shown = xrealloc(NULL, SHOWN_BYTES);
		n = c->in_len - hlen;
		memmove(c->in, c->in + hlen, n);
	}
	/* One request is in flight, so bytes past its answer are a broken server. */
	if ((long long)n > c->body_left) {
		fail(t, c, E_PROTOCOL, now);
		return false;
	}
	show_body(c, c->in, n);
	c->body_left -= (long long)n;
	c->in_len = 0;
	if (c->body_left == 0)
		answered(t, c, now);
	return true;
}

static void receive(struct thread *t, struct conn *c)
{
	while (c->state == S_READING) {
		size_t want = RESP_BUF - c->in_len;
		ssize_t n = recv(c->fd, c->in + c->in_len, want, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		int64_t now = now_ns();
		if (n <= 0) {
			fail(t, c, E_CONNECT, now);
			return;
		}
		if (!take(t, c, (size_t)n, now))
			return;
		/* A short read emptied the socket; whatever arrives later raises a new edge. */
		if ((size_t)n < want)
			return;
	}
}

static void on_event(struct thread *t, struct conn *c, uint32_t ev)
{
	if (c->state == S_CONNECTING) {
		if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		finish_connect(t, c);
	} else if (c->state == S_WRITING) {
		send_request(t, c);
	}
	if (c->state == S_READING && (ev & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)))
		receive(t, c);
}

static void scan(struct thread *t, int64_t now)
{
	for (unsigned i = 0; i < t->nconns; i++) {
		struct conn *c = &t->conns[i];
		if (c->state == S_BACKOFF) {
			if (now - c->since >= CONNECT_BACKOFF)
				start_connect(t, c, now);
		} else if (now - c->since >= ANSWER_TIMEOUT) {
			if (c->state == S_CONNECTING)
				connect_failed(t, c, now);
			else
				fail(t, c, E_TIMEOUT, now);
		}
	}
}

static void *run(void *arg)
{
	struct thread *t = arg;
	struct epoll_event events[MAX_EVENTS];
	int64_t now = now_ns();
	for (unsigned i = 0; i < t->nconns; i++) {
		prepare(t, &t->conns[i], now);
		start_connect(t, &t->conns[i], now);
	}
	int64_t next_scan = now + SCAN_INTERVAL;
	for (;;) {
		now = now_ns();
		if (now >= cfg.end)
			break;
		if (now >= next_scan) {
			scan(t, now);
			next_scan = now + SCAN_INTERVAL;
		}
		int64_t until = next_scan < cfg.end ? next_scan : cfg.end;
		int timeout = (int)((until - now + NS_PER_MS - 1) / NS_PER_MS);
		int n = epoll_wait(t->ep, events, MAX_EVENTS, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("patron-loadgen: epoll_wait");
			t->failed = true;
			break;
		}
		for (int i = 0; i < n; i++) {
			uint64_t d = events[i].data.u64;
			struct conn *c = &t->conns[(uint32_t)d];
			if ((uint32_t)(d >> 32) == c->gen && c->fd >= 0)
				on_event(t, c, events[i].events);
		}
	}
	for (unsigned i = 0; i < t->nconns; i++)
		drop(&t->conns[i]);
	return NULL;
}

/* --- options --- */

static int usage(FILE *out)
{
	fprintf(out, "usage: patron-loadgen --port P [options]\n"
	             "  --host H            server address (default 127.0.0.1)\n"
	             "  --port P            server port (required)\n"
	             "  --token T           send \"Authorization: Bearer T\"\n"
	             "  --connections N     keep-alive connections, one request in flight each "
	             "(default 64)\n"
	             "  --threads T         event-loop threads (default 1)\n"
	             "  --seconds S         measured duration (default 10)\n"
	             "  --warmup S          seconds run first and not counted (default 1)\n"
	             "  --mix K:W,...       kinds checkout, lookup, quote, get with weights\n"
	             "                      (default checkout:70,lookup:20,quote:10)\n"
	             "  --path /x           the target of kind get (default /)\n"
	             "  --members M         member ids 1..M, phones 139 + 8-digit id\n"
	             "  --products K        skus B00001..B<K>, at least 3\n"
	             "  --stores S          store ids 1..S (default 3)\n"
	             "  --coupons FILE      lines \"MEMBER_ID CODE\", each used by at most one "
	             "checkout\n"
	             "  --redeem-points R   points redeemed by 10%% of checkouts (default 100; 0: "
	             "none)\n"
	             "  --seed N            connection i draws from seed N + i (default 1)\n"
	             "  --json FILE         also write the summary there as JSON\n");
	return out == stdout ? 0 : 2;
}

static int bad(const char *opt, const char *value)
{
	fprintf(stderr, "patron-loadgen: bad --%s %s\n", opt, value);
	return 2;
}

static int parse_ll(const char *s, long long min, long long max, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_seconds(const char *s, double min, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= min) || v > 1e6)
		return -1;
	*out = v;
	return 0;
}

static int parse_mix(const char *s)
{
	memset(cfg.weight, 0, sizeof(cfg.weight));
	bool given[NKINDS] = {false};
	cfg.total_weight = 0;
	while (*s) {
		const char *colon = strchr(s, ':');
		if (!colon)
			return -1;
		int k;
		for (k = 0; k < NKINDS; k++)
			if (strlen(kind_names[k]) == (size_t)(colon - s) &&
			    strncmp(s, kind_names[k], (size_t)(colon - s)) == 0)
				break;
		if (k == NKINDS || given[k])
			return -1;
		char *end;
		errno = 0;
		unsigned long w = strtoul(colon + 1, &end, 10);
		if (errno || end == colon + 1 || (*end && *end != ',') || w > 1000000)
			return -1;
		given[k] = true;
		cfg.weight[k] = (unsigned)w;
		cfg.total_weight += (unsigned)w;
		s = *end ? end + 1 : end;
	}
	return cfg.total_weight ? 0 : -1;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if (*s <= ' ' || *s > '~')
			return false;
	return true;
}

static int load_coupons(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "patron-loadgen: %s: %s\n", path, strerror(errno));
		return -1;
	}
	char line[512];
	size_t cap = 0, lineno = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		char *save, *id = strtok_r(line, " \t\r\n", &save);
		if (!id || *id == '#')
			continue;
		char *code = strtok_r(NULL, " \t\r\n", &save);
		long long member;
		/* The code goes into the JSON body as it is, so it must need no escaping. */
		if (!code || strtok_r(NULL, " \t\r\n", &save) ||
		    parse_ll(id, 1, (1LL << 53) - 1, &member) != 0 || !printable(code) ||
		    strchr(code, '"') || strchr(code, '\\')) {
			fprintf(stderr, "patron-loadgen: %s:%zu: expected \"MEMBER_ID CODE\"\n",
			        path, lineno);
			fclose(f);
			return -1;
		}
		if (cfg.ncoupons == cap) {
			cap = cap ? cap * 2 : 256;
			cfg.coupons = xrealloc(cfg.coupons, cap * sizeof(*cfg.coupons));
		}
		cfg.coupons[cfg.ncoupons].member_id = member;
		size_t len = strlen(code) + 1;
		cfg.coupons[cfg.ncoupons].code = memcpy(xrealloc(NULL, len), code, len);
		cfg.ncoupons++;
	}
	fclose(f);
	return 0;
}

static int resolve(void)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC}, *ai;
	int rc = getaddrinfo(cfg.host, cfg.port, &hints, &ai);
	if (rc != 0) {
		fprintf(stderr, "patron-loadgen: %s: %s\n", cfg.host, gai_strerror(rc));
		return -1;
	}
	memcpy(&cfg.addr, ai->ai_addr, ai->ai_addrlen);
	cfg.addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);
	bool v6 = strchr(cfg.host, ':') != NULL;
	snprintf(cfg.host_header, sizeof(cfg.host_header), "%s%s%s:%s", v6 ? "[" : "", cfg.host,
	         v6 ? "]" : "", cfg.port);
	return 0;
}

static int parse_args(int argc, char **argv)
{
	enum {
		OPT_HOST = 256,
		OPT_PORT,
		OPT_TOKEN,
		OPT_CONNECTIONS,
		OPT_THREADS,
		OPT_SECONDS,
		OPT_WARMUP,
		OPT_MIX,
		OPT_PATH,
		OPT_MEMBERS,
		OPT_PRODUCTS,
		OPT_STORES,
		OPT_COUPONS,
		OPT_REDEEM,
		OPT_SEED,
		OPT_JSON,
		OPT_HELP,
	};
	static const struct option longopts[] = {
	    {"host", required_argument, NULL, OPT_HOST},
	    {"port", required_argument, NULL, OPT_PORT},
	    {"token", required_argument, NULL, OPT_TOKEN},
	    {"connections", required_argument, NULL, OPT_CONNECTIONS},
	    {"threads", required_argument, NULL, OPT_THREADS},
	    {"seconds", required_argument, NULL, OPT_SECONDS},
	    {"warmup", required_argument, NULL, OPT_WARMUP},
	    {"mix", required_argument, NULL, OPT_MIX},
	    {"path", required_argument, NULL, OPT_PATH},
	    {"members", required_argument, NULL, OPT_MEMBERS},
	    {"products", required_argument, NULL, OPT_PRODUCTS},
	    {"stores", required_argument, NULL, OPT_STORES},
	    {"coupons", required_argument, NULL, OPT_COUPONS},
	    {"redeem-points", required_argument, NULL, OPT_REDEEM},
	    {"seed", required_argument, NULL, OPT_SEED},
	    {"json", required_argument, NULL, OPT_JSON},
	    {"help", no_argument, NULL, OPT_HELP},
	    {NULL, 0, NULL, 0},
	};
	cfg.host = "127.0.0.1";
	cfg.path = "/";
	cfg.connections = 64;
	cfg.threads = 1;
	cfg.seconds = 10;
	cfg.warmup = 1;
	cfg.stores = 3;
	cfg.redeem_points = 100;
	cfg.seed = 1;
	parse_mix("checkout:70,lookup:20,quote:10");
	const char *coupons = NULL;
	long long v;
	int opt;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		const char *name =
		    opt >= OPT_HOST && opt < OPT_HELP ? longopts[opt - OPT_HOST].name : "";
		switch (opt) {
		case OPT_HOST:
			cfg.host = optarg;
			break;
		case OPT_PORT:
			if (parse_ll(optarg, 1, 65535, &v) != 0)
				return bad("port", optarg);
			snprintf(cfg.port, sizeof(cfg.port), "%lld", v);
			break;
		case OPT_TOKEN:
			if (!*optarg || !printable(optarg))
				return bad("token", optarg);
			cfg.token = optarg;
			break;
		case OPT_CONNECTIONS:
		case OPT_THREADS:
			if (parse_ll(optarg, 1, 100000, &v) != 0)
				return bad(name, optarg);
			*(opt == OPT_CONNECTIONS ? &cfg.connections : &cfg.threads) = (int)v;
			break;
		case OPT_SECONDS:
		case OPT_WARMUP:
			if (parse_seconds(optarg, opt == OPT_SECONDS ? 0.001 : 0,
			                  opt == OPT_SECONDS ? &cfg.seconds : &cfg.warmup) != 0)
				return bad(name, optarg);
			break;
		case OPT_MIX:
			if (parse_mix(optarg) != 0)
				return bad("mix", optarg);
			break;
		case OPT_PATH:
			if (optarg[0] != '/' || !printable(optarg))
				return bad("path", optarg);
			cfg.path = optarg;
			break;
		case OPT_MEMBERS:
			if (parse_ll(optarg, 1, 99999999, &cfg.members) != 0)
				return bad("members", optarg);
			break;
		case OPT_PRODUCTS:
			if (parse_ll(optarg, 3, 99999, &cfg.products) != 0)
				return bad("products", optarg);
			break;
		case OPT_STORES:
			if (parse_ll(optarg, 1, (1LL << 53) - 1, &cfg.stores) != 0)
				return bad("stores", optarg);
			break;
		case OPT_COUPONS:
			coupons = optarg;
			break;
		case OPT_REDEEM:
			if (parse_ll(optarg, 0, (1LL << 53) - 1, &cfg.redeem_points) != 0)
				return bad("redeem-points", optarg);
			break;
		case OPT_SEED:
			if (parse_ll(optarg, 0, INT64_MAX, &v) != 0)
				return bad("seed", optarg);
			cfg.seed = (unsigned long long)v;
			break;
		case OPT_JSON:
			cfg.json_path = optarg;
			break;
		case OPT_HELP:
			exit(usage(stdout));
		default:
			return usage(stderr);
		}
	}
	if (optind != argc)
		return usage(stderr);
	if (!cfg.port[0]) {
		fprintf(stderr, "patron-loadgen: --port is required\n");
		return 2;
	}
	if (cfg.threads > cfg.connections) {
		fprintf(stderr, "patron-loadgen: --threads is larger than --connections\n");
		return 2;
	}
	bool baskets = cfg.weight[K_CHECKOUT] || cfg.weight[K_QUOTE];
	if ((baskets || cfg.weight[K_LOOKUP]) && !cfg.members) {
		fprintf(stderr,
		        "patron-loadgen: kinds checkout, quote and lookup need --members\n");
		return 2;
	}
	if (baskets && !cfg.products) {
		fprintf(stderr, "patron-loadgen: kinds checkout and quote need --products\n");
		return 2;
	}
	if (coupons && load_coupons(coupons) != 0)
		return 2;
	return resolve() != 0 ? 2 : 0;
}

/* --- summary --- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* Nearest rank: the smallest latency that at least p% of the answers did not exceed. */
static uint64_t percentile(const struct lat *l, unsigned p)
{
	size_t rank = (l->n * p + 99) / 100;
	return l->v[rank ? rank - 1 : 0];
}

/* Milliseconds to the microsecond, which is all a wall-clock latency can carry. */
static double ms(uint64_t ns)
{
	return (double)((ns + 500) / 1000) / 1000.0;
}

/* An error slot's name: its HTTP status, or connect, timeout, protocol. */
static void slot_name(int s, char name[16])
{
	if (s < 600)
		snprintf(name, 16, "%d", s);
	else
		snprintf(name, 16, "%s", slot_names[s - 600]);
}

static void errors_text(const uint64_t *count, char *out, size_t size)
{
	size_t len = 0;
	out[0] = '\0';
	for (int s = 0; s < NSLOTS && len < size; s++) {
		if ((s >= 200 && s <= 299) || !count[s])
			continue;
		char name[16];
		slot_name(s, name);
		int n = snprintf(out + len, size - len, "%s%s:%" PRIu64, len ? " " : "", name,
		                 count[s]);
		if (n < 0)
			break;
		len += (size_t)n;
	}
}

static json_t *errors_json(const uint64_t *count)
{
	json_t *o = json_object();
	for (int s = 0; s < NSLOTS; s++) {
		if ((s >= 200 && s <= 299) || !count[s])
			continue;
		char name[16];
		slot_name(s, name);
		json_object_set_new(o, name, json_integer((json_int_t)count[s]));
	}
	return o;
}

static json_t *num_or_null(bool have, double v)
{
	return have ? json_real(v) : json_null();
}

static int report(struct thread *threads)
{
	struct stats all;
	memset(&all, 0, sizeof(all));
	for (int i = 0; i < cfg.threads; i++) {
		struct stats *s = &threads[i].st;
		for (int k = 0; k < NKINDS; k++) {
			for (int j = 0; j < NSLOTS; j++)
				all.count[k][j] += s->count[k][j];
			struct lat *l = &all.lat[k];
			if (s->lat[k].n) {
				l->v = xrealloc(l->v, (l->n + s->lat[k].n) * sizeof(*l->v));
				memcpy(l->v + l->n, s->lat[k].v, s->lat[k].n * sizeof(*l->v));
				l->n += s->lat[k].n;
			}
			/* A long run keeps millions of latencies: never two copies of them. */
			free(s->lat[k].v);
			s->lat[k] = (struct lat){0};
		}
	}

	json_t *root = json_object(), *kinds = json_object();
	uint64_t total_ok = 0, total_count[NSLOTS] = {0};
	printf("patron-loadgen: %s, %d connections on %d thread%s, %g s measured after %g s "
	       "warm-up\n\n",
	       cfg.host_header, cfg.connections, cfg.threads, cfg.threads == 1 ? "" : "s",
	       cfg.seconds, cfg.warmup);
	printf("%-9s %10s %10s %9s %9s %9s %9s  %s\n", "kind", "ok", "ok/s", "p50 ms", "p95 ms",
	       "p99 ms", "max ms", "errors");
	for (int k = 0; k < NKINDS; k++) {
		if (!cfg.weight[k])
			continue;
		struct lat *l = &all.lat[k];
		qsort(l->v, l->n, sizeof(*l->v), cmp_u64);
		uint64_t ok = 0;
		for (int s = 0; s < NSLOTS; s++) {
			if (s >= 200 && s <= 299)
				ok += all.count[k][s];
			total_count[s] += all.count[k][s];
		}
		total_ok += ok;
		double rate = (double)ok / cfg.seconds;
		bool have = l->n > 0;
		double p50 = have ? ms(percentile(l, 50)) : 0,
		       p95 = have ? ms(percentile(l, 95)) : 0,
		       p99 = have ? ms(percentile(l, 99)) : 0, max = have ? ms(l->v[l->n - 1]) : 0;
		char errs[512];
		errors_text(all.count[k], errs, sizeof(errs));
		printf("%-9s %10" PRIu64 " %10.1f", kind_names[k], ok, rate);
		if (have)
			printf(" %9.3f %9.3f %9.3f %9.3f", p50, p95, p99, max);
		else
			printf(" %9s %9s %9s %9s", "-", "-", "-", "-");
		printf("%s%s\n", errs[0] ? "  " : "", errs);
		json_t *o = json_object();
		json_object_set_new(o, "ok", json_integer((json_int_t)ok));
		json_object_set_new(o, "errors", errors_json(all.count[k]));
		json_object_set_new(o, "per_second", json_real(rate));
		json_object_set_new(o, "p50_ms", num_or_null(have, p50));
		json_object_set_new(o, "p95_ms", num_or_null(have, p95));
		json_object_set_new(o, "p99_ms", num_or_null(have, p99));
		json_object_set_new(o, "max_ms", num_or_null(have, max));
		json_object_set_new(kinds, kind_names[k], o);
		free(l->v);
	}
	char errs[512];
	errors_text(total_count, errs, sizeof(errs));
	printf("%-9s %10" PRIu64 " %10.1f", "total", total_ok, (double)total_ok / cfg.seconds);
	if (errs[0])
		printf(" %9s %9s %9s %9s  %s", "", "", "", "", errs);
	printf("\n");

	json_object_set_new(root, "connections", json_integer(cfg.connections));
	json_object_set_new(root, "threads", json_integer(cfg.threads));
	json_object_set_new(root, "seconds",
	                    cfg.seconds == (double)(long long)cfg.seconds
	                        ? json_integer((json_int_t)cfg.seconds)
	                        : json_real(cfg.seconds));
	json_t *total = json_object();
	json_object_set_new(total, "ok", json_integer((json_int_t)total_ok));
	json_object_set_new(total, "per_second", json_real((double)total_ok / cfg.seconds));
	json_object_set_new(total, "errors", errors_json(total_count));
	json_object_set_new(root, "total", total);
	json_object_set_new(root, "kinds", kinds);
	int rc = 0;
	if (cfg.json_path &&
	    json_dump_file(root, cfg.json_path, JSON_INDENT(2) | JSON_REAL_PRECISION(12)) != 0) {
		fprintf(stderr, "patron-loadgen: cannot write %s\n", cfg.json_path);
		rc = 1;
	}
	json_decref(root);
	return rc;
}

int main(int argc, char **argv)
{
	int rc = parse_args(argc, argv);
	if (rc != 0)
		return rc;
	signal(SIGPIPE, SIG_IGN);
	cfg.pid = (long)getpid();

	struct thread *threads = calloc((size_t)cfg.threads, sizeof(*threads));
	struct conn *conns = calloc((size_t)cfg.connections, sizeof(*conns));
	if (!threads || !conns) {
		fprintf(stderr, "patron-loadgen: out of memory\n");
		return 1;
	}
	for (int i = 0; i < cfg.connections; i++) {
		conns[i].fd = -1;
		conns[i].index = (unsigned)i;
		conns[i].rng = cfg.seed + (unsigned long long)i;
		conns[i].in = xrealloc(NULL, RESP_BUF);
	}
	for (int i = 0; i < cfg.threads; i++)
		threads[i].ep = -1;
	int64_t start = now_ns();
	cfg.warm_end = start + (int64_t)(cfg.warmup * (double)NS_PER_SEC);
	cfg.end = cfg.warm_end + (int64_t)(cfg.seconds * (double)NS_PER_SEC);
	int started = 0;
	for (int i = 0; i < cfg.threads; i++) {
		struct thread *t = &threads[i];
		int first = (int)((long long)cfg.connections * i / cfg.threads);
		int last = (int)((long long)cfg.connections * (i + 1) / cfg.threads);
		t->conns = conns + first;
		t->nconns = (unsigned)(last - first);
		t->ep = epoll_create1(EPOLL_CLOEXEC);
		if (t->ep < 0 || pthread_create(&t->tid, NULL, run, t) != 0) {
			fprintf(stderr, "patron-loadgen: cannot start thread %d\n", i);
			break;
		}
		started++;
	}
	bool failed = started < cfg.threads;
	for (int i = 0; i < started; i++) {
		pthread_join(threads[i].tid, NULL);
		failed |= threads[i].failed;
	}
	if (!failed)
		rc = report(threads);
	for (int i = 0; i < cfg.threads; i++) {
		if (threads[i].ep >= 0)
			close(threads[i].ep);
		for (int k = 0; k < NKINDS; k++)
			free(threads[i].st.lat[k].v);
		free(threads[i].body.p);
	}
	for (int i = 0; i < cfg.connections; i++) {
		free(conns[i].req.p);
		free(conns[i].in);
		free(conns[i].shown);
	}
	for (size_t i = 0; i < cfg.ncoupons; i++)
		free(cfg.coupons[i].code);
	free(cfg.coupons);
	free(conns);
	free(threads);
	return failed ? 1 : rc;
}
