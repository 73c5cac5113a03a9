/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The gate the threads doing a download's bulk work (hashing, writing, writeback) pass before
 * each task, and a hash stream before each piece. The loop closes it while a job's temporary
 * files are removed on a thread of its own (Cancel's unlinks, which the reply waits for; any
 * state change that removes them): on two cores the scheduler may otherwise give the CPU the
 * loop hands to that thread to a hashing thread for 0.7 ms, and then once more before the loop
 * gets it back. A thread in the middle of a piece finishes it first. Each close holds them for
 * max_usec from when it was made at most, so a stuck unlink never stops a download for longer,
 * and once its time is up it holds nobody: a later close's open lets them go. Closed and
 * opened by the loop thread only; passed by any thread. */

#include <stdint.h>

/* Closes the gate (or keeps it closed, until the later of the two ends) for at most max_usec
 * from now. Returns the close, for its open: 0 when it holds nobody (64 closes are not undone). */
uint64_t cpu_gate_close(uint64_t max_usec);
/* Undoes that close (0: nothing). Once no close whose time is not up is left, the threads
 * waiting at the gate go. */
void cpu_gate_open(uint64_t close);
/* Returns at once while the gate is open, or on the thread that closed it (a pool's task that
 * ran on the loop); otherwise waits until it opens or its time is up. */
void cpu_gate_pass(void);
/* Closes not yet undone, their time up or not (tests, and the manager's end). */
unsigned cpu_gate_closed(void);
