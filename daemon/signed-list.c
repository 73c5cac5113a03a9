/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "gpgv.h"
#include "io-util.h"
#include "signed-list.h"
#include "transfer.h"
#include "url-strip.h"
#include "util.h"

/* A checksum list of a whole distribution is well under this; a signature far under its own. */
#define LIST_MAX (16u * 1024u * 1024u)
#define SIGNATURE_MAX (1024u * 1024u)

typedef enum Step {
        STEP_LIST,
        STEP_SIGNATURE,
        STEP_GPGV,
} Step;

struct SignedList {
        Engine *engine;
        SignedListRequest req;          /* the strings are copies */
        char *url, *signature_url, *origin_url, *gpgv;
        HttpSettings http;
        char **keyrings;
        Step step;
        int fds[2];                     /* memfds: the list, the signature */
        Transfer *transfer;
        Gpgv *gpgv_run;
        char *list_text;
        size_t list_size;
        SignedListDone done;
        void *userdata;
};

static void finish(SignedList *s, SignedListResult *r) {
        s->transfer = transfer_free(s->transfer);
        s->gpgv_run = gpgv_free(s->gpgv_run);
        s->done(s, r, s->userdata);
}

_printf_(4, 5)
static void fail(SignedList *s, TransferOutcome outcome, const char *summary, const char *format, ...) {
        char msg[1024];
        va_list ap;

        va_start(ap, format);
        vsnprintf(msg, sizeof msg, format, ap);
        va_end(ap);
        SignedListResult r = {
                .outcome = outcome,
                .error_name = ERROR_NAME_INTEGRITY,
                .message = msg,
                .summary = summary,
        };
        finish(s, &r);
}

