/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A binary min-heap of intrusive nodes: the element holds a HeapNode, which remembers its place
 * in the heap, so that removing any element and moving one whose key changed are O(log n)
 * without a search. The caller's compare function orders the elements; it must be a strict
 * weak order that stays fixed while an element is in the heap (change a key, then call
 * heap_update()). A node is in at most one heap at a time. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HEAP_NOT_IN SIZE_MAX

typedef struct HeapNode {
        size_t index;           /* HEAP_NOT_IN while in no heap */
} HeapNode;

/* Negative when a comes before b, positive when after, 0 when equal. */
typedef int (*HeapCompare)(const HeapNode *a, const HeapNode *b, void *userdata);

typedef struct Heap {
        HeapNode **nodes;
        size_t n, allocated;
        HeapCompare compare;
        void *userdata;
} Heap;

/* The element of type `type` whose member `member` is `node`; NULL for a NULL node. */
#define HEAP_ENTRY(node, type, member) ((type *) heap_entry_impl((node), offsetof(type, member)))

static inline void *heap_entry_impl(const HeapNode *node, size_t offset) {
        return node ? (char *) node - offset : NULL;
}

#define HEAP_NODE_INIT ((HeapNode) { .index = HEAP_NOT_IN })

void heap_init(Heap *h, HeapCompare compare, void *userdata);
/* Frees the room; the nodes still in it are left out of any heap. */
void heap_done(Heap *h);

/* Room for n nodes, so that pushes up to that many cannot fail. -ENOMEM. */
int heap_reserve(Heap *h, size_t n);
/* -ENOMEM when the heap cannot grow; then nothing changed. */
int heap_push(Heap *h, HeapNode *node);
void heap_remove(Heap *h, HeapNode *node);
/* After the key of `node`, which is in `h`, changed. */
void heap_update(Heap *h, HeapNode *node);
HeapNode *heap_pop(Heap *h);

static inline HeapNode *heap_top(const Heap *h) {
        return h->n > 0 ? h->nodes[0] : NULL;
}

static inline size_t heap_size(const Heap *h) {
        return h->n;
}

static inline bool heap_node_is_in(const HeapNode *node) {
        return node->index != HEAP_NOT_IN;
}
