/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>

#include "list.h"

void list_append(List *l, ListNode *n) {
        assert(l);
        assert(n);
        assert(!n->prev && !n->next && l->head != n);

        n->prev = l->tail;
        if (l->tail)
                l->tail->next = n;
        else
                l->head = n;
        l->tail = n;
        l->n++;
}

void list_prepend(List *l, ListNode *n) {
        assert(l);
        assert(n);
        assert(!n->prev && !n->next && l->head != n);

        n->next = l->head;
        if (l->head)
                l->head->prev = n;
        else
                l->tail = n;
        l->head = n;
        l->n++;
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
