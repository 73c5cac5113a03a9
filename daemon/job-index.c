/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Where jobs are kept: the queue and retained lists, and the index by id. */
#include <ctype.h>

#include "manager-internal.h"
#include "util.h"

void list_remove(Job **head, Job **tail, Job *j) {
        if (j->prev)
                j->prev->next = j->next;
        else
                *head = j->next;
        if (j->next)
                j->next->prev = j->prev;
        else
                *tail = j->prev;
        j->prev = j->next = NULL;
}

void list_append(Job **head, Job **tail, Job *j) {
        j->prev = *tail;
        j->next = NULL;
        if (*tail)
                (*tail)->next = j;
        else
                *head = j;
        *tail = j;
}

Job *manager_first_job(Manager *m) {
        return m->jobs_head;
}

Job *manager_first_retained(Manager *m) {
        return m->retained_head;
}

/* Ids are random: their first 16 hex digits are a good hash already. */
static size_t id_hash(const char *id, size_t n_buckets) {
        uint64_t h = 0;

        for (size_t i = 0; i < 16 && id[i]; i++)
                h = h * 16 + (uint64_t) (isdigit((unsigned char) id[i]) ? id[i] - '0' : (id[i] | 0x20) - 'a' + 10);
        return (size_t) (h % n_buckets);
}

/* Every lookup of a call, property read or signal goes through here: a hash, not a walk of
 * thousands of jobs. */
Job *manager_find_job(Manager *m, const char *id) {
        if (m->n_index_buckets == 0)
                return NULL;
        for (Job *j = m->index[id_hash(id, m->n_index_buckets)]; j; j = j->index_next)
                if (streq(j->id, id))
                        return j;
        return NULL;
}

int job_index_add(Manager *m, Job *j) {
        if (m->n_indexed + 1 > m->n_index_buckets) {
                size_t n = m->n_index_buckets ? m->n_index_buckets * 4 : 64;
                Job **buckets = calloc(n, sizeof *buckets);
                if (!buckets)
                        return -ENOMEM;
                for (size_t b = 0; b < m->n_index_buckets; b++)
                        for (Job *k = m->index[b], *next; k; k = next) {
                                next = k->index_next;
                                size_t h = id_hash(k->id, n);
                                k->index_next = buckets[h];
                                buckets[h] = k;
                        }
                free(m->index);
                m->index = buckets;
                m->n_index_buckets = n;
        }
        size_t h = id_hash(j->id, m->n_index_buckets);
        j->index_next = m->index[h];
        m->index[h] = j;
        m->n_indexed++;
        return 0;
}

void job_index_remove(Manager *m, Job *j) {
        if (m->n_index_buckets == 0)
                return;
        for (Job **p = &m->index[id_hash(j->id, m->n_index_buckets)]; *p; p = &(*p)->index_next)
                if (*p == j) {
                        *p = j->index_next;
                        j->index_next = NULL;
                        m->n_indexed--;
                        return;
                }
}

unsigned manager_count_jobs(Manager *m, uid_t owner) {
        unsigned n = 0;

        for (Job *j = m->jobs_head; j; j = j->next)
                if (j->owner == owner)
                        n++;
        return n;
}
