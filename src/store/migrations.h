#ifndef PT_MIGRATIONS_H
#define PT_MIGRATIONS_H

typedef struct {
	int version;
	const char *name;
	const char *sql;
} pt_migration;

/* Generated at build time from src/store/migrations/NNN_name.sql, in order. */
extern const pt_migration pt_migrations[];
extern const int pt_migration_count;

#endif
