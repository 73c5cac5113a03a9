/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* malloc's thresholds of the whole daemon (main.c sets them; a stretch below restores them). */
#define HEAP_MMAP_THRESHOLD (2 * 1024 * 1024)
#define HEAP_TRIM_THRESHOLD (4 * 1024 * 1024)
/* What the heap grows by beyond a request, and keeps at its top when trimmed: room for at least
 * one whole huge page each time it grows (see HeapGrowth). */
#define HEAP_TOP_PAD (8 * 1024 * 1024)

/* A stretch of the heap's top made ready, before a large load, to be backed by transparent
 * huge pages as it is filled. While it is free, malloc takes blocks of any size from it, also
 * those over the mapping threshold (a block growing there stays there). */
typedef struct HeapHuge {
        void *start;
        size_t size;    /* 0: nothing was advised (too small, or no heap to grow) */
        bool active;    /* malloc's trim threshold is raised until heap_huge_end() */
        struct HeapPopulate *populate;  /* the thread faulting in the stretch ahead, or NULL */
} HeapHuge;

/* Room for `bytes`; of it the first `expected` bytes (what the load will most likely fill; 0:
 * none) are faulted in ahead of the load by a thread of its own, so that the zeroing of the
 * fresh pages, a good part of a large load's CPU (100 000 jobs: about 100 MB, a quarter of
 * the load's CPU on this project's VMs), is done on another CPU while the load runs on its
 * own. What it faults in that the load does not use is free at the heap's top: a trim gives
 * it back. Only in the heap (glibc's main arena): memory of another allocator is left alone. */
void heap_huge_begin(HeapHuge *h, size_t bytes, size_t expected);
/* The thread is stopped after its current huge page and joined first. The stretch is then
 * advised MADV_NOHUGEPAGE, not left without advice: with THP "always" it stays out of huge
 * pages for good (khugepaged must not fill the holes of later frees). */
void heap_huge_end(HeapHuge *h);

/* A buffer that grows by doubling while it is written, one whose growth the caller does not
 * control (sd-bus's body of a large reply). In the heap each doubling copies it into fresh
 * pages, faulted in 4 KiB at a time (every call anew: the heap is trimmed); so while it is
 * followed, malloc's mapping threshold is HEAP_FOLLOW_EARLY instead of the daemon's, and the
 * buffer moves into a mapping of its own early, which mremap() then grows without a copy. Told
 * where the writing is, this finds that mapping, advises it as huge pages and faults in at once
 * what the writing will still need of it (at most `rest` bytes). The threshold is process-wide:
 * meanwhile other threads' blocks from HEAP_FOLLOW_EARLY on are mappings too (the advice stays
 * with the followed buffer's mapping only). The workers hardly have such blocks: the body
 * buffers come from the loop, which is busy with the reply; the one of a worker is a hasher's
 * 128 KiB read-back buffer, once per hashed file that resumes. Measured: 30 ListJobs of 20 000
 * jobs beside a hashed 512 MiB download, the worker threads made no mmap() or munmap() between
 * 128 KiB and 2 MiB (strace of the daemon; none in as long without ListJobs either). As for
 * the stretch, with THP's defrag "madvise" filling it may compact memory first on a badly
 * fragmented host. */
#define HEAP_FOLLOW_EARLY (128 * 1024)

typedef struct HeapFollow {
        uintptr_t start, end;   /* the mapping last found; nothing is looked up while p is in it */
        unsigned lookups;
        unsigned prepared;      /* mappings advised and faulted in */
        bool early;             /* malloc's mapping threshold is HEAP_FOLLOW_EARLY until the end */
} HeapFollow;

#define HEAP_FOLLOW_INIT ((HeapFollow) { .start = 0, .end = 0 })

/* The follow of a buffer expected to grow to about `bytes`: one that stays below half of the
 * daemon's mapping threshold never leaves the heap (its doublings stay under it), so it is not
 * followed at all, not even looked up once, and the threshold stays. */
HeapFollow heap_follow_begin(size_t bytes);

void heap_follow_lookup(HeapFollow *f, const void *p, size_t rest);

/* p: where the buffer is being written now; rest: how many bytes at most are still to come. */
static inline void heap_follow(HeapFollow *f, const void *p, size_t rest) {
        if ((uintptr_t) p < f->start || (uintptr_t) p >= f->end)
                heap_follow_lookup(f, p, rest);
}

/* Once the buffer is written (it may still wait to be sent): the daemon's mapping threshold is
 * back. The heap's blocks the buffer grew through before it moved (under HEAP_FOLLOW_EARLY) are
 * too few to be worth a trim. */
void heap_follow_end(HeapFollow *f);

/* The heap as it grows under a steady load of small blocks that stay (a burst of new jobs:
 * about 1.3 KB each, a fault of a fresh 4 KiB page every three Download calls, and on this
 * project's VMs a fault costs 7 to 13 µs). malloc grows the heap by HEAP_TOP_PAD at least
 * beyond a request; told after a batch (sbrk(0) read, no system call), this advises the whole
 * huge pages of what it grew by since as MADV_HUGEPAGE, so that the blocks cut from it later
 * fault in 2 MiB at a time. The stretch advised before, filled by then (malloc grows the heap
 * only when its top is used up), is advised MADV_NOHUGEPAGE as heap_huge_end() does: huge pages
 * already there stay, khugepaged fills no holes that later frees leave there. So at most one
 * growth (HEAP_TOP_PAD and a request) is advised at a time. Only the main arena's heap (the
 * loop's blocks): the first call takes the heap's end as it is (a load's stretch before it was
 * heap_huge_begin()'s). The costs: a huge page is resident whole once one block is in it (the
 * stretch advised last, up to HEAP_TOP_PAD), and the top pad keeps that much free at the heap's
 * top after a trim (RSS after creating 100 000 jobs 0.5-1.7 MiB more in the measured runs,
 * after a restart the same: the load trims with no pad). As for the load's stretch, with THP's
 * defrag "madvise" a fault in it may compact memory first, now on the loop during a burst of
 * calls: on a badly fragmented host one such fault can take milliseconds (none on this
 * project's VMs: compact_stall 0 in /proc/vmstat over the runs). */
typedef struct HeapGrowth {
        uintptr_t brk;          /* the heap's end last seen; 0: not yet */
        uintptr_t start, end;   /* the stretch advised as huge pages, or start == end */
} HeapGrowth;

void heap_growth_follow(HeapGrowth *g);
