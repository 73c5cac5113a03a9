/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CancelWhenOwnerGone: a job bound to a client is cancelled when that client is gone, so a
 * client that crashes (an apt method killed with SIGKILL, say) leaves no job and no
 * temporary file behind. What names a client is up to the caller (bus/ names a connection);
 * here it is an opaque string, stored with the job so that the binding survives a restart. */
#include "log.h"
#include "manager-internal.h"
#include "util.h"

/* The listed jobs bound to one client, found by its name: a client that leaves costs its own
 * jobs, not a walk of the queue. */
typedef struct OwnerBinding {
        char *client;           /* the map's key */
        List jobs;              /* Job.bound_node */
} OwnerBinding;

int owner_gone_bind(Job *j) {
        Manager *m;
        OwnerBinding *b;
        int r;

        assert(j);

        m = j->manager;
        if (!j->cancel_with)
                return 0;
        b = hashmap_get(m->bindings, j->cancel_with);
        if (b && list_node_is_linked(&b->jobs, &j->bound_node))
                return 0;
        if (!b) {
                b = calloc(1, sizeof *b);
                if (!b)
                        return -ENOMEM;
                b->client = strdup(j->cancel_with);
                if (!b->client) {
                        free(b);
                        return -ENOMEM;
                }
                r = hashmap_put(m->bindings, b->client, b);
                if (r < 0) {
                        free(b->client);
                        free(b);
                        return r;
                }
        }
        list_append(&b->jobs, &j->bound_node);
        return 0;
}

static void owner_binding_free(OwnerBinding *b) {
        free(b->client);
        free(b);
}

void owner_gone_unbind(Job *j) {
        Manager *m;
        OwnerBinding *b;

        assert(j);

        m = j->manager;
        if (!j->cancel_with)
                return;
        b = hashmap_get(m->bindings, j->cancel_with);
        if (!b || !list_node_is_linked(&b->jobs, &j->bound_node))
                return;
        list_remove(&b->jobs, &j->bound_node);
        if (list_is_empty(&b->jobs)) {
                (void) hashmap_remove(m->bindings, b->client);
                owner_binding_free(b);
        }
}

bool manager_has_bindings(Manager *m) {
        assert(m);

        return hashmap_size(m->bindings) > 0;
}

void owner_gone_done(Manager *m) {
        size_t i = 0;
        void *v;

        assert(m);

        while (hashmap_iterate(m->bindings, &i, &v))
                owner_binding_free(v);
        m->bindings = hashmap_free(m->bindings);
}

int job_set_cancel_with(Job *j, const char *client, CallError *e) {
        char *copy, *old;
        int r;

        assert(j);

        r = job_check_not_final(j, "its CancelWhenOwnerGone", e);
        if (r < 0)
                return r;
        if (streq_ptr(j->cancel_with, client))
                return 0;
        copy = client ? strdup(client) : NULL;
        if (client && !copy)
                return -ENOMEM;
        owner_gone_unbind(j);
        old = j->cancel_with;
        j->cancel_with = copy;
        /* Stored with the modification, before the caller hears of it; a store that refuses
         * it leaves the binding as it was. */
        r = job_apply(j, JOB_EVENT_MODIFY, e);
        if (r >= 0)
                r = owner_gone_bind(j);
        if (r < 0) {
                owner_gone_unbind(j);
                j->cancel_with = old;
                free(copy);
                (void) owner_gone_bind(j);
                return r;
        }
        free(old);
        manager_notify_changed(j, JOB_CHANGE_SETTINGS);
        return 0;
}

unsigned manager_client_gone(Manager *m, const char *client) {
        _cleanup_free_ Job **jobs = NULL;
        OwnerBinding *b;
        size_t n_jobs = 0;
        unsigned n = 0;

        assert(m);
        assert(client);

        b = hashmap_get(m->bindings, client);
        if (!b)
                return 0;
        /* Taken out first: each cancelled job leaves its binding, the last one frees it. */
        jobs = calloc(b->jobs.n, sizeof(Job *));
        if (!jobs) {
                log_oom();
                return 0;
        }
        for (ListNode *node = b->jobs.head; node; node = node->next)
                jobs[n_jobs++] = LIST_ENTRY(node, Job, bound_node);
        for (size_t i = 0; i < n_jobs; i++) {
                CallError e = { .kind = CALL_ERROR_NONE };
                Job *j = jobs[i];

                /* Listed jobs are freed only once final and retired, never by another's
                 * cancel: each pointer holds; one that ended meanwhile is left alone. */
                if (job_state_is_final(j->state) || !streq_ptr(j->cancel_with, client))
                        continue;
                log_job_info(j->id, j->owner, NULL, "The client it was bound to is gone (CancelWhenOwnerGone): cancelling.");
                if (job_cancel(j, NULL, &e) < 0)
                        log_job_warning(j->id, j->owner, NULL, "Cannot cancel: %s", e.message);
                else
                        n++;
        }
        return n;
}
