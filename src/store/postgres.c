/* The PostgreSQL driver (libpq): each distinct SQL text prepared once per session and run
 * with text parameters, errors classified by SQLSTATE, a dropped session reopened where that
 * is safe. One connection per worker thread, like the SQLite driver. */
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/db.h"
#include "util/log.h"

enum {
	/* libpq waits forever by default; a server that cannot be reached should cost a request
	 * seconds, not a worker. A connect_timeout in the URL wins. */
	CONNECT_TIMEOUT_S = 10,
	/* Our SQL is string literals, so the distinct texts are few. Past this many (only SQL
	 * built at run time gets there) statements run unnamed, keeping the session's memory on
	 * the server bounded. */
	MAX_PREPARED = 1024,
	/* Parameters handled without malloc; statements with more allocate. */
	STACK_PARAMS = 16,
	/* Room for INT64_MIN in decimal with its sign and NUL. */
	INT_TEXT = 24,
	/* How much of a statement a log line shows. */
	LOG_SQL = 200,
};

struct stmt {
	char *sql; /* NULL marks an empty slot */
	size_t hash;
	unsigned id; /* prepared on the server as "s<id>" */
};

typedef struct {
	PGconn *pg;
	bool in_tx;
	/* The first failure inside the open transaction. PostgreSQL refuses every later statement
	 * of a failed transaction (25P02) and answers its COMMIT with a silent rollback; both are
	 * reported with this, the real cause. */
	bool tx_failed;
	pt_err tx_err;
	/* SQL text -> prepared statement: open addressing with linear probing, cap a power of
	 * two and at most half full, so a probe always ends at an empty slot. */
	struct stmt *stmts;
	size_t cap, count;
	unsigned next_id;
} conn;

/* Copies s into dst as the inside of a logfmt quoted value: server messages quote names
 * ("relation \"x\" does not exist") and SQL spans lines, either of which would break the
 * one-line-per-event log. Runs of white space become one space. Truncates to fit. */
static const char *esc(char *dst, size_t n, const char *s)
{
	size_t w = 0;
	for (; s && *s && w + 3 < n; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			dst[w++] = '\\';
			dst[w++] = (char)ch;
		} else if (ch < 0x20 || ch == 0x7f || ch == ' ') {
			if (w > 0 && dst[w - 1] != ' ')
				dst[w++] = ' ';
		} else {
			dst[w++] = (char)ch;
		}
	}
	if (s && *s) {
		/* Truncated: end on a whole UTF-8 character, so the log stays valid text. */
		while (w > 0 && ((unsigned char)dst[w - 1] & 0xc0) == 0x80)
			w--;
		if (w > 0 && ((unsigned char)dst[w - 1] & 0xc0) == 0xc0)
			w--;
	}
	while (w > 0 && dst[w - 1] == ' ')
		w--;
	dst[w] = '\0';
	return dst;
}

/* What an error message at open must not show: the password as written in the URL,
 * "scheme://user:PW@host" (up to the last '@', since an unencoded '/' or '@' in PW is a
 * common mistake) and "?password=PW"; the pieces of those between URL delimiters, because
 * libpq misreads a malformed URL in pieces ("invalid integer value \"PW\" for connection
 * option \"port\""); and the decoded password. */
enum { MAX_SECRETS = 64 };

struct secrets {
	char raw[2][256], pieces[2][256];
	const char *list[MAX_SECRETS];
	int n;
};

static void secrets_add(struct secrets *s, const char *secret)
{
	if (secret && *secret && s->n < MAX_SECRETS)
		s->list[s->n++] = secret;
}

