/* patron: subcommand dispatch only. */
#include <liboath/oath.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "http/http.h"
#include "service/auth.h"
#include "service/backup.h"
#include "service/jobs.h"
#include "service/points.h"
#include "service/setup.h"
#include "service/staff.h"
#include "service/tiers.h"
#include "store/repo.h"
#include "util/clock.h"
#include "util/config.h"
#include "util/keys.h"
#include "util/log.h"

#ifndef PATRON_VERSION
#define PATRON_VERSION "dev"
#endif

static const struct {
	const char *name, *summary;
} commands[] = {
    {"serve", "run the HTTP server: the JSON API under /api/v1, /healthz, /metrics"},
    {"init", "create the database and the owner account (--demo adds a demo business)"},
    {"migrate", "apply schema migrations (serve also does this at start)"},
    {"check", "verify the database's invariants; exits 1 when anything is wrong"},
    {"jobs", "run a periodic job now: patron jobs expire | patron jobs tiers"},
    {"staff", "staff accounts from the shell: patron staff add|reset-password|disable"},
    {"keys", "patron keys rotate: re-seal members' personal data under a new key"},
    {"backup", "patron backup OUT [--encrypt]: an online copy of the database, and OUT.sha256"},
    {"restore", "patron restore IN: verify a backup, put it in place of the database, check it"},
    {"version", "print the version"},
    {"help", "show this help, or the settings of one command: patron help serve"},
};

static int usage(FILE *out)
{
	fprintf(out,
	        "patron %s: membership and loyalty points for shops and chains\n\n"
	        "usage: patron COMMAND [--setting value ...]\n\n",
	        PATRON_VERSION);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nSettings come from patron.ini, then PATRON_* variables, then flags.\n");
	return out == stdout ? 0 : 2;
}

static int fail(const pt_err *err)
{
	fprintf(stderr, "patron: %s\n", err->msg_en);
	return 1;
}

static const char *key_path(void)
{
	static char path[1100];
	if (pt_settings.key_file[0])
		return pt_settings.key_file;
	pt_keys_default_path(pt_settings.db, path, sizeof(path));
	return path;
}

/* Loads the key file; a database that holds no personal data yet may get a new one. */
static int load_keys(pt_db *db, pt_err *err)
{
	pt_arena *a = pt_arena_new();
	pt_rows r;
	if (!a)
		return pt_err_oom(err);
	/* The first sealed phone answers: counting them read every member at every start (two
	 * seconds and all of the file at a million members). */
	int rc = pt_db_query(db, a, "SELECT 1 FROM members WHERE phone IS NOT NULL LIMIT 1", NULL,
	                     0, &r, err);
	bool empty = rc == 0 && r.nrows == 0;
	pt_arena_free(a);
	return rc ? rc : pt_keys_load(key_path(), empty, err);
}

/* Opens the database, brings its schema up to date and loads the keys. */
static pt_db *open_migrated(pt_err *err)
{
	pt_db *db;
	if (pt_db_open(&db, pt_settings.db, err) != 0)
		return NULL;
	if (pt_repo_migrate(db, err) != 0 || load_keys(db, err) != 0) {
		pt_db_close(db);
		return NULL;
	}
	return db;
}

/* patron keys rotate: a new current key, and every member's personal data sealed again with
 * it; the old keys stay in the file so old backups can still be read. */
static int cmd_keys(void)
{
	pt_err err = {0};
	pt_db *db = open_migrated(&err);
	if (!db)
		return fail(&err);
	int64_t after = 0, total = 0;
	int rc = pt_keys_rotate(key_path(), &err);
	for (int n = 500; rc == 0 && n == 500;) {
		pt_arena *a = pt_arena_new();
		int64_t last = after;
		if (pt_db_begin(db, true, &err) != 0 ||
		    pt_repo_member_reseal(db, a, after, 500, &last, &n, &err) != 0 ||
		    pt_db_commit(db, &err) != 0) {
			pt_db_rollback(db);
			rc = -1;
		}
		pt_arena_free(a);
		after = last;
		total += rc == 0 ? n : 0;
	}
	pt_db_close(db);
	if (rc != 0)
		return fail(&err);
	printf("keys: new key in %s; %lld members sealed with it\n", key_path(), (long long)total);
	return 0;
}

