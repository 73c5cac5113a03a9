/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The body buffers (daemon/body-buffer.c): buffers of small bodies kept for the next sets when
 * their set goes, those that held more freed. */
#include <glib.h>

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

const TestCase test_cases[] = {
        { "/body-buffer/small-kept", test_small_kept },
        { "/body-buffer/large-freed", test_large_freed },
        { "/body-buffer/at-most-sixteen", test_at_most_sixteen },
        { "/body-buffer/orphan-held", test_orphan_held },
        { NULL, NULL }
};
