/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The heap (shared/heap.c): thousands of random pushes, removals from anywhere, key changes
 * and pops, every one checked against a plain array searched from end to end. */
#include <glib.h>

#include "heap.h"
#include "test-cases.h"

typedef struct Item {
        unsigned id;
        int key;
        bool in;                /* the reference: in the heap or not */
        HeapNode node;
} Item;

/* By key, then by id: a total order, so there is one right answer to every pop. */
static int item_compare(const HeapNode *a, const HeapNode *b, void *userdata) {
        const Item *x = HEAP_ENTRY(a, Item, node), *y = HEAP_ENTRY(b, Item, node);

        g_assert_true(userdata == (void *) 0x1);
        if (x->key != y->key)
                return x->key < y->key ? -1 : 1;
        return x->id < y->id ? -1 : x->id > y->id;
}

static Item *reference_min(Item *v, size_t n) {
        Item *best = NULL;

        for (size_t i = 0; i < n; i++)
                if (v[i].in && (!best || item_compare(&v[i].node, &best->node, (void *) 0x1) < 0))
                        best = &v[i];
        return best;
}

/* Every parent before its children, every node where it says it is. */
static void assert_heap(const Heap *h, const Item *v, size_t n) {
        size_t in = 0;

        for (size_t i = 0; i < n; i++)
                in += v[i].in;
        g_assert_cmpuint(heap_size(h), ==, in);
        for (size_t i = 0; i < h->n; i++) {
                g_assert_cmpuint(h->nodes[i]->index, ==, i);
                g_assert_true(HEAP_ENTRY(h->nodes[i], Item, node)->in);
                if (i > 0)
                        g_assert_cmpint(item_compare(h->nodes[(i - 1) / 2], h->nodes[i], (void *) 0x1), <, 0);
        }
        for (size_t i = 0; i < n; i++)
                g_assert_true(heap_node_is_in(&v[i].node) == v[i].in);
}

static void test_basic(void) {
        Item v[3] = { { .id = 0, .key = 5 }, { .id = 1, .key = 1 }, { .id = 2, .key = 3 } };
        Heap h;

        heap_init(&h, item_compare, (void *) 0x1);
        g_assert_null(heap_top(&h));
        g_assert_null(heap_pop(&h));
        for (size_t i = 0; i < 3; i++) {
                v[i].node = HEAP_NODE_INIT;
                g_assert_cmpint(heap_push(&h, &v[i].node), ==, 0);
        }
        g_assert_true(HEAP_ENTRY(heap_top(&h), Item, node) == &v[1]);
        /* A key that changes moves its node: up, then down. */
        v[0].key = 0;
        heap_update(&h, &v[0].node);
        g_assert_true(HEAP_ENTRY(heap_top(&h), Item, node) == &v[0]);
        v[0].key = 9;
        heap_update(&h, &v[0].node);
        g_assert_true(HEAP_ENTRY(heap_pop(&h), Item, node) == &v[1]);
        g_assert_false(heap_node_is_in(&v[1].node));
        heap_remove(&h, &v[0].node);
        g_assert_true(HEAP_ENTRY(heap_pop(&h), Item, node) == &v[2]);
        g_assert_null(heap_pop(&h));
        heap_done(&h);
}

static void test_random(void) {
        enum { N = 500, STEPS = 20000 };
        Item *v = g_new0(Item, N);
        GRand *rand = g_rand_new_with_seed(17);
        Heap h;

        heap_init(&h, item_compare, (void *) 0x1);
        for (unsigned i = 0; i < N; i++)
                v[i] = (Item) { .id = i, .key = g_rand_int_range(rand, 0, 50), .node = HEAP_NODE_INIT };

        for (unsigned step = 0; step < STEPS; step++) {
                Item *it = &v[g_rand_int_range(rand, 0, N)];

                switch (g_rand_int_range(rand, 0, 4)) {
                case 0: /* push, or a new key for one that is in */
                        if (!it->in) {
                                g_assert_cmpint(heap_push(&h, &it->node), ==, 0);
                                it->in = true;
                                break;
                        }
                        /* fall through */
                case 1:
                        if (it->in) {
                                it->key = g_rand_int_range(rand, 0, 50);
                                heap_update(&h, &it->node);
                        }
                        break;
                case 2:
                        if (it->in) {
                                heap_remove(&h, &it->node);
                                it->in = false;
                        }
                        break;
                case 3: {
                        Item *want = reference_min(v, N);
                        Item *got = HEAP_ENTRY(heap_pop(&h), Item, node);
                        g_assert_true(got == want);
                        if (got)
                                got->in = false;
                        break;
                }
                }
                g_assert_true(HEAP_ENTRY(heap_top(&h), Item, node) == reference_min(v, N));
                if (step % 97 == 0)
                        assert_heap(&h, v, N);
        }
        assert_heap(&h, v, N);

        /* Done with nodes inside: they are in no heap afterwards. */
        heap_done(&h);
        for (unsigned i = 0; i < N; i++)
                g_assert_false(heap_node_is_in(&v[i].node));
        g_rand_free(rand);
        g_free(v);
}

const TestCase test_cases[] = {
        { "/heap/basic", test_basic },
        { "/heap/random", test_random },
        { NULL, NULL }
};
