/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The body buffers (daemon/body-buffer.c): buffers of small bodies kept for the next sets when
 * their set goes, those that held more freed; a buffer's pages faulted in at once. */
#include <glib.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "body-buffer.h"
#include "test-cases.h"

/* A buffer of set s that held len bytes, released. */
static void use_buffer(BodySet *s, size_t len) {
        BodyBuffer *b = NULL;

        g_assert_cmpint(body_set_get(s, 0, &b), ==, 0);
        b->len = len;
        body_buffer_release(b);
}

static void test_small_kept(void) {
        BodySet *s = NULL, *t = NULL;
        BodyBuffer *b = NULL;
        unsigned before = body_spare_count();

        g_assert_cmpint(body_set_new(1, 0, NULL, NULL, &s), ==, 0);
        use_buffer(s, 16 * 1024);
        /* Back to its set while the set lives. */
        g_assert_cmpuint(body_spare_count(), ==, before);
        body_set_orphan(s);
        g_assert_cmpuint(body_spare_count(), ==, before + 1);

        /* The next set takes it. */
        g_assert_cmpint(body_set_new(1, 0, NULL, NULL, &t), ==, 0);
        g_assert_cmpint(body_set_get(t, 0, &b), ==, 0);
        g_assert_cmpuint(body_spare_count(), ==, before);
        g_assert_cmpuint(b->len, ==, 0);
        g_assert_cmpuint(b->refs, ==, 1);
        body_buffer_release(b);
        body_set_orphan(t);
        g_assert_cmpuint(body_spare_count(), ==, before + 1);
}

static void test_large_freed(void) {
        BodySet *s = NULL;
        unsigned before;

        g_assert_cmpint(body_set_new(1, 0, NULL, NULL, &s), ==, 0);
        /* Once full, then small: what it held once is in memory. */
        use_buffer(s, BODY_BUFFER_SIZE);
        before = body_spare_count();
        use_buffer(s, 100);
        body_set_orphan(s);
        g_assert_cmpuint(body_spare_count(), ==, before);
}

static void test_at_most_sixteen(void) {
        BodySet *sets[20];

        for (unsigned i = 0; i < G_N_ELEMENTS(sets); i++) {
                g_assert_cmpint(body_set_new(1, 0, NULL, NULL, &sets[i]), ==, 0);
                use_buffer(sets[i], 4096);
        }
        for (unsigned i = 0; i < G_N_ELEMENTS(sets); i++)
                body_set_orphan(sets[i]);
        g_assert_cmpuint(body_spare_count(), ==, 16);
}

/* A buffer still held when its set goes is kept when its last holder lets go. */
static void test_orphan_held(void) {
        BodySet *s = NULL, *t = NULL;
        BodyBuffer *b = NULL, *taken[16];
        unsigned n_taken = 0;

        /* The spare buffers taken first. */
        g_assert_cmpint(body_set_new(16, 0, NULL, NULL, &t), ==, 0);
        while (body_spare_count() > 0) {
                g_assert_cmpuint(n_taken, <, G_N_ELEMENTS(taken));
                g_assert_cmpint(body_set_get(t, 0, &taken[n_taken++]), ==, 0);
        }

        g_assert_cmpint(body_set_new(1, 0, NULL, NULL, &s), ==, 0);
        g_assert_cmpint(body_set_get(s, 0, &b), ==, 0);
        b->len = 8192;
        body_set_orphan(s);
        g_assert_cmpuint(body_spare_count(), ==, 0);
        body_buffer_release(b);
        g_assert_cmpuint(body_spare_count(), ==, 1);

        body_set_orphan(t);
        for (unsigned i = 0; i < n_taken; i++)
                body_buffer_release(taken[i]);
}

static char *page_up(char *p) {
        uintptr_t page = (uintptr_t) sysconf(_SC_PAGESIZE);

        return (char *) (((uintptr_t) p + page - 1) & ~(page - 1));
}

static char *page_down(char *p) {
        return (char *) ((uintptr_t) p & ~((uintptr_t) sysconf(_SC_PAGESIZE) - 1));
}

/* The whole pages of [from, to): how many (ret_pages) and how many of them are in memory. */
static size_t resident_pages(const char *from, const char *to, size_t *ret_pages) {
        uintptr_t page = (uintptr_t) sysconf(_SC_PAGESIZE);
        uintptr_t a = ((uintptr_t) from + page - 1) & ~(page - 1), z = (uintptr_t) to & ~(page - 1);
        size_t n = 0, pages = (z - a) / page;
        g_autofree unsigned char *v = g_malloc(pages);

        g_assert_cmpint(mincore((void *) a, z - a, v), ==, 0);
        for (size_t i = 0; i < pages; i++)
                n += v[i] & 1;
        if (ret_pages)
                *ret_pages = pages;
        return n;
}

/* A buffer filled by a fast transfer has the pages past its bytes faulted in at once, not by
 * the copies (a page fault per 4 KiB made one curl dispatch of the loop 5 to 8 ms long). */
static void test_fill_resident(void) {
        BodySet *s = NULL;
        BodyBuffer *b = NULL;
        char *end;
        size_t pages;

        g_assert_cmpint(body_set_new(1, 0, NULL, NULL, &s), ==, 0);
        g_assert_cmpint(body_set_get(s, 0, &b), ==, 0);
        end = b->data + BODY_BUFFER_SIZE;
        memset(b->data, 'x', 16 * 1024);
        b->len = 16 * 1024;
        /* Out of memory to begin with (malloc() may have written them: MALLOC_PERTURB_). */
        g_assert_cmpint(madvise(page_up(b->data + b->len), (size_t) (page_down(end) - page_up(b->data + b->len)),
                                MADV_DONTNEED), ==, 0);
        g_assert_cmpuint(resident_pages(b->data + b->len, end, &pages), ==, 0);
        body_buffer_fill(b);
        g_assert_cmpuint(resident_pages(b->data + b->len, end, &pages), ==, pages);
        /* The bytes held are as they were. */
        g_assert_cmpint(b->data[0], ==, 'x');
        g_assert_cmpint(b->data[16 * 1024 - 1], ==, 'x');
        body_buffer_release(b);
        body_set_orphan(s);
}

const TestCase test_cases[] = {
        { "/body-buffer/small-kept", test_small_kept },
        { "/body-buffer/large-freed", test_large_freed },
        { "/body-buffer/at-most-sixteen", test_at_most_sixteen },
        { "/body-buffer/orphan-held", test_orphan_held },
        { "/body-buffer/fill-resident", test_fill_resident },
        { NULL, NULL }
};
