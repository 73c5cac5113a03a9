/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

#include "http-util.h"
#include "log.h"
#include "safe-text.h"
#include "tus.h"
#include "url-strip.h"
#include "util.h"

#define MAX_RECREATE 2
#define MAX_STEPS_WITHOUT_PROGRESS 4

typedef enum TusStep {
        TUS_STEP_CREATE,   /* POST to the creation endpoint */
        TUS_STEP_HEAD,     /* ask how much the server has */
        TUS_STEP_PATCH,    /* send the rest */
} TusStep;

/* What one response told us; reset at every status line. */
typedef struct TusResponse {
        long status;
        char reason[64];
        char *location;
        bool have_offset;
        uint64_t offset;
        uint64_t retry_after_usec;
} TusResponse;

struct TusUpload {
        TusCall call;           /* first: the engine hands back call.req on completion */
        Engine *engine;
        const TusCallbacks *cb;
        void *userdata;

        char *creation_url;
        char *upload_url;
        int fd;
        uint64_t size;
        char *metadata;         /* "filename <base64>" */
        HttpSettings http;      /* the job's; its headers go only to `origin` */
        char *origin;           /* of the creation URL */

        TusStep step;
        uint64_t offset;        /* what the server confirmed */
        uint64_t sent;          /* read for the running PATCH */
        TusResponse resp;
        bool responded;
        int read_errno;
        bool file_shrank;
        unsigned recreated;
        unsigned idle_steps;    /* steps in a row that moved no byte */
};

static char *base64_encode(const char *s) {
        static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        size_t n = strlen(s), k = 0;
        char *out = malloc((n + 2) / 3 * 4 + 1);

        if (!out)
                return NULL;
        for (size_t i = 0; i < n; i += 3) {
                uint32_t v = (uint32_t) (unsigned char) s[i] << 16;
                if (i + 1 < n)
                        v |= (uint32_t) (unsigned char) s[i + 1] << 8;
                if (i + 2 < n)
                        v |= (unsigned char) s[i + 2];
                out[k++] = tbl[(v >> 18) & 63];
                out[k++] = tbl[(v >> 12) & 63];
                out[k++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
                out[k++] = i + 2 < n ? tbl[v & 63] : '=';
        }
        out[k] = 0;
        return out;
}

static void response_reset(TusResponse *r) {
        r->status = 0;
        r->reason[0] = 0;
        r->location = mfree(r->location);
        r->have_offset = false;
        r->offset = 0;
        r->retry_after_usec = 0;
}

static size_t on_header(char *buffer, size_t size, size_t nitems, void *userdata) {
        TusUpload *u = userdata;
        size_t len = size * nitems, n;
        const char *v;

        if (len >= 5 && strncmp(buffer, "HTTP/", 5) == 0) {
                response_reset(&u->resp);
                (void) http_parse_status_line(buffer, len, &u->resp.status, u->resp.reason, sizeof u->resp.reason);
                if (!u->responded) {
                        u->responded = true;
                        if (u->cb->on_response)
                                u->cb->on_response(u, u->userdata);
                }
        } else if (http_header_value(buffer, len, "Location", &v, &n)) {
                free(u->resp.location);
                u->resp.location = strndup(v, n);
        } else if (http_header_value(buffer, len, "Upload-Offset", &v, &n))
                u->resp.have_offset = http_parse_u64(v, n, &u->resp.offset);
        else if (http_header_value(buffer, len, "Retry-After", &v, &n))
                u->resp.retry_after_usec = http_parse_retry_after(v, n);
        return len;
}

static size_t on_read(char *buffer, size_t size, size_t nitems, void *userdata) {
        TusUpload *u = userdata;
        size_t want = size * nitems;
        ssize_t k;

        do
                k = pread(u->fd, buffer, want, (off_t) (u->offset + u->sent));
        while (k < 0 && errno == EINTR);
        if (k < 0) {
                u->read_errno = errno;
                return CURL_READFUNC_ABORT;
        }
        if (k == 0 && u->offset + u->sent < u->size) {
                u->file_shrank = true;
                return CURL_READFUNC_ABORT;
        }
        u->sent += (uint64_t) k;
        if (k > 0 && u->cb->on_progress)
                u->cb->on_progress(u, u->userdata);
        return (size_t) k;
}

static void tus_done(EngineRequest *r, CURLcode code);

int tus_call_new(Engine *e, TusCall *call, const char *url, const HttpSettings *http, const char *origin) {
        int r;

        assert(e);
        assert(call);
        assert(url);
        assert(http);

        call->errbuf[0] = 0;
        call->req.easy = curl_easy_init();
        if (!call->req.easy)
                return -ENOMEM;
        r = engine_setup_easy(e, call->req.easy, url, http->allow_insecure_redirect);
        /* Never through the site's cache: it keeps no uploads. */
        if (r >= 0 && http->proxy)
                r = engine_setup_route(e, call->req.easy, url, http->proxy, true, NULL);
        if (r >= 0)
                r = http_header_list_append(&call->slist, TUS_VERSION_HEADER);
        if (r >= 0)
                r = http_settings_append_headers(http, url, origin, &call->slist);
        return r;
}

int tus_call_add(Engine *e, TusCall *call, curl_write_callback header_cb, void *userdata,
                 void (*done)(EngineRequest *req, CURLcode code)) {
        CURL *c;

        assert(e);
        assert(call);
        assert(header_cb);
        assert(done);

        c = call->req.easy;
        (void) curl_easy_setopt(c, CURLOPT_HTTPHEADER, call->slist);
        (void) curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
        (void) curl_easy_setopt(c, CURLOPT_HEADERDATA, userdata);
        (void) curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_discard_body);
        (void) curl_easy_setopt(c, CURLOPT_ERRORBUFFER, call->errbuf);
        call->req.done = done;
        return engine_add(e, &call->req);
}

