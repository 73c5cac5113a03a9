/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "cli.h"
#include "parse.h"
#include "report.h"
#include "util.h"

typedef enum VerbId {
        VERB_DOWNLOAD, VERB_UPLOAD, VERB_CREATE, VERB_ADD, VERB_RESUME, VERB_SUSPEND, VERB_CANCEL,
        VERB_COMPLETE, VERB_INFO, VERB_FILES, VERB_LIST, VERB_MONITOR, VERB_SET, VERB_WAIT, VERB_LOGS,
        VERB_STATUS, _VERB_MAX,
} VerbId;

static const Verb verbs[_VERB_MAX] = {
        [VERB_DOWNLOAD] = { "download", 0, -1, "URL [PATH]\nURL... [-o DIR]\n-i FILE [-o DIR]",
                "download files and wait, then move them into place",
                "Download URL to PATH (a file, or a directory to put it in under the last part of\n"
                "the URL; default: the current directory), showing why it waits and how far it\n"
                "got, and move it into place once transferred. Several URLs, or a file of URLs\n"
                "(-i, one a line, # starts a comment), go into one directory as one job.\n"
                "The job is foreground (it does not queue behind background work) unless\n"
                "--priority says otherwise. An existing file is not replaced without --force.\n"
                "On an error, --timeout or --retries the job is cancelled and nothing is left\n"
                "(--keep keeps it); Ctrl-C cancels it and removes the partial files.",
                verb_download },
        [VERB_UPLOAD] = { "upload", 2, 2, "FILE URL", "upload FILE to a tus endpoint and wait",
                "Upload FILE to URL, a tus 1.0 creation endpoint, and wait like download.\n"
                "Cancelling deletes the partial upload from the server.",
                verb_upload },
        [VERB_CREATE] = { "create", 1, 1, "NAME", "create an empty, suspended download job; print its id",
                "Create an empty, suspended download job named NAME and print its id (with --json\n"
                "its id and object path).",
                verb_create },
        [VERB_ADD] = { "add", 3, 3, "JOB URL PATH", "add a file to a job",
                "Add a file to a job. When PATH is a directory the file name is the last part of\n"
                "the URL.",
                verb_add },
        [VERB_RESUME] = { "resume", 1, -1, "JOB...", "start or continue jobs", "Start or continue jobs.",
                verb_job_method },
        [VERB_SUSPEND] = { "suspend", 1, -1, "JOB...", "pause jobs (partial data is kept)",
                "Pause jobs; partial data is kept.", verb_job_method },
        [VERB_CANCEL] = { "cancel", 1, -1, "JOB...", "cancel jobs and delete their temporary files",
                "Cancel jobs and delete their temporary files.", verb_job_method },
        [VERB_COMPLETE] = { "complete", 1, -1, "JOB...", "move the transferred files of jobs into place",
                "Move the files of fully transferred jobs into place. A job that is not fully\n"
                "transferred is refused: with --partial its finished files are moved into place\n"
                "and the others deleted, and the exit status is 1 when something was deleted.",
                verb_complete },
        [VERB_INFO] = { "info", 1, 1, "JOB", "show every property of a job",
                "Show every property of a job.", verb_info },
        [VERB_FILES] = { "files", 1, 1, "JOB", "list the files of a job",
                "List the files of a job: URL, local path and progress.", verb_files },
        [VERB_LIST] = { "list", 0, 0, "", "list jobs that are not finished",
                "List jobs that are not finished (acknowledged or cancelled) with their progress,\n"
                "rate and what they wait for; on a terminal the table fits its width.",
                verb_list },
        [VERB_MONITOR] = { "monitor", 0, 1, "[JOB]", "print changes as they happen",
                "Print changes as they happen, until Ctrl-C or, with JOB, until that job is\n"
                "acknowledged or cancelled.",
                verb_monitor },
        [VERB_SET] = { "set", 3, 3, "JOB PROPERTY VALUE", "change a job property",
                "Change a job property:\n"
                "  DisplayName, Description (text)\n"
                "  Priority (foreground, high, normal, low)\n"
                "  AutoComplete, AllowInsecureRedirect (yes/no)\n"
                "  BandwidthLimit (bytes/s: 500K, 2M; 0 = none)\n"
                "  MinimumRetryDelay, NoProgressTimeout (seconds: 30, 10m, 2h, 14d)\n"
                "  MinimumNotificationInterval (milliseconds: 500)\n"
                "  CostPolicy (always, unmetered)\n"
                "  MaxConcurrentFiles, or concurrent-files (files at once: 1 to 16)",
                verb_set },
        [VERB_WAIT] = { "wait", 1, 1, "JOB", "wait until a job is transferred, fails or ends",
                "Wait until a job is transferred, fails or ends, showing why it waits. Exit 0\n"
                "when it is transferred or acknowledged. The job is only watched: Ctrl-C or\n"
                "--timeout leave it as it is.",
                verb_wait },
        [VERB_LOGS] = { "logs", 1, 1, "JOB", "show the log lines of a job",
                "Show the log lines xferd wrote about a job, from the systemd journal\n"
                "(journalctl JOB_ID=<id>).",
                verb_logs },
        [VERB_STATUS] = { "status", 0, 0, "", "what xferd believes about the network, and its settings",
                "Show the daemon's version and settings, and what it believes about the network:\n"
                "whether NetworkManager says it is metered and how far it connects, where that\n"
                "comes from (NetworkManager, none on the system bus, or not asked while no job\n"
                "needs it), and what it does to jobs (see CostPolicy).",
                verb_status },
};

