/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "heap.h"
#include "util.h"

void heap_init(Heap *h, HeapCompare compare, void *userdata) {
        assert(h);
        assert(compare);

        *h = (Heap) { .compare = compare, .userdata = userdata };
}

void heap_done(Heap *h) {
        assert(h);

        for (size_t i = 0; i < h->n; i++)
                h->nodes[i]->index = HEAP_NOT_IN;
        h->nodes = mfree(h->nodes);
        h->n = h->allocated = 0;
}

static bool heap_before(const Heap *h, size_t a, size_t b) {
        return h->compare(h->nodes[a], h->nodes[b], h->userdata) < 0;
}

static void heap_swap(Heap *h, size_t a, size_t b) {
        HeapNode *t = h->nodes[a];

        h->nodes[a] = h->nodes[b];
        h->nodes[b] = t;
        h->nodes[a]->index = a;
        h->nodes[b]->index = b;
}

/* Returns whether the node moved. */
static bool heap_sift_up(Heap *h, size_t i) {
        size_t start = i;

        while (i > 0 && heap_before(h, i, (i - 1) / 2)) {
                heap_swap(h, i, (i - 1) / 2);
                i = (i - 1) / 2;
        }
        return i != start;
}

static void heap_sift_down(Heap *h, size_t i) {
        for (;;) {
                size_t l = 2 * i + 1, r = l + 1, best = i;

                if (l < h->n && heap_before(h, l, best))
                        best = l;
                if (r < h->n && heap_before(h, r, best))
                        best = r;
                if (best == i)
                        return;
                heap_swap(h, i, best);
                i = best;
        }
}

int heap_reserve(Heap *h, size_t n) {
        assert(h);

        return array_reserve((void **) &h->nodes, &h->allocated, n, sizeof *h->nodes);
}

int heap_push(Heap *h, HeapNode *node) {
        int r;

        assert(h);
        assert(node);
        assert(!heap_node_is_in(node));

        r = heap_reserve(h, h->n + 1);
        if (r < 0)
                return r;
        h->nodes[h->n] = node;
        node->index = h->n++;
        (void) heap_sift_up(h, node->index);
        return 0;
}

void heap_remove(Heap *h, HeapNode *node) {
        size_t i;

        assert(h);
        assert(node);
        assert(node->index < h->n && h->nodes[node->index] == node);

        i = node->index;
        node->index = HEAP_NOT_IN;
        if (i == --h->n)
                return;
        /* The last node takes the hole and goes up or down from there. */
        h->nodes[i] = h->nodes[h->n];
        h->nodes[i]->index = i;
        heap_update(h, h->nodes[i]);
}

void heap_update(Heap *h, HeapNode *node) {
        assert(h);
        assert(node);
        assert(node->index < h->n && h->nodes[node->index] == node);

        if (!heap_sift_up(h, node->index))
                heap_sift_down(h, node->index);
}

HeapNode *heap_pop(Heap *h) {
        HeapNode *top;

        assert(h);

        top = heap_top(h);
        if (top)
                heap_remove(h, top);
        return top;
}
