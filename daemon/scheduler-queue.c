/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "hashmap.h"
#include "scheduler-queue.h"
#include "util.h"

struct SchedulerUser {
        uid_t owner;
        UidKey key;                     /* the owner: the map's key */
        unsigned n_items;               /* its jobs in the queue; the user goes with the last */
        unsigned slots;                 /* active background jobs */
        unsigned foreground;            /* active foreground jobs */
        Heap background[SCHEDULER_CLASSES];     /* waiting background jobs, the policy's order */
        Heap foreground_waiting[SCHEDULER_CLASSES];     /* waiting foreground jobs, oldest first */
        /* Its best jobs whose class may go, as last placed: the keys of the users' heaps. */
        SchedulerItem *best_background, *best_foreground;
        HeapNode background_node;       /* in users_background while best_background is set */
        HeapNode foreground_node;       /* in users_foreground while best_foreground is set */
};

struct SchedulerQueue {
        Hashmap *users;
        Heap users_background;          /* by slots held, then best job */
        Heap users_foreground;          /* under the cap, by their oldest job */
        List active;
        unsigned active_background, owners, foreground_cap, go_mask;
        unsigned active_by_priority[_JOB_PRIORITY_MAX];                         /* background */
        unsigned waiting_by_priority[SCHEDULER_CLASSES][_JOB_PRIORITY_MAX];     /* background */
        SchedulerEntry *entries;
        SchedulerItem **items, **foreground_items;
        size_t n_entries_allocated, n_items_allocated, n_foreground_items_allocated;
        size_t n_foreground_waiting;
};

static bool item_is_background(const SchedulerItem *item) {
        return scheduler_is_background(item->priority);
}

/* scheduler_pick_queued()'s order within a user: priority, the longest wait for a turn, the
 * oldest. */