#define V(verb) (1u << (verb))
#define EVERY_VERB (~0u)

/* The verbs whose first argument is a JOB, looked up before they run. Not set: it checks the
 * property and its value first; nor resume, suspend, cancel and complete: several JOBs. */
static const unsigned job_verbs = V(VERB_ADD) | V(VERB_INFO) | V(VERB_FILES) | V(VERB_MONITOR) | V(VERB_WAIT) |
                                  V(VERB_LOGS);

enum {
        OPT_USER = 0x100, OPT_SYSTEM, OPT_JSON, OPT_KEEP, OPT_NO_PROGRESS, OPT_NO_LEGEND,
        OPT_FORCE, OPT_PARTIAL, OPT_PRIORITY, OPT_RETRIES, OPT_RETRY_DELAY, OPT_TIMEOUT,
        OPT_LIMIT_RATE, OPT_COST_POLICY, OPT_VERSION, OPT_CHECKSUM, OPT_SIZE, OPT_MIRROR, OPT_CHECKSUM_LIST,
        OPT_CHECKSUM_LIST_SIGNATURE, OPT_CONCURRENT_FILES,
};

typedef struct OptionSpec {
        const char *name;
        int val;                /* the short option, or OPT_* */
        const char *arg;        /* NULL: takes no value */
        unsigned verbs;
        const char *help;
} OptionSpec;

