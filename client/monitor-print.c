/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* How `monitor` shows a change: a line of text, or a JSON event. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "format.h"
#include "json.h"
#include "monitor.h"
#include "report.h"
#include "text.h"

/* "12:34:56  1a2b3c4d  photo.jpg: <text>". Eight id digits are usually a unique prefix, and
 * any JOB argument accepts a prefix. */
void monitor_print_line(MonitorJob *j, const char *fmt, ...) {
        _cleanup_free_ char *text = NULL, *safe_text = NULL, *safe_name = NULL;
        char clock[16];
        time_t t = time(NULL);
        struct tm tm;
        va_list ap;
        int r;

        assert(fmt);

        va_start(ap, fmt);
        r = vasprintf(&text, fmt, ap);
        va_end(ap);
        if (r < 0)
                return;

        if (!localtime_r(&t, &tm) || strftime(clock, sizeof clock, "%H:%M:%S", &tm) == 0)
                clock[0] = 0;
        safe_text = text_sanitize(text);
        if (j && j->name)
                safe_name = text_sanitize(j->name);

        if (j)
                printf("%s  %.8s  %s%s%s\n", clock, j->id, strempty(safe_name), safe_name ? ": " : "",
                       safe_text ? safe_text : "");
        else
                printf("%s  %s\n", clock, safe_text ? safe_text : "");
        fflush(stdout);
}

void monitor_print_json_begin(Monitor *m, const char *event, MonitorJob *j) {
        assert(m);
        assert(event);

        json_begin_object(m->json);
        json_member_uint(m->json, "Time", now_realtime_usec());
        json_member_string(m->json, "Event", event);
        if (j) {
                json_member_string(m->json, "Id", j->id);
                json_member_string(m->json, "Path", j->path);
        }
}

void monitor_print_json_end(Monitor *m) {
        assert(m);

        json_end_object(m->json);
        if (json_writer_finish(m->json) < 0) {
                report_error(-EIO, "cannot write JSON");
                monitor_exit(m, EXIT_FAILURE);
        }
}

/* "12.3 MiB / 27.0 MiB (45%)", or "12.3 MiB / ?" while the total is unknown (as in list). */
static char *progress_text(const JobStatus *s) {
        char progress[FORMAT_PROGRESS_MAX], files[48] = "";
        char *p;

        /* Multi-file jobs: say how far along the list it is. */
        if (s->files_total > 1)
                snprintf(files, sizeof files, ", %u of %u files", (unsigned) s->files_transferred,
                         (unsigned) s->files_total);
        return asprintf(&p, "%s%s", format_progress(progress, s->bytes_transferred, s->bytes_total), files) < 0 ? NULL : p;
}

/* One line for a job seen for the first time: its state and progress. */
void monitor_print_snapshot(MonitorJob *j, const char *event) {
        _cleanup_free_ char *progress = NULL;
        const JobStatus *s;

        assert(j);
        assert(event);

        s = &j->status;
        progress = progress_text(s);
        monitor_print_line(j, "%s%s%s, %s%s%s", event, *event ? ", " : "", strempty(s->state),
                           strempty(progress),
                           job_state_has_error(s->state) && !isempty(s->error_message) ? ": " : "",
                           job_state_has_error(s->state) ? strempty(s->error_message) : "");
}

void monitor_print_changes(MonitorJob *j, const char *old_state, unsigned changed) {
        const JobStatus *s = &j->status;
        _cleanup_free_ char *progress = NULL;

        assert(j);

        if (changed & JOB_FIELD_STATE) {
                const char *msg = job_state_has_error(s->state) ? s->error_message : NULL;

                if (old_state)
                        monitor_print_line(j, "%s → %s%s%s", old_state, strempty(s->state),
                                           isempty(msg) ? "" : ": ", strempty(msg));
                else
                        monitor_print_line(j, "%s%s%s", strempty(s->state), isempty(msg) ? "" : ": ", strempty(msg));
                return;
        }
        if (changed & JOB_FIELD_PROGRESS) {
                progress = progress_text(s);
                monitor_print_line(j, "%s", strempty(progress));
        }
        if ((changed & JOB_FIELD_ERROR) && !isempty(s->error_message))
                monitor_print_line(j, "error: %s", s->error_message);
}