static void secrets_from_url(struct secrets *s, const char *url)
{
	memset(s, 0, sizeof(*s));
	const char *p = strstr(url, "://");
	if (p) {
		p += 3;
		const char *colon = strchr(p, ':'), *at = strrchr(p, '@');
		if (colon && at && colon < at)
			snprintf(s->raw[0], sizeof(s->raw[0]), "%.*s", (int)(at - colon - 1),
			         colon + 1);
	}
	const char *q = strstr(url, "password=");
	if (q) {
		q += strlen("password=");
		snprintf(s->raw[1], sizeof(s->raw[1]), "%.*s", (int)strcspn(q, "&#"), q);
	}
	for (int i = 0; i < 2; i++)
		secrets_add(s, s->raw[i]);
	for (int i = 0; i < 2; i++) {
		memcpy(s->pieces[i], s->raw[i], sizeof(s->pieces[i]));
		/* One character alone says little, and scrubbing it would garble the message. */
		for (char *save, *t = strtok_r(s->pieces[i], "/?#@:,&=", &save); t;
		     t = strtok_r(NULL, "/?#@:,&=", &save))
			if (strlen(t) > 1)
				secrets_add(s, t);
	}
}

/* Copies msg into dst with every secret replaced by "***" (the longest that matches at each
 * place, so a piece never leaves the rest of a whole password behind), on one line. */
static void scrub(char *dst, size_t n, const char *msg, const struct secrets *s)
{
	size_t w = 0;
	while (*msg && w + 1 < n) {
		size_t skip = 0;
		for (int i = 0; i < s->n; i++) {
			size_t len = strlen(s->list[i]);
			if (len > skip && strncmp(msg, s->list[i], len) == 0)
				skip = len;
		}
		if (skip) {
			for (const char *r = "***"; *r && w + 1 < n; r++)
				dst[w++] = *r;
			msg += skip;
			continue;
		}
		/* libpq's messages end in a newline and may hold more lines, tab-indented. */
		char ch = (unsigned char)*msg < 0x20 ? ' ' : *msg;
		if (ch != ' ' || (w > 0 && dst[w - 1] != ' '))
			dst[w++] = ch;
		msg++;
	}
	while (w > 0 && dst[w - 1] == ' ')
		w--;
	dst[w] = '\0';
}

/* PostgreSQL's notices (NOTICE from DROP ... IF EXISTS, WARNING, and the FATAL a server
 * sends before it closes an idle session) go to our log instead of libpq's bare stderr. */
static void notice(void *arg, const PGresult *res)
{
	(void)arg;
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	char text[256];
	bool loud = sev && (strcmp(sev, "WARNING") == 0 || strcmp(sev, "FATAL") == 0 ||
	                    strcmp(sev, "PANIC") == 0);
	pt_log(loud ? PT_LOG_WARN : PT_LOG_DEBUG,
	       "msg=\"postgresql notice\" severity=%s sqlstate=%s error=\"%s\"", sev ? sev : "-",
	       state ? state : "-", esc(text, sizeof(text), msg));
}

/* FNV-1a, as in the SQLite driver's cache. */
static size_t hash(const char *s)
{
	size_t h = (size_t)1469598103934665603u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * (size_t)1099511628211u;
	return h;
}

static struct stmt *cache_find(conn *c, const char *sql, size_t h)
{
	if (!c->cap)
		return NULL;
	for (size_t i = h & (c->cap - 1);; i = (i + 1) & (c->cap - 1)) {
		struct stmt *s = &c->stmts[i];
		if (!s->sql)
			return NULL;
		if (s->hash == h && strcmp(s->sql, sql) == 0)
			return s;
	}
}

static void cache_put(struct stmt *slots, size_t cap, struct stmt s)
{
	size_t i = s.hash & (cap - 1);
	while (slots[i].sql)
		i = (i + 1) & (cap - 1);
	slots[i] = s;
}

/* Makes room for one more entry, so that inserting after a successful PQprepare cannot fail
 * and leave a statement on the server that the cache does not know. */
static int cache_reserve(conn *c)
{
	if ((c->count + 1) * 2 <= c->cap)
		return 0;
	size_t cap = c->cap ? c->cap * 2 : 64;
	struct stmt *slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -1;
	for (size_t i = 0; i < c->cap; i++)
		if (c->stmts[i].sql)
			cache_put(slots, cap, c->stmts[i]);
	free(c->stmts);
	c->stmts = slots;
	c->cap = cap;
	return 0;
}

/* Forgets every prepared statement: they lived in the server session, which is gone. */
static void cache_drop(conn *c)
{
	for (size_t i = 0; i < c->cap; i++)
		free(c->stmts[i].sql);
	free(c->stmts);
	c->stmts = NULL;
	c->cap = c->count = 0;
	c->next_id = 0;
}

