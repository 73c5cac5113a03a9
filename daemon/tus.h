/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Resumable uploads with tus 1.0 (core protocol + creation + termination): POST creates the
 * upload resource, PATCH sends bytes from an offset, HEAD learns the server's offset after an
 * interruption, DELETE removes a partial upload. Every request runs on the shared engine.
 * Nothing here knows jobs or the bus. */

#include <stdbool.h>
#include <stdint.h>

#include "engine.h"
#include "http-settings.h"
#include "transfer.h"

/* Sent with every request of the protocol. */
#define TUS_VERSION_HEADER "Tus-Resumable: 1.0.0"

typedef struct TusUpload TusUpload;

typedef struct TusCallbacks {
        /* The server created the upload resource; the owner stores the URL before anything
         * else happens, so a crash cannot lose it. */
        void (*on_created)(TusUpload *u, const char *upload_url, void *userdata);
        /* The first response status line arrived. */
        void (*on_response)(TusUpload *u, void *userdata);
        /* Bytes went out; cheap: once per chunk read. */
        void (*on_progress)(TusUpload *u, void *userdata);
        /* The upload ended (TRANSFER_OK: the server holds every byte). The handle is already
         * out of the engine; the callee frees the upload. */
        void (*on_done)(TusUpload *u, const TransferResult *result, void *userdata);
} TusCallbacks;

typedef struct TusRequest {
        const char *creation_url;       /* the tus creation endpoint */
        const char *upload_url;         /* the upload resource if created before, else NULL */
        int fd;                         /* the file to send; not closed by the upload */
        uint64_t size;
        const char *filename;           /* for Upload-Metadata */
        HttpSettings http;              /* the job's (its Proxy never means the cache) */
} TusRequest;

int tus_upload_start(Engine *e, const TusRequest *req, const TusCallbacks *cb, void *userdata, TusUpload **ret);
/* Stops at once: the request leaves the engine, no callback runs after. */
TusUpload *tus_upload_free(TusUpload *u);
/* Bytes the server has, as far as we know (confirmed offset plus what went out since). */
uint64_t tus_upload_get_position(const TusUpload *u);

typedef enum TusDeleteOutcome {
        TUS_DELETE_DONE,         /* the server removed the upload, or it was gone already */
        TUS_DELETE_UNSUPPORTED,  /* the server has no termination extension: it keeps the data */
        TUS_DELETE_RETRY,        /* unreachable or failing: try again later */
} TusDeleteOutcome;

typedef struct TusDelete TusDelete;

/* Sends the termination DELETE with http's headers (the caller decided that they go to this
 * URL); `done` runs once with the outcome and a message. */
int tus_delete_start(Engine *e, const char *upload_url, const HttpSettings *http,
                     void (*done)(TusDelete *d, TusDeleteOutcome outcome, const char *message, void *userdata),
                     void *userdata, TusDelete **ret);
TusDelete *tus_delete_free(TusDelete *d);

/* One tus request, an upload's step or a DELETE: the first member of its owner, whose `done`
 * the engine calls with req. */
typedef struct TusCall {
        EngineRequest req;
        struct curl_slist *slist;
        char errbuf[CURL_ERROR_SIZE];
} TusCall;

/* What every tus request shares (call holds none yet): a new easy handle for url, set up the way http says (its
 * Proxy, insecure redirects), and the header list begun with Tus-Resumable and http's headers
 * (those only when url is at `origin`). The caller adds what its method needs, then
 * tus_call_add(). */
int tus_call_new(Engine *e, TusCall *call, const char *url, const HttpSettings *http, const char *origin);
/* Hands the request to the engine with its header list and callbacks; the body is not read. */
int tus_call_add(Engine *e, TusCall *call, curl_write_callback header_cb, void *userdata,
                 void (*done)(EngineRequest *req, CURLcode code));
/* The request leaves the engine and its header list goes; call may be used again. */
void tus_call_release(Engine *e, TusCall *call);
