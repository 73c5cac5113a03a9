/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The termination DELETE of a tus upload, and what its answer means: gone, kept for good
 * (no termination extension), or worth another try. */
#include <stdio.h>
#include <string.h>

#include "http-util.h"
#include "tus.h"
#include "util.h"

struct TusDelete {
        TusCall call;           /* first: the engine hands back call.req on completion */
        Engine *engine;
        char *url;
        long status;
        char reason[64];
        void (*done)(TusDelete *d, TusDeleteOutcome outcome, const char *message, void *userdata);
        void *userdata;
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

        engine_release(d->engine, &d->call.req);

        if (d->status == 0) {
                o = TUS_DELETE_RETRY;
                snprintf(msg, sizeof msg, "%s", d->call.errbuf[0] ? d->call.errbuf : curl_easy_strerror(code));
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

int tus_delete_start(Engine *e, const char *upload_url, const HttpSettings *http,
                     void (*done)(TusDelete *d, TusDeleteOutcome outcome, const char *message, void *userdata),
                     void *userdata, TusDelete **ret) {
        _cleanup_(tus_delete_freep) TusDelete *d = NULL;
        _cleanup_free_ char *origin = NULL;
        int r;

        assert(e);
        assert(upload_url);
        assert(http);
        assert(done);
        assert(ret);

        d = calloc(1, sizeof *d);
        if (!d)
                return -ENOMEM;
        d->engine = e;
        d->done = done;
        d->userdata = userdata;
        d->url = strdup(upload_url);
        /* The headers' origin is the URL's own: the caller decided that they go there (the
         * delete queue gives them only for a URL it could parse, so NULL here is OOM). */
        origin = http_url_origin(upload_url);
        if (!d->url || (http->headers && !origin))
                return -ENOMEM;
        r = tus_call_new(e, &d->call, upload_url, http, origin);
        if (r < 0)
                return r;
        (void) curl_easy_setopt(d->call.req.easy, CURLOPT_CUSTOMREQUEST, "DELETE");
        r = tus_call_add(e, &d->call, on_delete_header, d, tus_delete_done);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(d);
        return 0;
}

TusDelete *tus_delete_free(TusDelete *d) {
        if (!d)
                return NULL;
        tus_call_release(d->engine, &d->call);
        free(d->url);
        return mfree(d);
}
