/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A program run on a pseudo-terminal, as a person at a terminal runs it:
 * stdin, stdout and stderr are the terminal (isatty() is true), with a
 * window size the test chooses. The test reads what it printed, control
 * sequences included, and waits for text to appear — never for a time.
 */
#pragma once

#include "bus-fixture.h"

G_BEGIN_DECLS

typedef struct PtyProcess PtyProcess;

/* Runs argv (argv[0] a path) with the environment of bus_fixture_spawn() on
 * a new terminal cols columns wide. */
PtyProcess *pty_process_spawn (BusFixture *fx, const char *const *argv, guint cols);
void pty_process_free (PtyProcess *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtyProcess, pty_process_free)

/* Reads until the output holds needle (after the offset *from, if given,
 * which is then set past it): TRUE, or FALSE after timeout_ms or at the end
 * of the output. */
gboolean pty_process_wait_output (PtyProcess *p, gsize *from, const char *needle, guint timeout_ms);
/* Everything printed so far. */
const char *pty_process_output (PtyProcess *p);

void pty_process_send_signal (PtyProcess *p, int signo);
/* Reads until the program closes the terminal, then reaps it: its exit
 * status, 128 + N when signal N ended it, or -1 after timeout_ms. */
int pty_process_wait_exit (PtyProcess *p, guint timeout_ms);

G_END_DECLS
