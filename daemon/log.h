/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>
#include <syslog.h>

#include "util.h"

/*
 * Logging. When stderr is connected to the journal (systemd sets JOURNAL_STREAM to the
 * device and inode of the stream it gave us, and they match stderr's), every message goes
 * to the journal through sd_journal_sendv() with MESSAGE=, PRIORITY=, ERRNO= (when an error
 * is given), CODE_FILE=, CODE_LINE=, CODE_FUNC= and SYSLOG_IDENTIFIER=xferd. Otherwise
 * (a terminal, the tests, dbus-daemon's launch helper) it goes to stderr as
 * "<PRIORITY>xferd: MESSAGE", with the code location appended at debug level.
 *
 * Never pass HTTP header values (SetHttpHeaders) to any of these, in the message or
 * otherwise: they may be credentials.
 */

void log_set_max_level(int level);
int log_level_from_string(const char *s);

/* Whether messages go to the journal (decided once, at the first message). */
bool log_to_journal(void);

/* Logs and returns -abs(error), so callers can `return log_error_errno(r, "…")`. A non-zero
 * error's text is appended after a colon. A message about one job carries, in the journal,
 * JOB_ID=<id> (when id is not NULL), XFERD_OWNER_UID=<uid> (when uid is not (uid_t) -1) and
 * XFERD_URL=<url> (when url is not NULL; without user name, password, query and fragment,
 * which may hold credentials). On stderr only "job <id>: " is put before the message; the URL
 * is not printed there unless the message itself says it. */
int log_job_internal(int level, int error, const char *job_id, uid_t owner_uid, const char *url,
                     const char *file, int line, const char *func,
                     const char *format, ...) _printf_(9, 10);

#define log_full_errno(level, error, ...) \
        log_job_internal((level), (error), NULL, (uid_t) -1, NULL, __FILE__, __LINE__, __func__, __VA_ARGS__)

#define log_debug(...)   log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...)    log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...)  log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...)   log_full_errno(LOG_ERR, 0, __VA_ARGS__)

#define log_debug_errno(e, ...)   log_full_errno(LOG_DEBUG, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...)   log_full_errno(LOG_ERR, (e), __VA_ARGS__)

#define log_oom() log_full_errno(LOG_ERR, ENOMEM, "Out of memory.")

/* log_job(LOG_INFO, 0, j->id, j->owner, url_or_NULL, "Transferred %" PRIu64 " bytes.", n);
 * returns -abs(error) like log_full_errno(). */
#define log_job(level, error, job_id, owner_uid, url, ...) \
        log_job_internal((level), (error), (job_id), (owner_uid), (url), \
                         __FILE__, __LINE__, __func__, __VA_ARGS__)

#define log_job_debug(job_id, owner_uid, url, ...)   log_job(LOG_DEBUG, 0, job_id, owner_uid, url, __VA_ARGS__)
#define log_job_info(job_id, owner_uid, url, ...)    log_job(LOG_INFO, 0, job_id, owner_uid, url, __VA_ARGS__)
#define log_job_notice(job_id, owner_uid, url, ...)  log_job(LOG_NOTICE, 0, job_id, owner_uid, url, __VA_ARGS__)
#define log_job_warning(job_id, owner_uid, url, ...) log_job(LOG_WARNING, 0, job_id, owner_uid, url, __VA_ARGS__)
#define log_job_error(job_id, owner_uid, url, ...)   log_job(LOG_ERR, 0, job_id, owner_uid, url, __VA_ARGS__)
#define log_job_warning_errno(e, job_id, owner_uid, url, ...) \
        log_job(LOG_WARNING, (e), job_id, owner_uid, url, __VA_ARGS__)
#define log_job_error_errno(e, job_id, owner_uid, url, ...) \
        log_job(LOG_ERR, (e), job_id, owner_uid, url, __VA_ARGS__)
