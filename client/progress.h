/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Progress of one job for a person watching: on a terminal a line redrawn in place (the file
 * of several, bar, bytes, rate and ETA — or why it waits); on anything else a plain line at
 * each change of state or reason and at most every few seconds in between, fit for logs.
 *
 * The rate is the daemon's `Rate` when it has one, else measured here over a window that
 * holds only the current run of bytes (rate-window.h). */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "job-status.h"
#include "util.h"
#include "wait-text.h"

typedef struct Progress Progress;

/* tty selects the redrawn line; a non-tty stream gets plain lines. */
Progress *progress_new(FILE *f, bool tty);
Progress *progress_free(Progress *p);

/* What the wait texts may name (the job id, MaxBackgroundTransfers); copied. */
int progress_set_context(Progress *p, const WaitContext *ctx);

/* The local names of the job's files, for "file 2/3: name" (borrowed: they must outlive p). */
void progress_set_files(Progress *p, char *const *names, size_t n);

/* A new reading of the job. */
void progress_update(Progress *p, const JobStatus *s);

/* Redraws the line with the time that has passed, so the rate falls during a stall and a
 * retry counts down. Nothing on a non-tty. */
void progress_tick(Progress *p);

/* Removes the line from the terminal, before other output or at the end. */
void progress_clear(Progress *p);

static inline void progress_freep(Progress **p) {
        progress_free(*p);
}
