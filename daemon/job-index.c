/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Where jobs are kept: the queue and retained lists (shared/list), and the index by id
 * (shared/hashmap). */
#include "manager-internal.h"
#include "util.h"

Job *manager_first_job(Manager *m) {
        assert(m);

        return job_first(&m->jobs);
}

size_t manager_n_jobs(Manager *m) {
        assert(m);

        return m->jobs.n;
}

/* A row of ListJobs reads a job (its link, id, owner, state, display name and files: three or
 * four cache lines), its display name, its files' array and the file's counters. 100 000 jobs
 * are 64 MB of these, in no cache: read one after the other, a row waited for about seven
 * misses, most of them in a chain (job, files, file). Here each line is asked for as soon as
 * its address is known: three jobs ahead the job, two ahead what it points to, one ahead the
 * file. */
void job_prefetch_ahead(const Job *j) {
        const Job *n1, *n2, *n3;

        assert(j);

        n1 = job_next(j);
        if (!n1)
                return;
        if (n1->n_files > 0) {
                __builtin_prefetch(&n1->files[0]->bytes_total);
                __builtin_prefetch(&n1->files[0]->bytes_transferred);
        }
        n2 = job_next(n1);
        if (!n2)
                return;
        __builtin_prefetch(n2->display_name);
        __builtin_prefetch(n2->files);
        n3 = job_next(n2);
        if (!n3)
                return;
        __builtin_prefetch(&n3->queue_node);
        __builtin_prefetch(&n3->id[sizeof n3->id - 1]);
        __builtin_prefetch(&n3->owner);
        __builtin_prefetch(&n3->display_name);
        __builtin_prefetch(&n3->files);
        __builtin_prefetch(&n3->n_files);
}

Job *manager_first_retained(Manager *m) {
        assert(m);

        return job_first(&m->retained);
}

/* Every lookup of a call, property read or signal goes through here: a hash, not a walk of
 * thousands of jobs. */
Job *manager_find_job(Manager *m, const char *id) {
        assert(m);
        assert(id);

        return hashmap_get(m->index, id);
}

int job_index_add(Manager *m, Job *j) {
        assert(m);
        assert(j);

        return hashmap_put(m->index, j->id, j);
}

/* A job that joins the queue (a new one, or one loaded at start-up) is known to the index by
 * id, the scheduler and, when bound, its owner's connection: all of it or, on failure, none
 * of it (the caller still owns the job). */
int job_index_enter(Manager *m, Job *j) {
        int r;

        assert(m);
        assert(j);

        r = job_index_add(m, j);
        if (r < 0)
                return r;
        r = scheduler_job_added(j);
        if (r >= 0) {
                r = owner_gone_bind(j);
                if (r < 0)
                        scheduler_job_removed(j);
        }
        if (r < 0)
                job_index_remove(m, j);
        return r;
}

void job_index_remove(Manager *m, Job *j) {
        assert(m);
        assert(j);

        (void) hashmap_remove(m->index, j->id);
}

/* Kept by the scheduler's queue, which holds every listed job. */
unsigned manager_count_jobs(Manager *m, uid_t owner) {
        assert(m);

        return scheduler_queue_user_jobs(m->schedule_queue, owner);
}
