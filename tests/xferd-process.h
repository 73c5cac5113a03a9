/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The xferd process behind a bus fixture, for the durability tests: find it,
 * kill it hard (SIGKILL, like a crash or a power cut as far as xferd can
 * tell), bring it back by D-Bus activation, give the next instances
 * environment variables, and read what xferd logs.
 *
 * The fixture starts xferd only by activation, so "restart" here always means
 * "the next call activates a new instance", exactly as in production.
 */
#pragma once

#include <sys/types.h>

#include "bus-fixture.h"

G_BEGIN_DECLS

/* The pid of the current owner of org.xferd.Transfer1, 0 when it has none
 * (asks the bus driver; never activates). */
pid_t xferd_process_pid (BusFixture *fx);

/* Starts xferd by activation with a harmless call (reads Manager.Version),
 * notes it for the fixture's teardown and returns its pid. */
pid_t xferd_process_start (BusFixture *fx);

/* SIGKILLs the running xferd (asserts that one runs), then waits until it is
 * dead and the bus name has no owner, so that the next call activates a new
 * instance. Returns the pid that was killed. */
pid_t xferd_process_kill (BusFixture *fx);

/* Waits until process pid is gone and the bus name has no owner; for an
 * xferd that ends by itself (an idle exit) or on a signal of the test's
 * (SIGTERM). Teardown still fails the test when it ended other than with
 * exit status 0 (bus_fixture_wait_xferd_end()). signals_from: index in
 * fx->signals from which to look for the bus's NameOwnerChanged. Returns
 * FALSE on timeout. */
gboolean xferd_process_wait_gone (BusFixture *fx, pid_t pid, guint signals_from, guint timeout_ms);
/* The same for an xferd that SIGKILL ends on purpose (a crash point, XFERD_TEST_CRASH_POINT,
 * kills xferd so): FALSE also when it ended any other way; teardown does not count that end
 * against the test (bus_fixture_take_xferd_end()). */
gboolean xferd_process_wait_killed (BusFixture *fx, pid_t pid, guint signals_from, guint timeout_ms);

/* Sets an environment variable for every xferd activated from now on
 * (org.freedesktop.DBus.UpdateActivationEnvironment). The bus cannot unset a
 * variable: pass "" to neutralise one. Does not affect a running xferd. */
void xferd_process_setenv (BusFixture *fx, const char *name, const char *value);

/* xferd's --state-dir as the fixture passes it (transfer full). It exists
 * before the first activation, so a test can seed it. */
char *xferd_process_state_dir (BusFixture *fx);

/* ------------------------------------------------------------- the log */

/* What dbus-daemon and every xferd it activates write (xferd logs to stderr
 * at debug level in the tests). Everything read is also copied to the test's
 * own stderr at once, so a test that aborts still shows the whole log. */
typedef struct XferdLog XferdLog;

/* Creates the fixture like bus_fixture_new(), with the output of its
 * dbus-daemon (and so of every activated xferd) captured in *log. */
BusFixture *bus_fixture_new_logged (const BusFixtureOptions *options, XferdLog **log);
/* Stops capturing (call after bus_fixture_free(): the writers are gone by
 * then) and frees the log. */
void xferd_log_free (XferdLog *log);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (XferdLog, xferd_log_free)

/* Number of lines captured so far that contain needle. */
guint xferd_log_count (XferdLog *log, const char *needle);
/* Waits until at least n captured lines contain needle; FALSE on timeout. */
gboolean xferd_log_wait (XferdLog *log, const char *needle, guint n, guint timeout_ms);
/* The captured lines that contain needle, joined with newlines (transfer full). */
char *xferd_log_grep (XferdLog *log, const char *needle);

/* Whether process pid has path open, or with under, a file below the directory path. */
gboolean xferd_process_holds (pid_t pid, const char *path, gboolean under);

G_END_DECLS