static int item_compare_background(const HeapNode *a, const HeapNode *b, void *userdata) {
        const SchedulerItem *x = HEAP_ENTRY(a, SchedulerItem, node), *y = HEAP_ENTRY(b, SchedulerItem, node);

        if (x->priority != y->priority)
                return x->priority < y->priority ? -1 : 1;
        if (x->run_started != y->run_started)
                return x->run_started < y->run_started ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int item_compare_foreground(const HeapNode *a, const HeapNode *b, void *userdata) {
        const SchedulerItem *x = HEAP_ENTRY(a, SchedulerItem, node), *y = HEAP_ENTRY(b, SchedulerItem, node);

        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Between users: the fewest slots first, then the better best job. */
static int user_compare_background(const HeapNode *a, const HeapNode *b, void *userdata) {
        const SchedulerUser *x = HEAP_ENTRY(a, SchedulerUser, background_node),
                            *y = HEAP_ENTRY(b, SchedulerUser, background_node);

        if (x->slots != y->slots)
                return x->slots < y->slots ? -1 : 1;
        return item_compare_background(&x->best_background->node, &y->best_background->node, NULL);
}

static int user_compare_foreground(const HeapNode *a, const HeapNode *b, void *userdata) {
        const SchedulerUser *x = HEAP_ENTRY(a, SchedulerUser, foreground_node),
                            *y = HEAP_ENTRY(b, SchedulerUser, foreground_node);

        return item_compare_foreground(&x->best_foreground->node, &y->best_foreground->node, NULL);
}

int scheduler_queue_new(unsigned foreground_cap, SchedulerQueue **ret) {
        SchedulerQueue *q;

        assert(ret);

        q = calloc(1, sizeof *q);
        if (!q)
                return -ENOMEM;
        q->users = hashmap_new();
        if (!q->users) {
                free(q);
                return -ENOMEM;
        }
        heap_init(&q->users_background, user_compare_background, NULL);
        heap_init(&q->users_foreground, user_compare_foreground, NULL);
        q->foreground_cap = foreground_cap;
        q->go_mask = (1U << SCHEDULER_CLASSES) - 1;
        *ret = q;
        return 0;
}

static void user_free(SchedulerUser *u) {
        for (unsigned c = 0; c < SCHEDULER_CLASSES; c++) {
                heap_done(&u->background[c]);
                heap_done(&u->foreground_waiting[c]);
        }
        free(u);
}

SchedulerQueue *scheduler_queue_free(SchedulerQueue *q) {
        size_t i = 0;
        void *v;

        if (!q)
                return NULL;
        /* The items stay where their jobs are; the jobs are freed by their owner. */
        while (hashmap_iterate(q->users, &i, &v))
                user_free(v);
        hashmap_free(q->users);
        heap_done(&q->users_background);
        heap_done(&q->users_foreground);
        free(q->entries);
        free(q->items);
        free(q->foreground_items);
        return mfree(q);
}

void scheduler_item_init(SchedulerItem *item, uid_t owner, uint64_t seq) {
        assert(item);

        *item = (SchedulerItem) {
                .priority = JOB_PRIORITY_NORMAL,
                .owner = owner,
                .seq = seq,
                .node = HEAP_NODE_INIT,
        };
}

bool scheduler_queue_class_goes(const SchedulerQueue *q, unsigned cost_class) {
        assert(q);
        assert(cost_class < SCHEDULER_CLASSES);

        return q->go_mask & (1U << cost_class);
}

/* The best top of the heaps of the classes that may go. */
static SchedulerItem *user_best(const SchedulerQueue *q, const Heap *heaps, HeapCompare compare) {
        HeapNode *best = NULL;

        for (unsigned c = 0; c < SCHEDULER_CLASSES; c++) {
                HeapNode *top = heap_top(&heaps[c]);
                if (top && scheduler_queue_class_goes(q, c) && (!best || compare(top, best, NULL) < 0))
                        best = top;
        }
        return HEAP_ENTRY(best, SchedulerItem, node);
}

/* Puts the user where its counts and best jobs say. The users' heaps have room for every
 * user (scheduler_queue_add), so this cannot fail. */
static void user_place_in(Heap *h, HeapNode *node, bool in) {
        if (in && heap_node_is_in(node))
                heap_update(h, node);
        else if (in) {
                int r = heap_push(h, node);
                assert(r >= 0);
                (void) r;
        }
        else if (heap_node_is_in(node))
                heap_remove(h, node);
}

static void user_place(SchedulerQueue *q, SchedulerUser *u) {
        bool may_start = u->owner == 0 || q->foreground_cap == 0 || u->foreground < q->foreground_cap;

        u->best_background = user_best(q, u->background, item_compare_background);
        user_place_in(&q->users_background, &u->background_node, u->best_background);
        u->best_foreground = may_start ? user_best(q, u->foreground_waiting, item_compare_foreground) : NULL;
        user_place_in(&q->users_foreground, &u->foreground_node, u->best_foreground);
}

static void item_unlink(SchedulerQueue *q, SchedulerItem *item) {
        SchedulerUser *u = item->user;

        if (heap_node_is_in(&item->node)) {
                if (item_is_background(item)) {
                        heap_remove(&u->background[item->cost_class], &item->node);
                        q->waiting_by_priority[item->cost_class][item->priority]--;
                } else {
                        heap_remove(&u->foreground_waiting[item->cost_class], &item->node);
                        q->n_foreground_waiting--;
                }
        }
        if (item->active) {
                list_remove(&q->active, &item->active_node);
                if (item_is_background(item)) {
                        q->active_background--;
                        q->active_by_priority[item->priority]--;
                        if (--u->slots == 0)
                                q->owners--;
                } else
                        u->foreground--;
        }
}

static int item_link(SchedulerQueue *q, SchedulerItem *item) {
        SchedulerUser *u = item->user;
        int r = 0;

        assert(!(item->waiting && item->active));
        assert(item->priority >= 0 && item->priority < _JOB_PRIORITY_MAX);
        assert(item->cost_class < SCHEDULER_CLASSES);

        if (item->active) {
                list_append(&q->active, &item->active_node);
                if (item_is_background(item)) {
                        q->active_background++;
                        q->active_by_priority[item->priority]++;
                        if (u->slots++ == 0)
                                q->owners++;
                } else
                        u->foreground++;
        }
        if (item->waiting) {
                if (item_is_background(item)) {
                        r = heap_push(&u->background[item->cost_class], &item->node);
                        if (r >= 0)
                                q->waiting_by_priority[item->cost_class][item->priority]++;
                } else {
                        r = heap_push(&u->foreground_waiting[item->cost_class], &item->node);
                        if (r >= 0)
                                q->n_foreground_waiting++;
                }
        }
        return r;
}

static SchedulerUser *user_find(const SchedulerQueue *q, uid_t owner) {
        return hashmap_get(q->users, uid_key(owner).s);
}

static int user_get(SchedulerQueue *q, uid_t owner, SchedulerUser **ret) {
        SchedulerUser *u;
        size_t n;
        int r;

        u = user_find(q, owner);
        if (u) {
                *ret = u;
                return 0;
        }
        /* Room in the users' heaps for every user, made now: placing one never fails. */
        n = hashmap_size(q->users) + 1;
        r = heap_reserve(&q->users_background, n);
        if (r < 0)
                return r;
        r = heap_reserve(&q->users_foreground, n);
        if (r < 0)
                return r;
        u = calloc(1, sizeof *u);
        if (!u)
                return -ENOMEM;
        u->owner = owner;
        u->key = uid_key(owner);
        for (unsigned c = 0; c < SCHEDULER_CLASSES; c++) {
                heap_init(&u->background[c], item_compare_background, NULL);
                heap_init(&u->foreground_waiting[c], item_compare_foreground, NULL);
        }
        u->background_node = u->foreground_node = HEAP_NODE_INIT;
        r = hashmap_put(q->users, u->key.s, u);
        if (r < 0) {
                free(u);
                return r;
        }
        *ret = u;
        return 0;
}

int scheduler_queue_add(SchedulerQueue *q, SchedulerItem *item) {
        SchedulerUser *u;
        int r;

        assert(q);
        assert(item);
        assert(!item->user);

        r = user_get(q, item->owner, &u);
        if (r < 0)
                return r;
        item->user = u;
        u->n_items++;
        r = item_link(q, item);
        user_place(q, u);
        return r;
}

void scheduler_queue_remove(SchedulerQueue *q, SchedulerItem *item) {
        SchedulerUser *u;

        assert(q);
        assert(item);

        u = item->user;
        if (!u)
                return;
        item_unlink(q, item);
        item->user = NULL;
        user_place(q, u);
        if (--u->n_items > 0)
                return;
        assert(!heap_node_is_in(&u->background_node) && !heap_node_is_in(&u->foreground_node));
        (void) hashmap_remove(q->users, u->key.s);
        user_free(u);
}

int scheduler_queue_update(SchedulerQueue *q, SchedulerItem *item, const SchedulerItem *now) {
        int r;

        assert(q);
        assert(item);
        assert(now);

        if (!item->user) {
                item->priority = now->priority;
                item->cost_class = now->cost_class;
                item->waiting = now->waiting;
                item->active = now->active;
                item->run_started = now->run_started;
                return 0;
        }
        item_unlink(q, item);
        item->priority = now->priority;
        item->cost_class = now->cost_class;
        item->waiting = now->waiting;
        item->active = now->active;
        item->run_started = now->run_started;
        r = item_link(q, item);
        user_place(q, item->user);
        return r;
}

void scheduler_queue_set_go(SchedulerQueue *q, unsigned go_mask) {
        size_t i = 0;
        void *v;

        assert(q);

        if (go_mask == q->go_mask)
                return;
        q->go_mask = go_mask;
        while (hashmap_iterate(q->users, &i, &v))
                user_place(q, v);
}

SchedulerItem *scheduler_queue_next_foreground(const SchedulerQueue *q) {
        HeapNode *top;

        assert(q);

        top = heap_top(&q->users_foreground);
        return top ? HEAP_ENTRY(top, SchedulerUser, foreground_node)->best_foreground : NULL;
}

SchedulerItem *scheduler_queue_next_background(const SchedulerQueue *q) {
        HeapNode *top;

        assert(q);

        top = heap_top(&q->users_background);
        return top ? HEAP_ENTRY(top, SchedulerUser, background_node)->best_background : NULL;
}

SchedulerEntry scheduler_queue_entry(const SchedulerQueue *q, const SchedulerItem *item) {
        assert(q);
        assert(item);
        assert(item->user);

        return (SchedulerEntry) {
                .priority = item->priority,
                .owner = item->owner,
                .queued = item->waiting && scheduler_queue_class_goes(q, item->cost_class),
                .active = item->active,
                .run_started = item->run_started,
                .owner_slots = item->user->slots,
                .owner_foreground = item->user->foreground,
        };
}

static int item_compare_seq(const void *a, const void *b) {
        const SchedulerItem *x = *(SchedulerItem *const *) a, *y = *(SchedulerItem *const *) b;

        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int scheduler_queue_active_entries(SchedulerQueue *q, SchedulerEntry **ret_entries, SchedulerItem ***ret_items,
                                   size_t *ret_n) {
        size_t n = 0;
        int r;

        assert(q);
        assert(ret_entries);
        assert(ret_items);
        assert(ret_n);

        r = array_reserve((void **) &q->entries, &q->n_entries_allocated, q->active.n, sizeof *q->entries);
        if (r < 0)
                return r;
        r = array_reserve((void **) &q->items, &q->n_items_allocated, q->active.n, sizeof *q->items);
        if (r < 0)
                return r;
        for (SchedulerItem *i = scheduler_queue_first_active(q); i; i = scheduler_queue_next_active(i))
                q->items[n++] = i;
        /* The policy breaks ties by the place in the queue. */
        if (n > 1)
                qsort(q->items, n, sizeof *q->items, item_compare_seq);
        for (size_t k = 0; k < n; k++)
                q->entries[k] = scheduler_queue_entry(q, q->items[k]);
        *ret_entries = q->entries;
        *ret_items = q->items;
        *ret_n = n;
        return 0;
}

int scheduler_queue_waiting_foreground(SchedulerQueue *q, SchedulerItem ***ret_items, size_t *ret_n) {
        size_t i = 0, n = 0;
        void *v;
        int r;

        assert(q);
        assert(ret_items);
        assert(ret_n);

        r = array_reserve((void **) &q->foreground_items, &q->n_foreground_items_allocated, q->n_foreground_waiting,
                          sizeof *q->foreground_items);
        if (r < 0)
                return r;
        while (hashmap_iterate(q->users, &i, &v)) {
                SchedulerUser *u = v;
                for (unsigned c = 0; c < SCHEDULER_CLASSES; c++)
                        for (size_t k = 0; k < heap_size(&u->foreground_waiting[c]); k++)
                                q->foreground_items[n++] =
                                        HEAP_ENTRY(u->foreground_waiting[c].nodes[k], SchedulerItem, node);
        }
        assert(n == q->n_foreground_waiting);
        *ret_items = q->foreground_items;
        *ret_n = n;
        return 0;
}

SchedulerItem *scheduler_queue_first_active(const SchedulerQueue *q) {
        assert(q);

        return LIST_ENTRY(q->active.head, SchedulerItem, active_node);
}

SchedulerItem *scheduler_queue_next_active(const SchedulerItem *item) {
        assert(item);

        return LIST_ENTRY(item->active_node.next, SchedulerItem, active_node);
}

unsigned scheduler_queue_active_background(const SchedulerQueue *q) {
        assert(q);

        return q->active_background;
}

size_t scheduler_queue_owners(const SchedulerQueue *q) {
        assert(q);

        return q->owners;
}

unsigned scheduler_queue_user_jobs(const SchedulerQueue *q, uid_t owner) {
        SchedulerUser *u;

        assert(q);

        u = user_find(q, owner);
        return u ? u->n_items : 0;
}

unsigned scheduler_queue_user_foreground(const SchedulerQueue *q, uid_t owner) {
        SchedulerUser *u;

        assert(q);

        u = user_find(q, owner);
        return u ? u->foreground : 0;
}

JobPriority scheduler_queue_best_background_priority(const SchedulerQueue *q) {
        assert(q);

        for (JobPriority p = 0; p < _JOB_PRIORITY_MAX; p++) {
                if (!scheduler_is_background(p))
                        continue;
                if (q->active_by_priority[p] > 0)
                        return p;
                for (unsigned c = 0; c < SCHEDULER_CLASSES; c++)
                        if (q->waiting_by_priority[c][p] > 0 && scheduler_queue_class_goes(q, c))
                                return p;
        }
        return _JOB_PRIORITY_MAX;
}
