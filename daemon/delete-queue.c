/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The termination DELETEs of cancelled uploads, retried until delivered. */
#include <inttypes.h>

#include "http-util.h"
#include "log.h"
#include "manager-internal.h"
#include "store.h"
#include "tus.h"
#include "url-strip.h"
#include "util.h"

#define DELETE_RETRY_MAX_USEC (600 * USEC_PER_SEC)

#define DELETE_GIVE_UP_USEC (24ULL * 3600 * USEC_PER_SEC)

void delete_queue_entry_free(DeleteEntry *d) {
        tus_delete_free(d->request);
        sd_event_source_disable_unref(d->timer);
        free(d->rec.url);
        strv_free(d->rec.headers);
        free(d);
}

static void manager_drop_delete(Manager *m, DeleteEntry *d) {
        list_remove(&m->pending_deletes, &d->node);
        (void) store_remove_pending_delete(m->store, d->rec.url);
        delete_queue_entry_free(d);
        idle_check(m);
}

static void delete_send(DeleteEntry *d);

/* The server's copy is gone: the retained job no longer names it, so a restart does not ask
 * again. */
static void manager_forget_upload_url(Manager *m, const char *url) {
        for (Job *j = job_first(&m->retained); j; j = job_next(j))
                if (j->upload_url && streq(j->upload_url, url)) {
                        j->upload_url = mfree(j->upload_url);
                        checkpoint_save_row(j);
                }
}

static int on_delete_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        delete_send(userdata);
        return 0;
}

static void on_delete_done(TusDelete *req, TusDeleteOutcome outcome, const char *message, void *userdata) {
        DeleteEntry *d = userdata;
        Manager *m = d->manager;
        uint64_t now = manager_now_realtime(m), delay;

        d->request = tus_delete_free(d->request);
        switch (outcome) {
        case TUS_DELETE_DONE:
                log_info("Removed the partial upload at %s from the server.", URL_SHOWN(d->rec.url));
                manager_forget_upload_url(m, d->rec.url);
                manager_drop_delete(m, d);
                return;
        case TUS_DELETE_UNSUPPORTED:
                log_notice("The server refused to delete the partial upload at %s (%s): it keeps the data.",
                           URL_SHOWN(d->rec.url), message);
                manager_drop_delete(m, d);
                return;
        case TUS_DELETE_RETRY:
                break;
        }

        d->rec.attempts++;
        if (now >= d->rec.deadline) {
                log_warning("Gave up deleting the partial upload at %s after %" PRIu32 " attempts: %s",
                            URL_SHOWN(d->rec.url), d->rec.attempts, message);
                manager_drop_delete(m, d);
                return;
        }
        delay = m->config.delete_retry_base_usec;
        for (uint32_t i = 1; i < d->rec.attempts && delay < DELETE_RETRY_MAX_USEC; i++)
                delay *= 2;
        if (delay > DELETE_RETRY_MAX_USEC)
                delay = DELETE_RETRY_MAX_USEC;
        d->rec.next_try = now + delay;
        (void) store_save_pending_delete(m->store, &d->rec);
        log_info("Cannot delete the partial upload at %s yet (%s); trying again in %" PRIu64 " s.",
                 URL_SHOWN(d->rec.url), message, delay / USEC_PER_SEC);

        int r = d->timer ? sd_event_source_set_time(d->timer, d->rec.next_try) : 0;
        if (r >= 0 && d->timer)
                r = sd_event_source_set_enabled(d->timer, SD_EVENT_ONESHOT);
        else if (r >= 0)
                r = sd_event_add_time(m->event, &d->timer, CLOCK_REALTIME, d->rec.next_try, USEC_PER_SEC,
                                      on_delete_timer, d);
        if (r < 0)
                log_error_errno(r, "Cannot arm the retry of the DELETE of %s", URL_SHOWN(d->rec.url));
}

static void delete_send(DeleteEntry *d) {
        HttpSettings http = { .headers = d->rec.headers };
        int r = tus_delete_start(d->manager->engine, d->rec.url, &http, on_delete_done, d, &d->request);
        if (r < 0)
                on_delete_done(NULL, TUS_DELETE_RETRY, strerror(-r), d);
}

static int manager_add_delete(Manager *m, const PendingDelete *rec, bool save) {
        _cleanup_free_ char *url = NULL;
        _cleanup_strv_free_ char **headers = NULL;
        DeleteEntry *d;

        for (d = LIST_ENTRY(m->pending_deletes.head, DeleteEntry, node); d; d = LIST_ENTRY(d->node.next, DeleteEntry, node))
                if (streq(d->rec.url, rec->url))
                        return 0;  /* already on its way */
        url = strdup(rec->url);
        if (!url || (rec->headers && !(headers = strv_copy(rec->headers))))
                return -ENOMEM;
        d = calloc(1, sizeof *d);
        if (!d)
                return -ENOMEM;
        d->manager = m;
        d->rec = *rec;
        d->rec.url = TAKE_PTR(url);
        d->rec.headers = TAKE_PTR(headers);
        list_prepend(&m->pending_deletes, &d->node);
        if (save)
                (void) store_save_pending_delete(m->store, &d->rec);

        if (d->rec.next_try > manager_now_realtime(m)) {
                int r = sd_event_add_time(m->event, &d->timer, CLOCK_REALTIME, d->rec.next_try, USEC_PER_SEC,
                                          on_delete_timer, d);
                if (r < 0)
                        log_error_errno(r, "Cannot arm the retry of the DELETE of %s", URL_SHOWN(d->rec.url));
        } else
                delete_send(d);
        idle_check(m);
        return 0;
}

void delete_queue_add_upload(Manager *m, Job *j) {
        assert(m);
        assert(j);

        uint64_t now = manager_now_realtime(m);
        /* The job's headers only if the upload lives where the job's URL pointed. */
        bool home = j->n_files > 0 && http_same_origin(j->upload_url, j->files[0]->url);
        PendingDelete rec = {
                .url = j->upload_url,
                .owner = j->owner,
                .headers = home ? j->http_headers : NULL,
                .deadline = now + DELETE_GIVE_UP_USEC,
                .next_try = 0,
        };
        int r = manager_add_delete(m, &rec, true);
        if (r < 0)
                log_error_errno(r, "Cannot schedule the DELETE of the partial upload at %s", URL_SHOWN(j->upload_url));
}

int delete_queue_adopt(const PendingDelete *d, void *userdata) {
        assert(d);
        assert(userdata);

        return manager_add_delete(userdata, d, false);
}