/* Sessions end with 57P01 (admin shutdown, e.g. a restart or pg_terminate_backend), 57P02,
 * 57P03 (starting up or shutting down) and class 08 (connection exceptions). 08P01 is a
 * protocol violation — a wrong parameter count, our bug — so it is not among them. */
static bool session_lost(const char *state)
{
	return (strncmp(state, "08", 2) == 0 && strcmp(state, "08P01") != 0) ||
	       strcmp(state, "57P01") == 0 || strcmp(state, "57P02") == 0 ||
	       strcmp(state, "57P03") == 0;
}

/* The conflict's column, from our naming rule for unique indexes and constraints,
 * "<table>_<column>_uq" (members_card_no_uq on members -> card_no); "<table>_<column>_key",
 * PostgreSQL's own name for a column declared UNIQUE, is read the same way. Any other name
 * is given whole, which still tells a reader which rule was broken. */
static void conflict_field(const PGresult *res, char *out, size_t n)
{
	const char *name = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
	const char *table = PQresultErrorField(res, PG_DIAG_TABLE_NAME);
	out[0] = '\0';
	if (!name)
		return;
	snprintf(out, n, "%s", name);
	size_t tlen = table ? strlen(table) : 0;
	if (!tlen || strncmp(name, table, tlen) != 0 || name[tlen] != '_')
		return;
	const char *col = name + tlen + 1;
	size_t len = strlen(col);
	static const char *const suffixes[] = {"_uq", "_key"};
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		size_t slen = strlen(suffixes[i]);
		if (len > slen && strcmp(col + len - slen, suffixes[i]) == 0) {
			snprintf(out, n, "%.*s", (int)(len - slen), col);
			return;
		}
	}
}

/* Classifies a failed statement into e. */
static void classify(conn *c, const PGresult *res, const char *sql, pt_err *e)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char text[512], stmt[LOG_SQL + 64];
	if (!msg)
		msg = res && *PQresultErrorMessage(res) ? PQresultErrorMessage(res)
		                                        : PQerrorMessage(c->pg);
	esc(text, sizeof(text), msg);

	if (PQstatus(c->pg) != CONNECTION_OK || (state && session_lost(state))) {
		pt_log_warn("msg=\"postgresql session lost\" sqlstate=%s error=\"%s\"",
		            state ? state : "-", text);
		pt_err_set(e, PT_UNAVAILABLE, NULL, "the database is unavailable, try again",
		           "数据库暂不可用，请重试");
		/* The open transaction died with the session, uncommitted: running it again
		 * from the start, in a new session, is safe. */
		e->retry = c->in_tx;
		return;
	}
	if (!state) {
		/* No SQLSTATE: libpq failed on our side (out of memory, say). */
		pt_log_error("msg=\"libpq error\" error=\"%s\"", text);
		pt_err_set(e, PT_INTERNAL, NULL, "database error", "数据库错误");
		return;
	}
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0) {
		pt_log_debug("msg=\"postgresql transaction conflict\" sqlstate=%s", state);
		pt_err_set(e, PT_INTERNAL, NULL,
		           "the transaction collided with a concurrent one, try again",
		           "事务与并发操作冲突，请重试");
		e->retry = 1;
		return;
	}
	if (strcmp(state, "23505") == 0) {
		char field[sizeof(e->field)];
		conflict_field(res, field, sizeof(field));
		pt_err_set(e, PT_CONFLICT, field, "%s is already taken", "%s 已被占用",
		           *field ? field : "value");
		return;
	}
	if (strcmp(state, "25P02") == 0 && c->tx_failed) {
		/* A statement after a failure in the same transaction: the caller went on past
		 * an error, which only works on SQLite. Keep the first failure's retry, so a
		 * swallowed serialization failure still re-runs the transaction. */
		pt_log_error("msg=\"statement in a failed transaction\" first_error=\"%s\"",
		             esc(text, sizeof(text), c->tx_err.msg_en));
		pt_err_set(e, PT_INTERNAL, NULL, "database error", "数据库错误");
		e->retry = c->tx_err.retry;
		return;
	}
	if (strcmp(state, "57014") == 0 || strcmp(state, "55P03") == 0 ||
	    strncmp(state, "53", 2) == 0) {
		/* statement_timeout, lock_timeout, out of disk, memory or connections: busy
		 * past the timeout, as SQLITE_BUSY is on the other driver. */
		pt_log_warn("msg=\"postgresql busy\" sqlstate=%s error=\"%s\"", state, text);
		pt_err_set(e, PT_UNAVAILABLE, NULL, "the database is busy, try again",
		           "数据库繁忙，请重试");
		return;
	}
	pt_log_error("msg=\"postgresql error\" sqlstate=%s error=\"%s\" sql=\"%s\"", state, text,
	             esc(stmt, sizeof(stmt), sql));
	pt_err_set(e, PT_INTERNAL, NULL, "database error", "数据库错误");
}

