/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* The code location is that of the caller, passed in: not log.c's. */
#define SD_JOURNAL_SUPPRESS_LOCATION 1
#include <systemd/sd-journal.h>

#include "log.h"
#include "safe-text.h"
#include "url-strip.h"

#define LOG_MESSAGE_MAX 4096
#define LOG_URL_MAX 2300

static int max_level = LOG_INFO;
static int journal = -1;        /* -1: not decided yet */

static const char *const level_names[] = {
        [LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit", [LOG_ERR] = "err",
        [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

void log_set_max_level(int level) {
        max_level = level;
}

int log_level_from_string(const char *s) {
        int i;

        assert(s);

        i = string_table_lookup(level_names, ELEMENTSOF(level_names), s);
        return i < 0 ? -EINVAL : i;
}

static int stderr_tty = -1;

/* systemd sets JOURNAL_STREAM=DEV:INODE for the stream it connects stdout/stderr to; when
 * stderr is still that stream (not redirected by a wrapper), the journal is listening. */
static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;
        int n = 0;

        if (!e || sscanf(e, "%llu:%llu%n", &dev, &ino, &n) != 2 || e[n] != 0)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

bool log_to_journal(void) {
        if (journal < 0)
                journal = stderr_is_journal();
        return journal > 0;
}

_printf_(9, 0)
static void log_write(int level, int error, const char *job_id, uid_t owner_uid, const char *url,
                      const char *file, int line, const char *func, const char *format, va_list ap) {
        char raw[LOG_MESSAGE_MAX], message[LOG_MESSAGE_MAX];
        int n;

        n = vsnprintf(raw, sizeof raw, format, ap);
        if (n < 0)
                snprintf(raw, sizeof raw, "%s", format);
        else if (error != 0 && (size_t) n < sizeof raw)
                /* The cause goes last, so messages read "Failed to open x: No such file or
                 * directory". */
                snprintf(raw + n, sizeof raw - (size_t) n, ": %s", strerror(error));
        /* Messages name URLs, paths and what servers said: no credentials in a log, and nothing
         * a terminal would act on. */
        safe_message_copy(message, sizeof message, raw);

        if (log_to_journal()) {
                char priority[sizeof "PRIORITY=" + 12], errno_field[sizeof "ERRNO=" + 12];
                char code_line[sizeof "CODE_LINE=" + 12], uid_field[sizeof "XFERD_OWNER_UID=" + 12];
                char url_field[sizeof "XFERD_URL=" + LOG_URL_MAX];
                struct iovec iov[11];
                size_t k = 0;

#define IOV_STR(s) (struct iovec) { .iov_base = (void *) (s), .iov_len = strlen(s) }
                _cleanup_free_ char *message_field = NULL, *file_field = NULL, *func_field = NULL, *job_field = NULL;
                if (asprintf(&message_field, "MESSAGE=%s", message) < 0)
                        message_field = NULL;
                if (message_field) {
                        snprintf(priority, sizeof priority, "PRIORITY=%d", level);
                        snprintf(code_line, sizeof code_line, "CODE_LINE=%d", line);
                        iov[k++] = IOV_STR(message_field);
                        iov[k++] = IOV_STR(priority);
                        iov[k++] = IOV_STR("SYSLOG_IDENTIFIER=xferd");
                        if (file && asprintf(&file_field, "CODE_FILE=%s", file) >= 0)
                                iov[k++] = IOV_STR(file_field);
                        else
                                file_field = NULL;
                        iov[k++] = IOV_STR(code_line);
                        if (func && asprintf(&func_field, "CODE_FUNC=%s", func) >= 0)
                                iov[k++] = IOV_STR(func_field);
                        else
                                func_field = NULL;
                        if (error != 0) {
                                snprintf(errno_field, sizeof errno_field, "ERRNO=%d", error);
                                iov[k++] = IOV_STR(errno_field);
                        }
                        if (job_id && asprintf(&job_field, "JOB_ID=%s", job_id) >= 0)
                                iov[k++] = IOV_STR(job_field);
                        else
                                job_field = NULL;
                        if (owner_uid != (uid_t) -1) {
                                snprintf(uid_field, sizeof uid_field, "XFERD_OWNER_UID=%" PRIu32, (uint32_t) owner_uid);
                                iov[k++] = IOV_STR(uid_field);
                        }
                        if (url) {
                                memcpy(url_field, "XFERD_URL=", sizeof "XFERD_URL=" - 1);
                                char stripped[LOG_URL_MAX];
                                url_strip(stripped, sizeof stripped, url);
                                safe_text_copy(url_field + sizeof "XFERD_URL=" - 1, LOG_URL_MAX, stripped);
                                iov[k++] = IOV_STR(url_field);
                        }
#undef IOV_STR
                        if (sd_journal_sendv(iov, (int) k) >= 0)
                                return;
                }
                /* The journal is gone (or memory is short): stderr still reaches someone. */
        }

        /* "<6>" tells a log collector the level; a person at a terminal only sees noise. */
        if (stderr_tty < 0)
                stderr_tty = isatty(STDERR_FILENO);
        /* The line is made first and written with one call (stderr is unbuffered): one system
         * call a line instead of three or four, and the pools' threads cannot split it. */
        char text[LOG_MESSAGE_MAX + 256];
        size_t len = 0;
        int k;
        if (!stderr_tty) {
                k = snprintf(text, sizeof text, "<%d>", level);
                len = k < 0 ? 0 : (size_t) k;
        }
        if (job_id)
                k = snprintf(text + len, sizeof text - len, "xferd: job %s: %s", job_id, message);
        else
                k = snprintf(text + len, sizeof text - len, "xferd: %s", message);
        len += k < 0 ? 0 : (size_t) k;
        if (len < sizeof text && max_level >= LOG_DEBUG) {
                k = snprintf(text + len, sizeof text - len, " (%s:%d %s)", strempty(file), line, strempty(func));
                len += k < 0 ? 0 : (size_t) k;
        }
        /* Cut to fit, the newline kept. */
        if (len > sizeof text - 2)
                len = sizeof text - 2;
        text[len++] = '\n';
        (void) fwrite(text, 1, len, stderr);
}

/* Leaves errno as it was, so that callers may log between a failure and reading errno. */
int log_job_internal(int level, int error, const char *job_id, uid_t owner_uid, const char *url,
                     const char *file, int line, const char *func,
                     const char *format, ...) {
        int saved = errno;
        va_list ap;

        assert(file);
        assert(func);
        assert(format);

        error = error < 0 ? -error : error;
        if (level <= max_level) {
                va_start(ap, format);
                log_write(level, error, job_id, owner_uid, url, file, line, func, format, ap);
                va_end(ap);
        }
        errno = saved;
        return -error;
}
