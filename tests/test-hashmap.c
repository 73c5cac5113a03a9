/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The hash map (shared/hashmap.c): put, get, remove across growth, removal in the middle of
 * a probe run, the walk, and clearing. */
#include <errno.h>
#include <glib.h>

#include "hashmap.h"
#include "test-cases.h"
#include "util.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Hashmap, hashmap_free)

#define N 5000

static void test_put_get(void) {
        g_autoptr(Hashmap) h = hashmap_new();
        char x[] = "x", y[] = "y";

        g_assert_nonnull(h);
        g_assert_null(hashmap_get(h, "a"));
        g_assert_null(hashmap_remove(h, "a"));
        g_assert_cmpint(hashmap_put(h, "a", x), ==, 0);
        g_assert_cmpint(hashmap_put(h, "a", y), ==, -EEXIST);
        g_assert_true(hashmap_get(h, "a") == x);
        g_assert_cmpuint(hashmap_size(h), ==, 1);
        /* Keys are compared by content, not by pointer. */
        char key[] = "a";
        g_assert_true(hashmap_get(h, key) == x);
        g_assert_true(hashmap_remove(h, key) == x);
        g_assert_null(hashmap_get(h, "a"));
        g_assert_cmpuint(hashmap_size(h), ==, 0);

        /* A NULL map is empty. */
        g_assert_null(hashmap_get(NULL, "a"));
        g_assert_cmpuint(hashmap_size(NULL), ==, 0);
}

static void test_many(void) {
        g_autoptr(Hashmap) h = hashmap_new();
        char (*keys)[16] = g_malloc0(N * sizeof *keys);

        for (size_t i = 0; i < N; i++) {
                g_snprintf(keys[i], sizeof keys[i], "k%zu", i);
                g_assert_cmpint(hashmap_put(h, keys[i], keys[i]), ==, 0);
        }
        g_assert_cmpuint(hashmap_size(h), ==, N);
        for (size_t i = 0; i < N; i++)
                g_assert_true(hashmap_get(h, keys[i]) == keys[i]);

        /* Every other one out: those left must still be found past the holes. */
        for (size_t i = 0; i < N; i += 2)
                g_assert_true(hashmap_remove(h, keys[i]) == keys[i]);
        g_assert_cmpuint(hashmap_size(h), ==, N / 2);
        for (size_t i = 0; i < N; i++)
                g_assert_true(hashmap_get(h, keys[i]) == (i % 2 ? keys[i] : NULL));

        /* The walk sees each value once. */
        g_autoptr(GHashTable) seen = g_hash_table_new(g_direct_hash, g_direct_equal);
        size_t it = 0;
        void *v;
        while (hashmap_iterate(h, &it, &v)) {
                g_assert_false(g_hash_table_contains(seen, v));
                g_hash_table_add(seen, v);
        }
        g_assert_null(v);
        g_assert_cmpuint(g_hash_table_size(seen), ==, N / 2);

        hashmap_clear(h);
        g_assert_cmpuint(hashmap_size(h), ==, 0);
        g_assert_null(hashmap_get(h, keys[1]));
        g_assert_cmpint(hashmap_put(h, keys[1], keys[1]), ==, 0);
        g_assert_true(hashmap_get(h, keys[1]) == keys[1]);
        g_free(keys);
}

/* Room made ahead (the start-up load): entries already in stay found, those added after too. */
static void test_reserve(void) {
        g_autoptr(Hashmap) h = hashmap_new();
        char (*keys)[16] = g_malloc0(N * sizeof *keys);

        g_assert_cmpint(hashmap_reserve(h, 0), ==, 0);
        for (size_t i = 0; i < N; i++)
                g_snprintf(keys[i], sizeof keys[i], "r%zu", i);
        for (size_t i = 0; i < 10; i++)
                g_assert_cmpint(hashmap_put(h, keys[i], keys[i]), ==, 0);
        g_assert_cmpint(hashmap_reserve(h, N), ==, 0);
        g_assert_cmpint(hashmap_reserve(h, 5), ==, 0);      /* never smaller */
        for (size_t i = 0; i < 10; i++)
                g_assert_true(hashmap_get(h, keys[i]) == keys[i]);
        for (size_t i = 10; i < N; i++)
                g_assert_cmpint(hashmap_put(h, keys[i], keys[i]), ==, 0);
        g_assert_cmpuint(hashmap_size(h), ==, N);
        for (size_t i = 0; i < N; i++)
                g_assert_true(hashmap_get(h, keys[i]) == keys[i]);
        g_assert_cmpint(hashmap_reserve(h, SIZE_MAX / 2), ==, -ENOMEM);
        g_assert_true(hashmap_get(h, keys[N - 1]) == keys[N - 1]);
        g_free(keys);
}

/* Remove in every order within small maps, where collisions and wrap-around are frequent. */
static void test_remove_orders(void) {
        char keys[40][8];

        for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
                g_snprintf(keys[i], sizeof keys[i], ":1.%zu", i);
        for (size_t start = 0; start < G_N_ELEMENTS(keys); start++) {
                g_autoptr(Hashmap) h = hashmap_new();
                for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
                        g_assert_cmpint(hashmap_put(h, keys[i], keys[i]), ==, 0);
                for (size_t k = 0; k < G_N_ELEMENTS(keys); k++) {
                        size_t i = (start + k * 7) % G_N_ELEMENTS(keys);
                        g_assert_true(hashmap_remove(h, keys[i]) == keys[i]);
                        g_assert_null(hashmap_get(h, keys[i]));
                        for (size_t m = k + 1; m < G_N_ELEMENTS(keys); m++) {
                                size_t left = (start + m * 7) % G_N_ELEMENTS(keys);
                                g_assert_true(hashmap_get(h, keys[left]) == keys[left]);
                        }
                }
                g_assert_cmpuint(hashmap_size(h), ==, 0);
        }
}

/* A uid's key is its decimal digits, as printf() writes them, for every number of digits. */
static void test_uid_key(void) {
        static const uid_t uids[] = { 0, 7, 10, 99, 1000, 65534, 123456789, 4294967294u, 4294967295u };

        for (size_t i = 0; i < G_N_ELEMENTS(uids); i++) {
                char expected[16];

                g_snprintf(expected, sizeof expected, "%u", (unsigned) uids[i]);
                g_assert_cmpstr(uid_key(uids[i]).s, ==, expected);
        }
}

const TestCase test_cases[] = {
        { "/hashmap/put-get", test_put_get },
        { "/hashmap/many", test_many },
        { "/hashmap/remove-orders", test_remove_orders },
        { "/hashmap/reserve", test_reserve },
        { "/hashmap/uid-key", test_uid_key },
        { NULL, NULL }
};
