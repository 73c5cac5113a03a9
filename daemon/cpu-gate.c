/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cpu-gate.h"
#include "util.h"

/* The futex word: the closes not undone. */
static atomic_int closed;
/* When a closed gate lets the threads go all the same (CLOCK_MONOTONIC, µs). */
static _Atomic uint64_t until;

void cpu_gate_close(uint64_t max_usec) {
        uint64_t u = now_monotonic_usec() + max_usec;

        /* The deadline first: a thread that sees the gate closed also sees a deadline ahead.
         * The loop alone closes and opens: nobody changes the two meanwhile. */
        if (atomic_load_explicit(&closed, memory_order_relaxed) == 0 ||
            atomic_load_explicit(&until, memory_order_relaxed) < u)
                atomic_store_explicit(&until, u, memory_order_relaxed);
        atomic_fetch_add_explicit(&closed, 1, memory_order_release);
}

void cpu_gate_open(void) {
        int was = atomic_fetch_sub_explicit(&closed, 1, memory_order_release);

        assert(was > 0);
        if (was == 1)
                (void) syscall(SYS_futex, &closed, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

void cpu_gate_pass(void) {
        for (;;) {
                int v = atomic_load_explicit(&closed, memory_order_acquire);
                if (v == 0)
                        return;
                uint64_t now = now_monotonic_usec(), u = atomic_load_explicit(&until, memory_order_relaxed);
                if (now >= u)
                        return;
                struct timespec left = {
                        .tv_sec = (time_t) ((u - now) / USEC_PER_SEC),
                        .tv_nsec = (long) ((u - now) % USEC_PER_SEC) * 1000,
                };
                /* Returns at once when the word is no longer v (an open, or another close). */
                if (syscall(SYS_futex, &closed, FUTEX_WAIT_PRIVATE, v, &left, NULL, 0) < 0 &&
                    errno != EAGAIN && errno != EINTR && errno != ETIMEDOUT)
                        return;
        }
}

unsigned cpu_gate_closed(void) {
        return (unsigned) atomic_load(&closed);
}
