/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>

#include "list.h"

/* Links n, in no list, between prev and next (NULL: that end of the list). */
static void list_link(List *l, ListNode *n, ListNode *prev, ListNode *next) {
        assert(!n->prev && !n->next && l->head != n);

        n->prev = prev;
        n->next = next;
        if (prev)
                prev->next = n;
        else
                l->head = n;
        if (next)
                next->prev = n;
        else
                l->tail = n;
        l->n++;
}

void list_append(List *l, ListNode *n) {
        assert(l);
        assert(n);

        list_link(l, n, l->tail, NULL);
}

void list_prepend(List *l, ListNode *n) {
        assert(l);
        assert(n);

        list_link(l, n, NULL, l->head);
}

void list_remove(List *l, ListNode *n) {
        assert(l);
        assert(n);
        assert(l->n > 0);

        if (n->prev)
                n->prev->next = n->next;
        else {
                assert(l->head == n);
                l->head = n->next;
        }
        if (n->next)
                n->next->prev = n->prev;
        else {
                assert(l->tail == n);
                l->tail = n->prev;
        }
        n->prev = n->next = NULL;
        l->n--;
}

bool list_node_is_linked(const List *l, const ListNode *n) {
        assert(l);
        assert(n);

        return n->prev || n->next || l->head == n;
}
