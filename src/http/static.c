/* The web console's files, answered from the table the build embedded: no disk, no database,
 * no credentials. The console routes its own paths, so an unknown path gets index.html. */
#include <microhttpd.h>
#include <string.h>
#include <strings.h>

#include "http/static.h"

static const char IMMUTABLE[] = "public, max-age=31536000, immutable";
static const char NO_CACHE[] = "no-cache";

bool pt_static_path(const char *path)
{
	if (strcmp(path, "/api") == 0 || strncmp(path, "/api/", 5) == 0)
		return false;
	return strcmp(path, "/healthz") != 0 && strcmp(path, "/metrics") != 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* A q parameter of zero ("q=0", "q=0.000") refuses the coding; any other value accepts. */
static bool q_positive(const char *params, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		if ((params[i] != 'q' && params[i] != 'Q') || params[i + 1] != '=' ||
		    (i > 0 && params[i - 1] != ';' && !is_space(params[i - 1])))
			continue;
		for (size_t j = i + 2; j < n && !is_space(params[j]) && params[j] != ';'; j++)
			if (params[j] != '0' && params[j] != '.')
				return true;
		return false;
	}
	return true;
}

bool pt_static_accepts_gzip(const char *ae)
{
	int gzip = -1, any = -1; /* -1: not named; 0: refused; 1: accepted */
	for (const char *p = ae; p && *p;) {
		size_t n = strcspn(p, ",");
		const char *e = p;
		while (e < p + n && is_space(*e))
			e++;
		size_t coding = strcspn(e, ";, \t");
		bool ok = q_positive(e + coding, (size_t)(p + n - (e + coding)));
		if ((coding == 4 && strncasecmp(e, "gzip", 4) == 0) ||
		    (coding == 6 && strncasecmp(e, "x-gzip", 6) == 0))
			gzip = ok;
		else if (coding == 1 && *e == '*')
			any = ok;
		p += n;
		if (*p == ',')
			p++;
	}
	return gzip == 1 || (gzip == -1 && any == 1);
}

bool pt_static_etag_matches(const char *inm, const char *etag)
{
	if (!inm || !etag)
		return false;
	size_t len = strlen(etag);
	for (const char *p = inm; *p;) {
		while (*p == ',' || is_space(*p))
			p++;
		if (*p == '*')
			return true;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (*p != '"')
			return false; /* not an entity tag: ignore the rest */
		const char *end = strchr(p + 1, '"');
		if (!end)
			return false;
		if ((size_t)(end + 1 - p) == len && memcmp(p, etag, len) == 0)
			return true;
		p = end + 1;
	}
	return false;
}

static const pt_web_asset *find(const pt_web_asset *table, int n, const char *path)
{
	for (int i = 0; i < n; i++)
		if (strcmp(table[i].path, path) == 0)
			return &table[i];
	return NULL;
}

void pt_static_decide(const pt_web_asset *table, int n, const char *method, const char *path,
                      const char *accept_encoding, const char *if_none_match, pt_static_answer *out)
{
	memset(out, 0, sizeof(*out));
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		out->status = 405;
		return;
	}
	const pt_web_asset *a = find(table, n, strcmp(path, "/") == 0 ? "/index.html" : path);
	if (!a && strncmp(path, "/assets/", 8) != 0)
		a = find(table, n, "/index.html");
	if (!a) {
		out->status = 404;
		return;
	}
	out->asset = a;
	out->gzip = a->gz && pt_static_accepts_gzip(accept_encoding);
	out->body = out->gzip ? a->gz : a->raw;
	out->len = out->gzip ? a->gz_len : a->raw_len;
	out->etag = out->gzip ? a->etag_gz : a->etag;
	out->cache_control = a->immutable ? IMMUTABLE : NO_CACHE;
	out->csp = strncmp(a->content_type, "text/html", 9) == 0 ? PT_CONSOLE_CSP : NULL;
	out->status = pt_static_etag_matches(if_none_match, out->etag) ? 304 : 200;
}

int pt_static_reply(pt_req *req, struct MHD_Response **resp, pt_err *err)
{
	pt_static_answer ans;
	pt_static_decide(pt_web_assets, pt_web_asset_count, req->method_name, req->path,
	                 pt_req_header(req, "Accept-Encoding"), pt_req_header(req, "If-None-Match"),
	                 &ans);
	if (ans.status == 405)
		return pt_err_set(err, PT_METHOD_NOT_ALLOWED, NULL,
		                  "%s is not allowed here; use %s", "此处不允许 %s；可用 %s",
		                  req->method_name, PT_STATIC_ALLOW);
	if (ans.status == 404 && pt_web_asset_count == 0)
		return pt_err_set(
		    err, PT_NOT_FOUND, NULL,
		    "the web console is not built into this patron (-DPATRON_WEB=OFF); "
		    "the API is under /api/v1",
		    "此 patron 构建时未包含网页控制台（-DPATRON_WEB=OFF）；API 位于 /api/v1");
	if (ans.status == 404)
		return pt_err_set(err, PT_NOT_FOUND, NULL, "no such resource: %s", "资源不存在：%s",
		                  req->path);
	/* The bytes live as long as the program. */
	*resp = MHD_create_response_from_buffer(ans.status == 304 ? 0 : ans.len, (void *)ans.body,
	                                        MHD_RESPMEM_PERSISTENT);
	if (!*resp)
		return pt_err_oom(err);
	if (ans.status == 200) {
		MHD_add_response_header(*resp, "Content-Type", ans.asset->content_type);
		if (ans.gzip)
			MHD_add_response_header(*resp, "Content-Encoding", "gzip");
	}
	MHD_add_response_header(*resp, "ETag", ans.etag);
	MHD_add_response_header(*resp, "Cache-Control", ans.cache_control);
	MHD_add_response_header(*resp, "Vary", "Accept-Encoding");
	if (ans.csp)
		MHD_add_response_header(*resp, "Content-Security-Policy", ans.csp);
	req->status = ans.status;
	return 0;
}