static const OptionSpec option_specs[] = {
        { "user",        OPT_USER,        NULL, EVERY_VERB, "use the user's own xferd (session bus)" },
        { "system",      OPT_SYSTEM,      NULL, EVERY_VERB, "use the system-wide xferd (system bus)" },
        { "json",        OPT_JSON,        NULL, EVERY_VERB,
          "JSON on stdout: keys are the D-Bus names, unknown\n"
          "sizes null (monitor: one object a line; download,\n"
          "upload, wait: the outcome)" },
        { "all",         'a',             NULL, V(VERB_LIST) | V(VERB_MONITOR),
          "jobs of every user (needs root on the system bus)" },
        { "output",      'o',             "PATH", V(VERB_DOWNLOAD),
          "where to: a file for one URL, else a directory\n"
          "(default: the current directory)" },
        { "input-file",  'i',             "FILE", V(VERB_DOWNLOAD),
          "read URLs from FILE, one a line (-: stdin)" },
        { "force",       OPT_FORCE,       NULL, V(VERB_DOWNLOAD), "replace files that exist" },
        { "priority",    OPT_PRIORITY,    "PRIO", V(VERB_DOWNLOAD) | V(VERB_UPLOAD) | V(VERB_CREATE),
          "foreground, high, normal or low (download and\n"
          "upload: foreground; create: normal)" },
        { "cost-policy", OPT_COST_POLICY, "POLICY", V(VERB_DOWNLOAD) | V(VERB_UPLOAD) | V(VERB_CREATE),
          "always, or unmetered: wait while NetworkManager\n"
          "says the network is metered (default: always for\n"
          "foreground jobs, else the daemon's\n"
          "DefaultCostPolicy, see 'xferctl status')" },
        { "concurrent-files", OPT_CONCURRENT_FILES, "N", V(VERB_DOWNLOAD) | V(VERB_CREATE),
          "transfer up to N (1 to 16) of the job's files at\n"
          "once (its MaxConcurrentFiles; default 1)" },
        { "retries",     OPT_RETRIES,     "N", V(VERB_DOWNLOAD) | V(VERB_UPLOAD),
          "give up after N failed retries (exit status 7)" },
        { "retry-delay", OPT_RETRY_DELAY, "TIME", V(VERB_DOWNLOAD) | V(VERB_UPLOAD),
          "the job's MinimumRetryDelay: 30, 5m…" },
        { "limit-rate",  OPT_LIMIT_RATE,  "RATE", V(VERB_DOWNLOAD) | V(VERB_UPLOAD),
          "the job's BandwidthLimit in bytes/s: 500K, 2M" },
        { "timeout",     OPT_TIMEOUT,     "TIME", V(VERB_DOWNLOAD) | V(VERB_UPLOAD) | V(VERB_WAIT),
          "give up after TIME: 90, 10m, 2h (exit status 6)" },
        { "keep",        OPT_KEEP,        NULL, V(VERB_DOWNLOAD) | V(VERB_UPLOAD),
          "keep a job that failed or was given up on; on\n"
          "Ctrl-C leave it running, set to complete by itself" },
        { "no-progress", OPT_NO_PROGRESS, NULL, V(VERB_DOWNLOAD) | V(VERB_UPLOAD) | V(VERB_WAIT),
          "print no progress" },
        { "checksum",    OPT_CHECKSUM,    "ALG:HEX", V(VERB_DOWNLOAD) | V(VERB_ADD),
          "the file's checksum: sha256:HEX or sha512:HEX; a file\n"
          "that does not match never reaches PATH (exit status 5)" },
        { "size",        OPT_SIZE,        "BYTES", V(VERB_DOWNLOAD) | V(VERB_ADD), "the file's exact size in bytes" },
        { "mirror",      OPT_MIRROR,      "URL", V(VERB_DOWNLOAD) | V(VERB_ADD),
          "another URL of the same bytes, tried when one fails\n"
          "for good (repeatable, tried in order)" },
        { "checksum-list", OPT_CHECKSUM_LIST, "URL", V(VERB_DOWNLOAD) | V(VERB_ADD),
          "a SHA256SUMS file that lists the file, signed by a\n"
          "key in keys.d (see xferctl(1))" },
        { "checksum-list-signature", OPT_CHECKSUM_LIST_SIGNATURE, "URL", V(VERB_DOWNLOAD) | V(VERB_ADD),
          "its signature (default: the list's URL + .gpg)" },
        { "partial",     OPT_PARTIAL,     NULL, V(VERB_COMPLETE),
          "also complete jobs not fully transferred,\n"
          "deleting their unfinished files" },
        { "no-legend",   OPT_NO_LEGEND,   NULL, V(VERB_LIST) | V(VERB_FILES),
          "no column headers, no \"No jobs.\"" },
        { "follow",      'f',             NULL, V(VERB_LOGS), "print new lines as they are written" },
        { "lines",       'n',             "N", V(VERB_LOGS), "the last N lines only" },
        { "help",        'h',             NULL, EVERY_VERB, "show this help" },
        { "version",     OPT_VERSION,     NULL, EVERY_VERB, "show the version" },
};

