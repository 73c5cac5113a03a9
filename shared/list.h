/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* An intrusive doubly linked list: the element holds a ListNode, the list its ends and its
 * length. Append, prepend and remove are O(1) and never allocate, so an element can leave a
 * list from any place (a job freed while queued for a batch) without a walk. */

#include <stdbool.h>
#include <stddef.h>

typedef struct ListNode {
        struct ListNode *prev, *next;
} ListNode;

typedef struct List {
        ListNode *head, *tail;
        size_t n;
} List;

/* The element of type `type` whose member `member` is `node`; NULL for a NULL node. */
#define LIST_ENTRY(node, type, member)                                                 \
        ((type *) list_entry_impl((node), offsetof(type, member)))

static inline void *list_entry_impl(const ListNode *node, size_t offset) {
        return node ? (char *) node - offset : NULL;
}

void list_append(List *l, ListNode *n);
void list_prepend(List *l, ListNode *n);
void list_remove(List *l, ListNode *n);

/* Whether `n` is in `l`, for a node that is only ever in `l` or in no list. */
bool list_node_is_linked(const List *l, const ListNode *n);

static inline bool list_is_empty(const List *l) {
        return !l->head;
}
