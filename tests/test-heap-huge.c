/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The heap's stretch for a large load (daemon/heap-huge.c): the load's small blocks are cut
 * from it; it is advised as huge pages while the load runs and no longer after, and its memory
 * goes back to the system once the blocks are freed. And a block that grows by doubling,
 * followed into the mappings malloc moves it to. And the heap's growth under blocks that stay
 * (a burst of new jobs), advised as huge pages growth by growth. */
#include <glib.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "heap-huge.h"
#include "test-cases.h"

#define MIB (1024 * 1024)
#define BLOCK 640       /* a Job */
#define N_BLOCKS (48 * MIB / BLOCK)

/* The line of /proc/self/smaps starting with `field` for the mapping that holds p ("" when
 * none does). */
static char *smaps_line_of(const void *p, const char *field) {
        g_autofree char *smaps = NULL;
        g_auto(GStrv) lines = NULL;
        bool in = false;

        g_assert_true(g_file_get_contents("/proc/self/smaps", &smaps, NULL, NULL));
        lines = g_strsplit(smaps, "\n", -1);
        for (size_t i = 0; lines[i]; i++) {
                unsigned long a, b;
                /* A mapping's line: "start-end perms ..."; the field lines do not parse. */
                if (sscanf(lines[i], "%lx-%lx ", &a, &b) == 2)
                        in = (uintptr_t) p >= a && (uintptr_t) p < b;
                else if (in && g_str_has_prefix(lines[i], field))
                        return g_strdup(lines[i]);
        }
        return g_strdup("");
}

static char *vm_flags_of(const void *p) {
        return smaps_line_of(p, "VmFlags:");
}

static long number_after(const char *line, const char *prefix) {
        g_assert_true(g_str_has_prefix(line, prefix));
        return strtol(line + strlen(prefix), NULL, 10);
}

/* Huge pages were used where p is, or the kernel tried and fell back (no free huge page). */
static long thp_fallbacks(void) {
        g_autofree char *vmstat = NULL;
        const char *p;

        g_assert_true(g_file_get_contents("/proc/vmstat", &vmstat, NULL, NULL));
        p = strstr(vmstat, "\nthp_fault_fallback ");
        return p ? strtol(p + strlen("\nthp_fault_fallback "), NULL, 10) : 0;
}

static bool has_flag(const char *flags, const char *flag) {
        g_auto(GStrv) words = g_strsplit(flags, " ", -1);

        return g_strv_contains((const char * const *) words, flag);
}

static long rss_kib(void) {
        g_autofree char *status = NULL;
        const char *p;

        g_assert_true(g_file_get_contents("/proc/self/status", &status, NULL, NULL));
        p = strstr(status, "VmRSS:");
        g_assert_nonnull(p);
        return strtol(p + strlen("VmRSS:"), NULL, 10);
}

static bool thp_available(void) {
        g_autofree char *mode = NULL;

        return g_file_get_contents("/sys/kernel/mm/transparent_hugepage/enabled", &mode, NULL, NULL) &&
               !strstr(mode, "[never]");
}

/* false (the case skipped) where the stretch cannot be seen; else malloc as in the daemon, and
 * the resident memory before the case. */
static bool prepare(long *ret_rss) {
#if defined(__SANITIZE_ADDRESS__)
        g_test_skip("AddressSanitizer's allocator is not glibc's heap");
        return false;
#endif
        if (!thp_available()) {
                g_test_skip("no transparent huge pages on this kernel");
                return false;
        }
        /* meson's MALLOC_PERTURB_ makes free() write over the whole stretch; the daemon runs
         * without it. */
        (void) mallopt(M_PERTURB, 0);
        (void) mallopt(M_MMAP_THRESHOLD, HEAP_MMAP_THRESHOLD);
        (void) malloc_trim(0);
        *ret_rss = rss_kib();
        return true;
}

static void test_small(void) {
        HeapHuge h;

        /* A few MiB: not worth huge pages, nothing advised. */
        heap_huge_begin(&h, 4 * MIB, 4 * MIB);
        g_assert_cmpuint(h.size, ==, 0);
        heap_huge_end(&h);
        g_assert_cmpuint(h.size, ==, 0);
}

