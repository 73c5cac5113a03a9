/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The gate the threads doing a download's bulk work (hashing, writing, writeback) pass before
 * each task, and a hash stream before each piece. The loop closes it while a job's temporary
 * files are removed on a thread of its own (Cancel's unlinks, which the reply waits for; any
 * state change that removes them): on two cores the scheduler may otherwise give the CPU the
 * loop hands to that thread to a hashing thread for 0.7 ms, and then once more before the loop
 * gets it back. A thread in the middle of a piece finishes it first. A closed gate holds them
 * for max_usec from the latest close at most, so a stuck unlink never stops a download for
 * longer (each later close holds them that long again). Closed by the loop thread only; passed
 * by any thread. */

#include <stdint.h>

/* Closes the gate (or keeps it closed one more time, then until the later of the two ends)
 * for at most max_usec from now. */
void cpu_gate_close(uint64_t max_usec);
/* Undoes one close; the last one lets the threads waiting at the gate go. */
void cpu_gate_open(void);
/* Returns at once while the gate is open, or on the thread that closed it (a pool's task that
 * ran on the loop); otherwise waits until it opens or its time is up. */
void cpu_gate_pass(void);
/* Closes not yet undone (tests). */
unsigned cpu_gate_closed(void);
