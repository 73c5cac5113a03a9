/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* xferctl: the command-line client of xferd. It speaks only the public D-Bus API (see
 * docs/api.md); each verb lives in a verb-*.c file. */

#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "bus-connect.h"
#include "report.h"
#include "util.h"
#include "xferctl.h"

typedef struct Verb {
        const char *name;
        int min_args;           /* not counting the verb */
        int max_args;           /* -1: no limit */
        const char *synopsis;
        VerbFunction run;
} Verb;

static const Verb verbs[] = {
        { "download", 2, 2,  "URL PATH",               verb_download },
        { "upload",   2, 2,  "FILE URL",               verb_upload },
        { "create",   1, 1,  "NAME",                   verb_create },
        { "add",      3, 3,  "JOB URL PATH",           verb_add },
        { "resume",   1, -1, "JOB…",                   verb_job_method },
        { "suspend",  1, -1, "JOB…",                   verb_job_method },
        { "cancel",   1, -1, "JOB…",                   verb_job_method },
        { "complete", 1, -1, "JOB…",                   verb_job_method },
        { "info",     1, 1,  "JOB",                    verb_info },
        { "files",    1, 1,  "JOB",                    verb_files },
        { "list",     0, 0,  "",                       verb_list },
        { "monitor",  0, 1,  "[JOB]",                  verb_monitor },
        { "set",      3, 3,  "JOB PROPERTY VALUE",     verb_set },
        { "wait",     1, 1,  "JOB",                    verb_wait },
};

static void help(void) {
        printf("Usage: xferctl [OPTIONS] COMMAND [ARGUMENTS]\n"
               "\n"
               "Control xferd, the background file transfer service.\n"
               "\n"
               "Commands:\n"
               "  download URL PATH       download URL to PATH, showing progress, and move it into\n"
               "                          place; Ctrl-C cancels and removes the partial file\n"
               "  upload FILE URL         upload FILE to URL (a tus endpoint) and wait\n"
               "  create NAME             create an empty, suspended download job; print its id\n"
               "  add JOB URL PATH        add a file to a job\n"
               "  resume JOB…             start or continue jobs\n"
               "  suspend JOB…            pause jobs (partial data is kept)\n"
               "  cancel JOB…             cancel jobs and delete their temporary files\n"
               "  complete JOB…           move the transferred files of jobs into place\n"
               "  info JOB                show every property of a job\n"
               "  files JOB               list the files of a job\n"
               "  list                    list jobs that are not finished (acknowledged or cancelled)\n"
               "  monitor [JOB]           print changes as they happen, until Ctrl-C or until\n"
               "                          JOB is acknowledged or cancelled\n"
               "  set JOB PROPERTY VALUE  change a job property:\n"
               "                            DisplayName, Description (text)\n"
               "                            Priority (foreground, high, normal, low)\n"
               "                            AutoComplete, AllowInsecureRedirect (yes/no)\n"
               "                            BandwidthLimit (bytes/s: 500K, 2M; 0 = none)\n"
               "                            MinimumRetryDelay, NoProgressTimeout (seconds: 30, 10m, 2h, 14d)\n"
               "  wait JOB                wait until a job is transferred, fails or ends; exit 0\n"
               "                          when it is transferred or acknowledged\n"
               "\n"
               "JOB is a job id, a unique prefix of one, or a unique display name.\n"
               "A relative PATH is taken from the current directory; when PATH is a directory\n"
               "(existing, or ending in /) the file name is the last part of the URL.\n"
               "\n"
               "Options:\n"
               "      --user         use the user's own xferd (session bus)\n"
               "      --system       use the system-wide xferd (system bus)\n"
               "  -a, --all          list, monitor: jobs of every user (needs root on the system bus)\n"
               "      --json         info, files, list, monitor: JSON output (monitor: one object\n"
               "                     per line); keys are the D-Bus names, unknown sizes are null\n"
               "      --keep         download, upload: keep a failed job instead of cancelling it;\n"
               "                     on Ctrl-C leave the job running, set to complete by itself\n"
               "      --no-progress  download, upload, wait: print no progress\n"
               "\n"
               "What a downloaded file must be (download, add; the file fails with Integrity and\n"
               "never reaches PATH otherwise):\n"
               "      --checksum=sha256:HEX|sha512:HEX   its checksum\n"
               "      --size=BYTES                       its exact size\n"
               "      --mirror=URL                       another URL of the same bytes, tried\n"
               "                                         when one fails for good (repeatable)\n"
               "      --checksum-list=URL                a SHA256SUMS file that lists it, signed\n"
               "                                         by a key in keys.d (see man xferctl)\n"
               "      --checksum-list-signature=URL      its signature (default: URL.gpg)\n"
               "  -h, --help         show this help\n"
               "      --version      show the version\n"
               "\n"
               "Which bus without --user or --system: users other than root use the user bus.\n"
               "Root uses the system bus, except when DBUS_SESSION_BUS_ADDRESS is set,\n"
               "DBUS_SYSTEM_BUS_ADDRESS is not, and no system bus socket exists\n"
               "(/run/dbus/system_bus_socket): then root is in a session of its own (a container,\n"
               "a private test bus) and uses the user bus too.\n"
               "\n"
               "Exit status: 0 on success, 1 on failure, 2 on a usage error, 128+N when signal N\n"
               "ended a wait.\n");
}

int ctl_usage_error(const char *verb, const char *synopsis) {
        assert(verb);
        assert(synopsis);

        fprintf(stderr, "xferctl: usage: xferctl %s%s%s (see xferctl --help)\n",
                verb, isempty(synopsis) ? "" : " ", synopsis);
        return EXIT_USAGE;
}