/* Fills err for a failed statement, and remembers the first failure of a transaction. */
static int fail(conn *c, const PGresult *res, const char *sql, pt_err *err)
{
	pt_err e = {0};
	classify(c, res, sql, &e);
	if (c->in_tx && !c->tx_failed) {
		c->tx_failed = true;
		c->tx_err = e;
	}
	if (err)
		*err = e;
	return -1;
}

static int unavailable(pt_err *err, int retry)
{
	pt_err_set(err, PT_UNAVAILABLE, NULL, "the database is unavailable, try again",
	           "数据库暂不可用，请重试");
	if (err)
		err->retry = retry;
	return -1;
}

/* Lets libpq notice a session the server closed while we were idle (a restart,
 * idle_session_timeout, pg_terminate_backend): the server's farewell and the end of the
 * stream are waiting on the socket, and reading them marks the connection bad. Costs one
 * poll() when nothing is waiting, against a statement that would otherwise fail. */
static void probe(conn *c)
{
	for (int i = 0; i < 8 && PQstatus(c->pg) == CONNECTION_OK; i++) {
		struct pollfd p = {.fd = PQsocket(c->pg), .events = POLLIN};
		if (p.fd < 0 || poll(&p, 1, 0) <= 0)
			return;
		if (!PQconsumeInput(c->pg))
			return;
		/* Parse what came (the FATAL goes to the notice hook) and drop notifications
		 * nobody listens for, so the next poll sees only new data. */
		(void)PQisBusy(c->pg);
		for (PGnotify *n; (n = PQnotifies(c->pg));)
			PQfreemem(n);
	}
}

/* Before BEGIN or a statement outside a transaction: a session found closed is reopened
 * once. Inside a transaction nothing is reopened here; the statement fails and pt_db_tx
 * re-runs the transaction, whose BEGIN reopens the session. */
static int ensure_session(conn *c, pt_err *err)
{
	if (c->in_tx)
		return PQstatus(c->pg) == CONNECTION_OK ? 0 : unavailable(err, 1);
	probe(c);
	if (PQstatus(c->pg) == CONNECTION_OK)
		return 0;
	cache_drop(c);
	PQreset(c->pg);
	if (PQstatus(c->pg) != CONNECTION_OK) {
		char text[512];
		pt_log_warn("msg=\"postgresql reconnect failed\" error=\"%s\"",
		            esc(text, sizeof(text), PQerrorMessage(c->pg)));
		return unavailable(err, 0);
	}
	pt_log_info("msg=\"postgresql session reopened\"");
	return 0;
}

