/* fuzz_json: request bodies through the api layer's JSON field checks and handlers, in-process,
 * against a SQLite database with the fixtures of common.c.
 *
 * An input is a first line "METHOD /path [caller]" and then the body, e.g.
 *     POST /api/v1/members cashier
 *     {"name": "Ann", "phone": "13800000009"}
 * caller is owner (the default), key or cashier; @COUPON@ anywhere is the code of a coupon of
 * member 1 (common.h lists the other placeholders). The body is parsed as the server parses it
 * (jansson, duplicate keys refused, an empty body is {}), then the route table, the caller's
 * permission and the handler run as the server's dispatch runs them, inside a transaction that
 * is rolled back, so each input meets the same database.
 *
 * Checked on every input, besides what ASan, UBSan and LeakSanitizer see: a refusal carries
 * one of API.md's codes, is never a 5xx (bad input is never a 500), has a message in both
 * languages, and the server can build its error body from it (a message or field that is not
 * valid UTF-8 cannot go into JSON, and the client would get no body); an answer is a 2xx with a
 * body the server can serialise (or 204 with none). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "util/arena.h"

static pt_db *db;
static time_t refreshed;
static const uint8_t *input;
static size_t input_size;

static void dump_input(void)
{
	fprintf(stderr, "input (%zu bytes): ", input_size);
	for (size_t i = 0; i < input_size && i < 2000; i++) {
		uint8_t c = input[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			fputc(c, stderr);
		else if (c == '\n')
			fputs("\\n", stderr);
		else
			fprintf(stderr, "\\x%02x", c);
	}
	fputc('\n', stderr);
}

/* The error body of server.c: {"error": {"code", "message", "field"}}. */
static void check_error_body(const pt_err *err, bool english)
{
	const char *msg = english ? err->msg_en : err->msg_zh;
	json_t *e = json_pack("{s:s, s:s}", "code", pt_code_name(err->code), "message", msg);
	if (!e)
		fz_fail("refusal %s: the %s message is not valid UTF-8, so the answer has no body: "
		        "\"%s\"",
		        pt_code_name(err->code), english ? "English" : "Chinese", msg);
	json_decref(e);
	json_t *field = err->field[0] ? json_string(err->field) : NULL;
	if (err->field[0] && !field)
		fz_fail("refusal %s: the field \"%s\" is not valid UTF-8, so the answer cannot "
		        "name it",
		        pt_code_name(err->code), err->field);
	json_decref(field);
}

static void check_refusal(const pt_err *err)
{
	FZ_CHECK(err->code > PT_OK && err->code < PT_CODE_COUNT);
	int status = pt_code_status(err->code);
	if (status < 400 || status > 499)
		fz_fail("bad input answered %d %s: %s (field %s)", status, pt_code_name(err->code),
		        err->msg_en, err->field);
	FZ_CHECK(err->msg_en[0] != '\0' && err->msg_zh[0] != '\0');
	check_error_body(err, true);
	check_error_body(err, false);
}

static void check_answer(const fz_answer *ans)
{
	if (ans->status < 200 || ans->status > 299)
		fz_fail("%s %s answered %d without an error", pt_method_name(ans->route->method),
		        ans->route->pattern, ans->status);
	if (ans->status == 204 || ans->text)
		return;
	if (!ans->reply)
		fz_fail("%s %s answered %d with no body: building it failed",
		        pt_method_name(ans->route->method), ans->route->pattern, ans->status);
	char *text = json_dumps(ans->reply, JSON_COMPACT);
	FZ_CHECK(text != NULL);
	free(text);
}

/* "METHOD /path [caller]": 0, or -1 when the line is not one. */
static int parse_head(char *line, const char **method, const char **path, fz_caller *who)
{
	char *save = NULL;
	*method = strtok_r(line, " ", &save);
	*path = strtok_r(NULL, " ", &save);
	const char *caller = strtok_r(NULL, " ", &save);
	if (!*method || !*path || strtok_r(NULL, " ", &save))
		return -1;
	*who = FZ_OWNER;
	if (caller) {
		int i = 0;
		while (i < FZ_CALLERS && strcmp(caller, fz_caller_name((fz_caller)i)) != 0)
			i++;
		if (i == FZ_CALLERS)
			return -1;
		*who = (fz_caller)i;
	}
	return 0;
}

/* One request: 0, or -1 when the input is not one of this harness. */
static int run(const char *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	size_t head_len = nl ? (size_t)(nl - data) : 0;
	char head[256];
	if (!nl || head_len >= sizeof(head) || memchr(data, '\0', head_len))
		return -1;
	memcpy(head, data, head_len);
	head[head_len] = '\0';
	if (head_len && head[head_len - 1] == '\r')
		head[head_len - 1] = '\0';
	const char *method, *path;
	fz_caller who;
	if (parse_head(head, &method, &path, &who) != 0)
		return -1;
	const char *body_text = nl + 1;
	size_t body_len = size - head_len - 1;

	pt_arena *a = pt_arena_new();
	FZ_CHECK(a != NULL);
	pt_method m = pt_method_parse(method);
	json_t *body = NULL;
	if (m == PT_POST || m == PT_PUT || m == PT_PATCH || m == PT_DELETE) {
		json_error_t jerr;
		body = body_len ? json_loadb(body_text, body_len, JSON_REJECT_DUPLICATES, &jerr)
		                : json_object();
		if (!body) {
			/* The server's answer to malformed JSON quotes jansson's message. */
			pt_err err;
			pt_err_set(&err, PT_INVALID_ARGUMENT, NULL,
			           "malformed JSON at line %d column %d: %s",
			           "JSON 格式错误（第 %d 行第 %d 列）：%s", jerr.line, jerr.column,
			           jerr.text);
			if (!strstr(jerr.text, "too big integer"))
				check_refusal(&err);
			pt_arena_free(a);
			return 0;
		}
		if (!json_is_object(body)) { /* refused before any handler */
			json_decref(body);
			pt_arena_free(a);
			return 0;
		}
	}
	fz_answer ans;
	if (fz_call(db, a, who, method, path, body, false, &ans) == 0) {
		if (getenv("FUZZ_VERBOSE"))
			fprintf(stderr, "fuzz_json: %s %s as %s: %d %s %s\n", method, path,
			        fz_caller_name(who), ans.status,
			        ans.err.code ? pt_code_name(ans.err.code) : "",
			        ans.err.code ? ans.err.msg_en : "");
		if (ans.err.code != PT_OK)
			check_refusal(&ans.err);
		else
			check_answer(&ans);
		json_decref(ans.reply);
	}
	json_decref(body);
	pt_arena_free(a);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Sessions idle out (the rolled-back requests never touch them): new ones now and then. */
	if (time(NULL) - refreshed > 60) {
		fz_refresh_callers(db);
		refreshed = time(NULL);
	}
	input = data;
	input_size = size;
	size_t n;
	char *text = fz_expand(data, size, &n);
	int rc = run(text, n);
	free(text);
	input = NULL;
	return rc; /* -1 keeps an input that is not a request out of the corpus */
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char url[1200];
	db = fz_setup(url, sizeof(url));
	refreshed = time(NULL);
	fz_dump = dump_input;
	return 0;
}