static int cmd_init(void)
{
	pt_err err = {0};
	char generated[32];
	const char *password = pt_settings.owner_password;
	if (!*password) {
		unsigned char raw[12];
		randombytes_buf(raw, sizeof(raw));
		sodium_bin2base64(generated, sizeof(generated), raw, sizeof(raw),
		                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		password = generated;
	} else if (pt_svc_password_check(password, "owner_password", &err) != 0) {
		fprintf(stderr, "patron: %s\n", err.msg_en);
		return 2;
	}
	pt_db *db = open_migrated(&err);
	if (!db)
		return fail(&err);
	int rc = pt_svc_init_owner(db, pt_settings.owner_username, password, &err);
	if (rc == 0 && pt_settings.demo)
		rc = pt_svc_demo_create(db, &err);
	pt_db_close(db);
	if (rc != 0)
		return fail(&err);
	printf("Initialised %s\n", pt_settings.db);
	if (pt_settings.demo)
		printf(
		    "Demo business: 3 stores, 10000 members, 20 products, six months of orders\n");
	printf("Owner login: %s\n", pt_settings.owner_username);
	if (password == generated)
		printf("Owner password (shown once, keep it safe): %s\n", password);
	return 0;
}

static int cmd_migrate(void)
{
	pt_err err = {0};
	pt_db *db = open_migrated(&err);
	if (!db)
		return fail(&err);
	pt_db_close(db);
	printf("Schema up to date\n");
	return 0;
}

static int cmd_check(void)
{
	pt_err err = {0};
	pt_db *db;
	if (pt_db_open(&db, pt_settings.db, &err) != 0)
		return fail(&err);
	/* With the key file, members' personal data is checked to open too. */
	pt_err no_keys = {0};
	if (!pt_keys_loaded() && pt_keys_load(key_path(), false, &no_keys) != 0)
		printf("check: %s; members' personal data not checked\n", no_keys.msg_en);
	long problems = 0;
	int rc = pt_svc_check(db, stdout, &problems, &err);
	pt_db_close(db);
	if (rc != 0)
		return fail(&err);
	if (problems) {
		printf("check: %ld problem(s) found\n", problems);
		return 1;
	}
	printf("check: all invariants hold\n");
	return 0;
}

static const char *job_name;

static int cmd_jobs(void)
{
	pt_err err = {0};
	if (pt_settings.now[0]) {
		int64_t ms;
		if (pt_clock_parse_rfc3339(pt_settings.now, &ms) != 0) {
			fprintf(stderr, "patron: --now must be an RFC 3339 time\n");
			return 2;
		}
		pt_clock_set_ms(ms);
	}
	pt_db *db = open_migrated(&err);
	if (!db)
		return fail(&err);
	int64_t a = 0, b = 0;
	int rc = strcmp(job_name, "expire") == 0 ? pt_svc_job_expire(db, &a, &b, &err)
	                                         : pt_svc_job_tiers(db, &a, &err);
	pt_db_close(db);
	if (rc != 0)
		return fail(&err);
	if (strcmp(job_name, "expire") == 0)
		printf("expire: %lld points expired for %lld members\n", (long long)a,
		       (long long)b);
	else
		printf("tiers: %lld members changed tier\n", (long long)a);
	return 0;
}

/* The whole of a small file, or NULL. */
static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(1 << 20);
	size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
	fclose(f);
	if (buf)
		buf[n] = '\0';
	return buf;
}

static const char *staff_action;