void tus_call_release(Engine *e, TusCall *call) {
        assert(e);
        assert(call);

        engine_release(e, &call->req);
        curl_slist_free_all(call->slist);
        call->slist = NULL;
}

static int slist_add(struct curl_slist **l, const char *format, ...) _printf_(2, 3);
static int slist_add(struct curl_slist **l, const char *format, ...) {
        _cleanup_free_ char *h = NULL;
        va_list ap;
        int k;

        va_start(ap, format);
        k = vasprintf(&h, format, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        return http_header_list_append(l, h);
}

static void step_cleanup(TusUpload *u) {
        tus_call_release(u->engine, &u->call);
}

/* Starts the request of the current step. */
static int step_begin(TusUpload *u) {
        const char *url = u->step == TUS_STEP_CREATE ? u->creation_url : u->upload_url;
        CURL *c;
        int r;

        step_cleanup(u);
        response_reset(&u->resp);
        u->sent = 0;

        r = tus_call_new(u->engine, &u->call, url, &u->http, u->origin);
        if (r < 0)
                return r;
        c = u->call.req.easy;

        switch (u->step) {
        case TUS_STEP_CREATE:
                r = slist_add(&u->call.slist, "Upload-Length: %" PRIu64, u->size);
                if (r >= 0 && u->metadata)
                        r = slist_add(&u->call.slist, "Upload-Metadata: %s", u->metadata);
                if (r < 0)
                        return r;
                (void) curl_easy_setopt(c, CURLOPT_POST, 1L);
                (void) curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
                (void) curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
                break;
        case TUS_STEP_HEAD:
                (void) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
                break;
        case TUS_STEP_PATCH:
                r = slist_add(&u->call.slist, "Upload-Offset: %" PRIu64, u->offset);
                if (r >= 0)
                        r = slist_add(&u->call.slist, "Content-Type: application/offset+octet-stream");
                /* No "Expect: 100-continue" round trip before every PATCH. */
                if (r >= 0)
                        r = slist_add(&u->call.slist, "Expect:");
                if (r < 0)
                        return r;
                (void) curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
                (void) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PATCH");
                (void) curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t) (u->size - u->offset));
                (void) curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
                (void) curl_easy_setopt(c, CURLOPT_READDATA, u);
                (void) curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 256L * 1024L);
                break;
        }
        return tus_call_add(u->engine, &u->call, on_header, u, tus_done);
}

static void finish(TusUpload *u, const TransferResult *r) {
        step_cleanup(u);
        u->cb->on_done(u, r, u->userdata);
}

static void finish_ok(TusUpload *u) {
        TransferResult r = { .outcome = TRANSFER_OK };
        finish(u, &r);
}

static void finish_error(TusUpload *u, TransferOutcome outcome, ErrorName name, const char *summary,
                         const char *format, ...) _printf_(5, 6);
