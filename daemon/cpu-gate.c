/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cpu-gate.h"
#include "util.h"

/* The futex word: 0 while open; else a number that changes at every close and every earlier
 * deadline, so that a thread about to wait with what it read sees the change (the kernel
 * compares the word) and looks again. The kernel reads it as a plain int. */
static atomic_int closed;
/* The loop's last number for the word (never 0). */
static int generation;
static_assert(sizeof(atomic_int) == sizeof(int), "a futex word is an int");
/* When a closed gate lets the threads go all the same (CLOCK_MONOTONIC, µs). */
static _Atomic uint64_t until;
/* The loop's own books: the deadline of each close not undone. A close that never comes back
 * (an unlink that hangs) stays here, but counts for nothing once its time is up: the next
 * close's open then lets the waiting threads go at once, not at that close's deadline. */
static uint64_t closes[64];
static unsigned n_closes;
/* The thread that closes the gate never waits at it (a task the pool ran on the loop). */
static _Thread_local bool closer;

/* A 32-bit ABI whose time_t is 64 bits long passes its timeout to futex_time64; the old call
 * would read the first half of it as seconds and nanoseconds. Where futex_time64 is missing (a
 * kernel before 5.1: ENOSYS; a system call filter: EPERM, as the unit's), the old call with the
 * old layout, which the bound (1 ms) fits; remembered, so the failing call is made once. */
static void futex_wait(atomic_int *word, int val, const struct timespec *timeout) {
#ifdef SYS_futex_time64
        static atomic_bool no_time64;

        if (sizeof(timeout->tv_sec) > sizeof(long)) {
                if (!atomic_load_explicit(&no_time64, memory_order_relaxed)) {
                        if (syscall(SYS_futex_time64, word, FUTEX_WAIT_PRIVATE, val, timeout, NULL, 0) >= 0 ||
                            (errno != ENOSYS && errno != EPERM))
                                return;
                        atomic_store_explicit(&no_time64, true, memory_order_relaxed);
                }
#  ifdef SYS_futex
                struct { long tv_sec, tv_nsec; } old = { (long) timeout->tv_sec, timeout->tv_nsec };
                (void) syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, &old, NULL, 0);
#  endif
                return;
        }
#endif
#ifdef SYS_futex
        (void) syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, timeout, NULL, 0);
#endif
}

static void futex_wake_all(atomic_int *word) {
#ifdef SYS_futex
        (void) syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
#else
        /* Ports with 64-bit times only (riscv32): the wake takes no time, and is the same call. */
        (void) syscall(SYS_futex_time64, word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
#endif
}

static int next_generation(void) {
        generation = generation % INT_MAX + 1;
        return generation;
}

static void set_word(int v) {
        atomic_store_explicit(&closed, v, memory_order_release);
}

uint64_t cpu_gate_close(uint64_t max_usec) {
        uint64_t u = now_monotonic_usec() + max_usec;

        assert(max_usec > 0);
        closer = true;
        /* So many closes not undone (hung unlinks): this one holds nobody. */
        if (n_closes == ELEMENTSOF(closes))
                return 0;
        closes[n_closes++] = u;
        /* The deadline first: a thread that reads this close's number also reads a deadline
         * at least as late. The loop alone closes and opens: nobody changes the two meanwhile. */
        if (atomic_load_explicit(&closed, memory_order_relaxed) == 0 ||
            atomic_load_explicit(&until, memory_order_relaxed) < u)
                atomic_store_explicit(&until, u, memory_order_relaxed);
        set_word(next_generation());
        return u;
}

void cpu_gate_open(uint64_t close) {
        unsigned i;

        if (close == 0)
                return;
        for (i = 0; i < n_closes && closes[i] != close; i++)
                ;
        assert(i < n_closes);
        closes[i] = closes[--n_closes];

        /* The latest deadline of the closes left whose time is not up. */
        uint64_t now = now_monotonic_usec(), live = 0;
        for (i = 0; i < n_closes; i++)
                if (closes[i] > now && closes[i] > live)
                        live = closes[i];
        if (live == 0) {
                set_word(0);
                futex_wake_all(&closed);
        } else if (live < atomic_load_explicit(&until, memory_order_relaxed)) {
                /* Those asleep wait for the later deadline: they look again, and so does one
                 * about to wait with it (the word changed). */
                atomic_store_explicit(&until, live, memory_order_relaxed);
                set_word(next_generation());
                futex_wake_all(&closed);
        }
}

void cpu_gate_pass(void) {
        for (;;) {
                int v = atomic_load_explicit(&closed, memory_order_acquire);
                if (v == 0 || closer)
                        return;
                uint64_t now = now_monotonic_usec(), u = atomic_load_explicit(&until, memory_order_relaxed);
                if (now >= u)
                        return;
                struct timespec left = {
                        .tv_sec = (time_t) ((u - now) / USEC_PER_SEC),
                        .tv_nsec = (long) ((u - now) % USEC_PER_SEC) * 1000,
                };
                /* Back at once when the word is no longer v (an open, a close, an earlier
                 * deadline), when woken, or when the time is up: this thread looks at the gate
                 * again either way. */
                futex_wait(&closed, v, &left);
        }
}

unsigned cpu_gate_closed(void) {
        return n_closes;
}
