/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* xferctl: the command-line client of xferd. It speaks only the public D-Bus API (see
 * docs/api.md); the command line is in cli.c, each verb lives in a verb-*.c file. */

#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "bus-connect.h"
#include "cli.h"
#include "job-lookup.h"
#include "report.h"
#include "util.h"
#include "xferctl.h"

int ctl_handle_signals(Ctl *c, sd_event_signal_handler_t handler, void *userdata) {
        static const int signals[] = { SIGINT, SIGTERM };
        sigset_t mask;
        int r;

        assert(c);
        assert(handler);

        /* sd-event reads signals from a signalfd, which sees only blocked signals. */
        sigemptyset(&mask);
        for (size_t i = 0; i < ELEMENTSOF(signals); i++)
                sigaddset(&mask, signals[i]);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return report_bus_error(NULL, -errno, "cannot block signals");

        for (size_t i = 0; i < ELEMENTSOF(signals); i++) {
                /* A NULL source is owned by the loop. */
                r = sd_event_add_signal(c->event, NULL, signals[i], handler, userdata);
                if (r < 0)
                        return report_bus_error(NULL, r, "cannot watch signal %d", signals[i]);
        }
        return 0;
}

static void ctl_done(Ctl *c) {
        file_options_done(&c->file);
        free(c->job_id);
        free(c->job_path);
}

int main(int argc, char **argv) {
        _cleanup_(ctl_done) Ctl c = { .progress = true, .legend = true, .retries = -1 };
        BusChoice bus = BUS_CHOICE_DEFAULT;
        const Verb *verb = NULL;
        int r, index = 0, status;

        /* Character classes for display widths, local time for timestamps; numbers stay in
         * the C locale so JSON and sizes always use a decimal point. */
        setlocale(LC_CTYPE, "");
        setlocale(LC_TIME, "");

        /* getopt names the program by argv[0] in its messages; say xferctl, not a path. */
        argv[0] = (char *) "xferctl";
        switch (cli_parse(argc, argv, &c, &bus, &verb, &index)) {
        case PARSE_DONE:
                return fflush(stdout) == 0 && !ferror(stdout) ? EXIT_SUCCESS : EXIT_FAILURE;
        case PARSE_USAGE:
                return EXIT_USAGE;
        case PARSE_RUN:
                break;
        }
        c.user_bus = bus_choice_is_user(bus);

        r = sd_event_default(&c.event);
        if (r < 0) {
                report_bus_error(NULL, r, "cannot create an event loop");
                return EXIT_FAILURE;
        }
        r = bus_connect(bus, &c.bus);
        if (r >= 0) {
                r = sd_bus_attach_event(c.bus, c.event, SD_EVENT_PRIORITY_NORMAL);
                if (r < 0)
                        report_bus_error(NULL, r, "cannot attach the bus to the event loop");
        }
        if (r >= 0 && c.job_arg)
                r = job_lookup(c.bus, c.job_arg, &c.job_id, &c.job_path);
        if (r >= 0)
                r = verb->run(&c, argc - index, argv + index);
        status = r < 0 ? exit_status_from_errno(r) : r;
        /* The bus is there but xferd is not: say how to start it. */
        if (status == EXIT_UNREACHABLE && c.bus)
                cli_unreachable_hint(c.user_bus);

        sd_bus_flush_close_unref(c.bus);
        sd_event_unref(c.event);

        /* Output that did not reach its destination (a full disk, a closed pipe) is a failure
         * too. */
        if (fflush(stdout) != 0 || ferror(stdout)) {
                report_error(-EIO, "cannot write the output");
                return status == EXIT_SUCCESS ? EXIT_FAILURE : status;
        }
        return status;
}
