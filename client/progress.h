/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Progress of one transfer for a person watching: on a terminal a bar redrawn in place
 * (bytes, rate, ETA, and the percentage when the total is known); on anything else a plain
 * line at each state change and at most every few seconds in between, fit for logs. */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util.h"

typedef struct Progress Progress;

/* tty selects the bar; a non-tty stream gets plain lines. */
Progress *progress_new(FILE *f, bool tty);
Progress *progress_free(Progress *p);

/* A new reading. total is UINT64_MAX while unknown. note (may be NULL) is shown after the
 * numbers, e.g. the message of a transient error. */
void progress_update(Progress *p, const char *state, uint64_t done, uint64_t total, const char *note);

/* Redraws the bar with the time that has passed, so the rate falls during a stall. Nothing
 * on a non-tty. */
void progress_tick(Progress *p);

/* Removes the bar from the terminal, before other output or at the end. */
void progress_clear(Progress *p);

static inline void progress_freep(Progress **p) {
        progress_free(*p);
}
