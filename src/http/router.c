#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/http.h"

static const char *const method_names[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};

const char *pt_method_name(pt_method m)
{
	return m < PT_METHOD_OTHER ? method_names[m] : "OTHER";
}

pt_method pt_method_parse(const char *s)
{
	for (int m = 0; m < PT_METHOD_OTHER; m++)
		if (strcmp(s, method_names[m]) == 0)
			return (pt_method)m;
	return PT_METHOD_OTHER;
}

/* Matches one pattern against the path's segments; fills names/values on success. */
static bool match_one(const char *pattern, char *const *segs, int nsegs,
                      char names[PT_MAX_PATH_PARAMS][PT_PARAM_NAME_MAX],
                      char *values[PT_MAX_PATH_PARAMS], int *nparams)
{
	int i = 0, np = 0;
	const char *p = pattern;
	while (*p == '/') {
		p++;
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (i >= nsegs)
			return false;
		if (len >= 2 && p[0] == '{' && p[len - 1] == '}') {
			if (np == PT_MAX_PATH_PARAMS || !*segs[i])
				return false;
			size_t n =
			    len - 2 < PT_PARAM_NAME_MAX - 1 ? len - 2 : PT_PARAM_NAME_MAX - 1;
			memcpy(names[np], p + 1, n);
			names[np][n] = '\0';
			values[np] = segs[i];
			np++;
		} else if (strlen(segs[i]) != len || strncmp(segs[i], p, len) != 0) {
			return false;
		}
		i++;
		p += len;
	}
	*nparams = np;
	return i == nsegs;
}

int pt_route_match(const pt_route *routes, int nroutes, pt_method method, char *path,
                   char names[PT_MAX_PATH_PARAMS][PT_PARAM_NAME_MAX],
                   char *values[PT_MAX_PATH_PARAMS], char *allow, int allow_size)
{
	enum { MAX_SEGS = 16 };
	char *segs[MAX_SEGS];
	int nsegs = 0;
	if (path[0] != '/')
		return -1;
	/* Split in place; a trailing slash is a different path, as in most routers. */
	for (char *p = path + 1;; nsegs++) {
		if (nsegs == MAX_SEGS)
			return -1;
		segs[nsegs] = p;
		char *slash = strchr(p, '/');
		if (!slash) {
			nsegs++;
			break;
		}
		*slash = '\0';
		p = slash + 1;
	}
	if (nsegs == 1 && !*segs[0])
		nsegs = 0;
	/* The first route in the table whose pattern matches the path decides which pattern this
	 * path is (literal segments come before parameters); then the route of that pattern with
	 * the request's method answers, or none does and Allow lists the pattern's methods. */
	char n[PT_MAX_PATH_PARAMS][PT_PARAM_NAME_MAX];
	char *v[PT_MAX_PATH_PARAMS];
	int np = 0, first = -1;
	for (int r = 0; r < nroutes && first < 0; r++)
		if (match_one(routes[r].pattern, segs, nsegs, n, v, &np))
			first = r;
	allow[0] = '\0';
	if (first < 0)
		return -1;
	const char *pattern = routes[first].pattern;
	for (int r = first; r < nroutes; r++)
		if (routes[r].method == method && strcmp(routes[r].pattern, pattern) == 0) {
			memcpy(names, n, sizeof(n));
			memcpy(values, v, sizeof(v));
			for (int k = np; k < PT_MAX_PATH_PARAMS; k++) {
				names[k][0] = '\0';
				values[k] = NULL;
			}
			return r;
		}
	for (int r = first; r < nroutes; r++)
		if (strcmp(routes[r].pattern, pattern) == 0) {
			size_t used = strlen(allow);
			snprintf(allow + used, (size_t)allow_size - used, "%s%s", used ? ", " : "",
			         pt_method_name(routes[r].method));
		}
	return -2;
}

/* Reads Accept-Language's ranges with their q values; English wins only when it ranks above
 * every Chinese range. */
bool pt_http_prefers_english(const char *al)
{
	if (!al)
		return false;
	int best_en = -1, best_zh = -1, order = 0;
	const char *p = al;
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		const char *tag = p;
		while (*p && *p != ';' && *p != ',')
			p++;
		size_t tag_len = (size_t)(p - tag);
		while (tag_len && tag[tag_len - 1] == ' ')
			tag_len--;
		int q = 1000;
		if (*p == ';') {
			const char *qs = strstr(p, "q=");
			const char *next = strchr(p, ',');
			if (qs && (!next || qs < next)) {
				double v = strtod(qs + 2, NULL); /* q-values, not money */
				/* q is 0 to 1; anything else (huge, negative, NaN) is held to that
				 */
				v = v > 1 ? 1 : v >= 0 ? v : 0;
				q = (int)(v * 1000 + 0.5);
			}
			while (*p && *p != ',')
				p++;
		}
		/* Later ranges of equal q rank lower: fold the order in as a tie-breaker. */
		int score = q * 100 - order++;
		if (tag_len >= 2 && strncasecmp(tag, "en", 2) == 0 &&
		    (tag_len == 2 || tag[2] == '-'))
			best_en = score > best_en ? score : best_en;
		if (tag_len >= 2 && strncasecmp(tag, "zh", 2) == 0 &&
		    (tag_len == 2 || tag[2] == '-'))
			best_zh = score > best_zh ? score : best_zh;
	}
	return best_en > 0 && best_en > best_zh;
}
