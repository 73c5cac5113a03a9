/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* malloc's thresholds of the whole daemon (main.c sets them; a stretch below restores them). */
#define HEAP_MMAP_THRESHOLD (2 * 1024 * 1024)
#define HEAP_TRIM_THRESHOLD (4 * 1024 * 1024)

/* A stretch of the heap's top made ready, before a large load, to be backed by transparent
 * huge pages as it is filled. While it is free, malloc takes blocks of any size from it, also
 * those over the mapping threshold (a block growing there stays there). */
typedef struct HeapHuge {
        void *start;
        size_t size;    /* 0: nothing was advised (too small, or no heap to grow) */
        bool active;    /* malloc's trim threshold is raised until heap_huge_end() */
} HeapHuge;

void heap_huge_begin(HeapHuge *h, size_t bytes);
/* The stretch is then advised MADV_NOHUGEPAGE, not left without advice: with THP "always" it
 * stays out of huge pages for good (khugepaged must not fill the holes of later frees). */
void heap_huge_end(HeapHuge *h);

/* A buffer that grows by doubling while it is written, one whose growth the caller does not
 * control (sd-bus's body of a large reply): past malloc's mapping threshold each doubling moves
 * it into a mapping of its own, which would be faulted in 4 KiB at a time. Told where the
 * writing is, this finds that mapping, advises it as huge pages and faults in at once what the
 * writing will still need of it (at most `rest` bytes). Nothing process-wide changes: the advice
 * stays with the mapping and goes with it when the buffer is freed. As for the stretch, with
 * THP's defrag "madvise" filling it may compact memory first on a badly fragmented host. */
typedef struct HeapFollow {
        uintptr_t start, end;   /* the mapping last found; nothing is looked up while p is in it */
        unsigned lookups;
        unsigned prepared;      /* mappings advised and faulted in */
} HeapFollow;

#define HEAP_FOLLOW_INIT ((HeapFollow) { .start = 0, .end = 0 })

/* The follow of a buffer expected to grow to about `bytes`: one that stays below half of
 * malloc's mapping threshold never leaves the heap (its doublings stay under it), so it is not
 * followed at all, not even looked up once. */
static inline HeapFollow heap_follow_for(size_t bytes) {
        if (bytes < HEAP_MMAP_THRESHOLD / 2)
                return (HeapFollow) { .start = 0, .end = UINTPTR_MAX };
        return HEAP_FOLLOW_INIT;
}

void heap_follow_lookup(HeapFollow *f, const void *p, size_t rest);

/* p: where the buffer is being written now; rest: how many bytes at most are still to come. */
static inline void heap_follow(HeapFollow *f, const void *p, size_t rest) {
        if ((uintptr_t) p < f->start || (uintptr_t) p >= f->end)
                heap_follow_lookup(f, p, rest);
}

/* Once the buffer is written (it may still wait to be sent): when it moved into mappings, the
 * heap's blocks it grew through before (up to 2 MiB) are free now, and go back to the system
 * (malloc_trim) instead of staying resident. */
void heap_follow_end(HeapFollow *f);