static const char *const exit_statuses =
        "Exit status: 0 success, 1 failure, 2 usage error, 3 xferd not reachable,\n"
        "4 the transfer failed, 5 integrity check failed, 6 --timeout ran out,\n"
        "7 --retries used up, 128+N ended by signal N (130: Ctrl-C).\n";

static bool option_is_common(const OptionSpec *o) {
        return o->verbs == EVERY_VERB;
}

static void print_option(const OptionSpec *o) {
        char left[40], shortname[8] = "    ";
        const char *help = o->help, *nl;

        if (o->val < 0x100)
                snprintf(shortname, sizeof shortname, "-%c, ", o->val);
        snprintf(left, sizeof left, "%s--%s%s%s", shortname, o->name, o->arg ? "=" : "", o->arg ? o->arg : "");
        /* Continuation lines of the help line up under its first line. */
        while ((nl = strchr(help, '\n'))) {
                printf("  %-24s %.*s\n", left, (int) (nl - help), help);
                left[0] = 0;
                help = nl + 1;
        }
        printf("  %-24s %s\n", left, help);
}

static void print_synopsis(const Verb *v, const char *first_prefix) {
        const char *s = v->synopsis, *nl;
        const char *prefix = first_prefix;

        do {
                nl = strchr(s, '\n');
                printf("%sxferctl %s [OPTIONS...]%s%.*s\n", prefix, v->name, *s ? " " : "",
                       nl ? (int) (nl - s) : (int) strlen(s), s);
                prefix = "       ";
                s = nl ? nl + 1 : NULL;
        } while (s);
}

static void help_global(void) {
        printf("Usage: xferctl [OPTIONS...] COMMAND [ARGUMENTS...]\n"
               "\n"
               "Control xferd, the background file transfer service.\n"
               "\n"
               "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
                char left[40];

                snprintf(left, sizeof left, "%s %s", verbs[i].name, verbs[i].synopsis);
                /* Only the first alternative of a synopsis fits here. */
                left[strcspn(left, "\n")] = 0;
                printf("  %-24s %s\n", left, verbs[i].summary);
        }
        printf("\n"
               "'xferctl COMMAND --help' shows a command's options.\n"
               "JOB is a job id, a unique prefix of one, or a unique display name.\n"
               "\n"
               "Options:\n");
        for (size_t i = 0; i < ELEMENTSOF(option_specs); i++)
                if (option_is_common(&option_specs[i]))
                        print_option(&option_specs[i]);
        printf("\n"
               "Which bus without --user or --system: users other than root use the user bus.\n"
               "Root uses the system bus, except when DBUS_SESSION_BUS_ADDRESS is set,\n"
               "DBUS_SYSTEM_BUS_ADDRESS is not, and no system bus socket exists\n"
               "(/run/dbus/system_bus_socket): then root is in a session of its own\n"
               "(a container, a private test bus) and uses the user bus too.\n"
               "\n%s", exit_statuses);
}

static void help_verb(VerbId id) {
        const Verb *v = &verbs[id];

        print_synopsis(v, "Usage: ");
        printf("\n%s\n\nOptions:\n", v->description);
        for (size_t i = 0; i < ELEMENTSOF(option_specs); i++)
                if (!option_is_common(&option_specs[i]) && (option_specs[i].verbs & V(id)))
                        print_option(&option_specs[i]);
        printf("  --user, --system, --json, -h: see 'xferctl --help'\n\n%s", exit_statuses);
}

int ctl_usage_error(const char *verb, const char *synopsis) {
        assert(verb);
        assert(synopsis);

        fprintf(stderr, "xferctl: usage: xferctl %s%s%.*s (see 'xferctl %s --help')\n",
                verb, isempty(synopsis) ? "" : " ", (int) strcspn(synopsis, "\n"), synopsis, verb);
        return EXIT_USAGE;
}

