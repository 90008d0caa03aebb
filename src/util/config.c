#include "util/config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

pt_config pt_settings;

typedef enum { T_STRING, T_INT, T_BOOL } type;

typedef struct {
	const char *name;
	type type;
	size_t offset, size;
	const char *def;
	int64_t min, max;
	const char *commands; /* space-separated */
	const char *help;
} setting;

#define STR(field)  T_STRING, offsetof(pt_config, field), sizeof(((pt_config *)0)->field)
#define INT(field)  T_INT, offsetof(pt_config, field), sizeof(int64_t)
#define BOOL(field) T_BOOL, offsetof(pt_config, field), sizeof(bool)

static const setting table[] = {
    {"config", STR(config), "patron.ini", 0, 0,
     "serve init migrate check jobs staff keys backup restore",
     "INI file to read settings from (ignored when absent)"},
    {"db", STR(db), "sqlite:patron.db", 0, 0,
     "serve init migrate check jobs staff keys backup restore",
     "database: sqlite:PATH or postgresql://USER@HOST:PORT/DB"},
    {"key_file", STR(key_file), "", 0, 0, "serve init migrate check jobs staff keys backup restore",
     "the key file that protects members' personal data [default: beside a SQLite database "
     "(PATH.key), else ./patron.key]"},
    {"listen", STR(listen), "127.0.0.1:8080", 0, 0, "serve", "address and port to serve on"},
    {"workers", INT(workers), "32", 1, 256, "serve",
     "threads for requests that change data, each with its own database connection (reads "
     "get one thread per core)"},
    {"log_level", STR(log_level), "info", 0, 0,
     "serve init migrate check jobs staff keys backup restore", "debug, info, warn or error"},
    {"session_idle_minutes", INT(session_idle_minutes), "30", 1, 100000, "serve",
     "a staff session ends after this long without a request"},
    {"session_max_hours", INT(session_max_hours), "12", 1, 10000, "serve",
     "a staff session ends this long after sign-in, however busy"},
    {"owner_username", STR(owner_username), "owner", 0, 0, "init",
     "username of the owner account that init creates"},
    {"owner_password", STR(owner_password), "", 0, 0, "init",
     "its password (12 to 128 characters); generated and printed once when empty"},
    {"demo", BOOL(demo), "false", 0, 0, "init",
     "also create a demo business: 3 stores and 10,000 members"},
    {"tls_cert", STR(tls_cert), "", 0, 0, "serve",
     "PEM certificate (chain) file: serve HTTPS, TLS 1.2 and 1.3 only"},
    {"tls_key", STR(tls_key), "", 0, 0, "serve", "PEM private key file for --tls-cert"},
    {"allowed_hosts", STR(allowed_hosts), "", 0, 0, "serve",
     "comma-separated host names the server answers for (against DNS rebinding); empty: any"},
    {"username", STR(username), "", 0, 0, "staff", "the staff account to add or change"},
    {"password", STR(password), "", 0, 0, "staff",
     "its new password (12 to 128 characters); generated and printed once when empty"},
    {"role", STR(role), "cashier", 0, 0, "staff",
     "role for staff add: owner, manager, cashier, auditor or a custom role"},
    {"stores", STR(stores), "", 0, 0, "staff",
     "comma-separated store ids the account works in; empty: every store"},
    {"now", STR(now), "", 0, 0, "jobs",
     "run the job as if it were this time (RFC 3339), for tests and catching up"},
    {"encrypt", BOOL(encrypt), "false", 0, 0, "backup",
     "encrypt the backup (XChaCha20-Poly1305) under a key derived from the key file"},
    {"backup_dir", STR(backup_dir), "", 0, 0, "serve",
     "directory for scheduled backups (patron-<time>.db / .sql); empty: none"},
    {"backup_every", INT(backup_every), "86400", 1, 31536000, "serve",
     "seconds between scheduled backups"},
    {"backup_keep", INT(backup_keep), "7", 1, 10000, "serve",
     "how many scheduled backups to keep; older ones are removed"},
    {"backup_encrypt", BOOL(backup_encrypt), "false", 0, 0, "serve",
     "encrypt scheduled backups under the key file"},
    {"test_clock", BOOL(test_clock), "false", 0, 0, "serve",
     "enable PUT /api/v1/_test/clock, for tests only; never in production"},
};
enum { NSETTINGS = sizeof(table) / sizeof(table[0]) };

static const setting *find(const char *name)
{
	for (int i = 0; i < NSETTINGS; i++)
		if (strcmp(table[i].name, name) == 0)
			return &table[i];
	return NULL;
}

