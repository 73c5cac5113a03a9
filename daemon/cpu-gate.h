/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The gate the threads doing a download's bulk work (hashing, writing, writeback) pass between
 * their pieces. The loop closes it while a reply waits for a thread of its own (Cancel's
 * unlinks): on two cores the scheduler may otherwise give the CPU the loop hands to that thread
 * to a hashing thread for a whole slice (0.7 ms), and then once more before the loop gets it
 * back. A closed gate holds them for max_usec at most, so a stuck unlink never stops a
 * download for longer. Closed by the loop thread only; passed by any thread. */

#include <stdint.h>

/* Closes the gate (or keeps it closed one more time, then until the later of the two ends)
 * for at most max_usec from now. */
void cpu_gate_close(uint64_t max_usec);
/* Undoes one close; the last one lets the threads waiting at the gate go. */
void cpu_gate_open(void);
/* Returns at once while the gate is open; otherwise waits until it opens or its time is up. */
void cpu_gate_pass(void);
/* Closes not yet undone (tests). */
unsigned cpu_gate_closed(void);