static void test_load(void) {
        g_autofree void **blocks = g_new0(void *, N_BLOCKS);
        g_autofree char *during = NULL, *after = NULL;
        size_t inside = 0;
        long rss0, rss1, rss2;
        HeapHuge h;

        if (!prepare(&rss0))
                return;
        heap_huge_begin(&h, 64 * MIB, 0);
        g_assert_cmpuint(h.size, >=, 60 * MIB);
        g_assert_cmpuint((uintptr_t) h.start % (2 * MIB), ==, 0);
        during = vm_flags_of(h.start);
        g_assert_true(has_flag(during, "hg"));

        long fallbacks = thp_fallbacks();
        /* The load's blocks come from the stretch, one after another. */
        for (size_t i = 0; i < N_BLOCKS; i++) {
                blocks[i] = calloc(1, BLOCK);
                g_assert_nonnull(blocks[i]);
                if ((uintptr_t) blocks[i] >= (uintptr_t) h.start &&
                    (uintptr_t) blocks[i] < (uintptr_t) h.start + h.size)
                        inside++;
        }
        g_assert_cmpuint(inside, >=, N_BLOCKS * 95 / 100);
        rss1 = rss_kib();
        g_assert_cmpint(rss1 - rss0, >=, 48 * 1024);
        /* The stretch reserved more than the blocks took: only what they use is resident. */
        g_assert_cmpint(rss1 - rss0, <, 56 * 1024);

        /* In huge pages, unless the kernel had none to give (then it says so). */
        g_autofree char *huge = smaps_line_of(h.start, "AnonHugePages:");
        g_assert_true(number_after(huge, "AnonHugePages:") >= 2048 || thp_fallbacks() > fallbacks);

        void *start = h.start;
        heap_huge_end(&h);
        g_assert_cmpuint(h.size, ==, 0);
        after = vm_flags_of(start);
        g_assert_false(has_flag(after, "hg"));
        g_assert_true(has_flag(after, "nh"));

        /* Freed, the stretch goes back: malloc's trim threshold is the daemon's again. */
        for (size_t i = 0; i < N_BLOCKS; i++)
                free(blocks[i]);
        (void) malloc_trim(0);
        rss2 = rss_kib();
        g_assert_cmpint(rss2 - rss0, <, 4 * 1024);
}

/* Whether this kernel faults in a range on request (MADV_POPULATE_WRITE, Linux 5.14). */
static bool populate_supported(void) {
        size_t size = (size_t) sysconf(_SC_PAGESIZE);
        void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        bool ok;

        g_assert_true(p != MAP_FAILED);
        ok = madvise(p, size, MADV_POPULATE_WRITE) == 0;
        g_assert_cmpint(munmap(p, size), ==, 0);
        return ok;
}

/* The expected part of the stretch is faulted in by a thread of its own while the load writes
 * its blocks: those keep what the load wrote, the pages are resident without the load touching
 * them, and what the load did not use goes back with a trim. */
static void test_populate(void) {
        g_autofree void **blocks = g_new0(void *, N_BLOCKS / 4);
        long rss0, rss1, rss2;
        HeapHuge h;

        if (!prepare(&rss0))
                return;
        if (!populate_supported()) {
                g_test_skip("no MADV_POPULATE_WRITE on this kernel");
                return;
        }
        heap_huge_begin(&h, 64 * MIB, 40 * MIB);
        g_assert_cmpuint(h.size, >=, 60 * MIB);
        /* A quarter of the blocks, written while the thread runs. */
        for (size_t i = 0; i < N_BLOCKS / 4; i++) {
                blocks[i] = malloc(BLOCK);
                g_assert_nonnull(blocks[i]);
                memset(blocks[i], (int) (i % 251) + 1, BLOCK);
        }
        /* The thread faults in the 40 MiB (38 at least: the stretch starts at a huge page). */
        gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
        while ((rss1 = rss_kib()) - rss0 < 38 * 1024 && g_get_monotonic_time() < deadline)
                g_usleep(10 * 1000);
        g_assert_cmpint(rss1 - rss0, >=, 38 * 1024);
        /* Not the whole stretch (with the blocks, wherever malloc put them: 12 MiB more). */
        g_assert_cmpint(rss1 - rss0, <, 60 * 1024);
        heap_huge_end(&h);
        g_assert_null(h.populate);
        for (size_t i = 0; i < N_BLOCKS / 4; i++) {
                const unsigned char *b = blocks[i];
                for (size_t k = 0; k < BLOCK; k++)
                        g_assert_cmpuint(b[k], ==, (unsigned) (i % 251) + 1);
        }
        /* What the blocks do not use goes back with a trim, and the rest once they are freed. */
        (void) malloc_trim(0);
        g_assert_cmpint(rss_kib() - rss0, <, 16 * 1024);
        for (size_t i = 0; i < N_BLOCKS / 4; i++)
                free(blocks[i]);
        (void) malloc_trim(0);
        rss2 = rss_kib();
        g_assert_cmpint(rss2 - rss0, <, 4 * 1024);
}