static int pg_open(void **out, const char *url, pt_err *err)
{
	char text[512];
	struct secrets secrets;
	secrets_from_url(&secrets, url);

	char *perr = NULL;
	PQconninfoOption *opts = PQconninfoParse(url, &perr);
	if (!opts) {
		if (!perr)
			return pt_err_oom(err);
		scrub(text, sizeof(text), perr, &secrets);
		PQfreemem(perr);
		return pt_err_set(err, PT_INVALID_ARGUMENT, "db", "invalid PostgreSQL URL: %s",
		                  "PostgreSQL 地址无效：%s", text);
	}

	/* Connect with what the URL says plus our session settings, passed as connection
	 * options rather than SET so that PQreset brings them back with a new session:
	 * UTF-8 text both ways, and UTC for anything the server does with times. The user's
	 * own "options" are kept, ours after them so they win. */
	size_t n = 0;
	const char *user_options = NULL;
	bool has_timeout = false;
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (!o->val)
			continue;
		n++;
		if (strcmp(o->keyword, "password") == 0)
			secrets_add(&secrets, o->val);
		else if (strcmp(o->keyword, "options") == 0)
			user_options = o->val;
		else if (strcmp(o->keyword, "connect_timeout") == 0)
			has_timeout = true;
	}
	const char **keys = calloc(n + 5, sizeof(*keys));
	const char **vals = calloc(n + 5, sizeof(*vals));
	char *options = malloc((user_options ? strlen(user_options) : 0) + 32);
	if (!keys || !vals || !options) {
		free(keys);
		free(vals);
		free(options);
		PQconninfoFree(opts);
		return pt_err_oom(err);
	}
	sprintf(options, "%s%s-c TimeZone=UTC", user_options ? user_options : "",
	        user_options ? " " : "");
	char timeout[16];
	snprintf(timeout, sizeof(timeout), "%d", CONNECT_TIMEOUT_S);
	size_t k = 0;
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (!o->val || strcmp(o->keyword, "options") == 0 ||
		    strcmp(o->keyword, "client_encoding") == 0)
			continue;
		keys[k] = o->keyword;
		vals[k++] = o->val;
	}
	keys[k] = "client_encoding";
	vals[k++] = "UTF8";
	keys[k] = "options";
	vals[k++] = options;
	keys[k] = "fallback_application_name";
	vals[k++] = "patron";
	if (!has_timeout) {
		keys[k] = "connect_timeout";
		vals[k++] = timeout;
	}
	PGconn *pg = PQconnectdbParams(keys, vals, 0);
	int rc = -1;
	if (!pg) {
		pt_err_oom(err);
	} else if (PQstatus(pg) != CONNECTION_OK) {
		scrub(text, sizeof(text), PQerrorMessage(pg), &secrets);
		pt_err_set(err, PT_UNAVAILABLE, NULL, "cannot connect to PostgreSQL: %s",
		           "无法连接 PostgreSQL：%s", text);
	} else {
		rc = 0;
	}
	free(keys);
	free(vals);
	free(options);
	PQconninfoFree(opts);
	if (rc != 0) {
		PQfinish(pg);
		return -1;
	}

	/* Text converts to UTF-8 on the way out, but a database created as SQL_ASCII or LATIN1
	 * cannot store a Chinese name: say so once, at start, not on the first such insert. */
	const char *enc = PQparameterStatus(pg, "server_encoding");
	if (enc && strcmp(enc, "UTF8") != 0)
		pt_log_warn("msg=\"postgresql database is not UTF8\" server_encoding=%s", enc);
	PQsetNoticeReceiver(pg, notice, NULL);

	conn *c = calloc(1, sizeof(*c));
	if (!c) {
		PQfinish(pg);
		return pt_err_oom(err);
	}
	c->pg = pg;
	*out = c;
	return 0;
}

static void pg_close(void *p)
{
	conn *c = p;
	if (!c)
		return;
	/* PQfinish ends the session, which rolls back an open transaction and frees the
	 * prepared statements on the server. */
	PQfinish(c->pg);
	cache_drop(c);
	free(c);
}

static int pg_begin(void *p, bool write, pt_err *err)
{
	conn *c = p;
	/* Every transaction is READ COMMITTED for now. PostgreSQL locks rows as they are
	 * written, so unlike SQLite a writer needs nothing taken up front. */
	(void)write;
	if (c->in_tx)
		return pt_err_set(err, PT_INTERNAL, NULL, "a transaction is already open",
		                  "事务已开启");
	for (int attempt = 0;; attempt++) {
		if (ensure_session(c, err) != 0)
			return -1;
		PGresult *res = PQexec(c->pg, "BEGIN");
		if (PQresultStatus(res) == PGRES_COMMAND_OK) {
			PQclear(res);
			c->in_tx = true;
			c->tx_failed = false;
			return 0;
		}
		/* BEGIN changes nothing, so when the session turns out dead under it (the
		 * probe cannot see every closed session) it is reopened and tried once more. */
		if (attempt == 0 && PQstatus(c->pg) != CONNECTION_OK) {
			PQclear(res);
			continue;
		}
		fail(c, res, "BEGIN", err);
		PQclear(res);
		return -1;
	}
}

