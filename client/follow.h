/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Following one job to its end, for download, upload and wait: progress and why it waits,
 * then Complete (download, upload) — or giving up on an error, --timeout, --retries or a
 * signal, which cancels the job (nothing is left) unless --keep. Everything after the start
 * is driven by the event loop: job changes arrive as signals (job-watch.h), Complete and
 * Cancel are asynchronous calls, SIGINT/SIGTERM and the timeout are event sources. Nothing
 * polls the daemon. */

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "job-watch.h"
#include "progress.h"
#include "xferctl.h"

typedef enum FollowMode {
        FOLLOW_DOWNLOAD,
        FOLLOW_UPLOAD,
        FOLLOW_WAIT,
} FollowMode;

/* How it ended; each has its exit status and a name in the JSON outcome ("Result"). */
typedef enum Outcome {
        OUTCOME_NONE,
        OUTCOME_COMPLETED,      /* download, upload: in place */
        OUTCOME_TRANSFERRED,    /* wait: transferred */
        OUTCOME_ACKNOWLEDGED,   /* completed by someone else */
        OUTCOME_PARTIAL,        /* completed, but files were dropped */
        OUTCOME_FAILED,         /* the job went to error */
        OUTCOME_INTEGRITY,      /* the job went to error with Integrity: wrong bytes */
        OUTCOME_CANCELLED,      /* cancelled by someone else */
        OUTCOME_COMPLETE_FAILED,
        OUTCOME_REFUSED,        /* the destination appeared meanwhile */
        OUTCOME_TIMEOUT,
        OUTCOME_RETRIES,
        OUTCOME_INTERRUPTED,
        OUTCOME_LOST,           /* the job could no longer be followed */
        _OUTCOME_MAX,
} Outcome;

typedef struct FollowFile {
        char *url;
        char *local;            /* download destination, upload source */
} FollowFile;

typedef struct Follow {
        Ctl *ctl;
        FollowMode mode;
        char *id;
        char *path;             /* the job object; NULL until the job exists */
        FollowFile *files;
        char **names;           /* the local paths, for the progress line */
        size_t n_files, n_files_allocated, n_names_allocated;

        JobWatch *watch;
        Progress *progress;
        sd_event_source *tick;
        sd_event_source *timeout;
        sd_bus_slot *action;    /* Complete, Cancel or a property Set in flight */
        Outcome outcome;
        int signo;              /* the signal that interrupted us, 0 if none */
        int status;             /* exit status, once done */
        bool partial;
        bool done;
} Follow;

/* Sets up f, with SIGINT/SIGTERM handling and the --timeout clock running from now. */
int follow_init(Follow *f, Ctl *c, FollowMode mode);
void follow_done(Follow *f);

/* The job, once it exists, and its files (for messages, the progress line and --json). */
int follow_set_job(Follow *f, const char *id, const char *path);
int follow_add_file(Follow *f, const char *url, const char *local);

/* Follows the job until the end; returns the exit status. */
int follow_run(Follow *f);
