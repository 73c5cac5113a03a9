/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* xferctl's exit statuses (documented in xferctl(1) and `xferctl --help`). Scripts tell the
 * outcomes apart by them, so a number never changes meaning. */

#include <stdlib.h>

/* EXIT_SUCCESS (0); EXIT_FAILURE (1): a call failed or was refused, a job not found, a
 * partial completion. */
#define EXIT_USAGE 2            /* bad command line */
#define EXIT_UNREACHABLE 3      /* no bus, or xferd is not running and cannot be started */
#define EXIT_TRANSFER 4         /* the transfer failed (the job went to error or was cancelled) */
#define EXIT_INTEGRITY 5        /* the data did not match what was expected (ErrorName Integrity) */
#define EXIT_TIMEOUT 6          /* --timeout ran out */
#define EXIT_RETRIES 7          /* --retries were used up */
/* 128 + N: signal N ended the command (130 for Ctrl-C), as shells count. */
#define EXIT_SIGNAL_BASE 128

/* The exit status for a negative errno returned after a reported failure: -EHOSTDOWN means
 * the daemon could not be reached (see report_bus_error()), anything else EXIT_FAILURE. */
int exit_status_from_errno(int r);
