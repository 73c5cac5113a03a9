/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A process as /proc shows it to a test that waits on it: its state or its threads', as
 * /proc/PID/stat (or /proc/PID/task/TID/stat) says ('S' asleep, 'T' stopped, 'R' running),
 * and how many descriptors it holds open.
 */
#pragma once

#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

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

/* The state letter of process pid, or 0 when it is gone. */
static inline char
proc_pid_state (pid_t pid)
{
        g_autofree char *path = g_strdup_printf ("/proc/%d/stat", (int) pid);

        return proc_stat_file_state (path);
}

/* Whether every thread of pid but the one numbered except (0: none) is asleep ('S'), for a
 * process that has nothing to do (in its event loop's epoll_wait, for xferd); a thread that
 * ends on the way is left out. */
static inline gboolean
proc_threads_asleep (pid_t pid, pid_t except)
{
        g_autofree char *dir = g_strdup_printf ("/proc/%d/task", (int) pid);
        g_autoptr(GDir) tasks = g_dir_open (dir, 0, NULL);
        const char *name;

        g_assert_nonnull (tasks);
        while ((name = g_dir_read_name (tasks))) {
                g_autofree char *path = NULL;
                char state;

                if (except > 0 && atoi (name) == except)
                        continue;
                path = g_build_filename (dir, name, "stat", NULL);
                state = proc_stat_file_state (path);
                if (state != 0 && state != 'S')
                        return FALSE;
        }
        return TRUE;
}

/* How many file descriptors pid has open (the one that reads /proc/self/fd counts too, when
 * pid is the caller). */
static inline guint
proc_fd_count (pid_t pid)
{
        g_autofree char *dir = g_strdup_printf ("/proc/%d/fd", (int) pid);
        g_autoptr(GDir) fds = g_dir_open (dir, 0, NULL);
        guint n = 0;

        g_assert_nonnull (fds);
        while (g_dir_read_name (fds))
                n++;
        return n;
}

G_END_DECLS