/* The bytes a memfd holds. */
static int read_all(int fd, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        ssize_t n;

        if (fstat(fd, &st) < 0)
                return -errno;
        buf = malloc((size_t) st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        n = pread_full(fd, buf, (size_t) st.st_size, 0);
        if (n < 0)
                return (int) n;
        buf[n] = 0;
        *ret = TAKE_PTR(buf);
        *ret_size = (size_t) n;
        return 0;
}

static void on_gpgv_done(Gpgv *g, const GpgvResult *result, void *userdata) {
        SignedList *s = userdata;
        _cleanup_(checksum_list_freep) ChecksumList *list = NULL;
        char error[512];
        int r;

        if (result->verdict != GPGV_GOOD) {
                fail(s, TRANSFER_INTEGRITY, "The signature of the checksum list does not check out",
                     "%s (list %s, signature %s)", result->message, URL_SHOWN(s->url),
                     URL_SHOWN(s->signature_url));
                return;
        }
        /* Parsed only now: nothing of an unsigned list is ever read as a digest. */
        r = checksum_list_parse(s->list_text, s->list_size, &list, error, sizeof error);
        if (r < 0) {
                fail(s, TRANSFER_INTEGRITY, "The checksum list cannot be used",
                     "The checksum list %s is signed but cannot be used: %s",
                     URL_SHOWN(s->url), r == -EBADMSG ? error : strerror(-r));
                return;
        }
        char key[GPGV_KEY_MAX];
        snprintf(key, sizeof key, "%s", result->key);
        SignedListResult res = { .outcome = TRANSFER_OK, .list = TAKE_PTR(list), .key = key };
        finish(s, &res);
        /* The callee took the list, or it goes now. */
        checksum_list_free(res.list);
}

static void check_signature(SignedList *s) {
        _cleanup_free_ char *signature = NULL;
        size_t signature_size;
        int r;

        r = read_all(s->fds[0], &s->list_text, &s->list_size);
        if (r >= 0)
                r = read_all(s->fds[1], &signature, &signature_size);
        if (r < 0) {
                fail(s, TRANSFER_TRANSIENT, "Cannot read the checksum list", "Cannot read the checksum list %s: %s",
                     URL_SHOWN(s->url), strerror(-r));
                return;
        }
        GpgvRequest g = {
                .gpgv = s->gpgv,
                .keyrings = s->keyrings,
                .data = s->list_text,
                .data_size = s->list_size,
                .signature = signature,
                .signature_size = signature_size,
                .uid = s->req.uid,
                .gid = s->req.gid,
        };
        s->step = STEP_GPGV;
        r = gpgv_start(engine_get_event(s->engine), &g, on_gpgv_done, s, &s->gpgv_run);
        if (r < 0)
                fail(s, TRANSFER_TRANSIENT, "Cannot run gpgv", "Cannot run gpgv to check the checksum list %s: %s",
                     URL_SHOWN(s->url), strerror(-r));
}

static int fetch(SignedList *s, Step step);

static void on_transfer_done(Transfer *t, const TransferResult *res, void *userdata) {
        SignedList *s = userdata;
        const char *what = s->step == STEP_LIST ? "checksum list" : "signature of the checksum list";

        /* The transfer goes in finish() or before the next one: res lives in it until then. */
        if (res->outcome == TRANSFER_TRANSIENT) {
                SignedListResult r = {
                        .outcome = TRANSFER_TRANSIENT,
                        .error_name = res->error_name,
                        .message = res->message,
                        .summary = res->summary,
                        .retry_after_usec = res->retry_after_usec,
                };
                finish(s, &r);
                return;
        }
        if (res->outcome != TRANSFER_OK) {
                /* A list or signature that is not there is no list to trust. */
                fail(s, TRANSFER_INTEGRITY, s->step == STEP_LIST ? "The checksum list cannot be fetched" :
                     "The signature of the checksum list cannot be fetched",
                     "The %s cannot be fetched: %s", what, res->message);
                return;
        }
        s->transfer = transfer_free(s->transfer);
        if (s->step == STEP_LIST) {
                int r = fetch(s, STEP_SIGNATURE);
                if (r < 0)
                        fail(s, TRANSFER_TRANSIENT, "Cannot fetch the signature of the checksum list",
                             "Cannot fetch the signature %s: %s", URL_SHOWN(s->signature_url), strerror(-r));
                return;
        }
        check_signature(s);
}

static const TransferCallbacks transfer_callbacks = {
        .on_done = on_transfer_done,
};

static int fetch(SignedList *s, Step step) {
        int i = step == STEP_LIST ? 0 : 1;

        s->step = step;
        s->fds[i] = memfd_create(i == 0 ? "xferd-checksum-list" : "xferd-checksum-list-signature", MFD_CLOEXEC);
        if (s->fds[i] < 0)
                return -errno;
        TransferRequest req = {
                .url = i == 0 ? s->url : s->signature_url,
                .fd = s->fds[i],
                .http = s->http,
                .origin_url = s->origin_url,
                .max_size = i == 0 ? LIST_MAX : SIGNATURE_MAX,
        };
        return transfer_start(s->engine, &req, &transfer_callbacks, s, &s->transfer);
}

int signed_list_start(Engine *e, const SignedListRequest *req, SignedListDone done, void *userdata,
                      SignedList **ret) {
        _cleanup_(signed_list_freep) SignedList *s = NULL;
        int r;

        assert(e);
        assert(req);
        assert(req->url);
        assert(req->signature_url);
        assert(req->keyrings && req->keyrings[0]);
        assert(done);
        assert(ret);

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->fds[0] = s->fds[1] = -1;
        s->engine = e;
        s->req = *req;
        s->done = done;
        s->userdata = userdata;
        s->url = strdup(req->url);
        s->signature_url = strdup(req->signature_url);
        s->origin_url = req->origin_url ? strdup(req->origin_url) : NULL;
        s->gpgv = req->gpgv ? strdup(req->gpgv) : NULL;
        s->keyrings = strv_copy(req->keyrings);
        if (!s->url || !s->signature_url || (req->origin_url && !s->origin_url) || (req->gpgv && !s->gpgv) ||
            !s->keyrings || http_settings_copy(&req->http, &s->http) < 0)
                return -ENOMEM;

        r = fetch(s, STEP_LIST);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

SignedList *signed_list_free(SignedList *s) {
        if (!s)
                return NULL;
        transfer_free(s->transfer);
        gpgv_free(s->gpgv_run);
        safe_close(s->fds[0]);
        safe_close(s->fds[1]);
        free(s->url);
        free(s->signature_url);
        free(s->origin_url);
        free(s->gpgv);
        http_settings_done(&s->http);
        strv_free(s->keyrings);
        free(s->list_text);
        return mfree(s);
}
