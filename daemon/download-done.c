/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Downloads whose every file ended: their `transferred` taken together, in one commit, once the
 * loop has handled the news of the other transfers already there. */
#include "log.h"
#include "manager-internal.h"
#include "store.h"

static bool download_is_done(const Job *j) {
        return j->type == JOB_DOWNLOAD && job_state_is_active(j->state) && !j->lanes && !j->signed_list &&
               j->current >= j->n_files;
}

static void download_done_now(Job *j) {
        /* Every file's end is stored before the state that says so. */
        download_store_ends(j->manager, j, true);
        job_all_done(j);
}

/* The job's last file ended. Its `transferred` (with the files' ends) waits for the loop to
 * have nothing more urgent, and goes into one commit with those of the downloads that ended
 * meanwhile: a commit a job was a tenth of the loop's work for many small jobs. Nothing is
 * told before that commit; until then the job is what it was while its last file ran (a
 * crash loses only the downloads of those files), and it keeps its slot. */
void download_done_later(Job *j) {
        Manager *m;

        assert(j);

        m = j->manager;
        if (download_done_holds(j))
                return;
        if (!m->store || m->n_downloads_done == DOWNLOADS_DONE_MAX ||
            sd_event_source_set_enabled(m->downloads_done_source, SD_EVENT_ONESHOT) < 0) {
                download_done_now(j);
                return;
        }
        m->downloads_done[m->n_downloads_done++] = j;
        j->done_listed = true;
        manager_crash_point("download-done-listed");
}

void download_done_forget(Job *j) {
        Manager *m;
        unsigned kept = 0;

        assert(j);

        if (!j->done_listed)
                return;
        j->done_listed = false;
        m = j->manager;
        for (unsigned i = 0; i < m->n_downloads_done; i++)
                if (m->downloads_done[i] != j)
                        m->downloads_done[kept++] = m->downloads_done[i];
        m->n_downloads_done = kept;
}

bool download_done_holds(const Job *j) {
        assert(j);

        return j->done_listed;
}

int download_on_done(sd_event_source *s, void *userdata) {
        Manager *m = userdata;
        Job *done[DOWNLOADS_DONE_MAX];
        bool stored[DOWNLOADS_DONE_MAX];
        unsigned n = 0;
        int r;

        assert(m);

        /* A batch of Download calls still open is committed and told first, these jobs still
         * held: its commit is not theirs. */
        manager_batch_release(m);
        /* A call may have stopped one meanwhile (it stays as the call left it). */
        for (unsigned i = 0; i < m->n_downloads_done; i++) {
                m->downloads_done[i]->done_listed = false;
                if (download_is_done(m->downloads_done[i]))
                        done[n++] = m->downloads_done[i];
        }
        m->n_downloads_done = 0;
        /* What a job stopped meanwhile still has to tell (manager_changes_flush() held it). */
        if (!list_is_empty(&m->changed))
                (void) sd_event_source_set_enabled(m->changed_source, SD_EVENT_ONESHOT);
        if (n == 0)
                return 0;
        r = store_begin(m->store);
        for (unsigned i = 0; i < n; i++) {
                download_store_ends(m, done[i], true);
                stored[i] = r >= 0 && job_store_event(done[i], JOB_EVENT_ALL_DONE) >= 0;
        }
        if (r >= 0)
                r = store_end(m->store);
        log_debug("%u downloads done in one commit.", n);
        /* Committed: told in the order they ended. A failed commit leaves each to store
         * itself (and log its failure) as it would have alone. */
        for (unsigned i = 0; i < n; i++)
                if (r >= 0 && stored[i]) {
                        checkpoint_stored(done[i]);
                        job_all_done_stored(done[i]);
                } else
                        job_all_done(done[i]);
        return 0;
}