/* Below the heap's current end: a block of the heap, not of a mapping of its own (those lie far
 * above it). */
static bool in_heap(const void *p) {
        return (uintptr_t) p < (uintptr_t) sbrk(0);
}

/* A block that grows by doubling while it is written, as sd-bus grows a large reply's body: while
 * followed, it leaves the heap at HEAP_FOLLOW_EARLY (not at the daemon's 2 MiB threshold) into
 * mappings of its own, which the follow advises as huge pages (the heap it grew through never),
 * and gives back once freed; then the daemon's threshold is back. */
static void test_follow(void) {
        g_autofree char *heap_flags = NULL, *flags = NULL, *huge = NULL;
        HeapFollow f;
        size_t size = 0, allocated = 0, left_heap_at = 0;
        void *later;
        char *body = NULL, *first = NULL;
        long rss0, rss1, fallbacks;

        if (!prepare(&rss0))
                return;
        /* A heap top with megabytes free (the daemon's 4 MiB trim threshold after the earlier
         * cases) would let the block grow there in place, never reaching a mapping: glibc's
         * default threshold keeps the top small, as a daemon's busy heap mostly does. */
        (void) mallopt(M_TRIM_THRESHOLD, 128 * 1024);
        (void) mallopt(M_MMAP_THRESHOLD, HEAP_MMAP_THRESHOLD);
        (void) malloc_trim(0);
        fallbacks = thp_fallbacks();
        f = heap_follow_begin(17 * MIB);
        g_assert_true(f.early);
        while (size < 17 * MIB) {
                if (size + 170 > allocated) {
                        char *p = realloc(body, 2 * (size + 170));
                        g_assert_nonnull(p);
                        body = p;
                        allocated = 2 * (size + 170);
                        if (size == 0)
                                first = body;
                        if (left_heap_at == 0 && !in_heap(body))
                                left_heap_at = size;
                }
                memset(body + size, 0x5a, 170);
                heap_follow(&f, body + size, 17 * MIB - size);
                size += 170;
        }
        /* Out of the heap at its first doubling past HEAP_FOLLOW_EARLY, then 256 KiB ... 32 MiB. */
        g_assert_cmpuint(left_heap_at, >, 0);
        g_assert_cmpuint(left_heap_at, <=, HEAP_FOLLOW_EARLY);
        g_assert_cmpuint(f.prepared, >=, 6);
        /* A lookup each time it moved, not one a row. */
        g_assert_cmpuint(f.lookups, <, 16);
        flags = vm_flags_of(body + size - 1);
        g_assert_true(has_flag(flags, "hg"));
        huge = smaps_line_of(body + size - 1, "AnonHugePages:");
        g_assert_true(number_after(huge, "AnonHugePages:") >= 2048 || thp_fallbacks() > fallbacks);
        /* Where it began, in the heap, nothing was advised. */
        heap_flags = vm_flags_of(first);
        g_assert_false(has_flag(heap_flags, "hg"));

        free(body);
        heap_follow_end(&f);
        g_assert_cmpuint(f.prepared, ==, 0);
        g_assert_false(f.early);
        /* The daemon's threshold again: a block under 2 MiB is the heap's. */
        later = malloc(4 * HEAP_FOLLOW_EARLY);
        g_assert_nonnull(later);
        g_assert_true(in_heap(later));
        free(later);
        rss1 = rss_kib();
        g_assert_cmpint(rss1 - rss0, <, 4 * 1024);
        (void) mallopt(M_TRIM_THRESHOLD, HEAP_TRIM_THRESHOLD);
}

/* A buffer that stays small is not followed: not a single look at the mappings. */
static void test_follow_small(void) {
        HeapFollow f = heap_follow_begin(64 * 1024);
        char *body = NULL;

        for (size_t size = 64; size <= 64 * 1024; size *= 2) {
                char *p = realloc(body, size);
                g_assert_nonnull(p);
                body = p;
                memset(body, 0x5a, size);
                heap_follow(&f, body + size - 1, 64 * 1024 - size);
        }
        g_assert_cmpuint(f.lookups, ==, 0);
        g_assert_cmpuint(f.prepared, ==, 0);
        free(body);
        heap_follow_end(&f);
}