static void pg_rollback(void *p)
{
	conn *c = p;
	/* Asks the server, not our flag: after a failed BEGIN, a failed COMMIT (which ends the
	 * transaction) or a lost session there is nothing to roll back, and a stray ROLLBACK
	 * would only draw a warning. */
	PGTransactionStatusType ts = PQtransactionStatus(c->pg);
	if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) {
		PGresult *res = PQexec(c->pg, "ROLLBACK");
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			char text[512];
			pt_log_warn("msg=\"postgresql rollback failed\" error=\"%s\"",
			            esc(text, sizeof(text), PQerrorMessage(c->pg)));
		}
		PQclear(res);
	}
	c->in_tx = false;
	c->tx_failed = false;
}

static int pg_commit(void *p, pt_err *err)
{
	conn *c = p;
	if (!c->in_tx)
		return pt_err_set(err, PT_INTERNAL, NULL, "no transaction is open",
		                  "没有已开启的事务");
	if (PQstatus(c->pg) != CONNECTION_OK)
		/* Nothing was sent: the server rolled the transaction back when the session
		 * ended, so running it again is safe. */
		return unavailable(err, 1);
	if (PQtransactionStatus(c->pg) == PQTRANS_INERROR) {
		/* COMMIT of a failed transaction "succeeds" as a rollback; report the failure
		 * that doomed it instead. */
		pt_err first = c->tx_err;
		bool known = c->tx_failed;
		pg_rollback(c);
		if (!known)
			return pt_err_set(err, PT_INTERNAL, NULL, "database error", "数据库错误");
		if (err)
			*err = first;
		return -1;
	}
	PGresult *res = PQexec(c->pg, "COMMIT");
	if (PQresultStatus(res) == PGRES_COMMAND_OK && strcmp(PQcmdStatus(res), "COMMIT") == 0) {
		PQclear(res);
		c->in_tx = false;
		c->tx_failed = false;
		return 0;
	}
	if (PQstatus(c->pg) != CONNECTION_OK) {
		/* The session died with COMMIT in flight: the transaction may or may not have
		 * committed, so it must not be re-run blindly (it could credit points twice). */
		char text[512];
		pt_log_error("msg=\"postgresql session lost during commit, outcome unknown\" "
		             "error=\"%s\"",
		             esc(text, sizeof(text), PQerrorMessage(c->pg)));
		PQclear(res);
		return unavailable(err, 0);
	}
	/* A serialization failure or a deferred constraint at COMMIT: the server has ended
	 * the transaction, and the error says whether to re-run it. */
	fail(c, res, "COMMIT", err);
	PQclear(res);
	return -1;
}

/* Runs one statement, preparing it on its first use in this session. Returns the result,
 * or NULL with err set. */
