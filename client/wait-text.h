/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Why a job is not transferring, in words for the person waiting on it: from the daemon's
 * WaitReason and NextRetryTime when it has them, else from the state. Pure: the time is
 * given, nothing is asked. */

#include <stdint.h>

#include "job-status.h"

typedef struct WaitContext {
        const char *id;                 /* for "'xferctl resume ID'"; NULL: not said */
        uint32_t max_transfers;         /* MaxBackgroundTransfers; 0 while unknown */
} WaitContext;

/* "retry 3 in 9m12s: HTTP 503 Service Unavailable", "waiting: 4 transfers running
 * (MaxBackgroundTransfers=4)", "suspended: …", "queued"; NULL while the job transfers, in
 * the states that end a wait (transferred, error, final) or on allocation failure. now_usec is the realtime clock (µs since the epoch). */
char *wait_text(const JobStatus *s, uint64_t now_usec, const WaitContext *ctx);

/* The same in a few words for a table column: "max-transfers", "retry in 4m12s", "retry 3";
 * "" while the job transfers or when nothing is known. */
char *wait_text_short(const JobStatus *s, uint64_t now_usec);
