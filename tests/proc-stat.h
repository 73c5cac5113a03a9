/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A process as /proc shows it to a test that waits on it: its state or its threads', as
 * /proc/PID/stat (or /proc/PID/task/TID/stat) says ('S' asleep, 'T' stopped, 'R' running),
 * and how many descriptors it holds open.
 */
#pragma once

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

/* The ids of pid's threads as /proc/PID/task lists them now, a GArray of pid_t. */
static inline GArray *
proc_thread_ids (pid_t pid)
{
        g_autofree char *dir = g_strdup_printf ("/proc/%d/task", (int) pid);
        g_autoptr(GDir) tasks = g_dir_open (dir, 0, NULL);
        GArray *ids = g_array_new (FALSE, FALSE, sizeof (pid_t));
        const char *name;

        g_assert_nonnull (tasks);
        while ((name = g_dir_read_name (tasks))) {
                pid_t tid = (pid_t) g_ascii_strtoll (name, NULL, 10);

                g_array_append_val (ids, tid);
        }
        return ids;
}

/* The path of a file of thread tid of pid: /proc/PID/task/TID/name. */
static inline char *
proc_thread_file (pid_t pid, pid_t tid, const char *name)
{
        return g_strdup_printf ("/proc/%d/task/%d/%s", (int) pid, (int) tid, name);
}

/* Whether every thread of pid but the one numbered except (0: none) is asleep ('S'), for a
 * process that has nothing to do (in its event loop's epoll_wait, for xferd); a thread that
 * ends on the way is left out. */
static inline gboolean
proc_threads_asleep (pid_t pid, pid_t except)
{
        g_autoptr(GArray) tids = proc_thread_ids (pid);

        for (guint i = 0; i < tids->len; i++) {
                pid_t tid = g_array_index (tids, pid_t, i);
                g_autofree char *path = NULL;
                char state;

                if (tid == except)
                        continue;
                path = proc_thread_file (pid, tid, "stat");
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