static PGresult *run(conn *c, const char *sql, const pt_val *params, int nparams, pt_err *err)
{
	if (nparams < 0 || (nparams > 0 && !params)) {
		pt_err_set(err, PT_INTERNAL, NULL, "bad statement parameters", "语句参数有误");
		return NULL;
	}
	if (ensure_session(c, err) != 0)
		return NULL;

	char name[16] = "";
	size_t h = hash(sql);
	struct stmt *s = cache_find(c, sql, h);
	if (s) {
		snprintf(name, sizeof(name), "s%u", s->id);
	} else if (c->count < MAX_PREPARED) {
		char *copy = strdup(sql);
		if (!copy || cache_reserve(c) != 0) {
			free(copy);
			pt_err_oom(err);
			return NULL;
		}
		unsigned id = c->next_id++;
		snprintf(name, sizeof(name), "s%u", id);
		/* No parameter types: the server infers each from where it is used, as our
		 * text parameters need. */
		PGresult *res = PQprepare(c->pg, name, sql, 0, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			fail(c, res, sql, err);
			PQclear(res);
			free(copy);
			return NULL;
		}
		PQclear(res);
		cache_put(c->stmts, c->cap, (struct stmt){.sql = copy, .hash = h, .id = id});
		c->count++;
		if (c->count == MAX_PREPARED)
			pt_log_warn("msg=\"postgresql statement cache full, later statements run "
			            "unprepared\" limit=%d",
			            MAX_PREPARED);
	}

	/* Parameters go as text: integers in decimal, which the server reads into whatever
	 * integer type the column has. */
	const char *stack_values[STACK_PARAMS];
	char stack_nums[STACK_PARAMS][INT_TEXT];
	const char **values = stack_values;
	char(*nums)[INT_TEXT] = stack_nums;
	void *heap = NULL;
	if (nparams > STACK_PARAMS) {
		heap = malloc((size_t)nparams * (sizeof(*values) + INT_TEXT));
		if (!heap) {
			pt_err_oom(err);
			return NULL;
		}
		values = heap;
		nums = (char(*)[INT_TEXT])(values + nparams);
	}
	for (int i = 0; i < nparams; i++) {
		switch (params[i].type) {
		case PT_V_INT:
			snprintf(nums[i], INT_TEXT, "%" PRId64, params[i].i);
			values[i] = nums[i];
			break;
		case PT_V_TEXT:
			values[i] = params[i].s;
			break;
		default:
			values[i] = NULL;
			break;
		}
	}
	PGresult *res = *name ? PQexecPrepared(c->pg, name, nparams, values, NULL, NULL, 0)
	                      : PQexecParams(c->pg, sql, nparams, NULL, values, NULL, NULL, 0);
	free(heap);
	ExecStatusType st = PQresultStatus(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return res;
	fail(c, res, sql, err);
	PQclear(res);
	return NULL;
}

static int pg_exec(void *p, const char *sql, const pt_val *params, int nparams, int64_t *changes,
                   pt_err *err)
{
	PGresult *res = run(p, sql, params, nparams, err);
	if (!res)
		return -1;
	/* "" for statements that count nothing (DDL), which reads as 0. */
	if (changes)
		*changes = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return 0;
}

static int pg_query(void *p, pt_arena *arena, const char *sql, const pt_val *params, int nparams,
                    pt_rows *out, pt_err *err)
{
	*out = (pt_rows){0};
	PGresult *res = run(p, sql, params, nparams, err);
	if (!res)
		return -1;
	int nrows = PQntuples(res), ncols = PQnfields(res);
	size_t ncells = (size_t)nrows * (size_t)ncols, bytes = 0;
	for (int r = 0; r < nrows; r++)
		for (int col = 0; col < ncols; col++)
			if (!PQgetisnull(res, r, col))
				bytes += (size_t)PQgetlength(res, r, col) + 1;
	/* Two blocks, the cell pointers and all the text, rather than one allocation per
	 * cell. Zero rows leave cells NULL, as on SQLite. */
	char **cells = ncells ? pt_arena_alloc(arena, ncells * sizeof(*cells)) : NULL;
	char *text = bytes ? pt_arena_alloc(arena, bytes) : NULL;
	if ((ncells && !cells) || (bytes && !text)) {
		PQclear(res);
		return pt_err_oom(err);
	}
	for (int r = 0; r < nrows; r++) {
		for (int col = 0; col < ncols; col++) {
			if (PQgetisnull(res, r, col))
				continue; /* the arena zeroed the cell: NULL */
			size_t len = (size_t)PQgetlength(res, r, col);
			memcpy(text, PQgetvalue(res, r, col), len);
			text[len] = '\0';
			cells[(size_t)r * (size_t)ncols + (size_t)col] = text;
			text += len + 1;
		}
	}
	PQclear(res);
	out->nrows = nrows;
	out->ncols = ncols;
	out->cells = cells;
	return 0;
}

static int pg_exec_script(void *p, const char *sql, pt_err *err)
{
	conn *c = p;
	if (ensure_session(c, err) != 0)
		return -1;
	/* The simple protocol runs several statements in one call; outside a transaction they
	 * run as one implicit transaction, so a failing migration leaves nothing behind. */
	PGresult *res = PQexec(c->pg, sql);
	ExecStatusType st = PQresultStatus(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) {
		PQclear(res);
		return 0;
	}
	fail(c, res, sql, err);
	PQclear(res);
	return -1;
}

/* pg_dump takes one consistent snapshot (plain SQL), so the running server carries on. */
static int run_child(char *const argv[])
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A dump is loaded whole or not at all: one transaction, stopping at the first error, into
 * a database without Patron's tables (so nothing is mixed with what is there). */
static bool whole_dump(const char *path)
{
	FILE *f = fopen(path, "rb");
	char head[64] = "", tail[129] = "";
	bool ok = f && fread(head, 1, sizeof(head) - 1, f) > 0 && fseek(f, -128, SEEK_END) == 0 &&
	          fread(tail, 1, 128, f) == 128;
	if (f)
		fclose(f);
	return ok && strstr(head, "-- PostgreSQL database dump") &&
	       strstr(tail, "-- PostgreSQL database dump complete");
}

static int pg_restore(const char *target, const char *copy_path, pt_err *err)
{
	if (!whole_dump(copy_path)) {
		unlink(copy_path);
		return pt_err_set(
		    err, PT_INVALID_ARGUMENT, NULL,
		    "the backup is not a whole pg_dump of a Patron database; nothing was "
		    "restored",
		    "备份不是完整的 Patron 数据库 pg_dump 文件；未恢复任何数据");
	}
	void *c = NULL;
	pt_arena *a = pt_arena_new();
	pt_rows r;
	int rc = a ? pg_open(&c, target, err) : pt_err_oom(err);
	if (rc == 0)
		rc =
		    pg_query(c, a,
		             "SELECT CASE WHEN to_regclass('public.members') IS NULL THEN 0 ELSE 1 "
		             "END",
		             NULL, 0, &r, err);
	if (rc == 0 && pt_rows_int(&r, 0, 0))
		rc = pt_err_set(
		    err, PT_CONFLICT, "db",
		    "the database already holds Patron's tables: restore into a new, empty "
		    "database",
		    "该数据库已有 Patron 的数据表：请恢复到一个新的空数据库");
	if (c)
		pg_close(c);
	pt_arena_free(a);
	if (rc == 0) {
		char *argv[] = {"psql",     "-X",
		                "-q",       "--single-transaction",
		                "-v",       "ON_ERROR_STOP=1",
		                "-o",       "/dev/null",
		                "-f",       (char *)copy_path,
		                "--dbname", (char *)target,
		                NULL};
		int code = run_child(argv);
		if (code != 0)
			rc = pt_err_set(
			    err, PT_UNAVAILABLE, NULL,
			    "psql could not load the backup (exit %d); nothing was restored",
			    "psql 无法载入备份（退出码 %d）；未恢复任何数据", code);
	}
	unlink(copy_path);
	return rc;
}

/* pg_dump takes one consistent snapshot (plain SQL), so the running server carries on. */
static int pg_backup(void *p, const char *target, const char *part_path, pt_err *err)
{
	(void)p;
	char *argv[] = {"pg_dump",        "--no-owner",   "--no-privileges",
	                "--format=plain", "--file",       (char *)part_path,
	                "--dbname",       (char *)target, NULL};
	int code = run_child(argv);
	if (code != 0)
		return pt_err_set(
		    err, PT_UNAVAILABLE, NULL,
		    "pg_dump failed (exit %d); is it installed and the server reachable?",
		    "pg_dump 失败（退出码 %d）；是否已安装、服务器是否可达？", code);
	return 0;
}

const pt_db_driver pt_db_postgres_driver = {
    .kind = PT_DB_POSTGRES,
    .open = pg_open,
    .close = pg_close,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .exec = pg_exec,
    .query = pg_query,
    .exec_script = pg_exec_script,
    .backup = pg_backup,
    .restore = pg_restore,
};