static bool applies(const setting *s, const char *command)
{
	size_t n = strlen(command);
	for (const char *p = strstr(s->commands, command); p; p = strstr(p + 1, command))
		if ((p == s->commands || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

static int assign(const setting *s, const char *value, const char *source, pt_err *err)
{
	char *dst = (char *)&pt_settings + s->offset;
	switch (s->type) {
	case T_STRING:
		if (strlen(value) >= s->size)
			return pt_err_set(err, PT_INVALID_ARGUMENT, s->name,
			                  "%s (%s): value is too long", "%s（%s）：值过长", s->name,
			                  source);
		memcpy(dst, value, strlen(value) + 1);
		return 0;
	case T_INT: {
		char *end;
		errno = 0;
		long long v = strtoll(value, &end, 10);
		if (errno || end == value || *end || v < s->min || v > s->max)
			return pt_err_set(err, PT_INVALID_ARGUMENT, s->name,
			                  "%s (%s): expected a whole number from %lld to %lld",
			                  "%s（%s）：须为 %lld 至 %lld 的整数", s->name, source,
			                  (long long)s->min, (long long)s->max);
		*(int64_t *)(void *)dst = v;
		return 0;
	}
	case T_BOOL:
		if (!strcmp(value, "true") || !strcmp(value, "1") || !strcmp(value, "yes")) {
			*(bool *)dst = true;
		} else if (!strcmp(value, "false") || !strcmp(value, "0") || !strcmp(value, "no")) {
			*(bool *)dst = false;
		} else {
			return pt_err_set(err, PT_INVALID_ARGUMENT, s->name,
			                  "%s (%s): expected true or false",
			                  "%s（%s）：须为 true 或 false", s->name, source);
		}
		return 0;
	}
	return -1;
}

int pt_config_set(const char *name, const char *value, pt_err *err)
{
	const setting *s = find(name);
	if (!s)
		return pt_err_set(err, PT_INVALID_ARGUMENT, name, "unknown setting %s",
		                  "未知设置 %s", name);
	return assign(s, value, "set", err);
}

void pt_config_defaults(void)
{
	memset(&pt_settings, 0, sizeof(pt_settings));
	for (int i = 0; i < NSETTINGS; i++)
		assign(&table[i], table[i].def, "default", NULL);
}

typedef struct {
	const char *command;
	pt_err *err;
	int failed;
} ini_ctx;

static int on_ini(void *user, const char *section, const char *name, const char *value)
{
	ini_ctx *c = user;
	if (c->failed)
		return 0;
	if (section[0] && strcmp(section, "patron") != 0)
		return 1; /* other programs' sections are theirs */
	const setting *s = find(name);
	if (!s) {
		pt_err_set(c->err, PT_INVALID_ARGUMENT, name, "%s: unknown setting %s",
		           "%s：未知设置 %s", pt_settings.config, name);
		c->failed = 1;
		return 0;
	}
	/* A shared patron.ini holds settings for every command; each takes its own. */
	if (!applies(s, c->command))
		return 1;
	if (assign(s, value, pt_settings.config, c->err) != 0) {
		c->failed = 1;
		return 0;
	}
	return 1;
}

/* Flags are scanned before the file is read, so --config can name the file. */
static int config_flag(int argc, char **argv, int first)
{
	for (int i = first; i < argc; i++) {
		if (strncmp(argv[i], "--config=", 9) == 0)
			snprintf(pt_settings.config, sizeof(pt_settings.config), "%s", argv[i] + 9);
		else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			snprintf(pt_settings.config, sizeof(pt_settings.config), "%s", argv[i + 1]);
	}
	return 0;
}

int pt_config_load(const char *command, int argc, char **argv, int first, pt_err *err)
{
	pt_config_defaults();
	const char *env_config = getenv("PATRON_CONFIG");
	if (env_config)
		snprintf(pt_settings.config, sizeof(pt_settings.config), "%s", env_config);
	config_flag(argc, argv, first);
	FILE *f = fopen(pt_settings.config, "r");
	if (f) {
		ini_ctx c = {.command = command, .err = err};
		int rc = ini_parse_file(f, on_ini, &c);
		fclose(f);
		if (c.failed)
			return -1;
		if (rc != 0)
			return pt_err_set(err, PT_INVALID_ARGUMENT, "config",
			                  "%s: syntax error on line %d", "%s：第 %d 行语法错误",
			                  pt_settings.config, rc);
	}
	for (int i = 0; i < NSETTINGS; i++) {
		if (!applies(&table[i], command))
			continue;
		char env[96] = "PATRON_";
		for (size_t k = 0; table[i].name[k] && k < 80; k++)
			env[7 + k] = (char)toupper((unsigned char)table[i].name[k]);
		const char *v = getenv(env);
		if (v && assign(&table[i], v, env, err) != 0)
			return -1;
	}
	for (int i = first; i < argc; i++) {
		const char *arg = argv[i];
		if (strncmp(arg, "--", 2) != 0)
			return pt_err_set(err, PT_INVALID_ARGUMENT, NULL,
			                  "unexpected argument '%s'", "多余的参数“%s”", arg);
		char name[64];
		const char *eq = strchr(arg, '=');
		size_t n = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
		if (n >= sizeof(name))
			n = sizeof(name) - 1;
		memcpy(name, arg + 2, n);
		name[n] = '\0';
		for (char *p = name; *p; p++)
			if (*p == '-')
				*p = '_';
		const setting *s = find(name);
		if (!s || !applies(s, command))
			return pt_err_set(err, PT_INVALID_ARGUMENT, NULL,
			                  "unknown option %s for '%s' (see: patron help %s)",
			                  "选项 %s 不适用于“%s”（参见：patron help %s）", arg,
			                  command, command);
		const char *value;
		if (eq)
			value = eq + 1;
		else if (s->type == T_BOOL)
			value = "true";
		else if (i + 1 < argc)
			value = argv[++i];
		else
			return pt_err_set(err, PT_INVALID_ARGUMENT, s->name, "%s needs a value",
			                  "%s 需要一个值", arg);
		if (assign(s, value, "flag", err) != 0)
			return -1;
	}
	return 0;
}

void pt_config_help(const char *command)
{
	static const char *const type_names[] = {"text", "number", "flag"};
	printf("Settings for 'patron %s' (flag, or PATRON_NAME in the environment, or name = value "
	       "in patron.ini):\n\n",
	       command);
	for (int i = 0; i < NSETTINGS; i++) {
		const setting *s = &table[i];
		if (!applies(s, command))
			continue;
		char flag[64];
		snprintf(flag, sizeof(flag), "--%s", s->name);
		for (char *p = flag + 2; *p; p++)
			if (*p == '_')
				*p = '-';
		printf("  %-26s %-6s  %s", flag, type_names[s->type], s->help);
		if (s->def[0])
			printf(" [default: %s]", s->def);
		printf("\n");
	}
}
