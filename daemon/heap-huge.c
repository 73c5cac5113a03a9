/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The heap grown at once before a large load, its new pages advised as transparent huge
 * pages: 100 000 stored jobs (about 105 MB of small blocks) then take a few hundred page faults
 * instead of 25 000, and the 17 MB body of a ListJobs reply grows there (free space at the
 * heap's top is used before a mapping of its own) in 9 faults instead of 4 100. On this
 * project's VMs a fault of fresh memory costs about 13 µs. The advice is taken back at the
 * end, so that khugepaged never fills the holes that later frees leave and memory allocated
 * later is faulted in 4 KiB pages as before. It relies on glibc's malloc (a free block at the
 * top stays there untouched; requests are cut from the top before any mapping); with another
 * allocator the advice lands on memory it does not use: no gain, no harm. With THP's defrag
 * "madvise" a fault in the stretch may compact memory first: on a host whose memory is badly
 * fragmented that can cost what it saves. */
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
        h->active = true;
        /* The block from the heap (not a mapping of its own), and its free() leaves it at the
         * heap's top, untouched, instead of giving it back: the load's blocks are then cut from
         * it in order. */
        (void) mallopt(M_TRIM_THRESHOLD, INT_MAX);
        (void) mallopt(M_MMAP_MAX, 0);
        p = malloc(bytes);
        (void) mallopt(M_MMAP_MAX, DEFAULT_MMAP_MAX);
        if (!p) {
                heap_huge_end(h);
                return;
        }
        start = ((uintptr_t) p + HUGE_PAGE_SIZE - 1) & ~(HUGE_PAGE_SIZE - 1);
        end = ((uintptr_t) p + bytes) & ~(HUGE_PAGE_SIZE - 1);
        free(p);
        /* No transparent huge pages (a kernel without them, or "never"): the load faults in
         * 4 KiB pages as without this. */
        if (end > start && madvise((void *) start, end - start, MADV_HUGEPAGE) >= 0) {
                h->start = (void *) start;
                h->size = end - start;
        }
}

void heap_huge_end(HeapHuge *h) {
        assert(h);

        if (!h->active)
                return;  /* nothing to undo (mallopt() costs a walk of malloc's free lists) */
        /* Huge pages already there stay; what a trim gives back goes. */
        if (h->size > 0)
                (void) madvise(h->start, h->size, MADV_NOHUGEPAGE);
        (void) mallopt(M_TRIM_THRESHOLD, HEAP_TRIM_THRESHOLD);
        *h = (HeapHuge) { .size = 0 };
}

int heap_huge_run(size_t bytes, int (*fn)(void *userdata), void *userdata, bool *ret_stretched) {
        HeapHuge h;
        int r;

        assert(fn);
        assert(ret_stretched);

        heap_huge_begin(&h, bytes);
        *ret_stretched = h.size > 0;
        r = fn(userdata);
        heap_huge_end(&h);
        return r;
}

void heap_huge_give_back(void) {
        (void) malloc_trim(0);
}
