/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the helpers that run a peer server of the tests (squid-proxy.h,
 * varnish-cache.h, tus-server.h, nm-mock.h) share: a free port, starting a child
 * that ends with the test, waiting for a port to answer, running a program to its
 * end, stopping the child, the skip-or-fail rule for whatever a test lacks,
 * removing a directory tree.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* A port of 127.0.0.1 that was free a moment ago. */
guint16 peer_free_port (void);
/* Polls until something accepts connections on 127.0.0.1:port; FALSE when proc ended
 * first or timeout_ms passed. */
gboolean peer_wait_port (GSubprocess *proc, guint16 port, guint timeout_ms);
/* A test that cannot run here (what it needs is missing) skips, or fails when CI=true: CI
 * provides every peer (scripts/setup-deps.sh, scripts/test.sh) and must never pass by
 * skipping. The message says what is missing. */
void peer_skip_or_fail (const char *format, ...) G_GNUC_PRINTF (1, 2);
/* peer_skip_or_fail() of a peer server: "PEER cannot run: WHY". */
void peer_unavailable (const char *peer, const char *why);
/* A launcher (flags) whose children get signo when the test process ends, even when an
 * assertion aborts it: no peer outlives its test. */
GSubprocessLauncher *peer_launcher_new (GSubprocessFlags flags, int signo);
/* Runs argv (looked up in PATH) to its end, in cwd (NULL: the current directory) with the
 * environment envp (NULL: the test's). TRUE when it exited with status 0. Its standard output
 * goes into *out when out is not NULL (also when it failed), else nowhere; the error names the
 * command, how it ended and what it wrote to its standard error. */
gboolean peer_run (const char *cwd, const char *const *envp, const char *const *argv, char **out, GError **error);
/* Sends *proc signo and waits for it to end; *proc is NULL after. Nothing when it is NULL. */
void peer_stop (GSubprocess **proc, int signo);
/* Removes path and, for a directory, everything in it, without following symbolic links
 * (tests plant links into other users' directories). */
void peer_remove_tree (const char *path);

G_END_DECLS
