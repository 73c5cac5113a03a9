/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The calling thread's share of the CPU: its nice level and the time it may run before a
 * waking thread of its level takes the CPU (the kernel's slice; Linux 6.12 and later let a
 * thread with a shorter one take the CPU at its wake-up, older kernels ignore it). */

#include <stdint.h>

/* The event loop's slice: its dispatches are short, and a call it wakes for should not wait
 * for the slice of a thread that runs meanwhile (nginx, the bus, a hashing thread). */
#define THREAD_SCHED_LOOP_SLICE_NSEC (100u * 1000u)

/* The calling thread's nice level (clamped to 19 at most), and the slice in ns (0: the
 * kernel's default). -errno; a kernel without sched_setattr(): -ENOSYS. */
int thread_sched_set(int nice, uint64_t slice_nsec);
/* The calling thread runs only when a CPU has nothing else to do (SCHED_IDLE), and a thread
 * that wakes takes the CPU from it at once; for good, since leaving it needs CAP_SYS_NICE.
 * -errno. */
int thread_sched_set_background(void);
/* The calling thread's nice level. */
int thread_sched_get_nice(void);