void cli_unreachable_hint(bool user_bus) {
        if (user_bus)
                fputs("xferctl: xferd is not running and could not be started for this user: start it with\n"
                      "'systemctl --user start xferd', or run 'xferd --user' in another terminal.\n",
                      stderr);
        else
                fputs("xferctl: xferd is not running and could not be started: start it with\n"
                      "'systemctl start xferd' (as root), or use your own with --user.\n",
                      stderr);
}

static int option_value(const OptionSpec *o, const char *value, Ctl *c) {
        uint32_t seconds;
        uint64_t count;
        int r;

        switch (o->val) {
        case OPT_PRIORITY:
                if (!streq(value, "foreground") && !streq(value, "high") && !streq(value, "normal") &&
                    !streq(value, "low"))
                        return report_error(-EINVAL, "invalid priority \"%s\": expected foreground, high, normal or low",
                                            value);
                c->priority = value;
                return 0;
        case OPT_COST_POLICY:
                if (!streq(value, "always") && !streq(value, "unmetered"))
                        return report_error(-EINVAL, "invalid cost policy \"%s\": expected always or unmetered", value);
                c->cost_policy = value;
                return 0;
        case OPT_RETRIES:
                r = parse_count(value, 999999, &count);
                if (r < 0)
                        return report_error(r, "invalid --retries \"%s\": expected a count, e.g. 3", value);
                c->retries = count;
                return 0;
        case OPT_RETRY_DELAY:
        case OPT_TIMEOUT:
                r = parse_seconds(value, &seconds);
                if (r < 0)
                        return report_error(r, "invalid --%s \"%s\": expected seconds, e.g. 90, 10m or 2h",
                                            o->name, value);
                if (o->val == OPT_TIMEOUT)
                        c->timeout_usec = (uint64_t) seconds * 1000000ULL;
                else if (seconds == 0)
                        return report_error(-EINVAL, "invalid --retry-delay 0: give at least one second");
                else
                        c->retry_delay = seconds;
                return 0;
        case OPT_CONCURRENT_FILES:
                r = parse_count(value, 16, &count);
                if (r < 0 || count < 1)
                        return report_error(r < 0 ? r : -ERANGE, "invalid --concurrent-files \"%s\": expected 1 to 16",
                                            value);
                c->concurrent_files = (uint32_t) count;
                return 0;
        case OPT_LIMIT_RATE:
                r = parse_size(value, &c->limit_rate);
                if (r < 0)
                        return report_error(r, "invalid --limit-rate \"%s\": expected bytes per second, e.g. 500K or 2M",
                                            value);
                return 0;
        case 'n':
                if (!streq(value, "all") && (isempty(value) || strspn(value, "0123456789") != strlen(value)))
                        return report_error(-EINVAL, "invalid --lines \"%s\": expected a count or \"all\"", value);
                c->lines = value;
                return 0;
        case 'o':
                c->output = value;
                return 0;
        case 'i':
                c->input_file = value;
                return 0;
        case OPT_CHECKSUM:
                return file_options_set_text(&c->file.checksum, value);
        case OPT_SIZE:
                return file_options_set_size(&c->file, value);
        case OPT_MIRROR:
                return file_options_add_mirror(&c->file, value);
        case OPT_CHECKSUM_LIST:
                return file_options_set_text(&c->file.checksum_list, value);
        case OPT_CHECKSUM_LIST_SIGNATURE:
                return file_options_set_text(&c->file.checksum_list_signature, value);
        }
        return -EINVAL;
}

static void option_flag(const OptionSpec *o, Ctl *c, BusChoice *bus) {
        switch (o->val) {
        case OPT_USER:          *bus = BUS_CHOICE_USER; break;
        case OPT_SYSTEM:        *bus = BUS_CHOICE_SYSTEM; break;
        case 'a':               c->all = true; break;
        case OPT_JSON:          c->json = true; break;
        case OPT_KEEP:          c->keep = true; break;
        case OPT_NO_PROGRESS:   c->progress = false; break;
        case OPT_NO_LEGEND:     c->legend = false; break;
        case OPT_FORCE:         c->force = true; break;
        case OPT_PARTIAL:       c->partial = true; break;
        case 'f':               c->follow = true; break;
        }
}

