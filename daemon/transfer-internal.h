/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What transfer.c (requests, redirects, the end) and transfer-write.c (the body on its way
 * to the file) share: the Transfer itself. Nothing outside these two files includes this. */

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>

#include "body-buffer.h"
#include "body-check.h"
#include "cache-route.h"
#include "engine.h"
#include "token-bucket.h"
#include "transfer.h"
#include "write-limits.h"

struct Transfer {
        EngineRequest req;      /* first: the engine hands it back on completion; req.easy is the handle */
        Engine *engine;
        struct curl_slist *headers;
        const TransferCallbacks *cb;
        void *userdata;

        int fd;
        uint64_t offset;        /* what the request asked to skip */
        HttpSettings http;      /* the job's; its headers are sent only to `origin` */
        char *validator;
        char *origin;           /* scheme://host:port of that URL */
        bool pipewait;                  /* wait for a connection that multiplexes (TransferRequest) */
        unsigned redirects;
        char *redirect_url;     /* where the redirect that just ended points */
        bool have_location;     /* the response being parsed has a Location */
        uint64_t position;      /* bytes in the file: [0, position) is written */
        uint64_t flushed;       /* writeback of [0, flushed) has been started */
        uint64_t dropped;       /* [0, dropped) is being or was dropped from the page cache */
        BodySet *buffers;       /* the body's buffers: back once written and hashed */
        BodyBuffer *cur;        /* body bytes not yet written: curl hands over 16 KiB at a time */
        IoPool *write_pool;     /* the writer's threads; NULL: written on the loop */
        struct Writer *writer;  /* the writer's task (transfer-writer.c), made at the first write */
        List write_queue;       /* buffers waiting for the writer, in file order */
        uint64_t queued_end;    /* the end of the bytes handed to the writer */
        bool end_pending;       /* curl is done: the end is judged once the writer is */
        CURLcode end_code;
        bool buffer_wait;       /* paused until a buffer comes back, or the next slice */
        uint64_t slice_bytes;   /* received in this dispatch of curl's (transfer_on_curl_write()) */
        sd_event_source *unpause_source;
        sd_event_source *flush_source;  /* writes cur out on the next loop iteration */
        IoPool *writeback_pool;
        struct Writeback *writeback;    /* the early writeback in flight on that pool */
        uint64_t total;
        char *url;
        CacheRoute *route;      /* through the site's cache or not; bytes counted by way */

        /* The response being parsed; reset at every status line (redirects bring several). */
        long status;
        char reason[64];
        bool have_content_range;
        uint64_t range_start, range_total;   /* range_total UINT64_MAX for "*" */
        uint64_t content_length;             /* UINT64_MAX when absent */
        char *etag, *last_modified;
        uint64_t retry_after_usec;

        /* Bandwidth: when the bucket runs dry the write callback pauses the handle (curl keeps
         * the chunk) and a timer resumes it once the debt is paid. curl's own speed option
         * cannot be changed reliably while a transfer runs. */
        TokenBucket bucket;
        bool paused;
        sd_event_source *resume_timer;

        bool gone;              /* transfer_free(): only its handle is left, until released */
        uint64_t refused;       /* body bytes curl offered meanwhile (for the tests' log) */
        bool responded;         /* on_response was called */
        bool answered;          /* the request in flight has a status line (a redirect's or a
                                 * fallback's next request has none yet) */
        bool body_accepted;     /* the headers were judged: body bytes go to the file */
        bool restart;           /* the partial file cannot be continued */
        bool complete_by_416;   /* the file already held every byte */
        int write_errno;

        BodyCheck check;        /* size, hashing, the server's digests */
        const FsIdentity *identity;     /* the file's owner, who writes it */
        WriteLimits limits;             /* MaxFileSize, KeepFree */

        char errbuf[CURL_ERROR_SIZE];
};

/* transfer.c */
/* The writer is done with every byte handed to it after curl ended the request. */
void transfer_on_writes_done(Transfer *t);

/* transfer-write.c */
/* b was written (error: the write's -errno, or 0), `done` of its bytes landed: the position
 * moves, b goes to the hashers. On the loop. */
void transfer_buffer_written(Transfer *t, BodyBuffer *b, size_t done, int error);
/* The transfer is going: a writeback in flight no longer tells it when it is done. */
void transfer_writeback_detach(Transfer *t);
/* True when the chunk must wait: the bandwidth bucket is in debt (a timer resumes it). */
bool transfer_bucket_must_wait(Transfer *t);
/* Hands the buffered bytes to the writer; on failure remembers errno and returns false. */
bool transfer_write_flush(Transfer *t);
/* The same for the request's last bytes, which are written here when they are few and the
 * writer has nothing of this transfer. */
bool transfer_write_flush_last(Transfer *t);
/* The body's buffer set has one free again (its `available` callback). */
void transfer_on_buffer_available(void *userdata);
/* curl's write callback: the body, buffered and written as the file's owner. */
size_t transfer_on_curl_write(char *ptr, size_t size, size_t nmemb, void *userdata);

/* transfer-writer.c */
/* Hands b to the writer, in file order, within the write limits (bytes past them dropped, and
 * write_errno set); false once a failure is known. last: the request's last bytes, written on
 * the loop when they are few and the writer is idle. */
bool transfer_writer_queue(Transfer *t, BodyBuffer *b, bool last);
/* No write queued or running. */
bool transfer_writer_idle(const Transfer *t);
/* Waits for the write in flight and writes the queued buffers on the loop (a few MiB at most):
 * for a transfer that stops and keeps its bytes. */
void transfer_writer_drain(Transfer *t);
/* The transfer goes: queued buffers dropped, the write in flight stops before its next pwrite. */
void transfer_writer_detach(Transfer *t);
