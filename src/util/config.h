#ifndef PT_CONFIG_H
#define PT_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

/* Every setting is declared once, in config.c's table: name, type, default, help, and the
 * commands it applies to. Sources, later winning: patron.ini (or --config FILE), PATRON_<NAME>
 * environment variables, then --name value / --name=value flags. */

typedef struct {
	char config[512];
	char db[1024];
	char listen[128];
	int64_t workers;
	char log_level[16];
	int64_t session_idle_minutes;
	int64_t session_max_hours;
	char owner_username[64];
	char owner_password[256];
	bool demo;
	bool test_clock;
	char tls_cert[512], tls_key[512];
	char allowed_hosts[512];
	char username[64], password[256], role[64], stores[256];
	char key_file[512];
	char now[64];
	bool encrypt;         /* patron backup --encrypt */
	char backup_dir[512]; /* serve: scheduled backups go here; empty: none */
	int64_t backup_every; /* seconds between scheduled backups */
	int64_t backup_keep;  /* scheduled backups kept; older ones are removed */
	bool backup_encrypt;  /* scheduled backups encrypted under the key file */
} pt_config;

/* The settings in force; filled by pt_config_load, read-only afterwards. */
extern pt_config pt_settings;

/* Loads defaults, the INI file, the environment and argv[first..argc) for command. Unknown
 * flags and settings that do not apply to the command are errors. */
int pt_config_load(const char *command, int argc, char **argv, int first, pt_err *err);
/* Sets one setting from text, as a flag would; for tests. */
int pt_config_set(const char *name, const char *value, pt_err *err);
void pt_config_defaults(void);
/* Prints the settings of command with their types, defaults and help. */
void pt_config_help(const char *command);

#endif