ParseResult cli_parse(int argc, char **argv, Ctl *c, BusChoice *bus, const Verb **ret_verb, int *ret_index) {
        struct option options[ELEMENTSOF(option_specs) + 1];
        bool seen[ELEMENTSOF(option_specs)] = { false };
        char shortopts[2 * ELEMENTSOF(option_specs) + 1];
        bool help = false, version = false, bad = false;
        size_t k = 0;
        int o, index, n_args;
        VerbId id = _VERB_MAX;

        assert(argv);
        assert(c);
        assert(bus);
        assert(ret_verb);
        assert(ret_index);

        for (size_t i = 0; i < ELEMENTSOF(option_specs); i++) {
                const OptionSpec *s = &option_specs[i];

                options[i] = (struct option) { s->name, s->arg ? required_argument : no_argument, NULL, s->val };
                if (s->val < 0x100) {
                        shortopts[k++] = (char) s->val;
                        if (s->arg)
                                shortopts[k++] = ':';
                }
        }
        options[ELEMENTSOF(option_specs)] = (struct option) { NULL, 0, NULL, 0 };
        shortopts[k] = 0;

        /* getopt permutes: options may come before or after the verb, as with systemctl. */
        while ((o = getopt_long(argc, argv, shortopts, options, NULL)) >= 0) {
                const OptionSpec *s = NULL;

                for (size_t i = 0; i < ELEMENTSOF(option_specs); i++)
                        if (option_specs[i].val == o) {
                                s = &option_specs[i];
                                seen[i] = true;
                        }
                if (!s) {
                        bad = true;     /* getopt has said what was wrong */
                        continue;
                }
                if (o == 'h')
                        help = true;
                else if (o == OPT_VERSION)
                        version = true;
                else if (s->arg) {
                        if (option_value(s, optarg, c) < 0)
                                bad = true;
                } else
                        option_flag(s, c, bus);
        }

        if (optind < argc)
                for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                        if (streq(verbs[i].name, argv[optind]))
                                id = (VerbId) i;

        if (help) {
                if (id < _VERB_MAX)
                        help_verb(id);
                else
                        help_global();
                return PARSE_DONE;
        }
        if (version) {
                printf("xferctl %s\n", XFERD_VERSION);
                return PARSE_DONE;
        }
        if (bad) {
                fprintf(stderr, "Try 'xferctl%s%s --help'.\n", id < _VERB_MAX ? " " : "", id < _VERB_MAX ? verbs[id].name : "");
                return PARSE_USAGE;
        }
        if (optind >= argc) {
                fprintf(stderr, "xferctl: no command given. Try 'xferctl --help'.\n");
                return PARSE_USAGE;
        }
        if (id == _VERB_MAX) {
                fprintf(stderr, "xferctl: unknown command \"%s\". Try 'xferctl --help'.\n", argv[optind]);
                return PARSE_USAGE;
        }

        for (size_t i = 0; i < ELEMENTSOF(option_specs); i++)
                if (seen[i] && !(option_specs[i].verbs & V(id))) {
                        fprintf(stderr, "xferctl: --%s does not apply to %s (see 'xferctl %s --help').\n",
                                option_specs[i].name, verbs[id].name, verbs[id].name);
                        return PARSE_USAGE;
                }

        index = optind;
        n_args = argc - index - 1;
        if (n_args < verbs[id].min_args || (verbs[id].max_args >= 0 && n_args > verbs[id].max_args)) {
                ctl_usage_error(verbs[id].name, verbs[id].synopsis);
                return PARSE_USAGE;
        }
        if ((job_verbs & V(id)) && n_args > 0)
                c->job_arg = argv[index + 1];
        *ret_verb = &verbs[id];
        *ret_index = index;
        return PARSE_RUN;
}