static void finish_error(TusUpload *u, TransferOutcome outcome, ErrorName name, const char *summary,
                         const char *format, ...) {
        TransferResult r = { .outcome = outcome, .error_name = name, .summary = summary };
        char msg[1024];
        va_list ap;

        va_start(ap, format);
        vsnprintf(msg, sizeof msg, format, ap);
        va_end(ap);
        r.message = msg;
        finish(u, &r);
}

static void next_step(TusUpload *u, TusStep step) {
        int r;

        u->step = step;
        r = step_begin(u);
        if (r < 0)
                finish_error(u, TRANSFER_TRANSIENT, ERROR_NAME_NETWORK, strerror(-r), "Cannot start a tus request: %s", strerror(-r));
}

/* The server forgot the upload (expired or removed): start a new one, a bounded number of times. */
static void recreate(TusUpload *u) {
        if (++u->recreated > MAX_RECREATE) {
                finish_error(u, TRANSFER_FATAL, ERROR_NAME_HTTP, "Upload resource keeps vanishing",
                             "The server keeps losing the upload at %s", URL_SHOWN(strempty(u->upload_url)));
                return;
        }
        u->upload_url = mfree(u->upload_url);
        u->offset = 0;
        next_step(u, TUS_STEP_CREATE);
}

static int resolve_location(TusUpload *u, char **ret) {
        CURLU *h = curl_url();
        char *url = NULL, *scheme = NULL;
        int r = -EINVAL;

        if (!h)
                return -ENOMEM;
        /* A relative Location is relative to the creation URL. */
        if (curl_url_set(h, CURLUPART_URL, u->creation_url, 0) == CURLUE_OK &&
            curl_url_set(h, CURLUPART_URL, u->resp.location, 0) == CURLUE_OK &&
            curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
            (strcasecmp(scheme, "https") == 0 || (strcasecmp(scheme, "http") == 0 &&
             (u->http.allow_insecure_redirect || strncasecmp(u->creation_url, "http:", 5) == 0))) &&
            curl_url_get(h, CURLUPART_URL, &url, 0) == CURLUE_OK &&
            safe_text_is_clean(url)) {  /* UploadUrl is read over D-Bus */
                *ret = strdup(url);
                r = *ret ? 0 : -ENOMEM;
        }
        curl_free(url);
        curl_free(scheme);
        curl_url_cleanup(h);
        return r;
}

static void on_created(TusUpload *u) {
        int r;

        if (u->resp.status != 201 || !u->resp.location) {
                finish_error(u, TRANSFER_FATAL, ERROR_NAME_HTTP, "Not a tus creation endpoint",
                             "%s answered HTTP %ld without an upload location: is it a tus creation endpoint?",
                             URL_SHOWN(u->creation_url), u->resp.status);
                return;
        }
        free(u->upload_url);
        u->upload_url = NULL;
        r = resolve_location(u, &u->upload_url);
        if (r < 0) {
                finish_error(u, TRANSFER_FATAL, ERROR_NAME_UNSUPPORTED_PROTOCOL, "Upload location not allowed",
                             "The server gave an upload location that is not an allowed http(s) URL: %s",
                             URL_SHOWN(u->resp.location));
                return;
        }
        u->offset = 0;
        if (u->cb->on_created)
                u->cb->on_created(u, u->upload_url, u->userdata);
        if (u->size == 0) {
                finish_ok(u);
                return;
        }
        next_step(u, TUS_STEP_PATCH);
}

static void on_offset(TusUpload *u, uint64_t offset) {
        uint64_t before = u->offset;

        if (offset > u->size) {
                finish_error(u, TRANSFER_FATAL, ERROR_NAME_HTTP, "Server offset beyond the file",
                             "The server claims %" PRIu64 " bytes of a %" PRIu64 "-byte upload at %s",
                             offset, u->size, URL_SHOWN(u->upload_url));
                return;
        }
        u->offset = offset;
        u->sent = 0;
        if (offset == u->size) {
                finish_ok(u);
                return;
        }
        u->idle_steps = offset > before ? 0 : u->idle_steps + 1;
        if (u->idle_steps > MAX_STEPS_WITHOUT_PROGRESS) {
                finish_error(u, TRANSFER_TRANSIENT, ERROR_NAME_NETWORK, "No progress",
                             "The server accepts no bytes at %s", URL_SHOWN(u->upload_url));
                return;
        }
        next_step(u, TUS_STEP_PATCH);
}

