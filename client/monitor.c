/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The jobs `monitor` tracks: found by id, added as signals name them, forgotten when removed. */

#include "job-lookup.h"
#include "monitor.h"

MonitorJob *monitor_job_free(MonitorJob *j) {
        if (!j)
                return NULL;
        sd_bus_slot_unref(j->read);
        job_status_done(&j->status);
        free(j->pending_old_state);
        free(j->removed_state);
        free(j->id);
        free(j->path);
        free(j->name);
        return mfree(j);
}

void monitor_done(Monitor *m) {
        assert(m);

        for (size_t i = 0; i < m->n_jobs; i++)
                monitor_job_free(m->jobs[i]);
        free(m->jobs);
        for (size_t i = 0; i < ELEMENTSOF(m->slots); i++)
                sd_bus_slot_unref(m->slots[i]);
        sd_bus_slot_unref(m->initial);
        json_writer_free(m->json);
}

void monitor_exit(Monitor *m, int status) {
        assert(m);

        m->done = true;
        sd_event_exit(m->ctl->event, status);
}

MonitorJob *monitor_find(Monitor *m, const char *id) {
        assert(m);
        assert(id);

        for (size_t i = 0; i < m->n_jobs; i++)
                if (streq(m->jobs[i]->id, id))
                        return m->jobs[i];
        return NULL;
}

MonitorJob *monitor_add(Monitor *m, const char *id) {
        MonitorJob *j;

        assert(m);
        assert(id);

        j = monitor_find(m, id);
        if (j)
                return j;

        j = calloc(1, sizeof *j);
        if (!j)
                return NULL;
        j->monitor = m;
        j->status = (JobStatus) JOB_STATUS_INIT;
        j->id = strdup(id);
        j->path = job_id_to_path(id);
        if (!j->id || !j->path ||
            array_reserve((void **) &m->jobs, &m->n_jobs_allocated, m->n_jobs + 1, sizeof(MonitorJob *)) < 0)
                return monitor_job_free(j);
        m->jobs[m->n_jobs++] = j;
        return j;
}

void monitor_remove(Monitor *m, MonitorJob *j) {
        assert(m);
        assert(j);

        for (size_t i = 0; i < m->n_jobs; i++)
                if (m->jobs[i] == j) {
                        m->jobs[i] = m->jobs[--m->n_jobs];
                        break;
                }
        monitor_job_free(j);
}

bool monitor_shows(Monitor *m, MonitorJob *j) {
        assert(m);
        assert(j);

        return j->access == ACCESS_ALLOWED || (m->ctl->all && j->access == ACCESS_DENIED);
}
