/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The state of a process or thread that a test waits on, as /proc/PID/stat (or
 * /proc/PID/task/TID/stat) says: 'S' asleep, 'T' stopped, 'R' running.
 */
#pragma once

#include <string.h>

#include <glib.h>

G_BEGIN_DECLS

/* The state letter of a stat text, or 0 when there is none. The text is "PID (comm) STATE
 * ...", and comm may hold spaces and parentheses: the state follows the last ')'. */
static inline char
proc_stat_state (const char *stat)
{
        const char *end = strrchr (stat, ')');

        return end && end[1] == ' ' ? end[2] : 0;
}

/* The same, read from the stat file at path; 0 when it cannot be read (the process or thread
 * is gone). */
static inline char
proc_stat_file_state (const char *path)
{
        g_autofree char *stat = NULL;

        if (!g_file_get_contents (path, &stat, NULL, NULL))
                return 0;
        return proc_stat_state (stat);
}

G_END_DECLS