static void tus_done(EngineRequest *req, CURLcode code) {
        TusUpload *u = (TusUpload *) req;
        TusResponse *resp = &u->resp;
        TransferResult r = { .outcome = TRANSFER_TRANSIENT };
        char msg[1024], sum[128];

        engine_release(u->engine, &u->call.req);

        if (u->read_errno != 0) {
                int e = u->read_errno;
                finish_error(u, TRANSFER_FATAL, ERROR_NAME_LOCAL_FILE, strerror(e), "Reading the file to upload failed: %s", strerror(e));
                return;
        }
        if (u->file_shrank) {
                finish_error(u, TRANSFER_FATAL, ERROR_NAME_LOCAL_FILE, "The file got shorter",
                             "The file to upload got shorter than %" PRIu64 " bytes while it was sent", u->size);
                return;
        }
        if (resp->status == 0 || (code != CURLE_OK && resp->status < 300)) {
                /* No answer, or the connection broke during the PATCH: ask for the offset next time. */
                http_result_from_curl(code, u->call.errbuf, u->step == TUS_STEP_CREATE ? u->creation_url : u->upload_url,
                                      &r, msg, sizeof msg);
                r.summary = curl_easy_strerror(code);
                finish(u, &r);
                return;
        }

        switch (u->step) {
        case TUS_STEP_CREATE:
                if (resp->status == 201) {
                        on_created(u);
                        return;
                }
                break;
        case TUS_STEP_HEAD:
                if ((resp->status == 200 || resp->status == 204) && resp->have_offset) {
                        on_offset(u, resp->offset);
                        return;
                }
                if (resp->status == 404 || resp->status == 410) {
                        recreate(u);
                        return;
                }
                break;
        case TUS_STEP_PATCH:
                if (resp->status == 204 && resp->have_offset) {
                        on_offset(u, resp->offset);
                        return;
                }
                if (resp->status == 409) {
                        /* Our offset was wrong: ask the server for its own. */
                        next_step(u, TUS_STEP_HEAD);
                        return;
                }
                if (resp->status == 404 || resp->status == 410) {
                        recreate(u);
                        return;
                }
                break;
        }

        http_result_from_status(resp->status, resp->reason, resp->retry_after_usec,
                                u->step == TUS_STEP_CREATE ? u->creation_url : u->upload_url,
                                &r, msg, sizeof msg, sum, sizeof sum);
        finish(u, &r);
}

static void tus_upload_freep(TusUpload **u) {
        tus_upload_free(*u);
}

int tus_upload_start(Engine *e, const TusRequest *req, const TusCallbacks *cb, void *userdata, TusUpload **ret) {
        _cleanup_(tus_upload_freep) TusUpload *u = NULL;
        int r;

        assert(e);
        assert(req);
        assert(cb);
        assert(ret);

        u = calloc(1, sizeof *u);
        if (!u)
                return -ENOMEM;
        u->engine = e;
        u->cb = cb;
        u->userdata = userdata;
        u->fd = req->fd;
        u->size = req->size;
        u->creation_url = strdup(req->creation_url);
        u->origin = http_url_origin(req->creation_url);
        if (!u->creation_url || http_settings_copy(&req->http, &u->http) < 0)
                return -ENOMEM;
        if (req->upload_url && !(u->upload_url = strdup(req->upload_url)))
                return -ENOMEM;
        if (req->filename) {
                _cleanup_free_ char *b64 = base64_encode(req->filename);
                if (!b64 || asprintf(&u->metadata, "filename %s", b64) < 0) {
                        u->metadata = NULL;     /* what a failed asprintf() left is undefined */
                        return -ENOMEM;
                }
        }

        /* A known upload resource may hold bytes already: ask before sending. */
        u->step = u->upload_url ? TUS_STEP_HEAD : TUS_STEP_CREATE;
        r = step_begin(u);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(u);
        return 0;
}

TusUpload *tus_upload_free(TusUpload *u) {
        if (!u)
                return NULL;
        step_cleanup(u);
        response_reset(&u->resp);
        free(u->creation_url);
        free(u->upload_url);
        free(u->metadata);
        http_settings_done(&u->http);
        free(u->origin);
        return mfree(u);
}

uint64_t tus_upload_get_position(const TusUpload *u) {
        assert(u);

        uint64_t p = u->offset + u->sent;
        return p > u->size ? u->size : p;
}
