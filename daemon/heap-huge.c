/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The heap grown at once before a large load, its new pages advised as transparent huge
 * pages: 100 000 stored jobs (about 105 MB of small blocks) then take a few hundred page faults
 * instead of 25 000. On this project's VMs a fault of fresh memory costs about 13 µs. The
 * advice is taken back at the end, so that khugepaged never fills the holes that later frees
 * leave and memory allocated later is faulted in 4 KiB pages as before. It relies on glibc's malloc (a free block at the
 * top stays there untouched; requests are cut from the top before any mapping); with another
 * allocator the advice lands on memory it does not use: no gain, no harm. With THP's defrag
 * "madvise" a fault in the stretch may compact memory first: on a host whose memory is badly
 * fragmented that can cost what it saves. */
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "heap-huge.h"
#include "util.h"

#define HUGE_PAGE_SIZE ((uintptr_t) 2 * 1024 * 1024)
/* Below this the few faults saved are not worth a stretch of huge pages. */
#define HEAP_HUGE_MIN (16 * HUGE_PAGE_SIZE)
#define DEFAULT_MMAP_MAX 65536  /* glibc's */

#define HEAP_POPULATE_STACK (64 * 1024)

/* The pages of a stretch faulted in ahead of the load, one huge page at a time, until the end
 * or until told to stop. */
typedef struct HeapPopulate {
        pthread_t thread;
        uintptr_t start, end;
        atomic_bool stop;
} HeapPopulate;

static void *heap_populate_run(void *userdata) {
        HeapPopulate *p = userdata;

        for (uintptr_t a = p->start; a < p->end && !atomic_load_explicit(&p->stop, memory_order_relaxed);
             a += HUGE_PAGE_SIZE)
                /* A kernel before 5.14 says EINVAL: the load faults the pages in itself. The pages
                 * the load writes meanwhile are simply there already; nothing is written here. */
                if (madvise((void *) a, HUGE_PAGE_SIZE, MADV_POPULATE_WRITE) < 0)
                        break;
        return NULL;
}

static void heap_populate_start(HeapHuge *h, size_t expected) {
        HeapPopulate *p;
        size_t n = expected < h->size ? expected : h->size;

        n &= ~(HUGE_PAGE_SIZE - 1);
        if (n == 0)
                return;
        p = calloc(1, sizeof *p);
        if (!p)
                return;
        p->start = (uintptr_t) h->start;
        p->end = p->start + n;
        atomic_init(&p->stop, false);
        /* The thread inherits the loop's blocked signals (main.c blocks them before this). It
         * calls madvise() only: a small stack, and no malloc arena of its own. */
        pthread_attr_t attr;
        int r = pthread_attr_init(&attr);
        if (r == 0) {
                (void) pthread_attr_setstacksize(&attr, HEAP_POPULATE_STACK);
                r = pthread_create(&p->thread, &attr, heap_populate_run, p);
                (void) pthread_attr_destroy(&attr);
        }
        if (r != 0) {
                free(p);
                return;
        }
        h->populate = p;
}

static void heap_populate_stop(HeapHuge *h) {
        HeapPopulate *p = h->populate;

        if (!p)
                return;
        atomic_store_explicit(&p->stop, true, memory_order_relaxed);
        (void) pthread_join(p->thread, NULL);
        free(p);
        h->populate = NULL;
}

void heap_huge_begin(HeapHuge *h, size_t bytes, size_t expected) {
        uintptr_t start, end;
        bool in_heap;
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
        /* Below the heap's end: glibc's main arena, whose top the load's blocks are cut from. */
        in_heap = (uintptr_t) p + bytes <= (uintptr_t) sbrk(0);
        free(p);
        /* No transparent huge pages (a kernel without them, or "never"): the load faults in
         * 4 KiB pages as without this. */
        if (end > start && madvise((void *) start, end - start, MADV_HUGEPAGE) >= 0) {
                h->start = (void *) start;
                h->size = end - start;
                if (in_heap)
                        heap_populate_start(h, expected);
        }
}

void heap_huge_end(HeapHuge *h) {
        assert(h);

        if (!h->active)
                return;  /* nothing to undo (mallopt() costs a walk of malloc's free lists) */
        heap_populate_stop(h);
        /* Huge pages already there stay; what a trim gives back goes. */
        if (h->size > 0)
                (void) madvise(h->start, h->size, MADV_NOHUGEPAGE);
        (void) mallopt(M_TRIM_THRESHOLD, HEAP_TRIM_THRESHOLD);
        *h = (HeapHuge) { .size = 0 };
}

