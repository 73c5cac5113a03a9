/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "body-buffer.h"

/* Buffers the sets hold beyond the first of each, all of them together (BODY_SHARED_MAX at
 * most): one transfer alone takes all it may (max + spare), which is what its speed needs, and
 * sixteen at once (one job's lanes, or several jobs) share them instead of holding 4 MiB to
 * 8 MiB each. The first is each set's own, so a set can always go on. The loop thread's. */
static unsigned shared_out;

struct BodySet {
        List free;
        unsigned max;
        unsigned spare;         /* how many it may have beyond max */
        unsigned n;             /* allocated: out, or in the free list */
        unsigned borrowed;      /* of them from the shared ones: given back as they are freed */
        bool starved;           /* a get found none: tell the owner when one is back */
        bool orphaned;
        BodySetAvailable available;
        void *userdata;
};

int body_set_new(unsigned max, unsigned spare, BodySetAvailable available, void *userdata, BodySet **ret) {
        assert(max > 0);
        assert(ret);

        *ret = malloc(sizeof **ret);
        if (!*ret)
                return -ENOMEM;
        **ret = (BodySet) { .max = max, .spare = spare, .available = available, .userdata = userdata };
        return 0;
}

static void buffer_free(BodySet *s, BodyBuffer *b) {
        s->n--;
        if (s->borrowed > 0) {
                s->borrowed--;
                shared_out--;
        }
        free(b);
}

static void set_free_buffers(BodySet *s) {
        BodyBuffer *b;

        while ((b = LIST_ENTRY(s->free.head, BodyBuffer, node))) {
                list_remove(&s->free, &b->node);
                buffer_free(s, b);
        }
}

void body_set_orphan(BodySet *s) {
        if (!s)
                return;
        set_free_buffers(s);
        if (s->n == 0) {
                free(s);
                return;
        }
        s->orphaned = true;
        s->available = NULL;
}

int body_set_get(BodySet *s, uint64_t offset, BodyBuffer **ret) {
        BodyBuffer *b;

        assert(s);
        assert(!s->orphaned);
        assert(ret);

        b = LIST_ENTRY(s->free.head, BodyBuffer, node);
        if (b)
                list_remove(&s->free, &b->node);
        else {
                /* Beyond the first only what the shared ones have left, up to max + spare; kept
                 * by the set until it goes (a buffer freed and allocated again at every MiB would
                 * cost page faults). A starved set has buffers out: one of them wakes it. */
                bool borrow = s->n > 0;
                if (borrow && (s->n >= s->max + s->spare || shared_out >= BODY_SHARED_MAX)) {
                        s->starved = true;
                        return -EAGAIN;
                }
                /* Not zeroed: only the bytes written into it are ever read. */
                b = malloc(sizeof *b + BODY_BUFFER_SIZE);
                if (!b)
                        return -ENOMEM;
                b->set = s;
                s->n++;
                if (borrow) {
                        s->borrowed++;
                        shared_out++;
                }
        }
        b->node = b->hash_node = (ListNode) { NULL, NULL };
        b->offset = offset;
        b->len = 0;
        b->refs = 1;
        b->range_hashed = b->hashed_ahead = false;
        *ret = b;
        return 0;
}

unsigned body_set_out(const BodySet *s) {
        assert(s);
        return s->n - (unsigned) s->free.n;
}

unsigned body_shared_out(void) {
        return shared_out;
}

BodyBuffer *body_buffer_ref(BodyBuffer *b) {
        assert(b);
        assert(b->refs > 0);

        b->refs++;
        return b;
}

void body_buffer_release(BodyBuffer *b) {
        BodySet *s;

        if (!b)
                return;
        assert(b->refs > 0);
        if (--b->refs > 0)
                return;
        s = b->set;
        if (s->orphaned) {
                buffer_free(s, b);
                if (s->n == 0)
                        free(s);
                return;
        }
        list_append(&s->free, &b->node);
        if (s->starved) {
                s->starved = false;
                /* May call back into the set (a get), never frees it. */
                if (s->available)
                        s->available(s->userdata);
        }
}

void body_buffer_release_all(List *l) {
        BodyBuffer *b;

        assert(l);

        while ((b = LIST_ENTRY(l->head, BodyBuffer, node))) {
                list_remove(l, &b->node);
                body_buffer_release(b);
        }
}
