/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the verbs of xferctl share: the connection, the event loop and the options. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "exit-status.h"
#include "file-options.h"

typedef struct Ctl {
        sd_bus *bus;
        sd_event *event;        /* the bus is attached to it */
        bool user_bus;          /* which bus, for hints */

        bool json;
        bool keep;
        bool progress;          /* false with --no-progress */
        bool all;
        bool legend;            /* false with --no-legend */
        bool force;             /* download: replace existing files */
        bool partial;           /* complete: also a job not fully transferred */
        bool follow;            /* logs -f */
        const char *priority;   /* --priority; NULL: the verb's default */
        const char *cost_policy; /* --cost-policy; NULL: the daemon's default */
        uint32_t concurrent_files; /* --concurrent-files; 0: the daemon's default */
        int64_t retries;        /* --retries; -1: as many as the daemon makes */
        uint64_t timeout_usec;  /* --timeout; 0: none */
        uint32_t retry_delay;   /* --retry-delay in seconds; 0: the daemon's default */
        uint64_t limit_rate;    /* --limit-rate in bytes/s; 0: none */
        const char *output;     /* download -o */
        const char *input_file; /* download -i */
        const char *lines;      /* logs -n, passed on to journalctl */
        FileOptions file;       /* download, add: --checksum, --size, --mirror, --checksum-list… */
        /* The JOB argument of the verbs that act on one job, looked up before they run (NULL
         * for other verbs, and for monitor without JOB). */
        const char *job_arg;
        char *job_id;
        char *job_path;
} Ctl;

/* A verb gets argv starting at the verb name; it returns an exit status (>= 0) or a negative
 * errno after reporting the failure (mapped by exit_status_from_errno()). */
typedef int (*VerbFunction)(Ctl *c, int argc, char **argv);

int verb_download(Ctl *c, int argc, char **argv);
int verb_upload(Ctl *c, int argc, char **argv);
int verb_wait(Ctl *c, int argc, char **argv);
int verb_create(Ctl *c, int argc, char **argv);
int verb_add(Ctl *c, int argc, char **argv);
int verb_job_method(Ctl *c, int argc, char **argv);     /* resume, suspend, cancel */
int verb_complete(Ctl *c, int argc, char **argv);
int verb_set(Ctl *c, int argc, char **argv);
int verb_info(Ctl *c, int argc, char **argv);
int verb_files(Ctl *c, int argc, char **argv);
int verb_list(Ctl *c, int argc, char **argv);
int verb_monitor(Ctl *c, int argc, char **argv);
int verb_logs(Ctl *c, int argc, char **argv);
int verb_status(Ctl *c, int argc, char **argv);

/* Delivers SIGINT and SIGTERM to handler through the event loop (blocking their default
 * action), so an interrupted wait can clean up. */
int ctl_handle_signals(Ctl *c, sd_event_signal_handler_t handler, void *userdata);

/* CreateJob NAME with type and priority (NULL: the daemon's default) and the command line's
 * cost policy, files at once and checksum list; the job's id and path point into *ret_reply.
 * Reports failures. */
int ctl_create_job(Ctl *c, const char *name, const char *type, const char *priority, sd_bus_message **ret_reply,
                   const char **ret_id, const char **ret_path);

/* Prints "xferctl: usage: xferctl VERB SYNOPSIS" and returns EXIT_USAGE. */
int ctl_usage_error(const char *verb, const char *synopsis);
