#include "service/jobs.h"

#include <stdlib.h>
#include <unistd.h>

#include "service/backup.h"
#include "service/points.h"
#include "service/tiers.h"
#include "util/clock.h"
#include "util/config.h"
#include "util/log.h"

enum { HOUR_MS = 3600 * 1000, DAY_MS = 24 * HOUR_MS };

typedef struct {
	const char *name;
	int64_t every_ms, next_ms, last_ms;
} schedule;

static void run(pt_db *db, schedule *s)
{
	pt_err err = {0};
	int64_t a = 0, b = 0;
	int rc;
	if (s->name[0] == 'b') {
		char *path = NULL;
		rc = pt_svc_backup_scheduled(db, pt_settings.backup_dir,
		                             (int)pt_settings.backup_keep,
		                             pt_settings.backup_encrypt, &path, &err);
		if (rc == 0)
			pt_log_info("msg=\"job done\" job=backup file=\"%s\"", path);
		else
			pt_log_error("msg=\"job failed\" job=backup error=\"%s\"", err.msg_en);
		free(path);
		return;
	}
	bool ran = true;
	if (s->name[0] == 'e')
		rc = pt_svc_job_expire(db, &a, &b, &err);
	else
		rc = pt_svc_job_tiers_daily(db, &ran, &a, &err);
	if (rc == 0 && !ran)
		return; /* reviewed today already, before a restart */
	if (rc != 0)
		pt_log_error("msg=\"job failed\" job=%s error=\"%s\"", s->name, err.msg_en);
	else
		pt_log_info("msg=\"job done\" job=%s count=%lld members=%lld", s->name,
		            (long long)a, (long long)b);
}

void pt_svc_jobs_background(const char *db_url, const volatile int *stop)
{
	pt_db *db = NULL;
	pt_err err = {0};
	int64_t now = pt_clock_now_ms();
	/* Backups run on the real clock: a test clock set months ahead must not fire them. */
	schedule jobs[] = {{"expire", HOUR_MS, now, now},
	                   {"tiers", DAY_MS, now, now},
	                   {"backup", pt_settings.backup_every * 1000, 0, 0}};
	int njobs = pt_settings.backup_dir[0] ? 3 : 2;
	while (!*stop) {
		for (int i = 0; i < njobs && !*stop; i++) {
			now = jobs[i].name[0] == 'b' ? pt_clock_real_ms() : pt_clock_now_ms();
			schedule *s = &jobs[i];
			if (now < s->last_ms) /* the clock went back: start the schedule again */
				s->next_ms = now;
			if (now < s->next_ms)
				continue;
			if (!db && pt_db_open(&db, db_url, &err) != 0) {
				pt_log_error("msg=\"jobs cannot open the database\" error=\"%s\"",
				             err.msg_en);
				break;
			}
			run(db, s);
			s->last_ms = now;
			s->next_ms = now + s->every_ms;
		}
		for (int i = 0; i < 10 && !*stop; i++)
			usleep(100 * 1000);
	}
	pt_db_close(db);
}