void heap_growth_follow(HeapGrowth *g) {
        uintptr_t now, start, end;

        assert(g);

        now = (uintptr_t) sbrk(0);
        if (now == (uintptr_t) -1 || now == g->brk)
                return;
        if (g->brk == 0 || now < g->brk) {
                /* The first look, or the heap trimmed: only its end from here on. */
                g->brk = now;
                return;
        }
        start = (g->brk + HUGE_PAGE_SIZE - 1) & ~(HUGE_PAGE_SIZE - 1);
        end = now & ~(HUGE_PAGE_SIZE - 1);
        g->brk = now;
        if (g->end > g->start) {
                (void) madvise((void *) g->start, g->end - g->start, MADV_NOHUGEPAGE);
                g->start = g->end = 0;
        }
        if (end > start && madvise((void *) start, end - start, MADV_HUGEPAGE) >= 0) {
                g->start = start;
                g->end = end;
        }
}

/* Anonymous mappings from this size on are a buffer's own (malloc's threshold while following):
 * smaller ones are not worth the look. */
#define FOLLOW_MIN HEAP_FOLLOW_EARLY
/* A buffer moves a few times while it doubles; more lookups than this mean something else is
 * going on (no /proc): then it is left alone. */
#define FOLLOW_MAX_LOOKUPS 32

/* The mapping that holds p, from /proc/self/maps: its bounds, and whether it is anonymous and
 * unnamed (not the heap, a stack or a file). */
static bool mapping_of(uintptr_t p, uintptr_t *ret_start, uintptr_t *ret_end, bool *ret_anonymous) {
        _cleanup_fclose_ FILE *f = NULL;
        bool continued = false;
        char line[512];

        f = fopen("/proc/self/maps", "re");
        if (!f)
                return false;
        while (fgets(line, sizeof line, f)) {
                unsigned long start, end;
                bool rest_of_line = continued;
                int name = 0;

                /* A long file name comes in pieces: only a line's first piece is parsed. */
                continued = !strchr(line, '\n');
                if (rest_of_line)
                        continue;
                if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &start, &end, &name) < 2 || name == 0)
                        continue;
                if (p < start || p >= end)
                        continue;
                *ret_start = start;
                *ret_end = end;
                *ret_anonymous = line[name] == '\n' || line[name] == 0;
                return true;
        }
        return false;
}

void heap_follow_lookup(HeapFollow *f, const void *p, size_t rest) {
        uintptr_t start, end, from, to, page = (uintptr_t) sysconf(_SC_PAGESIZE);
        bool anonymous;

        assert(f);
        assert(p);

        if (++f->lookups > FOLLOW_MAX_LOOKUPS || !mapping_of((uintptr_t) p, &start, &end, &anonymous)) {
                f->start = 0;
                f->end = UINTPTR_MAX;   /* left alone from here on */
                return;
        }
        f->start = start;
        f->end = end;
        if (!anonymous || end - start < FOLLOW_MIN)
                return;
        /* The whole mapping, not a part: a part would split it, and malloc could no longer move it
         * with mremap() as it grows (it would copy it instead). The advice moves with it. */
        (void) madvise((void *) start, end - start, MADV_HUGEPAGE);
        f->prepared++;
        from = (uintptr_t) p & ~(page - 1);
        to = rest < end - from ? (from + rest + page - 1) & ~(page - 1) : end;
        /* One call instead of a fault for every page (or 2 MiB) still to be written; a kernel
         * before 5.14 says EINVAL and the writing faults them in as before. */
        if (to > from)
                (void) madvise((void *) from, to - from, MADV_POPULATE_WRITE);
}

HeapFollow heap_follow_begin(size_t bytes) {
        if (bytes < HEAP_MMAP_THRESHOLD / 2)
                return (HeapFollow) { .start = 0, .end = UINTPTR_MAX };
        /* (mallopt() also consolidates malloc's free small blocks: a walk of a few lists) */
        return (HeapFollow) { .early = mallopt(M_MMAP_THRESHOLD, HEAP_FOLLOW_EARLY) == 1 };
}

void heap_follow_end(HeapFollow *f) {
        assert(f);

        if (f->early)
                (void) mallopt(M_MMAP_THRESHOLD, HEAP_MMAP_THRESHOLD);
        if (f->prepared > 0)
                (void) malloc_trim(0);
        *f = HEAP_FOLLOW_INIT;
}
