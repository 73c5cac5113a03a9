/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The termination DELETE of a tus upload, and what its answer means: gone, kept for good
 * (no termination extension), or worth another try. */
#include <stdio.h>
#include <string.h>

#include "http-util.h"
#include "tus.h"
#include "util.h"

struct TusDelete {
        EngineRequest req;
        Engine *engine;
        struct curl_slist *slist;
        char *url;
        long status;
        char reason[64];
        void (*done)(TusDelete *d, TusDeleteOutcome outcome, const char *message, void *userdata);
        void *userdata;
        char errbuf[CURL_ERROR_SIZE];
};

static size_t on_delete_header(char *buffer, size_t size, size_t nitems, void *userdata) {
        TusDelete *d = userdata;
        size_t len = size * nitems;

        if (len >= 5 && strncmp(buffer, "HTTP/", 5) == 0)
                (void) http_parse_status_line(buffer, len, &d->status, d->reason, sizeof d->reason);
        return len;
}

static void tus_delete_done(EngineRequest *req, CURLcode code) {
        TusDelete *d = (TusDelete *) req;
        char msg[1024];
        TusDeleteOutcome o;

        engine_release(d->engine, &d->req);

        if (d->status == 0) {
                o = TUS_DELETE_RETRY;
                snprintf(msg, sizeof msg, "%s", d->errbuf[0] ? d->errbuf : curl_easy_strerror(code));
        } else if (d->status == 204 || d->status == 200 || d->status == 404 || d->status == 410) {
                o = TUS_DELETE_DONE;
                snprintf(msg, sizeof msg, "HTTP %ld", d->status);
        } else if (d->status == 405 || d->status == 501 || d->status == 400 || d->status == 403) {
                /* No termination extension (or not for us): the server keeps the data. */
                o = TUS_DELETE_UNSUPPORTED;
                snprintf(msg, sizeof msg, "HTTP %ld %s", d->status, d->reason);
        } else {
                o = TUS_DELETE_RETRY;
                snprintf(msg, sizeof msg, "HTTP %ld %s", d->status, d->reason);
        }
        d->done(d, o, msg, d->userdata);
}

static void tus_delete_freep(TusDelete **d) {
        tus_delete_free(*d);
}

int tus_delete_start(Engine *e, const char *upload_url, char * const *headers,
                     void (*done)(TusDelete *d, TusDeleteOutcome outcome, const char *message, void *userdata),
                     void *userdata, TusDelete **ret) {
        _cleanup_(tus_delete_freep) TusDelete *d = NULL;
        int r;

        assert(e);
        assert(upload_url);
        assert(done);
        assert(ret);

        d = calloc(1, sizeof *d);
        if (!d)
                return -ENOMEM;
        d->engine = e;
        d->done = done;
        d->userdata = userdata;
        d->url = strdup(upload_url);
        d->req.easy = curl_easy_init();
        if (!d->url || !d->req.easy)
                return -ENOMEM;
        r = engine_setup_easy(e, d->req.easy, upload_url, false);
        if (r < 0)
                return r;
        r = http_header_list_append(&d->slist, TUS_VERSION_HEADER);
        for (char * const *h = headers; r >= 0 && h && *h; h++)
                r = http_header_list_append(&d->slist, *h);
        if (r < 0)
                return r;
        (void) curl_easy_setopt(d->req.easy, CURLOPT_CUSTOMREQUEST, "DELETE");
        (void) curl_easy_setopt(d->req.easy, CURLOPT_HTTPHEADER, d->slist);
        (void) curl_easy_setopt(d->req.easy, CURLOPT_HEADERFUNCTION, on_delete_header);
        (void) curl_easy_setopt(d->req.easy, CURLOPT_HEADERDATA, d);
        (void) curl_easy_setopt(d->req.easy, CURLOPT_WRITEFUNCTION, http_discard_body);
        (void) curl_easy_setopt(d->req.easy, CURLOPT_ERRORBUFFER, d->errbuf);
        d->req.done = tus_delete_done;
        r = engine_add(e, &d->req);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(d);
        return 0;
}

TusDelete *tus_delete_free(TusDelete *d) {
        if (!d)
                return NULL;
        engine_release(d->engine, &d->req);
        curl_slist_free_all(d->slist);
        free(d->url);
        return mfree(d);
}
