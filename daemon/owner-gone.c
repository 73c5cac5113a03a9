/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CancelWhenOwnerGone: a job bound to a client is cancelled when that client is gone, so a
 * client that crashes (an apt method killed with SIGKILL, say) leaves no job and no
 * temporary file behind. What names a client is up to the caller (bus/ names a connection);
 * here it is an opaque string, stored with the job so that the binding survives a restart. */
#include "log.h"
#include "manager-internal.h"
#include "util.h"

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
        old = j->cancel_with;
        j->cancel_with = copy;
        /* Stored with the modification, before the caller hears of it; a store that refuses
         * it leaves the binding as it was. */
        r = job_apply(j, JOB_EVENT_MODIFY, e);
        if (r < 0) {
                j->cancel_with = old;
                free(copy);
                return r;
        }
        free(old);
        manager_notify_changed(j, JOB_CHANGE_SETTINGS);
        return 0;
}

unsigned manager_client_gone(Manager *m, const char *client) {
        unsigned n = 0;

        assert(m);
        assert(client);

        /* Bound jobs are few (one per download of a running client), but any job may be: a
         * walk of the queue, without a store or bus call for the jobs that are not. */
        for (Job *j = job_first(&m->jobs), *next; j; j = next) {
                CallError e = { .kind = CALL_ERROR_NONE };

                next = job_next(j);  /* a cancelled job leaves the queue */
                if (!streq_ptr(j->cancel_with, client))
                        continue;
                log_job_info(j->id, j->owner, NULL, "The client it was bound to is gone (CancelWhenOwnerGone): cancelling.");
                if (job_cancel(j, NULL, &e) < 0)
                        log_job_warning(j->id, j->owner, NULL, "Cannot cancel: %s", e.message);
                else
                        n++;
        }
        return n;
}
