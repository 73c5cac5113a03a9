/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The intrusive list (shared/list.c): order, removal from anywhere, the count, and the way
 * back from a node to its element. */
#include <glib.h>

#include "list.h"
#include "test-cases.h"

typedef struct Item {
        int value;
        ListNode node;
} Item;

static void assert_order(const List *l, const int *want, size_t n) {
        size_t i = 0;

        g_assert_cmpuint(l->n, ==, n);
        for (ListNode *p = l->head; p; p = p->next, i++) {
                g_assert_cmpuint(i, <, n);
                g_assert_cmpint(LIST_ENTRY(p, Item, node)->value, ==, want[i]);
        }
        g_assert_cmpuint(i, ==, n);
        /* Backwards too: prev links agree with next links. */
        for (ListNode *p = l->tail; p; p = p->prev)
                g_assert_cmpint(LIST_ENTRY(p, Item, node)->value, ==, want[--i]);
        g_assert_cmpuint(i, ==, 0);
}

static void test_append_prepend(void) {
        Item a = { .value = 1 }, b = { .value = 2 }, c = { .value = 3 };
        List l = { .head = NULL };

        g_assert_true(list_is_empty(&l));
        g_assert_null(LIST_ENTRY(l.head, Item, node));
        list_append(&l, &b.node);
        list_append(&l, &c.node);
        list_prepend(&l, &a.node);
        g_assert_false(list_is_empty(&l));
        assert_order(&l, (const int[]) { 1, 2, 3 }, 3);
        g_assert_true(LIST_ENTRY(l.head, Item, node) == &a);
        g_assert_true(LIST_ENTRY(l.tail, Item, node) == &c);
}

static void test_remove(void) {
        Item v[4] = { { .value = 0 }, { .value = 1 }, { .value = 2 }, { .value = 3 } };
        List l = { .head = NULL };

        for (size_t i = 0; i < G_N_ELEMENTS(v); i++)
                list_append(&l, &v[i].node);

        /* The middle, the head, the tail, then the last one. */
        list_remove(&l, &v[2].node);
        assert_order(&l, (const int[]) { 0, 1, 3 }, 3);
        list_remove(&l, &v[0].node);
        assert_order(&l, (const int[]) { 1, 3 }, 2);
        list_remove(&l, &v[3].node);
        assert_order(&l, (const int[]) { 1 }, 1);
        list_remove(&l, &v[1].node);
        g_assert_true(list_is_empty(&l));
        g_assert_null(l.tail);
        g_assert_cmpuint(l.n, ==, 0);

        /* A removed node is unlinked and can join again. */
        g_assert_null(v[2].node.prev);
        g_assert_null(v[2].node.next);
        list_prepend(&l, &v[2].node);
        assert_order(&l, (const int[]) { 2 }, 1);
}

static void test_linked(void) {
        Item a = { .value = 1 }, b = { .value = 2 };
        List l = { .head = NULL }, other = { .head = NULL };

        g_assert_false(list_node_is_linked(&l, &a.node));
        list_append(&l, &a.node);
        /* The only element has neither neighbour: the head says it is in. */
        g_assert_true(list_node_is_linked(&l, &a.node));
        g_assert_false(list_node_is_linked(&other, &a.node));
        list_append(&l, &b.node);
        g_assert_true(list_node_is_linked(&l, &b.node));
        list_remove(&l, &a.node);
        g_assert_false(list_node_is_linked(&l, &a.node));
        g_assert_true(list_node_is_linked(&l, &b.node));
}

const TestCase test_cases[] = {
        { "/list/append-prepend", test_append_prepend },
        { "/list/remove", test_remove },
        { "/list/linked", test_linked },
        { NULL, NULL }
};
