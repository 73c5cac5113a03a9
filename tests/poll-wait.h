/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Waiting for what nothing announces (a file's size, a process's exit, a line
 * in a peer's log): look, sleep a little, look again, until a deadline.
 *
 *         gint64 deadline = poll_deadline (timeout_ms);
 *
 *         while (!condition)
 *                 if (!poll_again (deadline, 10))
 *                         return FALSE;
 *
 * What a bus or a server tells of itself is waited for on its context instead
 * (bus-fixture.h, http-server.h).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The monotonic time (g_get_monotonic_time()) timeout_ms from now. */
static inline gint64
poll_deadline (guint timeout_ms)
{
        return g_get_monotonic_time () + (gint64) timeout_ms * G_TIME_SPAN_MILLISECOND;
}

/* FALSE once deadline has passed; else sleeps interval_ms and returns TRUE: look again. */
static inline gboolean
poll_again (gint64 deadline, guint interval_ms)
{
        if (g_get_monotonic_time () > deadline)
                return FALSE;
        g_usleep ((gulong) interval_ms * 1000);
        return TRUE;
}

G_END_DECLS