/* Staff accounts from the shell, for the first manager or a locked-out owner. */
static int cmd_staff(void)
{
	pt_err err = {0};
	char generated[32];
	const char *password = pt_settings.password;
	if (!pt_settings.username[0]) {
		fprintf(stderr, "patron: staff %s needs --username\n", staff_action);
		return 2;
	}
	if (strcmp(staff_action, "disable") != 0 && !*password) {
		unsigned char raw[12];
		randombytes_buf(raw, sizeof(raw));
		sodium_bin2base64(generated, sizeof(generated), raw, sizeof(raw),
		                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		password = generated;
	}
	pt_db *db = open_migrated(&err);
	if (!db)
		return fail(&err);
	pt_arena *a = pt_arena_new();
	pt_ctx ctx = {.db = db, .arena = a, .perms = PT_PERM_ALL, .role = "owner", .ip = "shell"};
	pt_staff s;
	bool found = false;
	int rc = a ? 0 : -1;
	if (rc == 0 && strcmp(staff_action, "add") == 0) {
		int64_t ids[32];
		int n = 0;
		for (char *p = pt_settings.stores; *p && n < 32;) {
			ids[n++] = strtoll(p, &p, 10);
			while (*p == ',' || *p == ' ')
				p++;
		}
		pt_staff_input in = {.username = pt_settings.username,
		                     .password = password,
		                     .role = pt_settings.role,
		                     .stores = ids,
		                     .nstores = n};
		rc = pt_svc_staff_add(&ctx, &in, &s, &err);
	} else if (rc == 0) {
		rc = pt_repo_staff_by_username(db, a, pt_settings.username, &s, &found, &err);
		if (rc == 0 && !found)
			rc = pt_err_set(&err, PT_NOT_FOUND, NULL, "no staff account %s",
			                "没有员工账号 %s", pt_settings.username);
		if (rc == 0 && strcmp(staff_action, "disable") == 0) {
			pt_staff_input in = {.set_active = true, .active = false};
			rc = pt_svc_staff_patch(&ctx, s.id, &in, &s, &err);
		} else if (rc == 0) {
			rc = pt_svc_staff_password(&ctx, s.id, password, &err) ||
			     pt_repo_staff_lock(db, s.id, 0, &err);
		}
	}
	pt_arena_free(a);
	pt_db_close(db);
	if (rc != 0)
		return fail(&err);
	printf("staff %s: %s done\n", pt_settings.username, staff_action);
	if (password == generated)
		printf("Password (shown once, keep it safe): %s\n", password);
	return 0;
}

static const char *backup_out;

/* The files a backup writes before its rename (SQLite's journal of the copy among them),
 * removed when the backup is interrupted. */
static char backup_scratch[5][4096];

static void remove_backup_scratch(int sig)
{
	for (size_t i = 0; i < sizeof(backup_scratch) / sizeof(backup_scratch[0]); i++)
		if (backup_scratch[i][0])
			unlink(backup_scratch[i]);
	_exit(128 + sig);
}

static void clean_up_if_interrupted(const char *out)
{
	static const char *const suffixes[] = {".part", ".part-journal", ".plain", ".plain.part",
	                                       ".plain.part-journal"};
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		snprintf(backup_scratch[i], sizeof(backup_scratch[i]), "%s%s", out, suffixes[i]);
	struct sigaction sa = {.sa_handler = remove_backup_scratch};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* A backup only reads: it neither creates the database nor changes its schema. */
static int cmd_backup(void)
{
	pt_err err = {0};
	const char *file = pt_db_file_of(pt_settings.db);
	if (file && access(file, F_OK) != 0) {
		fprintf(stderr, "patron: there is no database at %s\n", file);
		return 1;
	}
	if (pt_settings.encrypt && pt_keys_load(key_path(), false, &err) != 0)
		return fail(&err);
	pt_db *db;
	if (pt_db_open(&db, pt_settings.db, &err) != 0)
		return fail(&err);
	if (strlen(backup_out) < sizeof(backup_scratch[0]) - 32)
		clean_up_if_interrupted(backup_out);
	char sha[65];
	int rc = pt_svc_backup(db, backup_out, pt_settings.encrypt, sha, &err);
	pt_db_close(db);
	if (rc != 0)
		return fail(&err);
	printf("backup: %s written%s (sha256 %s, in %s.sha256)\n", backup_out,
	       pt_settings.encrypt ? ", encrypted under the key file" : "", sha, backup_out);
	return 0;
}

/* patron restore IN: verified and checked like `patron check` first, then put in place
 * atomically. The server must be stopped while a SQLite database is replaced. */
static int cmd_restore(void)
{
	pt_err err = {0};
	if (pt_keys_load(key_path(), false, &err) != 0)
		return fail(&err);
	long problems = 0;
	if (pt_svc_restore(pt_settings.db, backup_out, stdout, &problems, &err) != 0)
		return fail(&err);
	printf("restore: %s restored into %s\ncheck: all invariants hold\n", backup_out,
	       pt_settings.db);
	return 0;
}

static int cmd_serve(void)
{
	pt_err err = {0};
	char *cert = NULL, *key = NULL;
	if (pt_settings.tls_cert[0] || pt_settings.tls_key[0]) {
		cert = read_file(pt_settings.tls_cert);
		key = read_file(pt_settings.tls_key);
		if (!cert || !key) {
			fprintf(stderr,
			        "patron: --tls-cert and --tls-key must both name readable PEM "
			        "files\n");
			free(cert);
			free(key);
			return 2;
		}
	}
	pt_db *db = open_migrated(&err);
	if (!db)
		return fail(&err);
	pt_db_close(db);
	if (pt_db_group_commit(pt_settings.db, &err) != 0)
		return fail(&err);
	pt_clock_mark_started();
	pt_server_config cfg = {.listen = pt_settings.listen,
	                        .db_url = pt_settings.db,
	                        .workers = (int)pt_settings.workers,
	                        .routes = pt_api_routes,
	                        .nroutes = pt_api_route_count,
	                        .test_clock = pt_settings.test_clock,
	                        .tls_cert_pem = cert,
	                        .tls_key_pem = key,
	                        .allowed_hosts = pt_settings.allowed_hosts,
	                        .background = pt_svc_jobs_background};
	if (pt_settings.test_clock)
		pt_log_warn("msg=\"test clock enabled: PUT /api/v1/_test/clock can set the time; "
		            "never use this in production\"");
	int rc = pt_server_run(&cfg, &err);
	if (key)
		sodium_memzero(key, strlen(key));
	free(cert);
	free(key);
	return rc != 0 ? fail(&err) : 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		return usage(stderr);
	const char *cmd = argv[1];
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		if (argc > 2) {
			pt_config_help(argv[2]);
			return 0;
		}
		return usage(stdout);
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("patron %s\n", PATRON_VERSION);
		return 0;
	}
	int (*run)(void) = NULL;
	if (!strcmp(cmd, "serve"))
		run = cmd_serve;
	else if (!strcmp(cmd, "init"))
		run = cmd_init;
	else if (!strcmp(cmd, "migrate"))
		run = cmd_migrate;
	else if (!strcmp(cmd, "check"))
		run = cmd_check;
	else if (!strcmp(cmd, "keys")) {
		if (argc < 3 || strcmp(argv[2], "rotate") != 0) {
			fprintf(stderr, "usage: patron keys rotate [--db URL] [--key-file PATH]\n");
			return 2;
		}
		run = cmd_keys;
		argv++;
		argc--;
	} else if (!strcmp(cmd, "backup") || !strcmp(cmd, "restore")) {
		if (argc < 3 || strncmp(argv[2], "-", 1) == 0) {
			fprintf(stderr, "usage: patron %s %s [--db URL] [--key-file PATH]%s\n", cmd,
			        cmd[0] == 'b' ? "OUT" : "IN", cmd[0] == 'b' ? " [--encrypt]" : "");
			return 2;
		}
		backup_out = argv[2];
		run = cmd[0] == 'b' ? cmd_backup : cmd_restore;
		argv++;
		argc--;
	} else if (!strcmp(cmd, "staff")) {
		if (argc < 3 || (strcmp(argv[2], "add") && strcmp(argv[2], "reset-password") &&
		                 strcmp(argv[2], "disable"))) {
			fprintf(stderr,
			        "usage: patron staff add|reset-password|disable --username NAME "
			        "[--password PW] [--role ROLE] [--stores 1,2] [--db URL]\n");
			return 2;
		}
		staff_action = argv[2];
		run = cmd_staff;
		argv++;
		argc--;
	} else if (!strcmp(cmd, "jobs")) {
		if (argc < 3 || (strcmp(argv[2], "expire") && strcmp(argv[2], "tiers"))) {
			fprintf(stderr,
			        "usage: patron jobs expire|tiers [--db URL] [--now TIME]\n");
			return 2;
		}
		job_name = argv[2];
		run = cmd_jobs;
		argv++;
		argc--;
	}
	if (!run) {
		fprintf(stderr, "patron: unknown command '%s'\n\n", cmd);
		return usage(stderr);
	}
	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			pt_config_help(cmd);
			return 0;
		}
	pt_err err = {0};
	if (pt_config_load(cmd, argc, argv, 2, &err) != 0)
		return fail(&err), 2;
	pt_log_level level;
	if (pt_log_parse_level(pt_settings.log_level, &level) != 0) {
		fprintf(stderr, "patron: log_level must be debug, info, warn or error\n");
		return 2;
	}
	pt_log_set_level(level);
	if (oath_init() != OATH_OK) {
		fprintf(stderr, "patron: liboath failed to initialise\n");
		return 1;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "patron: libsodium failed to initialise\n");
		return 1;
	}
	return run();
}
