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
/* Sets not orphaned: each may borrow its even part of the shared ones. */
static unsigned live_sets;

/* At least one: sixteen sets or more each fill one buffer while the writer has the other. */
static unsigned fair_share(void) {
        unsigned share = BODY_SHARED_MAX / (live_sets > 0 ? live_sets : 1);

        return share > 0 ? share : 1;
}

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
        live_sets++;
        return 0;
}

/* Buffers of small bodies, freed, kept for the next sets: 16 small downloads at a time each
 * took a buffer from the heap and gave it back at its end, and the heap's top went back to the
 * kernel and came again (brk(), a page fault for each page the next one touched), 2 to 5
 * page faults a job of 1000 × 16 KiB. Only buffers that never held more than
 * BODY_SPARE_TOUCHED bytes: a few pages each in memory, at most BODY_SPARE_MAX of them. */
#define BODY_SPARE_MAX 16u
#define BODY_SPARE_TOUCHED (64u * 1024u)
static List spare;

static void buffer_free(BodySet *s, BodyBuffer *b) {
        s->n--;
        if (s->borrowed > 0) {
                s->borrowed--;
                shared_out--;
        }
        if (b->touched <= BODY_SPARE_TOUCHED && spare.n < BODY_SPARE_MAX) {
                b->node = (ListNode) { NULL, NULL };
                list_append(&spare, &b->node);
                return;
        }
        free(b);
}

unsigned body_spare_count(void) {
        return (unsigned) spare.n;
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
        live_sets--;
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
                /* Beyond the first only what the shared ones have left, up to max + spare and
                 * the set's even part of them; kept by the set while it stays within that part
                 * (a buffer freed and allocated again at every MiB would cost page faults). A
                 * starved set has buffers out: one of them wakes it. */
                bool borrow = s->n > 0;
                if (borrow && (s->n >= s->max + s->spare || shared_out >= BODY_SHARED_MAX ||
                               s->borrowed >= fair_share())) {
                        s->starved = true;
                        return -EAGAIN;
                }
                /* Not zeroed: only the bytes written into it are ever read. */
                b = LIST_ENTRY(spare.head, BodyBuffer, node);
                if (b)
                        list_remove(&spare, &b->node);
                else {
                        b = malloc(sizeof *b + BODY_BUFFER_SIZE);
                        if (!b)
                                return -ENOMEM;
                        b->touched = 0;
                }
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
        if (b->len > b->touched)
                b->touched = b->len;
        s = b->set;
        if (s->orphaned) {
                buffer_free(s, b);
                if (s->n == 0)
                        free(s);
                return;
        }
        /* More sets came since it borrowed: what is beyond its part goes back for them (a set
         * waiting for it takes it first). */
        if (!s->starved && s->borrowed > fair_share()) {
                buffer_free(s, b);
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