/* Small blocks that stay, as a burst of new jobs leaves them, until the heap's end has moved
 * (malloc grew it): their number. */
static size_t fill_until_growth(void **blocks, size_t n, size_t max) {
        uintptr_t brk0 = (uintptr_t) sbrk(0);

        while (n < max) {
                blocks[n] = malloc(BLOCK);
                g_assert_nonnull(blocks[n]);
                memset(blocks[n], 0x5a, BLOCK);
                n++;
                if ((uintptr_t) sbrk(0) != brk0)
                        break;
        }
        g_assert_cmpuint((uintptr_t) sbrk(0), >, brk0);
        return n;
}

/* The heap grows by HEAP_TOP_PAD at least; after each growth the follow advises its whole huge
 * pages as MADV_HUGEPAGE, which the blocks then fault in 2 MiB at a time, and takes the advice
 * back from the growth before (MADV_NOHUGEPAGE: filled by then). The first look only takes the
 * heap's end. */
static void test_growth(void) {
        /* Room for what earlier cases left free in the heap, then three growths. */
        size_t max = (128 * MIB + 3 * HEAP_TOP_PAD) / BLOCK, n = 0;
        g_autofree void **blocks = g_new0(void *, max);
        HeapGrowth g = { .brk = 0 };
        uintptr_t first_start, first_end;
        long rss0, fallbacks;

        if (!prepare(&rss0))
                return;
        (void) mallopt(M_TRIM_THRESHOLD, HEAP_TRIM_THRESHOLD);
        (void) mallopt(M_TOP_PAD, HEAP_TOP_PAD);
        heap_growth_follow(&g);
        g_assert_cmpuint(g.brk, ==, (uintptr_t) sbrk(0));
        g_assert_cmpuint(g.end, ==, g.start);
        /* Nothing grew: nothing to do. */
        heap_growth_follow(&g);
        g_assert_cmpuint(g.end, ==, g.start);

        n = fill_until_growth(blocks, n, max);
        heap_growth_follow(&g);
        g_assert_cmpuint(g.brk, ==, (uintptr_t) sbrk(0));
        /* HEAP_TOP_PAD (8 MiB) holds three huge pages whole at least. */
        g_assert_cmpuint(g.end - g.start, >=, 3 * 2 * MIB);
        g_assert_cmpuint(g.start % (2 * MIB), ==, 0);
        g_autofree char *advised = vm_flags_of((void *) g.start);
        g_assert_true(has_flag(advised, "hg"));
        first_start = g.start;
        first_end = g.end;

        /* The blocks fill it: in huge pages, unless the kernel had none to give. */
        fallbacks = thp_fallbacks();
        n = fill_until_growth(blocks, n, max);
        g_autofree char *huge = smaps_line_of((void *) first_start, "AnonHugePages:");
        g_assert_true(number_after(huge, "AnonHugePages:") >= 2048 || thp_fallbacks() > fallbacks);

        /* The next growth: advised in its turn, the filled one no longer. */
        heap_growth_follow(&g);
        g_assert_cmpuint(g.start, >=, first_end);
        g_assert_cmpuint(g.end - g.start, >=, 3 * 2 * MIB);
        g_autofree char *before = vm_flags_of((void *) first_start);
        g_assert_false(has_flag(before, "hg"));
        g_assert_true(has_flag(before, "nh"));
        g_autofree char *now = vm_flags_of((void *) g.start);
        g_assert_true(has_flag(now, "hg"));

        for (size_t i = 0; i < n; i++)
                free(blocks[i]);
        (void) malloc_trim(0);
        (void) mallopt(M_TOP_PAD, 128 * 1024);
        /* Trimmed: the follow takes the heap's new end, and advises nothing. */
        heap_growth_follow(&g);
        g_assert_cmpuint(g.brk, ==, (uintptr_t) sbrk(0));
        g_assert_cmpint(rss_kib() - rss0, <, 4 * 1024);
}

const TestCase test_cases[] = {
        { "/heap-huge/small", test_small },
        /* Before the load's case, whose stretch leaves the heap's top large: a block growing
         * there would stay in the heap, never reaching a mapping to follow. */
        { "/heap-huge/follow", test_follow },
        { "/heap-huge/follow-small", test_follow_small },
        { "/heap-huge/load", test_load },
        { "/heap-huge/populate", test_populate },
        { "/heap-huge/growth", test_growth },
        { NULL, NULL }
};
