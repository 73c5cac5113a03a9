/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the verbs of xferctl share: the connection, the event loop and the options. */

#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "file-options.h"

/* Exit statuses: 0 success, 1 a failure (reported on stderr), 2 a usage error; a wait ended
 * by a signal gives 128 + the signal number, as shells do. */
#define EXIT_USAGE 2

typedef struct Ctl {
        sd_bus *bus;
        sd_event *event;        /* the bus is attached to it */
        bool json;
        bool keep;
        bool progress;          /* false with --no-progress */
        bool all;
        FileOptions file;       /* download, add: --checksum, --size, --mirror, --checksum-list… */
} Ctl;

/* A verb gets argv starting at the verb name; it returns an exit status (>= 0) or a negative
 * errno after reporting the failure (exit status 1). */
typedef int (*VerbFunction)(Ctl *c, int argc, char **argv);

int verb_download(Ctl *c, int argc, char **argv);
int verb_upload(Ctl *c, int argc, char **argv);
int verb_wait(Ctl *c, int argc, char **argv);
int verb_create(Ctl *c, int argc, char **argv);
int verb_add(Ctl *c, int argc, char **argv);
int verb_job_method(Ctl *c, int argc, char **argv);     /* resume, suspend, cancel, complete */
int verb_set(Ctl *c, int argc, char **argv);
int verb_info(Ctl *c, int argc, char **argv);
int verb_files(Ctl *c, int argc, char **argv);
int verb_list(Ctl *c, int argc, char **argv);
int verb_monitor(Ctl *c, int argc, char **argv);

/* Delivers SIGINT and SIGTERM to handler through the event loop (blocking their default
 * action), so an interrupted wait can clean up. */
int ctl_handle_signals(Ctl *c, sd_event_signal_handler_t handler, void *userdata);

/* Prints "xferctl VERB: expected …" and returns EXIT_USAGE. */
int ctl_usage_error(const char *verb, const char *synopsis);