int ctl_handle_signals(Ctl *c, sd_event_signal_handler_t handler, void *userdata) {
        assert(c);
        assert(handler);

        static const int signals[] = { SIGINT, SIGTERM };
        sigset_t mask;
        int r;

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

static int parse_options(int argc, char **argv, Ctl *c, BusChoice *bus) {
        enum {
                ARG_USER = 0x100,
                ARG_SYSTEM,
                ARG_JSON,
                ARG_KEEP,
                ARG_NO_PROGRESS,
                ARG_VERSION,
                ARG_CHECKSUM,
                ARG_SIZE,
                ARG_MIRROR,
                ARG_CHECKSUM_LIST,
                ARG_CHECKSUM_LIST_SIGNATURE,
        };
        static const struct option options[] = {
                { "user",        no_argument, NULL, ARG_USER },
                { "system",      no_argument, NULL, ARG_SYSTEM },
                { "all",         no_argument, NULL, 'a' },
                { "json",        no_argument, NULL, ARG_JSON },
                { "keep",        no_argument, NULL, ARG_KEEP },
                { "no-progress", no_argument, NULL, ARG_NO_PROGRESS },
                { "help",        no_argument, NULL, 'h' },
                { "version",     no_argument, NULL, ARG_VERSION },
                { "checksum",                required_argument, NULL, ARG_CHECKSUM },
                { "size",                    required_argument, NULL, ARG_SIZE },
                { "mirror",                  required_argument, NULL, ARG_MIRROR },
                { "checksum-list",           required_argument, NULL, ARG_CHECKSUM_LIST },
                { "checksum-list-signature", required_argument, NULL, ARG_CHECKSUM_LIST_SIGNATURE },
                { NULL, 0, NULL, 0 }
        };
        int o, r;

        while ((o = getopt_long(argc, argv, "ah", options, NULL)) >= 0)
                switch (o) {
                case ARG_CHECKSUM:
                        r = file_options_set_checksum(&c->file, optarg);
                        if (r < 0)
                                return r;
                        break;
                case ARG_SIZE:
                        r = file_options_set_size(&c->file, optarg);
                        if (r < 0)
                                return r;
                        break;
                case ARG_MIRROR:
                        r = file_options_add_mirror(&c->file, optarg);
                        if (r < 0)
                                return r;
                        break;
                case ARG_CHECKSUM_LIST:
                        r = file_options_set_checksum_list(&c->file, optarg);
                        if (r < 0)
                                return r;
                        break;
                case ARG_CHECKSUM_LIST_SIGNATURE:
                        r = file_options_set_checksum_list_signature(&c->file, optarg);
                        if (r < 0)
                                return r;
                        break;
                case ARG_USER:          *bus = BUS_CHOICE_USER; break;
                case ARG_SYSTEM:        *bus = BUS_CHOICE_SYSTEM; break;
                case 'a':               c->all = true; break;
                case ARG_JSON:          c->json = true; break;
                case ARG_KEEP:          c->keep = true; break;
                case ARG_NO_PROGRESS:   c->progress = false; break;
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("xferctl %s\n", XFERD_VERSION);
                        return 0;
                default:
                        /* getopt has said what was wrong. */
                        fprintf(stderr, "Try 'xferctl --help'.\n");
                        return -EINVAL;
                }
        return 1;
}

static void ctl_done(Ctl *c) {
        file_options_done(&c->file);
}

int main(int argc, char **argv) {
        _cleanup_(ctl_done) Ctl c = { .progress = true };
        BusChoice bus = BUS_CHOICE_DEFAULT;
        const Verb *verb = NULL;
        int r, n_args;

        /* Character classes for display widths, local time for timestamps; numbers stay in
         * the C locale so JSON and sizes always use a decimal point. */
        setlocale(LC_CTYPE, "");
        setlocale(LC_TIME, "");

        /* getopt names the program by argv[0] in its messages; say xferctl, not a path. */
        argv[0] = (char *) "xferctl";
        r = parse_options(argc, argv, &c, &bus);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;

        if (optind >= argc) {
                fprintf(stderr, "xferctl: no command given. Try 'xferctl --help'.\n");
                return EXIT_USAGE;
        }
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, argv[optind]))
                        verb = &verbs[i];
        if (!verb) {
                fprintf(stderr, "xferctl: unknown command \"%s\". Try 'xferctl --help'.\n", argv[optind]);
                return EXIT_USAGE;
        }
        if (file_options_any(&c.file) && !streq(verb->name, "download") && !streq(verb->name, "add")) {
                fprintf(stderr, "xferctl: --checksum, --size, --mirror and --checksum-list apply to download "
                        "and add only.\n");
                return EXIT_USAGE;
        }
        n_args = argc - optind - 1;
        if (n_args < verb->min_args || (verb->max_args >= 0 && n_args > verb->max_args))
                return ctl_usage_error(verb->name, verb->synopsis);

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
        if (r >= 0)
                r = verb->run(&c, argc - optind, argv + optind);

        sd_bus_flush_close_unref(c.bus);
        sd_event_unref(c.event);

        /* Output that did not reach its destination (a full disk, a closed pipe) is a failure
         * too. */
        if (fflush(stdout) != 0 || ferror(stdout)) {
                report_error(-EIO, "cannot write the output");
                return EXIT_FAILURE;
        }
        return r < 0 ? EXIT_FAILURE : r;
}
