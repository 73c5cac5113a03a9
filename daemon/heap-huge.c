/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The heap grown at once before a large load (100 000 stored jobs: about 110 MB of small
 * blocks), its new pages advised as transparent huge pages: the load then takes a few hundred
 * page faults instead of 25 000. On this project's VMs a fault of fresh memory costs about
 * 13 µs, a third of a restart's CPU. Only the load's stretch: the advice is taken back at its
 * end, so that khugepaged never fills the holes that later frees leave, and memory allocated
 * later is faulted in 4 KiB pages as before. */
#include <limits.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "heap-huge.h"
#include "util.h"

#define HUGE_PAGE_SIZE ((uintptr_t) 2 * 1024 * 1024)
/* Below this the few faults saved are not worth a stretch of huge pages. */
#define HEAP_HUGE_MIN (16 * HUGE_PAGE_SIZE)
#define DEFAULT_MMAP_MAX 65536  /* glibc's */

void heap_huge_begin(HeapHuge *h, size_t bytes) {
        uintptr_t start, end;
        void *p;

        assert(h);

        *h = (HeapHuge) { .size = 0 };
        if (bytes < HEAP_HUGE_MIN)
                return;
        /* The block from the heap (not a mapping of its own), and its free() leaves it at the
         * heap's top, untouched, instead of giving it back: the load's blocks are then cut from
         * it in order. */
        (void) mallopt(M_TRIM_THRESHOLD, INT_MAX);
        (void) mallopt(M_MMAP_MAX, 0);
        p = malloc(bytes);
        (void) mallopt(M_MMAP_MAX, DEFAULT_MMAP_MAX);
        if (!p) {
                (void) mallopt(M_TRIM_THRESHOLD, HEAP_TRIM_THRESHOLD);
                return;
        }
        start = ((uintptr_t) p + HUGE_PAGE_SIZE - 1) & ~(HUGE_PAGE_SIZE - 1);
        end = ((uintptr_t) p + bytes) & ~(HUGE_PAGE_SIZE - 1);
        free(p);
        /* No transparent huge pages (a kernel without them, or "never"): the load faults in
         * 4 KiB pages as without this. */
        if (end > start && madvise((void *) start, end - start, MADV_HUGEPAGE) >= 0)
                *h = (HeapHuge) { .start = (void *) start, .size = end - start };
}

void heap_huge_end(HeapHuge *h) {
        assert(h);

        /* Huge pages already there stay; what the trim below gives back goes. */
        if (h->size > 0)
                (void) madvise(h->start, h->size, MADV_NOHUGEPAGE);
        (void) mallopt(M_TRIM_THRESHOLD, HEAP_TRIM_THRESHOLD);
        *h = (HeapHuge) { .size = 0 };
}
