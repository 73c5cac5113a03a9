/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* logs JOB: the job's lines in the systemd journal, where xferd writes them with the field
 * JOB_ID=<id>. journalctl shows them (with its pager, -f and -n); this only finds the job
 * and says clearly when there is no journal to read. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "report.h"
#include "util.h"
#include "xferctl.h"

/* The first executable name in $PATH, or NULL. */
static char *find_in_path(const char *name) {
        const char *path = getenv("PATH"), *p;

        for (p = path ? path : "/usr/bin:/bin"; p && *p;) {
                size_t len = strcspn(p, ":");
                char *candidate;

                if (len > 0 && asprintf(&candidate, "%.*s/%s", (int) len, p, name) >= 0) {
                        if (access(candidate, X_OK) == 0)
                                return candidate;
                        free(candidate);
                }
                p += len + (p[len] == ':');
        }
        return NULL;
}

/* Whether any journal file can be read here. */
static bool journal_readable(void) {
        sd_journal *j = NULL;
        uint64_t bytes = 0;

        if (sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY) < 0)
                return false;
        (void) sd_journal_get_usage(j, &bytes);
        sd_journal_close(j);
        return bytes > 0;
}

int verb_logs(Ctl *c, int argc, char **argv) {
        _cleanup_free_ char *journalctl = NULL, *match = NULL;
        const char *args[12];
        size_t n = 0;

        assert(c);
        assert(argv);

        journalctl = find_in_path("journalctl");
        if (!journalctl)
                return report_error(-ENOENT, "journalctl is not installed, so there is no journal to read: "
                                    "xferd writes its log to its standard error then (see where it was started)");
        if (!journal_readable())
                return report_error(-ENOENT, "there is no systemd journal here that you may read "
                                    "(is systemd-journald running? others' and the system's lines need the "
                                    "systemd-journal group): xferd writes its log to its standard error then");

        if (asprintf(&match, "JOB_ID=%s", c->job_id) < 0)
                return report_error(-ENOMEM, "out of memory");
        args[n++] = "journalctl";
        if (c->follow)
                args[n++] = "--follow";
        if (c->lines) {
                args[n++] = "--lines";
                args[n++] = c->lines;
        }
        if (c->json) {
                args[n++] = "--output";
                args[n++] = "json";
        }
        args[n++] = match;
        args[n] = NULL;

        /* journalctl takes the terminal over (pager, Ctrl-C); nothing of ours is left to do. */
        fflush(stdout);
        execv(journalctl, (char **) args);
        return report_bus_error(NULL, -errno, "cannot run %s", journalctl);
}
